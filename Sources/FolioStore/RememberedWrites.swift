import FolioModel
import LMDB

/// What a store keeps of one identified write (STORAGE.md "Remembered writes").
struct RememberedWrite: Equatable {
    /// Insertion order: the oldest are forgotten first.
    var order: UInt64
    /// SHA-256 of the request without its write id: a retry must be the same request.
    var digest: [UInt8]
    var articleID: String
    var outcome: WriteOutcome
    /// The written version's dot when only that is kept (its record was over `maxInlineVersion`).
    var dotOnly: Dot?

    /// A version record larger than this is remembered by its dot and read back from the article.
    static let maxInlineVersion = 4096

    static let idPrefix: UInt8 = 0x01
    static let orderPrefix: UInt8 = 0x02

    static func key(_ id: WriteID) -> [UInt8] { [idPrefix] + id.bytes }
    static func orderKey(_ order: UInt64) -> [UInt8] { [orderPrefix] + order.bigEndianBytes }

    static let kinds: [WriteOutcome.Kind] = [.added, .updated, .unchanged, .deleted]

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.u8(1)
        w.u64(order)
        w.raw(digest)
        w.string(articleID)
        w.u8(UInt8(RememberedWrite.kinds.firstIndex(of: outcome.kind)!))
        w.u64(outcome.seq)
        w.u32(UInt32(clamping: outcome.superseded))
        w.u32(UInt32(clamping: outcome.siblings))
        if let dot = dotOnly {
            w.u8(2)
            VersionCodec.write(dot, into: &w)
        } else if let v = outcome.version {
            w.u8(1)
            RecordCodec.encode(v, into: &w)
        } else {
            w.u8(0)
        }
        return w.bytes
    }

    init(order: UInt64, digest: [UInt8], articleID: String, outcome: WriteOutcome) {
        self.order = order
        self.digest = digest
        self.articleID = articleID
        self.outcome = outcome
        if let v = outcome.version {
            var w = ByteWriter()
            RecordCodec.encode(v, into: &w)
            if w.bytes.count > RememberedWrite.maxInlineVersion {
                dotOnly = v.dot
                self.outcome.version = nil
            }
        }
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(CorruptRecord) {
        var r = ByteReader(buffer)
        guard try r.u8("format") == 1 else { throw CorruptRecord("unknown remembered-write format") }
        order = try r.u64("order")
        digest = Array(try r.raw(32, "request digest"))
        articleID = try r.string("article id")
        let k = Int(try r.u8("kind"))
        guard k < RememberedWrite.kinds.count else { throw CorruptRecord("unknown write kind \(k)") }
        let seq = try r.u64("seq")
        let superseded = Int(try r.u32("superseded"))
        let siblings = Int(try r.u32("siblings"))
        var version: Version?
        switch try r.u8("version form") {
        case 0: break
        case 1: version = try RecordCodec.decodeVersion(&r)
        case 2: dotOnly = try VersionCodec.readDot(&r, "remembered dot")
        default: throw CorruptRecord("unknown version form")
        }
        guard r.isAtEnd else { throw CorruptRecord("bytes after a remembered write") }
        outcome = WriteOutcome(kind: RememberedWrite.kinds[k], version: version, superseded: superseded, siblings: siblings, seq: seq)
    }
}

extension StoreWriter {
    /// Runs `write` once per write id: the first time it writes and remembers the outcome in
    /// this transaction; a retry with the same id gets that outcome back and writes nothing.
    ///
    /// A retry must repeat the request: `digest` (the request without its id) and the article
    /// id must match what was remembered, or the write is refused (`writeIDReused`). Without
    /// an id this is just `write()`. A write that fails is not remembered: its retry runs again.
    public func idempotent(
        _ writeID: WriteID?, articleID: String, digest: [UInt8], _ write: () throws -> WriteOutcome
    ) throws -> WriteOutcome {
        guard let writeID, let db = store.dbs.writes else { return try write() }
        let remembered = try storeErrors {
            try txn.withValue(db, key: RememberedWrite.key(writeID)) { try RememberedWrite(decoding: $0) }
        }
        if let r = remembered {
            guard r.digest == digest, r.articleID.sameBytes(articleID) else {
                throw StoreError.writeIDReused(writeID: writeID.description, articleID: r.articleID)
            }
            var outcome = r.outcome
            if let dot = r.dotOnly {
                outcome.version = try get(articleID, bodies: .none)?.versions.versions.first { $0.dot == dot }
            }
            return outcome
        }
        let outcome = try write()
        try storeErrors {
            let last = try txn.withLast(db) { key, _ -> UInt64 in
                key.count == 9 && key[0] == RememberedWrite.orderPrefix ? UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: key[1...])) : 0
            }
            let order = (last ?? 0) + 1
            let record = RememberedWrite(order: order, digest: digest, articleID: articleID, outcome: outcome)
            try txn.put(db, key: RememberedWrite.key(writeID), value: record.encoded())
            try txn.put(db, key: RememberedWrite.orderKey(order), value: writeID.bytes)
            try forgetOldWrites(db, limit: store.options.rememberedWrites)
        }
        return outcome
    }

    /// Keeps at most `limit` remembered writes, forgetting the oldest.
    private func forgetOldWrites(_ db: Database, limit: Int) throws {
        let held = try txn.statistics(db).entries / 2
        guard held > limit else { return }
        var doomed: [([UInt8], [UInt8])] = []
        try txn.scan(db, from: [RememberedWrite.orderPrefix]) { key, value in
            doomed.append((Array(key), Array(value)))
            return doomed.count < held - limit
        }
        for (orderKey, id) in doomed {
            _ = try txn.delete(db, key: orderKey)
            _ = try txn.delete(db, key: [RememberedWrite.idPrefix] + id)
        }
    }
}

extension Store {
    /// Deletes the remembered-writes database, leaving the store as one made before it existed
    /// (for the upgrade test). Close the store afterwards.
    func dropRememberedWritesForTesting() throws {
        guard let db = dbs.writes else { return }
        try storeErrors { try env.write { try $0.drop(db) } }
    }
}
