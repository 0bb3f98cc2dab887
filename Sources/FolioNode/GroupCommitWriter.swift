import FolioModel
import FolioStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs store writes on one dedicated thread, committing everything queued meanwhile in a
/// single LMDB transaction (group commit): one fsync serves many writers.
///
/// LMDB wants each write transaction on one thread from begin to commit, and never on an
/// event loop; this thread is that place. Each job runs in a savepoint (a nested LMDB
/// transaction): a job that fails on its own (an invalid article, a bad version set in the
/// middle of an APPLY) leaves nothing of itself behind and fails alone while the rest of the
/// group commits; a store failure (LMDB, a full disk) aborts the group's transaction, and its
/// jobs are then run again one transaction each, so one job that breaks the store's write
/// cannot take the others down. The queue is bounded by its callers (each connection caps
/// its in-flight requests).
///
/// The one thread is a single-thread `NIOThreadPool`: a *drain* runs there while jobs are
/// queued, each time committing up to `maxGroup` of them in one transaction; a submit that
/// finds no drain scheduled schedules one. Shutdown refuses new jobs, lets the queued ones
/// commit and stops the thread, without blocking the caller's thread.
package final class GroupCommitWriter: Sendable {
    /// Raised for jobs submitted after `shutdown()`.
    package struct ShuttingDown: Failure, CustomStringConvertible {
        package var kind: FailureKind { .shuttingDown }
        package var description: String { "the node is shutting down" }
    }

    /// A queued job, with its result type erased: `run` executes it inside the transaction
    /// and returns what to do once the transaction has committed.
    private struct Pending: Sendable {
        var run: @Sendable (StoreWriter) throws -> @Sendable () -> Void
        var fail: @Sendable (Error) -> Void
        /// The text the job writes (what its transaction indexes), as its submitter counted it.
        var bytes: Int
    }

    private struct Queue: Sendable {
        var jobs: [Pending] = []
        var draining = false
        var stopping = false
    }

    private let store: Store
    private let queue = NIOLockedValueBox(Queue())
    /// The writer thread: LMDB wants a write transaction on one thread from begin to commit.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// Most jobs in one transaction.
    package let maxGroup: Int
    /// Most text in one transaction (`submit`'s `bytes`), unless its first job alone holds
    /// more: what the transaction's search journal holds grows with the text it indexes (up to
    /// a few hundred bytes per distinct term of each article), so a burst of large writes is
    /// committed a few at a time instead of all at once.
    package let maxGroupBytes: Int
    private let onCommit: @Sendable (UInt64) -> Void
    private let observe: @Sendable (_ jobs: Int, _ nanoseconds: Int64) -> Void

    /// `onCommit` runs on the writer thread after each commit, with the last sequence number;
    /// `observe` gets each group's size and the time its transaction took, commit and fsync included.
    package init(
        store: Store, maxGroup: Int = 512, maxGroupBytes: Int = 1 << 20, onCommit: @escaping @Sendable (UInt64) -> Void = { _ in },
        observe: @escaping @Sendable (_ jobs: Int, _ nanoseconds: Int64) -> Void = { _, _ in }
    ) {
        self.store = store
        self.maxGroup = maxGroup
        self.maxGroupBytes = maxGroupBytes
        self.onCommit = onCommit
        self.observe = observe
        thread.start()
    }

    /// Queues `job`, which writes about `bytes` of text; its future completes on `eventLoop`
    /// once its group committed.
    package func submit<T: Sendable>(on eventLoop: EventLoop, bytes: Int = 0, _ job: @escaping @Sendable (StoreWriter) throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        let pending = Pending(run: { w in
            let value = try job(w)
            return { promise.succeed(value) }
        }, fail: { promise.fail($0) }, bytes: max(0, bytes))
        let (accepted, startDrain) = queue.withLockedValue { q -> (Bool, Bool) in
            if q.stopping { return (false, false) }
            q.jobs.append(pending)
            defer { q.draining = true }
            return (true, !q.draining)
        }
        if !accepted {
            promise.fail(ShuttingDown())
        } else if startDrain {
            scheduleDrain()
        }
        return promise.futureResult
    }

    /// Refuses new jobs, lets the queued ones commit, then stops the writer thread.
    package func shutdown() async {
        queue.withLockedValue { $0.stopping = true }
        // The pool runs work in order on its one thread: once this barrier has run, every
        // drain scheduled before it has committed what was accepted.
        _ = try? await thread.runIfActive {}
        try? await thread.shutdownGracefully()
    }

    private func scheduleDrain() {
        thread.submit { [self] state in
            guard case .active = state else {
                // The pool is stopping with jobs still queued: they fail, never hang.
                let left = queue.withLockedValue { q -> [Pending] in
                    defer { q.jobs = []; q.draining = false }
                    return q.jobs
                }
                for p in left { p.fail(ShuttingDown()) }
                return
            }
            drain()
        }
    }

    /// Commits groups until the queue is empty (on the writer thread).
    private func drain() {
        while true {
            let group = queue.withLockedValue { q -> [Pending] in
                var n = 0
                var bytes = 0
                while n < min(q.jobs.count, maxGroup) {
                    let b = q.jobs[n].bytes
                    if n > 0 && b > maxGroupBytes - bytes { break }
                    bytes += min(b, maxGroupBytes)
                    n += 1
                }
                let group = Array(q.jobs.prefix(n))
                q.jobs.removeFirst(n)
                if group.isEmpty { q.draining = false }
                return group
            }
            if group.isEmpty { return }
            run(group)
        }
    }

    private func run(_ group: [Pending]) {
        let started = ContinuousClock.now
        defer {
            let (s, a) = (ContinuousClock.now - started).components
            observe(group.count, s * 1_000_000_000 + a / 1_000_000_000)
        }
        do {
            let completions = try store.write { w -> [@Sendable () -> Void] in
                var out: [@Sendable () -> Void] = []
                out.reserveCapacity(group.count)
                for p in group {
                    do {
                        let complete: @Sendable () -> Void = try w.savepoint { try p.run($0) }
                        out.append(complete)
                    } catch where !GroupCommitWriter.failsTheGroup(error) {
                        out.append({ p.fail(error) })
                    }
                    // A store failure leaves the transaction in doubt: it propagates and aborts.
                }
                return out
            }
            if let seq = try? store.lastSequence() { onCommit(seq) }
            for complete in completions { complete() }
        } catch {
            guard group.count > 1 else {
                group[0].fail(error)
                return
            }
            // Run each job in its own transaction so one failing job cannot take others down.
            for p in group {
                do {
                    try store.write { try p.run($0) }()
                } catch {
                    p.fail(error)
                }
            }
            if let seq = try? store.lastSequence() { onCommit(seq) }
        }
    }
}

extension GroupCommitWriter {
    /// Errors of the store itself rather than of one job: the group is retried job by job.
    static func failsTheGroup(_ error: Error) -> Bool {
        switch error {
        case StoreError.lmdb, StoreError.diskFull: return true
        default: return false
        }
    }
}
