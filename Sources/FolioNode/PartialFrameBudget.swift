import NIOConcurrencyHelpers
import NIOCore

/// Caps the memory a node holds in frames that have started to arrive but are not complete,
/// across all connections (SPEC §9).
///
/// A connection reserves a large frame's announced length when its header arrives and gives
/// it back when the frame is whole or the connection closes. When a reservation does not fit,
/// the connections holding the oldest partial frames are closed until it does: a peer that
/// trickles a frame slowly is the one that goes, a peer that sends at line rate is not.
final class PartialFrameBudget: Sendable {
    private struct Holder {
        var bytes: Int
        var since: NIODeadline
        var evict: @Sendable () -> Void
    }

    private struct State {
        var used = 0
        var holders: [ObjectIdentifier: Holder] = [:]
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) { self.limit = limit }

    var used: Int { state.withLockedValue { $0.used } }

    /// Reserves `bytes` for `connection`'s frame in progress; false when it cannot fit even
    /// after evicting every other holder. `evict` closes that connection if it is evicted later.
    func reserve(_ connection: ObjectIdentifier, bytes: Int, evict: @escaping @Sendable () -> Void) -> Bool {
        var evicted: [@Sendable () -> Void] = []
        let ok = state.withLockedValue { s -> Bool in
            if let old = s.holders.removeValue(forKey: connection) { s.used -= old.bytes }
            guard bytes <= limit else { return false }
            while s.used + bytes > limit {
                guard let (oldest, h) = s.holders.min(by: { $0.value.since < $1.value.since }) else { break }
                s.holders[oldest] = nil
                s.used -= h.bytes
                evicted.append(h.evict)
            }
            s.holders[connection] = Holder(bytes: bytes, since: .now(), evict: evict)
            s.used += bytes
            return true
        }
        for e in evicted { e() }
        return ok
    }

    /// Gives back what `connection` reserved (its frame arrived, or it closed).
    func release(_ connection: ObjectIdentifier) {
        state.withLockedValue { s in
            if let h = s.holders.removeValue(forKey: connection) { s.used -= h.bytes }
        }
    }
}

/// Caps the bytes of inflated DEFLATED requests that connections hold decoded but not yet
/// executed, across all connections (SPEC §2.1, §9): frames read in one go are decoded at
/// once, and a connection with its requests in flight parks the rest; deflated, each can be
/// ~32 times the bytes that carried it. Charged when a request is parked, given back when it
/// starts (or its connection closes); a request that does not fit is `busy` and closes its
/// connection. Requests that run at once are never charged.
final class InflatedBudget: Sendable {
    let limit: Int
    private let used = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    var inUse: Int { used.withLockedValue { $0 } }

    func reserve(_ bytes: UInt32) -> Bool {
        used.withLockedValue { u in
            guard u + Int(bytes) <= limit else { return false }
            u += Int(bytes)
            return true
        }
    }

    func release(_ bytes: UInt32) {
        guard bytes > 0 else { return }
        used.withLockedValue { $0 = max(0, $0 - Int(bytes)) }
    }
}
