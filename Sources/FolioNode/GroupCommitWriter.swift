import Folio
import FolioProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Runs store writes on one dedicated thread, committing everything queued meanwhile in a
/// single LMDB transaction (group commit): one fsync serves many writers.
///
/// LMDB wants each write transaction on one thread from begin to commit, and never on an
/// event loop; this thread is that place. A job that fails on its own (an invalid article, a
/// missing id) fails alone; a store failure fails the whole group. The queue is bounded by
/// its callers (each connection caps its in-flight requests).
public final class GroupCommitWriter: @unchecked Sendable {
    public typealias Job = @Sendable (StoreWriter) throws -> Message

    private struct Pending {
        var job: Job
        var promise: EventLoopPromise<Message>
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
    public func submit(on eventLoop: EventLoop, _ job: @escaping Job) -> EventLoopFuture<Message> {
        let promise = eventLoop.makePromise(of: Message.self)
        condition.lock()
        if stopping {
            condition.unlock()
            promise.fail(StoreError.badDestination("the node is shutting down"))
            return promise.futureResult
        }
        queue.append(Pending(job: job, promise: promise))
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
            let results = try store.write { w -> [Result<Message, Error>] in
                var out: [Result<Message, Error>] = []
                out.reserveCapacity(group.count)
                for p in group {
                    do {
                        out.append(.success(try p.job(w)))
                    } catch let e as StoreError where e.isCleanFailure {
                        out.append(.failure(e))
                    }
                    // Any other error leaves the transaction in doubt: it propagates and aborts.
                }
                return out
            }
            if let seq = try? store.lastSequence() { onCommit(seq) }
            for (p, r) in zip(group, results) { p.promise.completeWith(r) }
        } catch {
            guard group.count > 1 else {
                group[0].promise.fail(error)
                return
            }
            // Run each job in its own transaction so one failing job cannot take others down.
            for p in group {
                do {
                    p.promise.succeed(try store.write { try p.job($0) })
                } catch {
                    p.promise.fail(error)
                }
            }
            if let seq = try? store.lastSequence() { onCommit(seq) }
        }
    }
}

extension StoreError {
    /// Failures raised before the writer changed anything, safe to report while the rest of
    /// the transaction commits.
    var isCleanFailure: Bool {
        switch self {
        case .notFound, .invalidArticle, .noSuchVersion, .invalidContext: return true
        default: return false
        }
    }
}
