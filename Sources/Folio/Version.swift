/// One sibling version of an article: a dotted version vector plus what was written.
///
/// Its causal history is `context ∪ {dot}`: the writer had read everything in `context`, and
/// this write is the single new event `dot`. A version is obsolete exactly when another
/// version's context covers its dot (DVV, Preguiça et al.).
public struct Version: Sendable, Equatable {
    public var dot: Dot
    /// The causal context the writer read; never covers `dot` itself.
    public var context: VersionVector
    /// The writer's wall clock, milliseconds since 1970; used only to pick a winner.
    public var timestamp: Int64
    /// What was written; nil for a delete (a tombstone).
    public var content: VersionContent?

    public init(dot: Dot, context: VersionVector, timestamp: Int64, content: VersionContent?) {
        self.dot = dot
        self.context = context
        self.timestamp = timestamp
        self.content = content
    }

    public var isTombstone: Bool { content == nil }

    /// The version vector of this version's history (its context joined with its dot),
    /// as Dynamo writes it: `[(Sx,2),(Sy,1)]`.
    public var vector: VersionVector {
        var v = context
        v.advance(dot.node, to: dot.counter)
        return v
    }

    /// True when `other`'s history includes this version, i.e. `other` supersedes it.
    public func isObsoleted(by other: Version) -> Bool {
        other.dot != dot && other.context.covers(dot)
    }

    /// The deterministic winner order: a live version beats a tombstone, then the later
    /// timestamp, then the higher node id, then the higher counter.
    public func winsOver(_ other: Version) -> Bool {
        if isTombstone != other.isTombstone { return !isTombstone }
        if timestamp != other.timestamp { return timestamp > other.timestamp }
        if dot.node != other.dot.node { return dot.node > other.dot.node }
        return dot.counter > other.dot.counter
    }
}

/// What one live version holds: the article's fields except its id, with the body stored
/// separately (content-addressed by `bodyHash`) so a change of clock never rewrites it.
public struct VersionContent: Sendable, Equatable {
    public var title: String
    public var source: String
    public var url: String
    public var published: String
    public var tags: [String]
    public var extra: [ExtraField]
    /// SHA-256 of the body's UTF-8 bytes.
    public var bodyHash: BodyHash
    public var bodyLength: Int

    public init(
        title: String, source: String, url: String, published: String, tags: [String],
        extra: [ExtraField], bodyHash: BodyHash, bodyLength: Int
    ) {
        self.title = title
        self.source = source
        self.url = url
        self.published = published
        self.tags = tags
        self.extra = extra
        self.bodyHash = bodyHash
        self.bodyLength = bodyLength
    }
}
