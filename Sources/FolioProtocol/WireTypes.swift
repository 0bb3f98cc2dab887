import FolioModel
import NIOCore

// Encodings of Folio's values on the wire (SPEC §5). Each `write…` has a matching `read…`.

extension ByteBuffer {
    // MARK: Version vectors and versions

    // Versions, vectors and dots use the one codec the store uses too (`VersionCodec`).

    mutating func writeVector(_ v: VersionVector) { writeCodec { VersionCodec.write(v, into: &$0) } }

    mutating func readVector(_ what: String) throws -> VersionVector { try readCodec { r throws(CorruptRecord) in try VersionCodec.readVector(&r, what) } }

    mutating func writeDot(_ d: Dot) { writeCodec { VersionCodec.write(d, into: &$0) } }

    mutating func readDot(_ what: String) throws -> Dot { try readCodec { r throws(CorruptRecord) in try VersionCodec.readDot(&r, what) } }

    mutating func writeVersion(_ v: Version) { writeCodec { VersionCodec.write(v, into: &$0) } }

    mutating func readVersion() throws -> Version { try readCodec { r throws(CorruptRecord) in try VersionCodec.readVersion(&r) } }

    /// Writes what `body` encodes with the shared codec.
    private mutating func writeCodec(_ body: (inout ByteWriter) -> Void) {
        var w = ByteWriter(capacity: 64)
        body(&w)
        writeBytes(w.bytes)
    }

    /// Reads one value with the shared codec, consuming exactly its bytes; a value the codec
    /// refuses is `invalidUTF8` or `badFrame` (SPEC §3).
    private mutating func readCodec<T>(_ body: (inout ByteReader) throws(CorruptRecord) -> T) throws -> T {
        let (value, used) = try withUnsafeReadableBytes { bytes -> (T, Int) in
            var r = ByteReader(bytes)
            do throws(CorruptRecord) {
                let v = try body(&r)
                return (v, r.offset)
            } catch {
                throw ProtocolViolation(error.invalidUTF8 ? .invalidUTF8 : .badFrame, error.reason)
            }
        }
        moveReaderIndex(forwardBy: used)
        return value
    }

    mutating func writeStrings(_ list: [String]) {
        writeWire(UInt32(list.count))
        for s in list { writeWireString(s) }
    }

    mutating func readStrings(_ what: String) throws -> [String] {
        let n = try readWireCount(what, minItemSize: 4)
        return try (0..<n).map { i in try readWireString("\(what)[\(i)]") }
    }

    mutating func writeExtras(_ extras: [ExtraField]) {
        writeWire(UInt32(extras.count))
        for f in extras {
            writeWireString(f.name)
            writeWireString(f.json)
        }
    }

    mutating func readExtras() throws -> [ExtraField] {
        let n = try readWireCount("extra fields", minItemSize: 8)
        return try (0..<n).map { _ in
            // Whether the value is (compact) JSON is the store's check: `invalidArticle`, not fatal.
            let name = try readWireString("extra field name")
            let json = try readWireString("extra field value")
            return ExtraField(name: name, json: json)
        }
    }

    // MARK: Articles

    mutating func writeArticle(_ a: Article) {
        writeWireString(a.id)
        writeWireString(a.title)
        writeWireString(a.source)
        writeWireString(a.url)
        writeWireString(a.published)
        writeWireString(a.body)
        writeStrings(a.tags)
        writeExtras(a.extra)
    }

    mutating func readArticle() throws -> Article {
        Article(
            id: try readWireString("id"), title: try readWireString("title"), source: try readWireString("source"),
            url: try readWireString("url"), published: try readWireString("published"), body: try readWireString("body"),
            tags: try readStrings("tags"), extra: try readExtras())
    }

    /// An article state: id, seq, versions, each followed by its body when one was loaded.
    mutating func writeState(_ s: ArticleState) {
        writeWireString(s.id)
        writeWire(s.seq)
        writeWire(UInt32(s.versions.versions.count))
        for v in s.versions.versions {
            writeVersion(v)
            writeWireOptional(v.content.flatMap { s.bodies[$0.bodyHash] }) { $0.writeWireString($1) }
        }
    }

    mutating func readState() throws -> ArticleState {
        let id = try readWireString("id")
        let seq = try readWire(UInt64.self, "sequence")
        let n = try readWireCount("versions", minItemSize: 30)
        guard n > 0 else { throw ProtocolViolation(.badFrame, "an article state must hold at least one version") }
        var versions: [Version] = []
        var bodies = BodyTable()
        for _ in 0..<n {
            let v = try readVersion()
            if let p = versions.last, (p.dot.node.rawValue, p.dot.counter) >= (v.dot.node.rawValue, v.dot.counter) {
                throw ProtocolViolation(.badFrame, "the versions of \"\(id)\" are not sorted by dot, or two share a dot")
            }
            if let body = try readWireOptional("body", { try $0.readWireString("body") }) {
                guard let c = v.content, BodyHash(of: body) == c.bodyHash else {
                    throw ProtocolViolation(.badFrame, "a body does not match its version's hash")
                }
                bodies[c.bodyHash] = body
            }
            versions.append(v)
        }
        return ArticleState(id: id, seq: seq, versions: VersionSet(versions: versions), bodies: bodies)
    }

    // MARK: Results

    mutating func writeOutcome(_ o: WriteOutcome) {
        let kind: UInt8
        switch o.kind {
        case .added: kind = 0
        case .updated: kind = 1
        case .unchanged: kind = 2
        case .deleted: kind = 3
        }
        writeWire(kind)
        writeWireOptional(o.version) { $0.writeVersion($1) }
        writeWire(UInt32(o.superseded))
        writeWire(UInt32(o.siblings))
        writeWire(o.seq)
    }

    mutating func readOutcome() throws -> WriteOutcome {
        let kind: WriteOutcome.Kind
        switch try readWire(UInt8.self, "outcome kind") {
        case 0: kind = .added
        case 1: kind = .updated
        case 2: kind = .unchanged
        case 3: kind = .deleted
        case let k: throw ProtocolViolation(.badFrame, "unknown outcome kind \(k)")
        }
        let version = try readWireOptional("version") { try $0.readVersion() }
        return WriteOutcome(
            kind: kind, version: version, superseded: Int(try readWire(UInt32.self, "superseded")),
            siblings: Int(try readWire(UInt32.self, "siblings")), seq: try readWire(UInt64.self, "sequence"))
    }

    mutating func writeHashes(_ hashes: [BodyHash]) {
        writeWire(UInt32(hashes.count))
        for h in hashes { writeBytes(h.bytes) }
    }

    mutating func readHashes(_ what: String) throws -> [BodyHash] {
        let n = try readWireCount(what, minItemSize: 32)
        return try (0..<n).map { _ in BodyHash(bytes: try readFixedBytes(32, what))! }
    }

    mutating func writeChange(_ c: Change) {
        writeWire(c.seq)
        writeWireString(c.id)
        writeWire(UInt32(c.versions.count))
        for v in c.versions {
            writeDot(v.dot)
            writeWireBool(v.isTombstone)
            if let h = v.bodyHash { writeBytes(h.bytes) }
        }
    }

    mutating func readChange() throws -> Change {
        let seq = try readWire(UInt64.self, "change sequence")
        let id = try readWireString("change id")
        let n = try readWireCount("change versions", minItemSize: 17)
        var versions: [VersionSummary] = []
        for _ in 0..<n {
            let dot = try readDot("summary dot")
            let tomb = try readWireBool("summary tombstone flag")
            let hash = tomb ? nil : BodyHash(bytes: try readFixedBytes(32, "summary body hash"))
            versions.append(VersionSummary(dot: dot, isTombstone: tomb, bodyHash: hash))
        }
        return Change(seq: seq, id: id, versions: versions)
    }

    mutating func writeStatistics(_ s: StoreStatistics) {
        writeWire(s.nodeID.rawValue)
        writeWireString(s.epoch.text)
        writeWire(s.storageFormat)
        writeWire(s.liveArticles)
        writeWire(s.tombstones)
        writeWire(s.articlesInConflict)
        writeWire(s.lastSequence)
        for v in [s.fileSize, s.mapSize, s.mapUsed, s.pageSize, s.readersInUse, s.maxReaders] { writeWire(UInt64(v)) }
        writeWireString(s.lmdbVersion)
        writeWire(UInt32(s.databases.count))
        for db in s.databases {
            writeWireString(db.name)
            let d = db.statistics
            for v in [d.pageSize, d.depth, d.branchPages, d.leafPages, d.overflowPages, d.entries] { writeWire(UInt64(v)) }
        }
    }

    /// A u64 size or count that must fit Int64 (decoded exactly, so it re-encodes as it came).
    mutating func readWireSize(_ what: String) throws -> Int {
        let v = try readWire(UInt64.self, what)
        guard v <= UInt64(Int64.max) else { throw ProtocolViolation(.badFrame, "\(what) \(v) is above 2^63 − 1") }
        return Int(v)
    }

    mutating func readStatistics() throws -> StoreStatistics {
        let node = NodeID(try readWire(UInt64.self, "node id"))
        let epoch = Epoch(try readWireString("epoch"))
        let format = try readWire(UInt32.self, "storage format")
        let live = try readWire(UInt64.self, "live")
        let tombs = try readWire(UInt64.self, "tombstones")
        let conflicts = try readWire(UInt64.self, "conflicts")
        let last = try readWire(UInt64.self, "last sequence")
        var n: [Int] = []
        for name in ["file size", "map size", "map used", "page size", "readers", "max readers"] {
            n.append(try readWireSize(name))
        }
        let lmdb = try readWireString("lmdb version")
        let count = try readWireCount("databases", minItemSize: 52)
        var dbs: [(name: String, statistics: StoreStatistics.Database)] = []
        for _ in 0..<count {
            let name = try readWireString("database name")
            var v: [Int] = []
            for f in ["page size", "depth", "branch pages", "leaf pages", "overflow pages", "entries"] {
                v.append(try readWireSize(f))
            }
            dbs.append((name, StoreStatistics.Database(pageSize: v[0], depth: v[1], branchPages: v[2], leafPages: v[3], overflowPages: v[4], entries: v[5])))
        }
        return StoreStatistics(
            nodeID: node, epoch: epoch, storageFormat: format, liveArticles: live, tombstones: tombs,
            articlesInConflict: conflicts, lastSequence: last, fileSize: n[0], mapSize: n[1], mapUsed: n[2], pageSize: n[3],
            readersInUse: n[4], maxReaders: n[5], lmdbVersion: lmdb, databases: dbs)
    }
}
