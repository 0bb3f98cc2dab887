import FolioModel
import FolioStore
import FolioClient
import FolioProtocol

/// The other side of a sync: what the replication algorithm asks of a source or destination.
/// A node reached through `FolioClient` is one; `LocalPeer` is an embedded store.
public protocol SyncPeer: Sendable {
    /// The largest frame the peer accepts (its HELLO's `max frame`): what one APPLY may carry.
    var maxFrame: UInt32 { get }
    /// The peer's node id (its HELLO's, or the embedded store's).
    var peerNode: NodeID { get }
    func syncState() async throws -> (node: NodeID, epoch: Epoch, lastSequence: UInt64)
    func changes(since: UInt64, limit: UInt32, waitMillis: UInt32) async throws -> (changes: [Change], lastSequence: UInt64)
    /// Whether the peer answers filtered feeds and keeps checkpoints per filter (SPEC §8.4).
    var filters: Bool { get }
    func changes(since: UInt64, limit: UInt32, waitMillis: UInt32, filter: ReplicationFilter) async throws -> (changes: [Change], scanned: UInt64, lastSequence: UInt64)
    /// A prefix of `ids` (in order; ids the peer does not hold are left out), and the articles
    /// of that prefix too large to send at all.
    func fetch(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws -> FetchResult
    func checkpoint(node: NodeID, epoch: Epoch) async throws -> UInt64
    func offer(_ changes: [Change]) async throws -> SyncNeeds
    func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState]) async throws -> ApplyOutcome
}

extension FolioClient: SyncPeer {
    public var maxFrame: UInt32 { serverHello.maxFrame }
    public var filters: Bool { serverHello.features.contains(.filter) }
    public var peerNode: NodeID { serverHello.nodeID }
}

/// An embedded store as a sync peer: the same algorithm, no network (tests, local mirrors).
public struct LocalPeer: SyncPeer {
    public let store: Store
    /// The store pulling from this one, if known: its reads of the feed then acknowledge
    /// what it holds, as a node records them (SPEC §5.2).
    public let puller: NodeID?
    public init(_ store: Store, pulledBy puller: NodeID? = nil) {
        self.store = store
        self.puller = puller
    }

    private func acknowledge(_ since: UInt64) throws {
        guard let puller, since > 0 else { return }
        try store.write { try $0.recordAck(peer: puller, seq: since) }
    }
    public var maxFrame: UInt32 { FrameDecoder.defaultMaxFrame }

    public func syncState() async throws -> (node: NodeID, epoch: Epoch, lastSequence: UInt64) {
        let store = self.store
        return try await offPool { (store.nodeID, store.epoch, try store.lastSequence()) }
    }

    public func changes(since: UInt64, limit: UInt32, waitMillis: UInt32) async throws -> (changes: [Change], lastSequence: UInt64) {
        let (store, peer) = (self.store, self)
        return try await offPool {
            try peer.acknowledge(since)
            return (try store.changes(since: since, limit: Int(limit)), try store.lastSequence())
        }
    }

    public var filters: Bool { true }
    public var peerNode: NodeID { store.nodeID }

    public func changes(since: UInt64, limit: UInt32, waitMillis: UInt32, filter: ReplicationFilter) async throws -> (changes: [Change], scanned: UInt64, lastSequence: UInt64) {
        let (store, peer) = (self.store, self)
        return try await offPool {
            try peer.acknowledge(since)
            let last = try store.lastSequence()
            let (c, scanned) = try store.changes(since: since, limit: Int(limit), filter: filter)
            return (c, scanned, last)
        }
    }

    public func fetch(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws -> FetchResult {
        let (store, maxArticle) = (self.store, Int(maxFrame) - FrameDecoder.frameOverhead)
        return try await offPool { try store.fetch(ids, have: Set(have), maxBytes: Int(maxBytes), maxArticleBytes: maxArticle) }
    }

    public func checkpoint(node: NodeID, epoch: Epoch) async throws -> UInt64 {
        let store = self.store
        return try await offPool { try store.checkpoint(node: node, epoch: epoch) }
    }

    public func offer(_ changes: [Change]) async throws -> SyncNeeds {
        let store = self.store
        return try await offPool { try store.needs(changes) }
    }

    public func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState]) async throws -> ApplyOutcome {
        let store = self.store
        return try await offPool { try store.write { try $0.applyBatch(from: node, epoch: epoch, upTo: upTo, articles: articles) } }
    }
}
