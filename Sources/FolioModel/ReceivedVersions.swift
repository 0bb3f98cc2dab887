/// The checks a version set from outside — a peer's APPLY or FETCHED, an `--all-versions`
/// import record — must pass before it is merged (Protocol/STORAGE.md "Invariants").
///
/// Everything inside the store may then trust a version set: no arithmetic on its counters
/// can overflow, no version hides inside its own context, no two versions share a dot, and
/// what a store accepts can always be sent again.
extension VersionSet {
    /// Most sibling versions one article may have; more is refused (merging is quadratic in
    /// the sibling count, and no real history has this many concurrent edits).
    public static let maxSiblings = 256

    /// Checks `versions` (one replica's whole set for an article) and the `bodies` sent with
    /// them; throws naming the first broken invariant.
    public static func validate(
        received versions: [Version], bodies: [BodyHash: String], limits: ArticleLimits = .default
    ) throws(InvalidArticle) {
        func bad(_ reason: String) -> InvalidArticle { InvalidArticle(field: "versions", reason: reason) }
        guard !versions.isEmpty else { throw bad("an article needs at least one version") }
        guard versions.count <= maxSiblings else { throw bad("\(versions.count) versions, more than the \(maxSiblings) siblings an article may have") }
        var previous: Dot?
        for v in versions {
            try v.dot.validate()
            if let p = previous, p >= v.dot {
                throw bad(p == v.dot ? "two versions share the dot \(v.dot)" : "versions are not sorted by dot (\(p) before \(v.dot))")
            }
            previous = v.dot
            do {
                try v.context.validate()
            } catch {
                throw bad("the context of \(v.dot): \(error.reason)")
            }
            if v.context.covers(v.dot) { throw bad("the context of \(v.dot) covers its own dot") }
            // A marker entry is an earlier purge's time (or this purge's own): never later.
            if v.context[.purgeMarker] > UInt64(max(0, v.timestamp)) {
                throw bad("the context of \(v.dot) names a purge later than the version itself")
            }
            if let c = v.content {
                guard c.bodyLength >= 0, c.bodyLength <= limits.maxBodyBytes else {
                    throw bad("\(v.dot) has a body of \(c.bodyLength) bytes, over the \(limits.maxBodyBytes)-byte cap")
                }
                let size = v.encodedSize + c.bodyLength
                guard size <= limits.maxArticleBytes else {
                    throw bad("\(v.dot) is \(size) bytes encoded, over the \(limits.maxArticleBytes)-byte limit for a whole article")
                }
                if let problem = ISO8601Check.problem(with: c.published) {
                    throw bad("\(v.dot) has published \"\(c.published)\": \(problem)")
                }
                var names = Set(Article.knownFields)
                for f in c.extra {
                    guard !f.name.isEmpty, names.insert(f.name).inserted else {
                        throw bad("\(v.dot) has an extra field named \"\(f.name)\" (empty, a standard field's name, or twice)")
                    }
                    guard let value = try? JSONParser.parse(f.json), value.serialized == f.json else {
                        throw bad("\(v.dot)'s extra field \"\(f.name)\" is not compact JSON")
                    }
                }
                if let body = bodies[c.bodyHash], body.utf8.count != c.bodyLength || BodyHash(of: body) != c.bodyHash {
                    throw InvalidArticle(field: "body", reason: "the body sent for \(v.dot) does not match its hash and length")
                }
            }
        }
        for a in versions {
            if let b = versions.first(where: { a.isObsoleted(by: $0) }) {
                throw bad("\(a.dot) is sent though \(b.dot) supersedes it (a replica never keeps both)")
            }
        }
    }
}

extension Dot {
    /// The largest counter a dot or a context may carry: far below 2^64, so that no write
    /// (which adds 1 to the largest counter it has seen) can ever overflow.
    public static let maxCounter: UInt64 = 1 << 62

    /// Node id 0 is never used; counters run from 1 to `maxCounter`.
    public func validate() throws(InvalidArticle) {
        guard node.rawValue != 0 else { throw InvalidArticle(field: "versions", reason: "dot \(self) uses node id 0, which no replica has") }
        guard node != .purgeMarker else { throw InvalidArticle(field: "versions", reason: "dot \(self) uses node id 2^64−1, the purge marker, which no replica has") }
        guard (1...Dot.maxCounter).contains(counter) else {
            throw InvalidArticle(field: "versions", reason: "dot \(self) has a counter outside 1…2^62")
        }
    }
}

extension VersionVector {
    /// Node id 0 never appears; counters run from 1 to `Dot.maxCounter` (sorting and
    /// uniqueness hold by construction).
    public func validate() throws(InvalidArticle) {
        for e in entries {
            guard e.node.rawValue != 0 else { throw InvalidArticle(field: "context", reason: "names node id 0, which no replica has") }
            guard (1...Dot.maxCounter).contains(e.counter) else {
                throw InvalidArticle(field: "context", reason: "claims counter \(e.counter) for node \(e.node.hex), outside 1…2^62")
            }
        }
    }
}
