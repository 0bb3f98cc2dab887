import Folio
import FolioProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What every connection of a node shares: the store, the threads that touch it, the limits.
final class NodeContext: Sendable {
    let store: Store
    let writer: GroupCommitWriter
    let readPool: NIOThreadPool
    let configuration: NodeConfiguration
    let logger: Logger
    let software = "folio/0.1.0"
    let connections = NIOLockedValueBox(0)

    init(store: Store, configuration: NodeConfiguration) {
        self.store = store
        self.configuration = configuration
        self.logger = configuration.logger
        writer = GroupCommitWriter(store: store)
        readPool = NIOThreadPool(numberOfThreads: max(1, min(configuration.readThreads, 64)))
        readPool.start()
    }

    var features: Hello.Features { configuration.key == nil ? [.sync] : [.sync, .authRequired] }

    /// Runs a store read on the read pool; the future completes on `eventLoop`.
    func read(on eventLoop: EventLoop, _ body: @escaping @Sendable (Store) throws -> Message) -> EventLoopFuture<Message> {
        let store = self.store
        return readPool.runIfActive(eventLoop: eventLoop) { try body(store) }
    }

    func shutdown() async {
        writer.shutdown()
        try? await readPool.shutdownGracefully()
    }
}

extension Error {
    /// The ERROR frame a failed request is answered with.
    var wireError: (ErrorCode, String) {
        switch self {
        case let e as StoreError:
            switch e {
            case .notFound: return (.notFound, e.description)
            case .invalidArticle, .invalidContext: return (.invalidArticle, e.description)
            case .noSuchVersion: return (.notFound, e.description)
            default: return (.internal, e.description)
            }
        case let v as ProtocolViolation: return (v.code, v.message)
        default: return (.internal, "\(self)")
        }
    }
}
