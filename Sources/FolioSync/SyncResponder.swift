import FolioModel
import FolioProtocol
import FolioStore

/// The node's side of replication (SPEC §8): what it answers to SYNC_HELLO, CHECKPOINT_GET,
/// OFFER and FETCH (reads of one snapshot) and to APPLY (one write). The node decides where
/// each runs (its read pool, its group-commit writer); the answers are decided here.
package enum SyncResponder {
    /// The limits of the connection a FETCH answer travels on.
    package struct FrameBudget: Sendable {
        /// The most bytes of articles one FETCHED carries (half the node's frame, SPEC §8.1).
        package var answerBytes: Int
        /// The largest single article the requester can receive (its max frame − overhead).
        package var maxArticleBytes: Int
        package init(answerBytes: Int, maxArticleBytes: Int) {
            self.answerBytes = answerBytes
            self.maxArticleBytes = maxArticleBytes
        }
    }

    /// Answers a read-side sync request from one snapshot of `store`; nil for other messages.
    package static func answer(_ request: Message, store: Store, budget: FrameBudget) throws -> Message? {
        switch request {
        case .syncHello:
            return .syncState(node: store.nodeID, epoch: store.epoch, lastSequence: try store.lastSequence())
        case .checkpointGet(.none, _):
            throw nodeZero
        case let .checkpointGet(peer, epoch):
            try checkPusher(peer, own: store.nodeID)
            try checkScope(epoch)
            return .checkpoint(try store.checkpoint(node: peer, epoch: epoch))
        case let .offer(changes):
            let needs = try store.needs(changes)
            return .want(ids: needs.ids, have: needs.have)
        case let .fetch(ids, have, maxBytes):
            let r = try store.fetch(
                ids, have: Set(have), maxBytes: min(Int(maxBytes), budget.answerBytes), maxArticleBytes: budget.maxArticleBytes)
            guard let first = r.oversized.first else { return .fetched(r.articles) }
            // Answer only what comes before the first article that cannot be sent; if that is
            // nothing, say which one it is (SPEC §8.1).
            // Ids as bytes: canonically equivalent ids are two articles.
            let cut = ids.firstIndex { $0.sameBytes(first.id) }!
            let earlier = Set(ids.prefix(cut).map { Array($0.utf8) })
            let before = r.articles.filter { earlier.contains(Array($0.id.utf8)) }
            if !before.isEmpty { return .fetched(before) }
            throw ProtocolViolation(
                .tooLarge, "article \"\(first.id)\" is \(first.bytes) bytes encoded, over the \(budget.maxArticleBytes) bytes one frame of yours can carry")
        default:
            return nil
        }
    }

    /// Merges a pushed batch and advances the pusher's checkpoint, in the writer's transaction.
    package static func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState], writer w: StoreWriter) throws -> (Message, ApplyOutcome) {
        guard node != .none else { throw nodeZero }
        try checkPusher(node, own: w.nodeID)
        try checkScope(epoch)
        let o = try w.applyBatch(from: node, epoch: epoch, upTo: upTo, articles: articles)
        return (.applied(changed: UInt32(o.changed), conflictsCreated: UInt32(o.conflictsCreated), checkpoint: o.checkpoint), o)
    }

    /// A pusher's checkpoint scope: its epoch, or `epoch/filter` (SPEC §8.4).
    static func checkScope(_ epoch: Epoch) throws {
        do {
            _ = try epoch.scope()
        } catch {
            throw StoreError.invalidArticle(id: "", InvalidArticle(field: "epoch", reason: error.reason))
        }
    }

    /// A pusher names a replica: not the purge marker, not this very node.
    static func checkPusher(_ node: NodeID, own: NodeID) throws {
        if node == .purgeMarker || node == own {
            throw StoreError.invalidArticle(
                id: "", InvalidArticle(field: "node", reason: node == .purgeMarker ? "node id 2^64−1 is the purge marker, no replica's" : "that is this node's own id"))
        }
    }

    static let nodeZero = StoreError.invalidArticle(id: "", InvalidArticle(field: "node", reason: "node id 0 names no store (SPEC §5)"))
}
