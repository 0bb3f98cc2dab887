import FolioModel

/// The binary encodings of the `articles` database's values (see Protocol/STORAGE.md).
///
/// Every value starts with a format byte; a value written by a newer format is refused,
/// never guessed at.
enum RecordCodec {
    static let articleFormat: UInt8 = 1
    static let bodyFormat: UInt8 = 1

    /// An article's stored state: its sibling versions and its latest change's sequence number.
    struct ArticleRecord: Equatable {
        var seq: UInt64
        var versions: VersionSet
    }

    static func encode(_ record: ArticleRecord) -> [UInt8] {
        var w = ByteWriter(capacity: 128 + record.versions.versions.count * 160)
        w.u8(articleFormat)
        w.u64(record.seq)
        w.u32(UInt32(record.versions.versions.count))
        for v in record.versions.versions { encode(v, into: &w) }
        return w.bytes
    }

    static func encode(_ v: Version, into w: inout ByteWriter) {
        w.u64(v.dot.node.rawValue)
        w.u64(v.dot.counter)
        w.u32(UInt32(v.context.entries.count))
        for e in v.context.entries {
            w.u64(e.node.rawValue)
            w.u64(e.counter)
        }
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

    static func decodeArticle(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> ArticleRecord {
        var r = ByteReader(buffer)
        let format = try r.u8("format byte")
        guard format == articleFormat else {
            throw CorruptRecord("article record format \(format) is not supported (this folio reads format \(articleFormat))")
        }
        let seq = try r.u64("sequence")
        // The smallest version is a tombstone with an empty context: dot 16, count 4, time 8, kind 1.
        let n = try r.count("versions", minSize: 29)
        var versions: [Version] = []
        versions.reserveCapacity(n)
        for _ in 0..<n { versions.append(try decodeVersion(&r)) }
        guard r.isAtEnd else { throw CorruptRecord("\(r.remaining) unexpected bytes after the last version") }
        return ArticleRecord(seq: seq, versions: VersionSet(stored: versions))
    }

    static func decodeVersion(_ r: inout ByteReader) throws(CorruptRecord) -> Version {
        let node = NodeID(try r.u64("dot node"))
        let counter = try r.u64("dot counter")
        let nctx = try r.count("context", minSize: 16)
        var pairs: [(node: NodeID, counter: UInt64)] = []
        pairs.reserveCapacity(nctx)
        for _ in 0..<nctx { pairs.append((NodeID(try r.u64("context node")), try r.u64("context counter"))) }
        let timestamp = try r.i64("timestamp")
        let kind = try r.u8("version kind")
        let dot = Dot(node: node, counter: counter)
        let context = VersionVector.canonical(pairs)
        switch kind {
        case 0:
            return Version(dot: dot, context: context, timestamp: timestamp, content: nil)
        case 1:
            let title = try r.string("title")
            let source = try r.string("source")
            let url = try r.string("url")
            let published = try r.string("published")
            let ntags = try r.count("tags", minSize: 4)
            var tags: [String] = []
            if ntags > 0 { tags.reserveCapacity(ntags) }
            for _ in 0..<ntags { tags.append(try r.string("tag")) }
            let nextra = try r.count("extra fields", minSize: 8)
            var extra: [ExtraField] = []
            for _ in 0..<nextra { extra.append(ExtraField(name: try r.string("extra name"), json: try r.string("extra value"))) }
            let hash = BodyHash(bytes: try r.raw(32, "body hash"))!
            let length = Int(try r.u64("body length"))
            return Version(
                dot: dot, context: context, timestamp: timestamp,
                content: VersionContent(
                    title: title, source: source, url: url, published: published, tags: tags, extra: extra,
                    bodyHash: hash, bodyLength: length))
        default:
            throw CorruptRecord("unknown version kind \(kind)")
        }
    }

    static func encodeBody(_ body: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.utf8.count + 1)
        out.append(bodyFormat)
        out.append(contentsOf: body.utf8)
        return out
    }

    static func decodeBody(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> String {
        guard let format = buffer.first else { throw CorruptRecord("empty body record") }
        guard format == bodyFormat else { throw CorruptRecord("body record format \(format) is not supported") }
        return try decodeUTF8(UnsafeRawBufferPointer(rebasing: buffer.dropFirst()), "body")
    }
}
