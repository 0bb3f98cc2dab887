/// An article as one replica holds it: every sibling version, and the bodies that were loaded.
public struct ArticleState: Sendable, Equatable {
    public let id: String
    /// The sequence number of this article's latest change on this replica.
    public let seq: UInt64
    public let versions: VersionSet
    /// Bodies loaded by the read, by hash (see `Store.BodySelection`).
    public let bodies: BodyTable

    public init(id: String, seq: UInt64, versions: VersionSet, bodies: BodyTable) {
        self.id = id
        self.seq = seq
        self.versions = versions
        self.bodies = bodies
    }

    public var winner: Version? { versions.winner }
    /// True when the winner is a tombstone (every live sibling is gone).
    public var isDeleted: Bool { !versions.isLive }
    public var isInConflict: Bool { versions.isInConflict }
    /// The causal context of what was read, for a read-modify-write.
    public var context: VersionVector { versions.clock }
    public var contextToken: String { CausalContext.token(for: context, article: id) }

    /// The full article of a live version, when its body was loaded.
    public func article(_ version: Version) -> Article? {
        guard let c = version.content, let body = bodies[c.bodyHash] else { return nil }
        return Article(
            id: id, title: c.title, source: c.source, url: c.url, published: c.published, body: body, tags: c.tags,
            extra: c.extra)
    }

    /// The winning article, nil when deleted or its body was not loaded.
    public var article: Article? { winner.flatMap(article) }
}

/// What the change feed says of one version: enough for a peer to know whether it has it.
public struct VersionSummary: Sendable, Equatable {
    public var dot: Dot
    public var isTombstone: Bool
    public var bodyHash: BodyHash?

    public init(_ v: Version) {
        dot = v.dot
        isTombstone = v.isTombstone
        bodyHash = v.content?.bodyHash
    }

    public init(dot: Dot, isTombstone: Bool, bodyHash: BodyHash?) {
        self.dot = dot
        self.isTombstone = isTombstone
        self.bodyHash = bodyHash
    }
}

/// One entry of the change feed.
public struct Change: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    public var versions: [VersionSummary]

    public init(seq: UInt64, id: String, versions: [VersionSummary]) {
        self.seq = seq
        self.id = id
        self.versions = versions
    }
}

/// One entry of a change feed as an application reads it (`FolioClient.changes`,
/// `Store.changeFeed`): the change, and with `includeBodies` the article as held when read —
/// every version, with the bodies of its live ones (nil when not asked for, or when the
/// article is gone or too large for one frame by then).
public struct FeedChange: Sendable, Equatable {
    public var change: Change
    public var article: ArticleState?
    public init(_ change: Change, article: ArticleState? = nil) {
        self.change = change
        self.article = article
    }
    public var seq: UInt64 { change.seq }
    public var id: String { change.id }
    public var versions: [VersionSummary] { change.versions }
}

/// What a write did.
public struct WriteOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case added, updated, unchanged, deleted
    }
    public var kind: Kind
    /// The version written (nil when unchanged).
    public var version: Version?
    /// Siblings the write superseded.
    public var superseded: Int
    /// Siblings the article has now (more than one: a conflict is visible).
    public var siblings: Int
    /// The article's sequence number after the write.
    public var seq: UInt64

    public init(kind: Kind, version: Version?, superseded: Int, siblings: Int, seq: UInt64) {
        self.kind = kind
        self.version = version
        self.superseded = superseded
        self.siblings = siblings
        self.seq = seq
    }

    /// Above this many siblings Folio warns (it never drops one).
    public static let siblingWarningThreshold = 25
    public var exceedsSiblingThreshold: Bool { siblings > WriteOutcome.siblingWarningThreshold }
}

/// What merging a remote version did.
public struct MergeOutcome: Sendable, Equatable {
    public var result: VersionSet.MergeResult
    public var siblings: Int
    public var seq: UInt64
    /// Not merged: an article this store does not hold, every version older than what its
    /// tombstone collection removed and written by nodes it removed versions of — perhaps a
    /// deleted article coming back from a stale replica (SPEC §5.2).
    public var refusedAsStale = false
    /// Versions of the set were dropped: a purge this store collected covered them.
    public var droppedAsPurged = false

    package init(result: VersionSet.MergeResult, siblings: Int, seq: UInt64) {
        self.result = result
        self.siblings = siblings
        self.seq = seq
    }
    public var changed: Bool { result != .unchanged }
}
