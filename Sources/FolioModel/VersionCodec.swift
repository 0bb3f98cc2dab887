/// The one binary encoding of dots, version vectors and versions (SPEC §5 and STORAGE.md
/// `articles` write the same layout): used by the store's records and the wire alike, with
/// one validation policy — anything a correct writer could not have written is refused, never
/// repaired.
///
///     dot     = u64 node, u64 counter (≥ 1)
///     vector  = u32 count, count × (u64 node, u64 counter ≥ 1), nodes strictly ascending
///     version = dot, vector context (must not cover the dot), i64 timestamp, u8 kind,
///               live (1): string title, source, url, published; u32 count + strings tags;
///               u32 count + (string name, string json) extras; 32-byte body hash; u64 body length
///               tombstone (0): nothing more
package enum VersionCodec {
    /// The fewest bytes a version takes (a tombstone with an empty context).
    package static let minVersionSize = 16 + 4 + 8 + 1

    package static func write(_ d: Dot, into w: inout ByteWriter) {
        w.u64(d.node.rawValue)
        w.u64(d.counter)
    }

    package static func write(_ v: VersionVector, into w: inout ByteWriter) {
        w.u32(UInt32(v.entries.count))
        for e in v.entries {
            w.u64(e.node.rawValue)
            w.u64(e.counter)
        }
    }

    package static func write(_ v: Version, into w: inout ByteWriter) {
        write(v.dot, into: &w)
        write(v.context, into: &w)
        w.i64(v.timestamp)
        guard let c = v.content else {
            w.u8(0)
            return
        }
        w.u8(1)
        w.string(c.title)
        w.string(c.source)
        w.string(c.url)
        w.string(c.published)
        w.u32(UInt32(c.tags.count))
        for t in c.tags { w.string(t) }
        w.u32(UInt32(c.extra.count))
        for f in c.extra {
            w.string(f.name)
            w.string(f.json)
        }
        w.raw(c.bodyHash.bytes)
        w.u64(UInt64(c.bodyLength))
    }

    package static func readDot(_ r: inout ByteReader, _ what: String) throws(CorruptRecord) -> Dot {
        let node = try r.u64("\(what) node")
        let counter = try r.u64("\(what) counter")
        guard counter > 0 else { throw CorruptRecord("\(what) counter is zero") }
        return Dot(node: NodeID(node), counter: counter)
    }

    package static func readVector(_ r: inout ByteReader, _ what: String) throws(CorruptRecord) -> VersionVector {
        let n = try r.count(what, minSize: 16)
        var pairs: [(NodeID, UInt64)] = []
        pairs.reserveCapacity(n)
        var last: UInt64? = nil
        for _ in 0..<n {
            let node = try r.u64("\(what) node")
            let counter = try r.u64("\(what) counter")
            guard counter > 0 else { throw CorruptRecord("\(what) has a zero counter") }
            if let last, node <= last { throw CorruptRecord("\(what) entries are not sorted by node, or repeat one") }
            last = node
            pairs.append((NodeID(node), counter))
        }
        return VersionVector(pairs)
    }

    /// A live version's fields before its body hash: title, source, url, published, tags and
    /// extra fields (whether an extra value is compact JSON is the store's check, not the codec's).
    package static func readFields(_ r: inout ByteReader) throws(CorruptRecord) -> (
        title: String, source: String, url: String, published: String, tags: [String], extra: [ExtraField]
    ) {
        let title = try r.string("title")
        let source = try r.string("source")
        let url = try r.string("url")
        let published = try r.string("published")
        let ntags = try r.count("tags", minSize: 4)
        var tags: [String] = []
        if ntags > 0 { tags.reserveCapacity(ntags) }
        for i in 0..<ntags { tags.append(try r.string("tags[\(i)]")) }
        let nextra = try r.count("extra fields", minSize: 8)
        var extra: [ExtraField] = []
        for _ in 0..<nextra {
            extra.append(ExtraField(name: try r.string("extra field name"), json: try r.string("extra field value")))
        }
        return (title, source, url, published, tags, extra)
    }

    package static func readVersion(_ r: inout ByteReader) throws(CorruptRecord) -> Version {
        let dot = try readDot(&r, "version dot")
        let context = try readVector(&r, "version context")
        guard !context.covers(dot) else { throw CorruptRecord("a version's context covers its own dot \(dot)") }
        let timestamp = try r.i64("version timestamp")
        switch try r.u8("version kind") {
        case 0:
            return Version(dot: dot, context: context, timestamp: timestamp, content: nil)
        case 1:
            let (title, source, url, published, tags, extra) = try readFields(&r)
            let hash = BodyHash(raw: try r.raw(32, "body hash"))!
            let length = try r.u64("body length")
            guard length <= UInt64(Int.max) else { throw CorruptRecord("body length out of range") }
            return Version(
                dot: dot, context: context, timestamp: timestamp,
                content: VersionContent(
                    title: title, source: source, url: url, published: published, tags: tags, extra: extra,
                    bodyHash: hash, bodyLength: Int(length)))
        case let k:
            throw CorruptRecord("unknown version kind \(k)")
        }
    }
}
