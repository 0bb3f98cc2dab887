import NIOConcurrencyHelpers
import NIOCore

/// Decides which TCP connections a node takes, so that no crowd of unauthenticated or idle
/// sockets can lock out the peers and admins that hold the key (SPEC §9).
///
/// A connection is *pending* until its handshake completes (AUTH accepted, or HELLO answered
/// on a node without a key). Pending connections may hold at most `maxPending` of the
/// `maxConnections` slots — the rest are reserved for established ones — and when that share
/// is full, a newcomer evicts a pending connection instead of being refused. The one evicted
/// comes from the address holding the most pending connections, and among those it is one
/// that has not yet sent a HELLO if any, else the oldest: a crowd of idle sockets then evicts
/// itself, and a client that is progressing through its handshake keeps its place. A non-loopback
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

    fileprivate struct Entry {
        var address: String
        var counted: Bool
        var pending: Bool
        /// A valid HELLO has arrived (the connection is progressing).
        var greeted = false
        var since: NIODeadline
        var channel: Channel
    }

    fileprivate struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perAddress: [String: Int] = [:]
        var pendingPerAddress: [String: Int] = [:]
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
            func evictOnePending() -> Bool {
                // The address with the most pending connections; in it, silent before greeted, then oldest.
                let busiest = s.pendingPerAddress.max { $0.value < $1.value }?.key
                let victim = s.entries.filter { $0.value.pending && $0.value.address == busiest }.min { a, b in
                    if a.value.greeted != b.value.greeted { return !a.value.greeted }
                    return a.value.since < b.value.since
                }
                guard let victim else { return false }
                evicted.append(remove(victim.key, from: &s)!.channel)
                return true
            }
            if s.pending >= limits.maxPending { _ = evictOnePending() }
            if s.entries.count >= limits.maxConnections, !evictOnePending() {
                return .refuse("the node is at its limit of \(limits.maxConnections) connections")
            }
            s.entries[id] = Entry(address: address, counted: !loopback, pending: true, since: .now(), channel: channel)
            s.pending += 1
            s.pendingPerAddress[address, default: 0] += 1
            if !loopback { s.perAddress[address, default: 0] += 1 }
            return .admit
        }
        for c in evicted { evict(c) }
        return decision
    }

    /// A valid HELLO arrived: the connection is evicted only after silent ones of its address.
    func greeted(_ channel: Channel) {
        state.withLockedValue { s in s.entries[ObjectIdentifier(channel)]?.greeted = true }
    }

    /// The connection completed its handshake: it no longer counts as pending.
    func established(_ channel: Channel) {
        state.withLockedValue { s in
            let id = ObjectIdentifier(channel)
            guard var e = s.entries[id], e.pending else { return }
            e.pending = false
            s.entries[id] = e
            s.pending -= 1
            s.decrementPending(e.address)
        }
    }

    /// The connection closed (or was evicted): its slot is free.
    func closed(_ channel: Channel) {
        state.withLockedValue { s in _ = remove(ObjectIdentifier(channel), from: &s) }
    }

    private func remove(_ id: ObjectIdentifier, from s: inout State) -> Entry? {
        guard let e = s.entries.removeValue(forKey: id) else { return nil }
        if e.pending {
            s.pending -= 1
            s.decrementPending(e.address)
        }
        if e.counted {
            let n = s.perAddress[e.address, default: 1] - 1
            s.perAddress[e.address] = n > 0 ? n : nil
        }
        return e
    }
}

extension ConnectionAdmission.State {
    fileprivate mutating func decrementPending(_ address: String) {
        let n = pendingPerAddress[address, default: 1] - 1
        pendingPerAddress[address] = n > 0 ? n : nil
    }
}
