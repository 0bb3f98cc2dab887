import Foundation

/// Counts the transactions open in this process so the map can be resized safely.
///
/// `mdb_env_set_mapsize` succeeds while read transactions are live and leaves their pointers
/// dangling, so a resize first closes the gate to new transactions and waits for the open ones
/// to drain. Invariant: `active` is the number of transactions begun and not yet ended, and
/// `active` and `closed` are read and written only while holding `condition`'s lock (which
/// is what makes the class safe to share, hence `@unchecked Sendable`).
@usableFromInline
final class TransactionGate: @unchecked Sendable {
    private let condition = NSCondition()
    @usableFromInline init() {}
    private var active = 0
    private var resizing = false

    @usableFromInline
    func enter() {
        condition.lock()
        while resizing { condition.wait() }
        active += 1
        condition.unlock()
    }

    @usableFromInline
    func leave() {
        condition.lock()
        active -= 1
        if active == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Runs `body` while no transaction is open in this process. The caller must hold none.
    func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while resizing { condition.wait() }
        resizing = true
        while active > 0 { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            resizing = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
