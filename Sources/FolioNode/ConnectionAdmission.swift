import NIOConcurrencyHelpers
import NIOCore

/// Decides which TCP connections a node takes, so that no crowd of unauthenticated or idle
/// sockets can lock out the peers and admins that hold the key (SPEC §9).
///
/// A connection is *pending* until its handshake completes (AUTH accepted, or HELLO answered
/// on a node without a key). Pending connections may hold at most `maxPending` of the
/// `maxConnections` slots — the rest are reserved for established ones — and when that share
/// is full, a newcomer evicts the oldest pending connection instead of being refused: an
/// attacker that keeps renewing idle sockets then only shortens everyone's handshake window
/// (a few milliseconds is enough on any real link) but never closes the door. A non-loopback
/// address may hold at most `maxPerAddress` connections; loopback is exempt, so a local admin
/// is served while a remote crowd is at its limits.
final class ConnectionAdmission: Sendable {
    struct Limits: Sendable {
        var maxConnections: Int
        var maxPending: Int
        var maxPerAddress: Int
    }

    enum Decision {
        case admit
        case refuse(String)
    }

    private struct Entry {
        var address: String
        var counted: Bool
        var pending: Bool
        var since: NIODeadline
        var channel: Channel
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perAddress: [String: Int] = [:]
        var pending = 0
    }

    let limits: Limits
    private let state = NIOLockedValueBox(State())

    init(limits: Limits) {
        var l = limits
        l.maxPending = max(1, min(l.maxPending, l.maxConnections))
        self.limits = l
    }

    var connections: Int { state.withLockedValue { $0.entries.count } }
    var pendingConnections: Int { state.withLockedValue { $0.pending } }

    /// Admits `channel` as pending, evicting the oldest pending connection when the pending
    /// share or the whole table is full; `evict` is called (outside the lock) for each evicted one.
    func admit(_ channel: Channel, address: String, loopback: Bool, evict: (Channel) -> Void) -> Decision {
        let id = ObjectIdentifier(channel)
        var evicted: [Channel] = []
        let decision = state.withLockedValue { s -> Decision in
            if !loopback, s.perAddress[address, default: 0] >= limits.maxPerAddress {
                return .refuse("\(address) already has \(limits.maxPerAddress) connections, the limit per address")
            }
            func evictOldestPending() -> Bool {
                guard let (oldest, _) = s.entries.filter({ $0.value.pending }).min(by: { $0.value.since < $1.value.since }) else { return false }
                evicted.append(remove(oldest, from: &s)!.channel)
                return true
            }
            if s.pending >= limits.maxPending { _ = evictOldestPending() }
            if s.entries.count >= limits.maxConnections, !evictOldestPending() {
                return .refuse("the node is at its limit of \(limits.maxConnections) connections")
            }
            s.entries[id] = Entry(address: address, counted: !loopback, pending: true, since: .now(), channel: channel)
            s.pending += 1
            if !loopback { s.perAddress[address, default: 0] += 1 }
            return .admit
        }
        for c in evicted { evict(c) }
        return decision
    }

    /// The connection completed its handshake: it no longer counts as pending.
    func established(_ channel: Channel) {
        state.withLockedValue { s in
            let id = ObjectIdentifier(channel)
            guard var e = s.entries[id], e.pending else { return }
            e.pending = false
            s.entries[id] = e
            s.pending -= 1
        }
    }

    /// The connection closed (or was evicted): its slot is free.
    func closed(_ channel: Channel) {
        state.withLockedValue { s in _ = remove(ObjectIdentifier(channel), from: &s) }
    }

    private func remove(_ id: ObjectIdentifier, from s: inout State) -> Entry? {
        guard let e = s.entries.removeValue(forKey: id) else { return nil }
        if e.pending { s.pending -= 1 }
        if e.counted {
            let n = s.perAddress[e.address, default: 1] - 1
            s.perAddress[e.address] = n > 0 ? n : nil
        }
        return e
    }
}
