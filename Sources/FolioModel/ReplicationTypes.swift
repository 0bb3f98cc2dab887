import Foundation

/// Where a puller stands with one source: the source store's identity and the last sequence
/// number of its change feed whose changes are merged here.
public struct Checkpoint: Sendable, Equatable {
    public var node: NodeID
    /// The source store's epoch; a recreated source has a new one and starts from 0.
    public var epoch: Epoch
    public var sequence: UInt64
    /// When it last advanced (ms since 1970).
    public var updated: Int64

    public init(node: NodeID, epoch: Epoch, sequence: UInt64, updated: Int64) {
        self.node = node
        self.epoch = epoch
        self.sequence = sequence
        self.updated = updated
    }
}

/// What a node records about a configured peer (`folio serve --peer`), for `folio peers`.
public struct PeerStatus: Sendable, Equatable {
    public var address: String
    public var node: NodeID?
    public var connected: Bool
    public var lastSuccess: Int64?
    public var lastError: String?
    /// Estimated changes the peer has that we have not pulled (its last sequence − our checkpoint).
    public var pendingIn: UInt64?
    /// Estimated changes we have that the peer has not pulled.
    public var pendingOut: UInt64?
    /// Articles the link met that cannot cross the wire (each too large for one frame), most
    /// recent last; replication skips them and holds its checkpoint just before the first.
    public var untransferable: [String] = []
    /// The peer's clock minus ours at the last handshake (ms); beyond `Clocks.maxSkew` either
    /// way its versions win or lose conflicts by that much (SPEC §5.1).
    public var clockSkew: Int64?
    /// The link's pull and push filters, canonical text ("" for none, SPEC §8.4).
    public var filter = ""
    public var pushFilter = ""
    public var updated: Int64

    public init(address: String, node: NodeID? = nil, connected: Bool = false, lastSuccess: Int64? = nil, lastError: String? = nil, pendingIn: UInt64? = nil, pendingOut: UInt64? = nil, updated: Int64 = 0) {
        self.address = address
        self.node = node
        self.connected = connected
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.pendingIn = pendingIn
        self.pendingOut = pendingOut
        self.updated = updated
    }
}

/// Which articles of a change batch this store lacks, and which of their bodies it holds.
public struct SyncNeeds: Sendable, Equatable {
    /// Ids whose source versions are not all held or superseded here, in change order.
    public var ids: [String]
    /// Bodies of those versions already stored here: the source need not send them.
    public var have: [BodyHash]
    /// Of `have`, those held only in articles' records (a store keeps small bodies with their
    /// article), each with the articles holding it: what a later re-check must look at. Never
    /// sent; empty in what a peer answered.
    public var haveIn: [BodyHash: [String]]

    public init(ids: [String], have: [BodyHash], haveIn: [BodyHash: [String]] = [:]) {
        self.ids = ids
        self.have = have
        self.haveIn = haveIn
    }
}

/// What a fetch answered: the articles that fit, and those too large to send at all.
public struct FetchResult: Sendable, Equatable {
    public var articles: [ArticleState]
    public var oversized: [OversizedArticle]
    public init(articles: [ArticleState] = [], oversized: [OversizedArticle] = []) {
        self.articles = articles
        self.oversized = oversized
    }

    /// Where in `ids` (what the FETCH asked for, in order) the answer ends: the last id it
    /// holds or names as oversized — the ids before it that it does not hold are gone from
    /// the source — or nil when it answers none of them. Ids are compared as bytes
    /// (canonically equivalent ids are two articles).
    public func lastAnswered<C: BidirectionalCollection<String>>(in ids: C) -> C.Index? {
        let answered = Set(articles.map { Array($0.id.utf8) }).union(oversized.map { Array($0.id.utf8) })
        return ids.lastIndex { answered.contains(Array($0.utf8)) }
    }
}

/// An article whose state does not fit one frame of the receiver: replication skips it,
/// names it in `folio peers` and the log, and holds its checkpoint just before it.
public struct OversizedArticle: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var bytes: Int
    public init(id: String, bytes: Int) {
        self.id = id
        self.bytes = bytes
    }
    public var description: String { "\"\(id)\" (\(bytes) bytes)" }
}

/// What applying a batch from a source did.
public struct ApplyOutcome: Sendable, Equatable {
    /// Articles whose versions changed here.
    public var changed: Int
    /// Articles that were not in conflict here and are now.
    public var conflictsCreated: Int
    /// The checkpoint recorded for the source.
    public var checkpoint: UInt64
    /// Local only (never on the wire): articles this batch changed into exactly the versions
    /// the source sent, by id, with the sequence number their change got here. The source
    /// holds them as they are, so pushing them back to it would only cost an OFFER.
    public var heldBySource: [String: UInt64] = [:]
    /// Local only: articles not merged because they may be deleted articles coming back from
    /// a stale replica (this store collected tombstones older than every version sent, SPEC §5.2).
    public var refusedAsStale: [String] = []

    public init(changed: Int, conflictsCreated: Int, checkpoint: UInt64) {
        self.changed = changed
        self.conflictsCreated = conflictsCreated
        self.checkpoint = checkpoint
    }
}

