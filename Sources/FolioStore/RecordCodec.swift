import FolioModel

/// The binary encodings of the `articles` database's values (see Protocol/STORAGE.md).
///
/// Every value starts with a format byte; a value written by a newer format is refused,
/// never guessed at.
enum RecordCodec {
    /// Format 2 (storage format 5) keeps small bodies in the record; format 1 is still read
    /// (a store being upgraded holds both).
    static let articleFormat: UInt8 = 2
    /// Format 2 (storage format 5) carries its reference count; format 1 is still read.
    static let bodyFormat: UInt8 = 2
    /// A body of at most this many UTF-8 bytes is stored in its article's record (one lookup
    /// reads the article); a larger one in `bodies`, content-addressed and counted, so sync
    /// never sends it to a store that holds it and identical large bodies are stored once.
    static let inlineBodyLimit = 16_384

    /// Whether a version's body lives in its record (by the length the version declares,
    /// which a write checks against the body itself).
    @inline(__always) static func isInline(_ c: VersionContent) -> Bool { c.bodyLength <= inlineBodyLimit }

    /// An article's stored state: its sibling versions, its latest change's sequence number,
    /// and the hashes of the bodies its record holds (`inlineBodies` has their text when the
    /// record was decoded with them).
    struct ArticleRecord: Equatable {
        var seq: UInt64
        var versions: VersionSet
        var inlineHashes: [BodyHash] = []
        var inlineBodies: [BodyHash: [UInt8]] = [:]

        init(seq: UInt64, versions: VersionSet, inlineHashes: [BodyHash] = [], inlineBodies: [BodyHash: [UInt8]] = [:]) {
            (self.seq, self.versions, self.inlineHashes, self.inlineBodies) = (seq, versions, inlineHashes, inlineBodies)
        }
    }

    /// Format 2: `u8 2`, u64 seq, u32 n, n versions, u32 m, m × (32-byte hash, u32 length,
    /// UTF-8 text): the bodies of its versions that are inline, each once, in the order given.
    static func encode(seq: UInt64, versions: VersionSet, inline: [(BodyHash, [UInt8])]) -> [UInt8] {
        var w = ByteWriter(capacity: 128 + versions.versions.count * 160 + inline.reduce(0) { $0 + 36 + $1.1.count })
        w.u8(articleFormat)
        w.u64(seq)
        w.u32(UInt32(versions.versions.count))
        for v in versions.versions { encode(v, into: &w) }
        w.u32(UInt32(inline.count))
        for (h, text) in inline {
            h.withKeyBytes { w.raw($0) }
            w.u32(UInt32(text.count))
            w.raw(text)
        }
        return w.bytes
    }

    static func encode(_ v: Version, into w: inout ByteWriter) { VersionCodec.write(v, into: &w) }

    /// Decodes a record; `body` sees each inline body's hash and text in place (valid during
    /// the call; its UTF-8 not checked here: `verify` and `decodeBody` do).
    static func decodeArticle(
        _ buffer: UnsafeRawBufferPointer, body: (BodyHash, UnsafeRawBufferPointer) throws -> Void = { _, _ in }
    ) throws -> ArticleRecord {
        var r = ByteReader(buffer)
        let format = try r.u8("format byte")
        guard format == 1 || format == articleFormat else {
            throw CorruptRecord("article record format \(format) is not supported (this folio reads formats 1 and \(articleFormat))")
        }
        let seq = try r.u64("sequence")
        // The smallest version is a tombstone with an empty context: dot 16, count 4, time 8, kind 1.
        let n = try r.count("versions", minSize: VersionCodec.minVersionSize)
        guard n > 0 else { throw CorruptRecord("an article record holds no version") }
        var versions: [Version] = []
        versions.reserveCapacity(n)
        for _ in 0..<n { versions.append(try decodeVersion(&r)) }
        var hashes: [BodyHash] = []
        if format == 2 {
            try readInlineBodies(&r) { h, text in
                hashes.append(h)
                try body(h, text)
            }
        }
        guard r.isAtEnd else { throw CorruptRecord("\(r.remaining) unexpected bytes after the record") }
        // Versions out of dot order (or sharing a dot) break the record's invariant: corruption,
        // as every reader (and the node's GET, which copies them) treats it, never sorted quietly.
        if zip(versions, versions.dropFirst()).contains(where: { $0.dot >= $1.dot }) {
            throw CorruptRecord("the versions are not sorted by dot")
        }
        return ArticleRecord(seq: seq, versions: VersionSet(stored: versions), inlineHashes: hashes)
    }

    /// Reads a format-2 record's inline bodies (u32 count, then 32-byte hash, u32 length,
    /// text each), refusing a body held twice; `visit` sees each hash and text in place.
    static func readInlineBodies(_ r: inout ByteReader, _ visit: (BodyHash, UnsafeRawBufferPointer) throws -> Void) throws {
        var seen: [BodyHash] = []
        for _ in 0..<(try r.count("inline bodies", minSize: 36)) {
            guard let h = BodyHash(raw: try r.raw(32, "inline body hash")) else { throw CorruptRecord("an inline body's hash is malformed") }
            let text = try r.raw(Int(try r.u32("inline body length")), "inline body")
            if seen.contains(h) { throw CorruptRecord("the record holds body \(h.hex.prefix(12))… twice") }
            seen.append(h)
            try visit(h, text)
        }
    }

    /// Decodes a record with copies of its inline bodies' text.
    static func decodeArticleWithBodies(_ buffer: UnsafeRawBufferPointer) throws -> ArticleRecord {
        var bodies: [BodyHash: [UInt8]] = [:]
        var rec = try decodeArticle(buffer) { h, text in bodies[h] = Array(text) }
        rec.inlineBodies = bodies
        return rec
    }

    static func decodeVersion(_ r: inout ByteReader) throws(CorruptRecord) -> Version { try VersionCodec.readVersion(&r) }

    // MARK: Checkpoints (`peers`)

    /// A checkpoint's value: `u8 format = 1`, u64 sequence, i64 updated (ms).
    static func encodeCheckpoint(sequence: UInt64, updated: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 17)
        w.u8(1)
        w.u64(sequence)
        w.i64(updated)
        return w.bytes
    }

    static func decodeCheckpoint(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> (sequence: UInt64, updated: Int64) {
        var r = ByteReader(buffer)
        let format = try r.u8("checkpoint format")
        guard format == 1 else { throw CorruptRecord("checkpoint record format \(format) is not supported") }
        let sequence = try r.u64("checkpoint sequence")
        let updated = try r.i64("checkpoint time")
        guard r.isAtEnd else { throw CorruptRecord("\(r.remaining) unexpected bytes after a checkpoint") }
        return (sequence, updated)
    }

    /// A checkpoint's key: u64 source node id, then the source epoch (ASCII).
    static func decodeCheckpointKey(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> (NodeID, Epoch) {
        var r = ByteReader(buffer)
        let node = NodeID(try r.u64("checkpoint node"))
        let epoch = try decodeUTF8(try r.raw(r.remaining, "checkpoint epoch"), "checkpoint epoch")
        return (node, Epoch(epoch))
    }

    /// A `bodies` value, format 2: `u8 2`, u64 reference count (the versions, of every
    /// article, whose body it is), UTF-8 text.
    static func encodeBody(_ text: UnsafeRawBufferPointer, references: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 9)
        out.append(bodyFormat)
        withUnsafeBytes(of: references.bigEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: text)
        return out
    }

    static func decodeBody(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> String {
        try decodeUTF8(bodyText(buffer), "body")
    }

    /// A body record's text bytes, in place (its format checked, its UTF-8 not: `verify`
    /// and `decodeBody` do that).
    static func bodyText(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> UnsafeRawBufferPointer {
        try bodyRecord(buffer).text
    }

    /// A body record's reference count (nil in format 1, whose counts are in `bodyrefs`) and
    /// text, in place.
    static func bodyRecord(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> (references: UInt64?, text: UnsafeRawBufferPointer) {
        guard let format = buffer.first else { throw CorruptRecord("empty body record") }
        switch format {
        case 1: return (nil, UnsafeRawBufferPointer(rebasing: buffer.dropFirst()))
        case 2:
            guard buffer.count >= 9 else { throw CorruptRecord("a body record is \(buffer.count) bytes, too short for its reference count") }
            return (UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: buffer[1..<9])), UnsafeRawBufferPointer(rebasing: buffer[9...]))
        default: throw CorruptRecord("body record format \(format) is not supported")
        }
    }
}

// MARK: Peer statuses (`peerstatus`)

extension RecordCodec {
    /// A `peerstatus` value: `u8 format = 1` and the status as compact JSON.
    static func decodePeerStatus(_ v: UnsafeRawBufferPointer) throws(CorruptRecord) -> PeerStatus {
        guard v.first == 1, let json = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: v.dropFirst())),
            let s = PeerStatus(recordJSON: json)
        else { throw CorruptRecord("malformed peer status record") }
        return s
    }
}

extension PeerStatus {
    /// The `peerstatus` value after its format byte: a compact JSON object (STORAGE.md).
    var recordJSON: JSONValue {
        func num<T: BinaryInteger>(_ v: T?) -> JSONValue { v.map { .number(String($0)) } ?? .null }
        return .object([
            ("address", .string(address)), ("node", node.map { .string($0.hex) } ?? .null), ("connected", .bool(connected)),
            ("last_success_ms", num(lastSuccess)), ("last_error", lastError.map { .string($0) } ?? .null),
            ("pending_in", num(pendingIn)), ("pending_out", num(pendingOut)),
            ("untransferable", .array(untransferable.map { .string($0) })), ("clock_skew_ms", num(clockSkew)),
            ("filter", .string(filter)), ("push_filter", .string(pushFilter)),
            ("updated_ms", num(updated)),
        ])
    }

    /// Reads a `peerstatus` JSON object; fields absent in older records read as empty.
    init?(recordJSON json: JSONValue) {
        guard case let .string(a)? = json["address"] else { return nil }
        func int(_ k: String) -> Int64? { if case let .number(n)? = json[k] { return Int64(n) } else { return nil } }
        var node: NodeID?
        if case let .string(n)? = json["node"] { node = NodeID(hex: n) }
        var connected = false
        if case let .bool(c)? = json["connected"] { connected = c }
        var lastError: String?
        if case let .string(e)? = json["last_error"] { lastError = e }
        self.init(
            address: a, node: node, connected: connected, lastSuccess: int("last_success_ms"), lastError: lastError,
            pendingIn: int("pending_in").map { UInt64(max(0, $0)) }, pendingOut: int("pending_out").map { UInt64(max(0, $0)) },
            updated: int("updated_ms") ?? 0)
        if case let .array(items)? = json["untransferable"] {
            untransferable = items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
        }
        clockSkew = int("clock_skew_ms")
        if case let .string(f)? = json["filter"] { filter = f }
        if case let .string(f)? = json["push_filter"] { pushFilter = f }
    }
}
