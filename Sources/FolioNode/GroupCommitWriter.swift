import FolioModel
import FolioStore
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Runs store writes on one dedicated thread, committing everything queued meanwhile in a
/// single LMDB transaction (group commit): one fsync serves many writers.
///
/// LMDB wants each write transaction on one thread from begin to commit, and never on an
/// event loop; this thread is that place. Each job runs in a savepoint (a nested LMDB
/// transaction): a job that fails on its own (an invalid article, a bad version set in the
/// middle of an APPLY) leaves nothing of itself behind and fails alone while the rest of the
/// group commits; a store failure (LMDB, a full disk) fails the whole group. The queue is
/// bounded by its callers (each connection caps its in-flight requests).
public final class GroupCommitWriter: @unchecked Sendable {
    /// Raised for jobs submitted after `shutdown()`.
    public struct ShuttingDown: Error, CustomStringConvertible {
        public var description: String { "the node is shutting down" }
    }

    /// A queued job, with its result type erased: `run` executes it inside the transaction
    /// and returns what to do once the transaction has committed.
    private struct Pending {
        var run: (StoreWriter) throws -> () -> Void
        var fail: (Error) -> Void
    }

    private let store: Store
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var stopping = false
    private var thread: Thread?
    /// Most jobs in one transaction.
    public let maxGroup: Int
    private let done = DispatchSemaphore(value: 0)

    private let onCommit: @Sendable (UInt64) -> Void

    /// `onCommit` runs on the writer thread after each commit, with the last sequence number.
    public init(store: Store, maxGroup: Int = 512, onCommit: @escaping @Sendable (UInt64) -> Void = { _ in }) {
        self.store = store
        self.maxGroup = maxGroup
        self.onCommit = onCommit
        let t = Thread { [unowned self] in self.loop() }
        t.name = "folio-writer"
        thread = t
        t.start()
    }

    /// Queues `job`; its future completes on `eventLoop` once its group committed.
    public func submit<T: Sendable>(on eventLoop: EventLoop, _ job: @escaping @Sendable (StoreWriter) throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        condition.lock()
        if stopping {
            condition.unlock()
            promise.fail(ShuttingDown())
            return promise.futureResult
        }
        queue.append(Pending(run: { w in
            let value = try job(w)
            return { promise.succeed(value) }
        }, fail: { promise.fail($0) }))
        condition.signal()
        condition.unlock()
        return promise.futureResult
    }

    /// Finishes queued jobs, then stops the thread. Blocks until it has stopped.
    public func shutdown() {
        condition.lock()
        let already = stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if !already { done.wait() }
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                condition.unlock()
                done.signal()
                return
            }
            let n = min(queue.count, maxGroup)
            let group = Array(queue.prefix(n))
            queue.removeFirst(n)
            condition.unlock()
            run(group)
        }
    }

    private func run(_ group: [Pending]) {
        do {
            let completions = try store.write { w -> [() -> Void] in
                var out: [() -> Void] = []
                out.reserveCapacity(group.count)
                for p in group {
                    do {
                        out.append(try w.savepoint { try p.run($0) })
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
