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

    static func encode(_ v: Version, into w: inout ByteWriter) { VersionCodec.write(v, into: &w) }

    static func decodeArticle(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> ArticleRecord {
        var r = ByteReader(buffer)
        let format = try r.u8("format byte")
        guard format == articleFormat else {
            throw CorruptRecord("article record format \(format) is not supported (this folio reads format \(articleFormat))")
        }
        let seq = try r.u64("sequence")
        // The smallest version is a tombstone with an empty context: dot 16, count 4, time 8, kind 1.
        let n = try r.count("versions", minSize: VersionCodec.minVersionSize)
        var versions: [Version] = []
        versions.reserveCapacity(n)
        for _ in 0..<n { versions.append(try decodeVersion(&r)) }
        guard r.isAtEnd else { throw CorruptRecord("\(r.remaining) unexpected bytes after the last version") }
        return ArticleRecord(seq: seq, versions: VersionSet(stored: versions))
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

    static func encodeBody(_ body: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.utf8.count + 1)
        out.append(bodyFormat)
        out.append(contentsOf: body.utf8)
        return out
    }

    static func decodeBody(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> String {
        try decodeUTF8(bodyText(buffer), "body")
    }

    /// A body record's text bytes, in place (its format checked, its UTF-8 not: `verify`
    /// and `decodeBody` do that).
    static func bodyText(_ buffer: UnsafeRawBufferPointer) throws(CorruptRecord) -> UnsafeRawBufferPointer {
        guard let format = buffer.first else { throw CorruptRecord("empty body record") }
        guard format == bodyFormat else { throw CorruptRecord("body record format \(format) is not supported") }
        return UnsafeRawBufferPointer(rebasing: buffer.dropFirst())
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
