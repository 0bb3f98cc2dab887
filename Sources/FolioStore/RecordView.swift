import FolioModel
import LMDB

/// An article record read in place (`Store.withRecord`): where each version and body lies on
/// the LMDB page, found by one bounds-checked pass that decodes no field. Fields are decoded
/// when asked for, and only those: a point read of the winning article copies its strings and
/// body out of the page and nothing else; the node serves GET by copying the versions' bytes
/// as they are (the wire encodes a version as the record does). Valid only during the call
/// that lends it; `verify` decodes and checks every field of every record.
public struct ArticleRecordView {
    /// Where one version lies, and what choosing the winner needs.
    struct Span {
        var bytes: Range<Int>
        var node: UInt64
        var counter: UInt64
        var timestamp: Int64
        var isTombstone: Bool
        /// Where the live content's fields start (title first).
        var content: Int
        var bodyHash: BodyHash?
        var bodyLength: Int
    }

    let id: String
    let record: UnsafeRawBufferPointer
    let txn: Transaction
    let bodies: Database
    public let seq: UInt64
    let spans: [Span]
    let inline: [(BodyHash, Range<Int>)]

    init(id: String, record: UnsafeRawBufferPointer, txn: Transaction, bodies: Database) throws {
        (self.id, self.record, self.txn, self.bodies) = (id, record, txn, bodies)
        var r = ByteReader(record)
        let format = try r.u8("format byte")
        guard format == 1 || format == RecordCodec.articleFormat else {
            throw CorruptRecord("article record format \(format) is not supported (this folio reads formats 1 and \(RecordCodec.articleFormat))")
        }
        seq = try r.u64("sequence")
        let n = try r.count("versions", minSize: VersionCodec.minVersionSize)
        guard n > 0 else { throw CorruptRecord("an article record holds no version") }
        var spans: [Span] = []
        spans.reserveCapacity(n)
        for _ in 0..<n {
            let start = r.offset
            let node = try r.u64("version dot node")
            let counter = try r.u64("version dot counter")
            // What a version must be (STORAGE.md "articles"), checked without decoding it: what
            // the node sends from here, a peer takes as it is.
            guard node != 0, (1...Dot.maxCounter).contains(counter) else { throw CorruptRecord("version dot \(node):\(counter) is out of range") }
            if let p = spans.last, (p.node, p.counter) >= (node, counter) { throw CorruptRecord("the versions are not sorted by dot") }
            let m = try r.count("version context", minSize: 16)
            var previous: UInt64?
            for _ in 0..<m {
                let (n, c) = (try r.u64("context node"), try r.u64("context counter"))
                guard n != 0, (1...Dot.maxCounter).contains(c) else { throw CorruptRecord("a context entry \(n):\(c) is out of range") }
                if let previous, n <= previous { throw CorruptRecord("a context's entries are not sorted by node") }
                if n == node && c >= counter { throw CorruptRecord("a version's context covers its own dot") }
                previous = n
            }
            let timestamp = try r.i64("version timestamp")
            let kind = try r.u8("version kind")
            var span = Span(bytes: start..<start, node: node, counter: counter, timestamp: timestamp, isTombstone: kind == 0, content: r.offset, bodyHash: nil, bodyLength: 0)
            switch kind {
            case 0: break
            case 1:
                for _ in 0..<4 { try Self.checkString(&r) }
                for _ in 0..<(try r.count("tags", minSize: 4)) { try Self.checkString(&r) }
                for _ in 0..<(try r.count("extra fields", minSize: 8)) {
                    try Self.checkString(&r)
                    try Self.checkString(&r)
                }
                span.bodyHash = BodyHash(raw: try r.raw(32, "body hash"))
                let length = try r.u64("body length")
                guard length <= UInt64(Int.max) else { throw CorruptRecord("body length out of range") }
                span.bodyLength = Int(length)
            case let k: throw CorruptRecord("unknown version kind \(k)")
            }
            span.bytes = start..<r.offset
            spans.append(span)
        }
        var inline: [(BodyHash, Range<Int>)] = []
        if format == RecordCodec.articleFormat {
            try RecordCodec.readInlineBodies(&r) { h, text in
                // Where the text lies in the record (an empty one anywhere: its range is empty).
                let start = text.isEmpty ? 0 : text.baseAddress! - record.baseAddress!
                inline.append((h, start..<start + text.count))
            }
        }
        guard r.isAtEnd else { throw CorruptRecord("\(r.remaining) unexpected bytes after the record") }
        (self.spans, self.inline) = (spans, inline)
    }

    /// Passes a string, checking that it is UTF-8.
    private static func checkString(_ r: inout ByteReader) throws(CorruptRecord) {
        let n = Int(try r.u32("string length"))
        guard UTF8Check.isValid(try r.raw(n, "string")) else { throw CorruptRecord("a string of a version is not valid UTF-8", invalidUTF8: true) }
    }

    /// How many sibling versions the article has.
    public var versionCount: Int { spans.count }

    /// The winner's index, by `Version.winsOver` (a live version over a tombstone, then the
    /// later timestamp, then the larger node id, then the larger counter).
    public var winnerIndex: Int {
        var best = 0
        for i in spans.indices.dropFirst() {
            let (a, b) = (spans[i], spans[best])
            let wins =
                a.isTombstone != b.isTombstone ? !a.isTombstone
                : a.timestamp != b.timestamp ? a.timestamp > b.timestamp
                : a.node != b.node ? a.node > b.node
                : a.counter > b.counter
            if wins { best = i }
        }
        return best
    }

    /// True when the winner is a tombstone.
    public var isDeleted: Bool { spans[winnerIndex].isTombstone }

    /// Version `i`'s body hash (nil for a tombstone).
    public func bodyHash(_ i: Int) -> BodyHash? { spans[i].bodyHash }

    /// Version `i`'s bytes as the record (and the wire, SPEC §3) encodes a version.
    public func versionBytes(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: record[spans[i].bytes]) }

    /// Lends version `i`'s body text (nil for a tombstone): from the record, else from
    /// `bodies`. Its UTF-8 is not checked here.
    public func withBody<T>(of i: Int, _ use: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        guard let h = spans[i].bodyHash else { return nil }
        guard let found = try withBody(h, use) else { throw StoreError.corrupt("body \(h) of \"\(id)\" is missing") }
        return found
    }

    /// Lends body `h`'s text: from the record, else from `bodies`; nil when neither holds it.
    func withBody<T>(_ h: BodyHash, _ use: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        if let range = inline.first(where: { $0.0 == h })?.1 { return try use(UnsafeRawBufferPointer(rebasing: record[range])) }
        return try h.withKeyBytes { key in try txn.withValue(bodies, key: key) { try use(RecordCodec.bodyText($0)) } }
    }

    /// The winning version as an article (nil when it is a tombstone): its fields and body
    /// decoded from the page, each checked as UTF-8.
    public func winningArticle() throws -> Article? {
        let w = winnerIndex
        let span = spans[w]
        guard !span.isTombstone else { return nil }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: record[span.content..<span.bytes.upperBound]))
        let (title, source, url, published, tags, extra) = try VersionCodec.readFields(&r)
        guard let body = try withBody(of: w, { try decodeUTF8($0, "body") }) else { return nil }
        return Article(id: id, title: title, source: source, url: url, published: published, body: body, tags: tags, extra: extra)
    }
}

extension Store {
    /// Lends article `id`'s record, read in place (`ArticleRecordView`), to `body` within one
    /// read transaction; nil when the store does not hold the article. The view is valid only
    /// during `body`.
    public func withRecord<T>(_ id: String, _ body: (ArticleRecordView) throws -> T) throws -> T? {
        try Store.checkID(id)
        return try storeErrors {
            try env.read { txn in
                var key = id
                return try key.withUTF8 { k in
                    try txn.withValue(dbs.articles, key: UnsafeRawBufferPointer(k)) { v in
                        try body(try ArticleRecordView(id: id, record: v, txn: txn, bodies: dbs.bodies))
                    }
                }
            }
        }
    }

    /// The winning version of article `id` as an article — the common point read, decoding
    /// only the winner's fields and copying only its body (`get` decodes every version). Nil
    /// when the article is absent or deleted.
    public func article(_ id: String) throws -> Article? {
        try withRecord(id) { try $0.winningArticle() } ?? nil
    }
}
