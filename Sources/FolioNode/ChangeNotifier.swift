import FolioModel
import FolioStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Wakes whoever waits for the store's change feed to move past a sequence number.
///
/// Commits made through this node (the group-commit writer) notify at once; a light poll of
/// the last sequence number catches commits made by other processes on the same store (e.g.
/// `folio import` while the node runs). The poll is a timer on one event loop whose store read
/// runs on the node's read pool, never on the loop; the next poll waits for the last.
final class ChangeNotifier: Sendable {
    private struct Waiter {
        var since: UInt64
        var fire: @Sendable (UInt64) -> Void
    }

    private struct State {
        var last: UInt64 = 0
        /// Set by `wakeAll` at shutdown: later waits are answered at once, never held.
        var stopping = false
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let store: Store
    private let state = NIOLockedValueBox(State())
    private let loop: EventLoop
    private let poll: NIOLockedValueBox<RepeatedTask?>

    init(store: Store, loop: EventLoop, pool: NIOThreadPool, pollInterval: TimeAmount = .milliseconds(500)) {
        self.store = store
        self.loop = loop
        let initial = (try? store.lastSequence()) ?? 0
        state.withLockedValue { $0.last = initial }
        poll = NIOLockedValueBox(nil)
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: pollInterval, delay: pollInterval) { [weak self] _ in
            guard let self else { return loop.makeSucceededVoidFuture() }
            return pool.runIfActive(eventLoop: loop) { try? store.lastSequence() }
                .map { seq in if let seq { self.committed(upTo: seq) } }
                .recover { _ in }
        }
        poll.withLockedValue { $0 = task }
    }

    /// Stops polling; returns once no poll is running, so the store can be closed after it.
    func stop() async {
        guard let task = poll.withLockedValue({ p in defer { p = nil }; return p }) else { return }
        let done = loop.makePromise(of: Void.self)
        task.cancel(promise: done)
        try? await done.futureResult.get()
    }

    /// The last sequence number seen.
    var last: UInt64 { state.withLockedValue { $0.last } }

    /// Called after a commit this process made, with the new last sequence.
    func committed(upTo seq: UInt64) {
        let due = state.withLockedValue { s -> [Waiter] in
            guard seq > s.last else { return [] }
            s.last = seq
            let ready = s.waiters.filter { $0.value.since < seq }
            for id in ready.keys { s.waiters.removeValue(forKey: id) }
            return Array(ready.values)
        }
        for w in due { w.fire(seq) }
    }

    /// Calls `fire` once the feed moves past `since` (at once if it already has). Returns an
    /// id for `cancel`.
    @discardableResult
    func register(since: UInt64, _ fire: @escaping @Sendable (UInt64) -> Void) -> Int {
        let (id, now) = state.withLockedValue { s -> (Int, UInt64?) in
            if s.last > since || s.stopping { return (-1, s.last) }
            s.nextID += 1
            s.waiters[s.nextID] = Waiter(since: since, fire: fire)
            return (s.nextID, nil)
        }
        if let now { fire(now) }
        return id
    }

    /// Wakes every waiter now and answers later ones at once (shutdown: held requests are
    /// answered instead of waiting out their hold).
    func wakeAll() {
        let (all, last) = state.withLockedValue { s -> ([Waiter], UInt64) in
            s.stopping = true
            let all = Array(s.waiters.values)
            s.waiters = [:]
            return (all, s.last)
        }
        for w in all { w.fire(last) }
    }

    func cancel(_ id: Int) {
        state.withLockedValue { _ = $0.waiters.removeValue(forKey: id) }
    }

    /// Waits until the feed moves past `since`, `timeout` passes or the task is cancelled;
    /// returns the last sequence seen.
    func wait(since: UInt64, timeout: Duration) async -> UInt64 {
        let once = NIOLockedValueBox<(continuation: CheckedContinuation<UInt64, Never>?, done: Bool)>((nil, false))
        let resume: @Sendable (UInt64) -> Void = { seq in
            once.withLockedValue { s in
                s.done = true
                s.continuation?.resume(returning: seq)
                s.continuation = nil
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<UInt64, Never>) in
                let alreadyDone = once.withLockedValue { s -> Bool in
                    if s.done { return true }
                    s.continuation = c
                    return false
                }
                if alreadyDone {
                    c.resume(returning: last)
                    return
                }
                let id = register(since: since, resume)
                let ms = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                loop.scheduleTask(in: .milliseconds(ms)) { [self] in
                    cancel(id)
                    resume(last)
                }
            }
        } onCancel: {
            resume(last)
        }
    }
}
