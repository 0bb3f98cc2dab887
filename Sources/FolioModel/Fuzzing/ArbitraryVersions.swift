/// Arbitrary version sets as a hostile or buggy peer could send them — well formed on the
/// wire, but with any dots, contexts, tombstones, bodies and sizes. For randomized tests and
/// `tools/fuzz-apply` (package-internal, not part of the library's API); the property a store
/// must keep when it receives them is `ReceivedVersionsProperty`, in FolioStore.
package struct ArbitraryVersions {
    
    package var rng: ArbitraryRandom
    let ids: [String]
    var nodes: [UInt64] { arbitraryNodes }
    var texts: [String] { arbitraryTexts }

    package init(rng: ArbitraryRandom, ids: Int = 6) {
        self.rng = rng
        self.ids = (0..<max(1, ids)).map { "arb/\($0)" }
    }

    mutating func chance(_ n: Int) -> Bool { Int.random(in: 0..<n, using: &rng) == 0 }
    mutating func pick<T>(_ from: [T]) -> T { from[Int.random(in: 0..<from.count, using: &rng)] }

    mutating func counter() -> UInt64 {
        if chance(200) { return pick([0, Dot.maxCounter, Dot.maxCounter + 1, UInt64.max, UInt64.max - 1]) }
        return UInt64.random(in: 1...6, using: &rng)
    }

    mutating func node() -> NodeID { NodeID(chance(100) ? 0 : pick(nodes)) }

    /// Any context; most of them leave the version's own dot outside (as the format requires).
    mutating func context(for dot: Dot) -> VersionVector {
        var pairs: [(NodeID, UInt64)] = []
        for n in nodes where chance(3) {
            var c = counter()
            if n == dot.node.rawValue, c >= dot.counter, dot.counter > 0, !chance(30) { c = dot.counter - 1 }
            if c > 0 { pairs.append((NodeID(n), c)) }
        }
        if chance(150) { pairs.append((NodeID(0), 1)) }
        return VersionVector(pairs.filter { $0.1 > 0 })
    }

    mutating func content() -> (VersionContent, body: String)? {
        if chance(3) { return nil }
        let body = pick(texts) + String(Int.random(in: 0..<4, using: &rng))
        let hash = BodyHash(of: body)
        var length = body.utf8.count
        if chance(60) { length += Int.random(in: 1...10, using: &rng) }
        var extra: [ExtraField] = []
        if chance(20) { extra.append(ExtraField(name: pick(["note", "title", ""]), json: pick(["1", "\"x\"", "{", "[1,2]"]))) }
        let c = VersionContent(
            title: pick(texts), source: pick(["", "wire", "Tageblatt"]), url: "", published: chance(30) ? "17/04/2024" : pick(["", "2024-04-17"]),
            tags: chance(3) ? [pick(texts)] : [], extra: extra, bodyHash: hash, bodyLength: length)
        return (c, body)
    }

    /// A version for `dot`. One dot is one event: its context, time and content follow from
    /// the dot, as in a real mesh, except now and then (a forged or clashing version).
    mutating func version(_ dot: Dot) -> (Version, body: String?) {
        func make(_ g: inout ArbitraryVersions) -> (Version, body: String?) {
            let timestamp = g.chance(50) ? g.pick([Int64.min, Int64.max, -1]) : Int64.random(in: 1_700_000_000_000...1_700_000_100_000, using: &g.rng)
            let context = g.context(for: dot)
            let content = g.content()
            return (Version(dot: dot, context: context, timestamp: timestamp, content: content?.0), content?.body)
        }
        if chance(40) { return make(&self) }
        var fixed = ArbitraryVersions(rng: ArbitraryRandom(seed: dot.node.rawValue &* 0x9E37_79B9_7F4A_7C15 ^ dot.counter), ids: 1)
        return make(&fixed)
    }

    /// One article's set: usually 1–4 versions sorted by dot, sometimes unsorted, duplicated,
    /// empty or far too many.
    package mutating func next() -> ReceivedArticle {
        var bodies: [BodyHash: String] = [:]
        let count = chance(300) ? pick([0, VersionSet.maxSiblings + 1]) : Int.random(in: 1...4, using: &rng)
        var versions: [Version] = []
        for _ in 0..<count {
            let (v, body) = version(Dot(node: node(), counter: counter()))
            versions.append(v)
            if let c = v.content, let body {
                if chance(20) {
                    // Left out: the receiver must already hold it, or refuse the set.
                } else if chance(60) {
                    bodies[c.bodyHash] = body + "tampered"
                } else {
                    bodies[c.bodyHash] = body
                }
            }
        }
        if chance(40), let first = versions.first { versions.append(first) }
        if !chance(40) { versions.sort { $0.dot < $1.dot } }
        return ReceivedArticle(id: pick(ids), versions: versions, bodies: bodies)
    }
}

private let arbitraryNodes: [UInt64] = [1, 2, 3, 0xABCD_EF01]
private let arbitraryTexts = ["", "a", "Hafenstreik", "öffnet", "港湾ストライキ", String(repeating: "x", count: 300)]

/// One received article: a replica's claimed whole set, and the bodies sent with it.
package struct ReceivedArticle: Sendable {
    package var id: String
    package var versions: [Version]
    package var bodies: [BodyHash: String]
    package init(id: String, versions: [Version], bodies: [BodyHash: String]) {
        self.id = id
        self.versions = versions
        self.bodies = bodies
    }
    /// An article state as APPLY or FETCHED carry it.
    package init(_ state: ArticleState) {
        var bodies: [BodyHash: String] = [:]
        for case let c? in state.versions.versions.map(\.content) { if let b = state.bodies[c.bodyHash] { bodies[c.bodyHash] = b } }
        self.init(id: state.id, versions: state.versions.versions, bodies: bodies)
    }
}

/// The randomness behind `ArbitraryVersions`: a seeded SplitMix64 (randomized tests), or the
/// bytes of a fuzzer's input, 8 per `next()`, so that a small mutation of the input makes a
/// small change to what is generated; past the end of the bytes the seeded stream goes on (a
/// constant source would make rejection sampling in `random(in:)` loop for ever).
package struct ArbitraryRandom: RandomNumberGenerator {
    let bytes: [UInt8]
    var offset = 0
    var stream: SplitMix64

    package init(seed: UInt64) {
        bytes = []
        stream = SplitMix64(seed: seed)
    }

    package init(bytes: [UInt8]) {
        self.bytes = bytes
        stream = SplitMix64(seed: UInt64(bytes.count))
    }

    package mutating func next() -> UInt64 {
        guard offset + 8 <= bytes.count else { return stream.next() }
        var v: UInt64 = 0
        for _ in 0..<8 {
            v = v << 8 | UInt64(bytes[offset])
            offset += 1
        }
        return v ^ stream.next()
    }
}
