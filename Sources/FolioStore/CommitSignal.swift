import Foundation

/// Wakes waiters when this process commits a write to a store (`Store.write`), so a change
/// feed of the embedded store sees its own process's commits at once; commits of other
/// processes are seen by polling.
final class CommitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var nextID: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    /// How many commits this process has made (compare with a later value, or wait after it).
    var current: UInt64 { lock.withLock { generation } }

    func fire() {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            generation &+= 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for c in woken { c.resume() }
    }

    /// Returns once a commit after `generation` happens, `timeout` passes, or the task is
    /// cancelled — whichever comes first.
    func wait(after generation: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.commit(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func commit(after seen: UInt64) async {
        let id = lock.withLock { () -> UInt64 in
            nextID &+= 1
            return nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if generation != seen || Task.isCancelled { return true }
                    waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = lock.withLock { waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}
