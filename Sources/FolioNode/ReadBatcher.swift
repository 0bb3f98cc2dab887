import FolioModel
import FolioStore
import FolioProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Collects the store reads requested on one event loop during one turn of that loop and
/// hands them to the read pool as a single job, with one hop back for all the answers.
///
/// With many connections each sending one request at a time, reads arrive in bursts; a pool
/// job and a wake-up per read would cost more in context switches than the reads themselves.
final class ReadBatcher {
    typealias Read = @Sendable (Store) throws -> Message

    private let loop: EventLoop
    private let pool: NIOThreadPool
    private let store: Store
    private var pending: [(read: Read, promise: EventLoopPromise<Message>)] = []
    /// Most reads in one pool job, so one burst cannot delay the rest of the loop's work.
    private let maxBatch = 64

    init(loop: EventLoop, pool: NIOThreadPool, store: Store) {
        self.loop = loop
        self.pool = pool
        self.store = store
    }

    /// Must be called on `loop`.
    func submit(_ read: @escaping Read) -> EventLoopFuture<Message> {
        loop.preconditionInEventLoop()
        let promise = loop.makePromise(of: Message.self)
        pending.append((read, promise))
        if pending.count == 1 {
            // Flush after the reads already delivered in this turn have been queued.
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.execute { bound.value.flush() }
        } else if pending.count >= maxBatch {
            flush()
        }
        return promise.futureResult
    }

    private func flush() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        let reads = batch.map(\.read)
        let store = self.store
        pool.runIfActive(eventLoop: loop) { () -> [Result<Message, Error>] in
            reads.map { read in Result { try read(store) } }
        }.whenComplete { outcome in
            switch outcome {
            case let .success(results):
                for (p, r) in zip(batch, results) { p.promise.completeWith(r) }
            case let .failure(error):
                for p in batch { p.promise.fail(error) }
            }
        }
    }
}
