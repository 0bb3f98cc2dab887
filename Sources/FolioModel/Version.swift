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

    /// A purge (SPEC §5.2): a tombstone whose context's purge-marker entry equals its own
    /// timestamp. Versions written over a purge inherit the entry with an older value, so a
    /// later plain deletion is not a purge.
    public var isPurge: Bool { isTombstone && timestamp > 0 && context[.purgeMarker] == UInt64(timestamp) }

    /// The version vector of this version's history (its context joined with its dot),
    /// as Dynamo writes it: `[(Sx,2),(Sy,1)]`.
    public var vector: VersionVector {
        var v = context
        v.advance(dot.node, to: dot.counter)
        return v
    }

    /// True when `other`'s writer saw this version — its context covers this dot *and* this
    /// version's whole context — so `other` supersedes it.
    ///
    /// For contexts a correct reader produces the second condition follows from the first (a
    /// reader's context is the join of everything it read). Requiring it anyway makes the
    /// relation a strict partial order for *any* input, so merging (keeping what nothing
    /// supersedes) is a join even when a peer sends contexts that claim dots without their
    /// history: such a claim leaves both versions as visible siblings instead of dropping one.
    public func isObsoleted(by other: Version) -> Bool {
        other.dot != dot && other.context.covers(dot) && context.isCovered(by: other.context)
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

extension Version {
    /// Bytes of this version in the wire and record layout (SPEC §5): dot, context,
    /// timestamp, kind, then for a live version its strings, tags, extras, hash and length.
    public var encodedSize: Int {
        var n = 16 + 4 + 16 * context.entries.count + 8 + 1
        guard let c = content else { return n }
        n += 16 + c.title.utf8.count + c.source.utf8.count + c.url.utf8.count + c.published.utf8.count
        n += 4 + c.tags.reduce(0) { $0 + 4 + $1.utf8.count }
        n += 4 + c.extra.reduce(0) { $0 + 8 + $1.name.utf8.count + $1.json.utf8.count }
        return n + 32 + 8
    }
}

extension ArticleState {
    /// Bytes of this state in its wire encoding (SPEC §5 "article state"): id, seq, the
    /// versions, and each loaded body once per version that carries it.
    public var encodedSize: Int {
        var n = 4 + id.utf8.count + 8 + 4
        for v in versions.versions {
            n += v.encodedSize + 1
            if let c = v.content, let b = bodies[c.bodyHash] { n += 4 + b.utf8.count }
        }
        return n
    }
}
