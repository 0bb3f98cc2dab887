import FolioModel
import Foundation
import LMDB

/// A Folio store: the articles of one replica in an LMDB environment on disk.
///
/// Open a path once per process and share the `Store` (it is thread-safe). Reads see one
/// consistent snapshot each; writes are serialized and run in `write(_:)` closures that
/// commit atomically — every article change, its sequence number and the counters land
/// together or not at all. Another process may read the store while this one writes.
///
///     let store = try Store.open(at: "/var/lib/folio")
///     try store.write { try $0.put(Article(id: "a1", title: "Hello")) }
///     let state = try store.get("a1")
public final class Store: Sendable {
    /// The storage format this build writes and the newest it reads.
    public static let storageFormat: UInt32 = 5
    /// The format that brought the search index's current layout, postings in segments (a
    /// store below it builds the index again at its first write-open).
    static let searchIndexFormat: UInt32 = 4
    /// The format that brought tombstone collection (`acks`, `purged`, `tombstones`, `collected`).
    static let tombstoneFormat: UInt32 = 3

    public struct Options: Sendable {
        /// Initial LMDB map size; it grows on demand.
        public var mapSize = 256 << 20
        public var limits = ArticleLimits.default
        /// Open without write access (reads, stats, verify).
        public var readOnly = false
        /// Trade the last commit's durability on power loss for speed (`MDB_NOMETASYNC`).
        public var noMetaSync = false
        /// How many identified writes (PUT/DELETE with a write id) are remembered for retries.
        public var rememberedWrites = 10_000
        /// Keep the search index (default). Off only to measure what the index costs: writes
        /// then skip it, and the store is marked so its next ordinary write-open rebuilds it.
        public var maintainSearchIndex = true
        /// Milliseconds since 1970 recorded in new versions (tests pin it).
        public var clock: @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
        public init() {}
    }

    struct Databases: Sendable {
        let meta: Database
        let articles: Database
        let bodies: Database
        let changes: Database
        let peers: Database
        let peerStatus: Database
        /// Remembered outcomes of identified writes; nil only in a read-only open of a store
        /// made before it existed.
        let writes: Database?
        /// The full-text index (format 2); nil only in a read-only open of a format-1 store.
        let search: SearchDatabases?
        /// Per peer, how far it is known to hold this store's feed (format 3); nil only in a
        /// read-only open of an older store.
        let acks: Database?
        /// Digests of purged article ids with what their purge covered (format 3).
        let purged: Database?
        /// The articles whose versions are all tombstones, by their change's sequence (format 3):
        /// what collection and `folio stats` read instead of the whole feed.
        let tombstones: Database?
        /// Digests of collected tombstones' ids with when they were deleted (format 3).
        let collected: Database?
    }

    public let path: String
    public let options: Options
    public let nodeID: NodeID
    /// A random id of this store's incarnation; a recreated or copied store gets a new one.
    public let epoch: Epoch
    /// Set when this open found the store copied and gave it a new node id and epoch.
    public let identityChange: IdentityChange?
    let env: Environment
    let dbs: Databases
    /// Fired after each commit of `write` (change feeds of this process wake on it).
    let commits = CommitSignal()

    /// (Formats 1–4 also had `bodyrefs`, the bodies' reference counts, dropped by the upgrade to 5.)
    static let databaseNames = ["meta", "articles", "bodies", "changes", "peers", "peerstatus"]

    private init(
        path: String, options: Options, env: Environment, dbs: Databases, nodeID: NodeID, epoch: Epoch,
        identityChange: IdentityChange? = nil
    ) {
        self.path = path
        self.options = options
        self.env = env
        self.dbs = dbs
        self.nodeID = nodeID
        self.epoch = epoch
        self.identityChange = identityChange
    }

    static func newEpoch() -> Epoch { .random() }

    private static func dataFile(_ path: String) -> String { (path as NSString).appendingPathComponent("data.mdb") }

    static func environment(_ path: String, _ options: Options) throws -> (Environment, Databases) {
        var eo = Environment.Options()
        eo.mapSize = options.mapSize
        eo.maxDatabases = 24
        eo.maxReaders = 126
        eo.readOnly = options.readOnly
        eo.noMetaSync = options.noMetaSync
        let env = try storeErrors { try Environment(path: path, options: eo) }
        let flags: Database.Flags = options.readOnly ? [] : [.create]
        let opened: [Database]
        do {
            opened = try storeErrors { try env.openDatabases(databaseNames.map { ($0, flags) }) }
        } catch StoreError.lmdb(.notFound) {
            env.close()
            throw StoreError.notAFolioStore(path: path, reason: "its named databases are missing")
        }
        // Added after format 1's first release: created by a write-open, absent is fine read-only.
        let writes: Database?
        do {
            writes = try storeErrors { try env.openDatabases([("writes", flags)]) }.first
        } catch StoreError.lmdb(.notFound) where options.readOnly {
            writes = nil
        }
        // Format 4's search index: created by a write-open (which builds it), absent is fine
        // read-only (a store of an older format, whose search then asks for a write-open).
        var search: SearchDatabases?
        do {
            let d = try storeErrors { try env.openDatabases(SearchDatabases.names.map { ($0, flags) }) }
            search = SearchDatabases(ids: d[0], docs: d[1], norms: d[2], segments: d[3], postings: d[4])
            if !options.maintainSearchIndex && !options.readOnly {
                let meta = opened[0]
                try storeErrors { try env.write { try $0.put(meta, key: Meta.searchVersion, value: UInt64(0).bigEndianBytes) } }
                search = nil
            }
        } catch StoreError.lmdb(.notFound) where options.readOnly {
            search = nil
        }
        // Format 3's tombstone collection records: created by a write-open, absent is fine read-only.
        var acks: Database?
        var purged: Database?
        var tombstones: Database?
        var collected: Database?
        do {
            let d = try storeErrors { try env.openDatabases([("acks", flags), ("purged", flags), ("tombstones", flags), ("collected", flags)]) }
            (acks, purged, tombstones, collected) = (d[0], d[1], d[2], d[3])
        } catch StoreError.lmdb(.notFound) where options.readOnly {
            (acks, purged, tombstones, collected) = (nil, nil, nil, nil)
        }
        return (
            env,
            Databases(
                meta: opened[0], articles: opened[1], bodies: opened[2], changes: opened[3],
                peers: opened[4], peerStatus: opened[5], writes: writes, search: search, acks: acks, purged: purged, tombstones: tombstones, collected: collected))
    }

    /// Creates a new store in `path` (made if missing) with a fresh node id and epoch.
    /// Refuses when a store already exists there.
    public static func create(at path: String, options: Options = Options()) throws -> Store {
        let fm = FileManager.default
        if fm.fileExists(atPath: dataFile(path)) { throw StoreError.alreadyExists(path: path) }
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError.badDestination("cannot create \(path): \(error.localizedDescription)")
        }
        let (env, dbs) = try environment(path, options)
        let node = NodeID.random()
        let epoch = newEpoch()
        let now = options.clock()
        try storeErrors {
            try env.write { txn in
                try txn.put(dbs.meta, key: Meta.format, value: withUnsafeBytes(of: storageFormat.bigEndian) { Array($0) })
                try txn.put(dbs.meta, key: Meta.node, value: node.rawValue.bigEndianBytes)
                try txn.put(dbs.meta, key: Meta.epoch, value: Array(epoch.text.utf8))
                try txn.put(dbs.meta, key: Meta.created, value: UInt64(bitPattern: now).bigEndianBytes)
                try txn.put(dbs.meta, key: Meta.seq, value: UInt64(0).bigEndianBytes)
                for k in [Meta.live, Meta.tombstones, Meta.conflicts, Meta.searchDocs, Meta.searchLength, Meta.searchNext] {
                    try txn.put(dbs.meta, key: k, value: UInt64(0).bigEndianBytes)
                }
                try txn.put(dbs.meta, key: Meta.searchVersion, value: (options.maintainSearchIndex ? SearchText.fingerprint : 0).bigEndianBytes)
                if let home = StoreHome.current(dataFile: dataFile(path)) { try txn.put(dbs.meta, key: Meta.home, value: home.encoded) }
            }
        }
        return Store(path: path, options: options, env: env, dbs: dbs, nodeID: node, epoch: epoch)
    }

    /// A missing store, and one this user may not use, told apart before LMDB is asked.
    static func checkAccess(_ path: String, readOnly: Bool) throws {
        var st = stat()
        if stat(dataFile(path), &st) != 0 {
            let e = errno
            if e == EACCES { throw StoreError.permissionDenied(path: path, "cannot enter the store's directory") }
            throw StoreError.noStore(path: path)
        }
        let dir = access(path, readOnly ? (R_OK | X_OK) : (R_OK | W_OK | X_OK)) == 0
        let file = access(dataFile(path), readOnly ? R_OK : (R_OK | W_OK)) == 0
        if !dir || !file {
            // LMDB's lock file lives in the directory: even a reader needs to write there.
            throw StoreError.permissionDenied(path: path, readOnly ? "cannot read the store at" : "cannot read and write the store at")
        }
    }

    /// Opens an existing store; refuses one written by a newer storage format.
    public static func open(at path: String, options: Options = Options()) throws -> Store {
        try checkAccess(path, readOnly: options.readOnly)
        let (env, dbs) = try environment(path, options)
        do {
            let (node, epoch) = try storeErrors {
                try env.read { txn -> (NodeID, Epoch) in
                    guard let f = try txn.get(dbs.meta, key: Meta.format), f.count == 4 else {
                        throw StoreError.notAFolioStore(path: path, reason: "no storage format recorded")
                    }
                    let format = f.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    if format > storageFormat { throw StoreError.newerFormat(found: format, supported: storageFormat) }
                    guard let n = try txn.get(dbs.meta, key: Meta.node), n.count == 8,
                        let e = try txn.get(dbs.meta, key: Meta.epoch)
                    else { throw StoreError.notAFolioStore(path: path, reason: "no node id recorded") }
                    return (NodeID(n.withUnsafeBytes { UInt64(bigEndianBytes: $0) }), Epoch(String(decoding: e, as: UTF8.self)))
                }
            }
            if options.readOnly { return Store(path: path, options: options, env: env, dbs: dbs, nodeID: node, epoch: epoch) }
            let (finalNode, finalEpoch, change) = try settleIdentity(env: env, dbs: dbs, path: path, node: node, epoch: epoch)
            try upgradeFormat(env: env, dbs: dbs)
            try upgradeSearchIndex(env: env, dbs: dbs)
            try upgradeBodies(env: env, dbs: dbs)
            return Store(path: path, options: options, env: env, dbs: dbs, nodeID: finalNode, epoch: finalEpoch, identityChange: change)
        } catch {
            env.close()
            throw error
        }
    }

    /// Compares the recorded home with where the data file is now (a write-open only). A store
    /// without a record (written before this release) gets one; a store whose record differs
    /// is a copy: it takes a new node id and epoch, keeping every version and checkpoint, and
    /// remembers its previous ids. One transaction, before any write.
    private static func settleIdentity(
        env: Environment, dbs: Databases, path: String, node: NodeID, epoch: Epoch
    ) throws -> (NodeID, Epoch, IdentityChange?) {
        guard let here = StoreHome.current(dataFile: dataFile(path)) else { return (node, epoch, nil) }
        return try storeErrors {
            try env.write { txn -> (NodeID, Epoch, IdentityChange?) in
                // Read again under the write lock: another process may have settled this copy's
                // identity since `node` and `epoch` were read (its new id is then the one to use).
                guard let n = try txn.get(dbs.meta, key: Meta.node), n.count == 8, let e = try txn.get(dbs.meta, key: Meta.epoch) else {
                    throw StoreError.notAFolioStore(path: path, reason: "no node id recorded")
                }
                let node = NodeID(n.withUnsafeBytes { UInt64(bigEndianBytes: $0) })
                let epoch = Epoch(String(decoding: e, as: UTF8.self))
                let recorded = try txn.withValue(dbs.meta, key: Meta.home) { try StoreHome(decoding: $0) }
                if recorded == here { return (node, epoch, nil) }
                try txn.put(dbs.meta, key: Meta.home, value: here.encoded)
                guard let recorded else { return (node, epoch, nil) }
                let newNode = NodeID.random()
                let newEpoch = newEpoch()
                var previous = try txn.get(dbs.meta, key: Meta.previousNodes) ?? []
                previous += node.rawValue.bigEndianBytes
                try txn.put(dbs.meta, key: Meta.previousNodes, value: previous)
                try txn.put(dbs.meta, key: Meta.node, value: newNode.rawValue.bigEndianBytes)
                try txn.put(dbs.meta, key: Meta.epoch, value: Array(newEpoch.text.utf8))
                let change = IdentityChange(previousNode: node, newNode: newNode, reason: here.difference(from: recorded))
                return (newNode, newEpoch, change)
            }
        }
    }

    /// Formats 1 and 2 → 3 (a write-open, before the search index is built again in format 4's
    /// layout): the tombstone collection databases are created by the open; the articles whose
    /// versions are all tombstones are listed in `tombstones`, and the recorded format changes,
    /// in one transaction — so an older binary, which would neither honour purges nor refuse
    /// collected articles coming back, refuses the store from then on.
    private static func upgradeFormat(env: Environment, dbs: Databases) throws {
        guard let tombstones = dbs.tombstones else { return }
        try storeErrors {
            try env.write { txn in
                let f = try Meta.recordedFormat(dbs.meta, txn)
                guard f < tombstoneFormat else { return }
                var found: [(UInt64, [UInt8])] = []
                try txn.scan(dbs.articles) { k, v in
                    let rec = try RecordCodec.decodeArticle(v)
                    if rec.versions.isOnlyTombstones { found.append((rec.seq, Array(k))) }
                    return true
                }
                for (seq, id) in found { try txn.put(tombstones, key: seq.bigEndianBytes, value: id) }
                try txn.put(dbs.meta, key: Meta.format, value: withUnsafeBytes(of: tombstoneFormat.bigEndian) { Array($0) })
            }
        }
    }

    /// Closes the environment (after in-flight transactions end).
    public func close() { env.close() }

    // MARK: Reads

    /// Which bodies `get` loads.
    public enum BodySelection: Sendable {
        case none, winner, all
    }

    /// An article as stored: all its sibling versions, and the bodies that were asked for.
    public func get(_ id: String, bodies: BodySelection = .winner) throws -> ArticleState? {
        try Store.checkID(id)
        return try storeErrors {
            try env.read { txn in try self.state(id, bodies: bodies, txn: txn) }
        }
    }

    /// Refuses an id no article can have (`Article.validateID`) before it reaches LMDB.
    static func checkID(_ id: String) throws {
        do {
            try Article.validateID(id)
        } catch {
            throw StoreError.invalidArticle(id: "", error)
        }
    }

    func record(_ id: String, txn: Transaction) throws -> RecordCodec.ArticleRecord? {
        var key = id
        return try key.withUTF8 { k in
            try txn.withValue(dbs.articles, key: UnsafeRawBufferPointer(k)) { try RecordCodec.decodeArticle($0) }
        }
    }

    /// A body kept in `bodies` (a large one; or any, in a store not yet upgraded to format 5).
    func externalBody(_ hash: BodyHash, txn: Transaction) throws -> String? {
        try hash.withKeyBytes { key in try txn.withValue(dbs.bodies, key: key) { try RecordCodec.decodeBody($0) } }
    }

    /// Body `hash` of article `id`: from its record, else from `bodies`.
    func body(_ hash: BodyHash, of id: String, txn: Transaction) throws -> String? {
        try withBodyText(hash, of: id, txn: txn) { try decodeUTF8($0, "body") }
    }

    /// Lends the text of body `hash` of article `id` in place (valid during the call): from
    /// its record, else from `bodies`; nil when neither holds it.
    /// The record is scanned in place (`ArticleRecordView`), no version decoded.
    func withBodyText<T>(_ hash: BodyHash, of id: String, txn: Transaction, _ use: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        var key = id
        let found = try key.withUTF8 { k in
            try txn.withValue(dbs.articles, key: UnsafeRawBufferPointer(k)) { v in
                try ArticleRecordView(id: id, record: v, txn: txn, bodies: dbs.bodies).withBody(hash, use)
            }
        }
        if let found { return found }
        return try hash.withKeyBytes { key in try txn.withValue(dbs.bodies, key: key) { try use(RecordCodec.bodyText($0)) } }
    }

    /// Article `id` with the bodies `selection` names, less those in `except`.
    func state(_ id: String, bodies selection: BodySelection, except: Set<BodyHash> = [], txn: Transaction) throws -> ArticleState? {
        var key = id
        // One lookup: the versions and, lent from the page, the inline bodies asked for.
        return try key.withUTF8 { k in
            try txn.withValue(dbs.articles, key: UnsafeRawBufferPointer(k)) { v -> ArticleState in
                var inline: [(BodyHash, UnsafeRawBufferPointer)] = []
                let rec = try RecordCodec.decodeArticle(v) { h, text in
                    if selection != .none { inline.append((h, text)) }
                }
                let bodies = try self.bodies(of: Self.wanted(rec.versions, selection), inline: inline, except: except, id: id, txn: txn)
                return ArticleState(id: id, seq: rec.seq, versions: rec.versions, bodies: bodies)
            }
        }
    }

    /// The bodies of `versions` (less `except`): each from the record's `inline` ones, else
    /// from `bodies`; one that neither holds is corruption.
    private func bodies(
        of versions: [Version], inline: [(BodyHash, UnsafeRawBufferPointer)], except: Set<BodyHash> = [], id: String, txn: Transaction
    ) throws -> BodyTable {
        var bodies = BodyTable()
        for case let c? in versions.map(\.content) where bodies[c.bodyHash] == nil && !except.contains(c.bodyHash) {
            if let text = inline.first(where: { $0.0 == c.bodyHash })?.1 {
                bodies[c.bodyHash] = try decodeUTF8(text, "body")
            } else if let b = try externalBody(c.bodyHash, txn: txn) {
                bodies[c.bodyHash] = b
            } else {
                throw StoreError.corrupt("body \(c.bodyHash) of \"\(id)\" is missing")
            }
        }
        return bodies
    }

    private static func wanted(_ versions: VersionSet, _ selection: BodySelection) -> [Version] {
        switch selection {
        case .none: return []
        case .winner: return versions.winner.map { [$0] } ?? []
        case .all: return versions.versions
        }
    }

    /// True when a body with this hash is stored: in `bodies`, or in the record of article `id`.
    public func hasBody(_ hash: BodyHash, in id: String? = nil) throws -> Bool {
        try !heldBodies([hash], holders: id.map { [hash: [$0]] } ?? [:]).isEmpty
    }

    /// Those of `hashes` whose bodies this store still holds, in one snapshot: in `bodies`,
    /// or — for one `holders` names — in the record of every article it names (sync re-checks
    /// `SyncNeeds.have` with its `haveIn` before each fetch, so bodies already held are never
    /// sent again and none is left out that an article would then lack).
    public func heldBodies(_ hashes: [BodyHash], holders: [BodyHash: [String]] = [:]) throws -> [BodyHash] {
        guard !hashes.isEmpty else { return [] }
        return try storeErrors {
            try env.read { txn in
                try hashes.filter { h in
                    if try h.withKeyBytes({ try txn.withValue(dbs.bodies, key: $0) { _ in true } }) == true { return true }
                    guard let ids = holders[h], !ids.isEmpty else { return false }
                    return try ids.allSatisfy { try record($0, txn: txn)?.inlineHashes.contains(h) == true }
                }
            }
        }
    }

    /// Articles in id order. `prefix` keeps ids that start with it, `after` starts strictly
    /// after that id (paging), `source` keeps winners from that exact source. Deleted articles
    /// (tombstone winners) are skipped unless `includeDeleted`.
    public func list(
        prefix: String = "", after: String? = nil, source: String? = nil, limit: Int = .max, includeDeleted: Bool = false
    ) throws -> [ArticleState] {
        var start = Array(prefix.utf8)
        if let after {
            let a = Array(after.utf8) + [0]  // the smallest key greater than `after`
            if a.lexicographicallyPrecedes(start) == false { start = a }
        }
        let prefixBytes = Array(prefix.utf8)
        var out: [ArticleState] = []
        guard limit > 0 else { return out }
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.articles, from: start) { k, v in
                    guard k.starts(with: prefixBytes) else { return false }
                    let rec = try RecordCodec.decodeArticle(v)
                    guard includeDeleted || rec.versions.isLive else { return true }
                    if let source, rec.versions.winner?.content?.source != source { return true }
                    guard let id = String(validating: k, as: UTF8.self) else { throw CorruptRecord("an article key is not UTF-8") }
                    out.append(ArticleState(id: id, seq: rec.seq, versions: rec.versions, bodies: [:]))
                    return out.count < limit
                }
            }
        }
        return out
    }

    /// Articles in conflict (more than one sibling version, deleted or not), in id order,
    /// strictly after `after` ("" = from the start), without bodies.
    public func conflicts(after: String = "", limit: Int = .max) throws -> [ArticleState] {
        var out: [ArticleState] = []
        guard limit > 0 else { return out }
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.articles, from: after.isEmpty ? nil : Array(after.utf8) + [0]) { k, v in
                    let rec = try RecordCodec.decodeArticle(v)
                    guard rec.versions.isInConflict else { return true }
                    guard let id = String(validating: k, as: UTF8.self) else { throw CorruptRecord("an article key is not UTF-8") }
                    out.append(ArticleState(id: id, seq: rec.seq, versions: rec.versions, bodies: [:]))
                    return out.count < limit
                }
            }
        }
        return out
    }

    /// Visits every article (whose id starts with `prefix`) with all its bodies, in id order,
    /// in one snapshot.
    public func forEach(prefix: String = "", includeDeleted: Bool = true, _ visit: (ArticleState) throws -> Void) throws {
        let start = Array(prefix.utf8)
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.articles, from: start.isEmpty ? nil : start) { k, v in
                    guard k.starts(with: start) else { return false }
                    var inline: [(BodyHash, UnsafeRawBufferPointer)] = []
                    let rec = try RecordCodec.decodeArticle(v) { h, text in inline.append((h, text)) }
                    guard includeDeleted || rec.versions.isLive else { return true }
                    guard let id = String(validating: k, as: UTF8.self) else { throw CorruptRecord("an article key is not UTF-8") }
                    let bodies = try self.bodies(of: rec.versions.versions, inline: inline, id: id, txn: txn)
                    try visit(ArticleState(id: id, seq: rec.seq, versions: rec.versions, bodies: bodies))
                    return true
                }
            }
        }
    }

    /// The change feed: each article changed after `since`, once, at its latest change, in
    /// sequence order. Costs O(changes returned), whatever the store's size.
    public func changes(since: UInt64, limit: Int = 1000) throws -> [Change] {
        var out: [Change] = []
        guard limit > 0, since < UInt64.max else { return out }  // nothing comes after 2^64 − 1
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.changes, from: (since &+ 1).bigEndianBytes) { k, v in
                    let seq = UInt64(bigEndianBytes: k)
                    guard let id = String(validating: v, as: UTF8.self) else { throw CorruptRecord("change \(seq) names a non-UTF-8 id") }
                    guard let rec = try self.record(id, txn: txn) else { throw StoreError.corrupt("change \(seq) names missing article \"\(id)\"") }
                    out.append(Change(seq: seq, id: id, versions: rec.versions.versions.map(VersionSummary.init)))
                    return out.count < limit
                }
            }
        }
        return out
    }

    /// The sequence number of the latest change (0 for an empty store).
    public func lastSequence() throws -> UInt64 {
        try storeErrors { try env.read { try Meta.u64(Meta.seq, dbs.meta, $0) } }
    }

    // MARK: Writes

    /// Runs `body` in one write transaction and commits it; see `StoreWriter`.
    ///
    /// `body` may run again if the map had to grow, so it must act only through the writer.
    @discardableResult
    public func write<T>(_ body: (StoreWriter) throws -> T) throws -> T {
        do {
            return try storeErrors {
                let result = try env.write { txn in
                    let w = try StoreWriter(store: self, txn: txn)
                    let result = try body(w)
                    try w.finish()
                    return result
                }
                commits.fire()
                return result
            }
        } catch let StoreError.lmdb(e) {
            throw classify(e)
        }
    }

    /// Names a full disk as such: `ENOSPC`/`EDQUOT` always, `EIO` when the filesystem has
    /// less than 64 MiB available (how a full disk often surfaces at fsync). `MDB_MAP_FULL`
    /// never gets here: the map grows and the write is retried.
    func classify(_ e: LMDBError) -> StoreError {
        guard e.code == ENOSPC || e.code == EDQUOT || e.code == EIO else { return .lmdb(e) }
        var fs = statvfs()
        let available: Int64 = statvfs(path, &fs) == 0 ? Int64(fs.f_bavail) * Int64(fs.f_frsize) : -1
        if e.code == EIO, available < 0 || available >= 64 << 20 { return .lmdb(e) }
        return .diskFull(path: path, availableBytes: max(available, 0), e)
    }

    /// Writes a consistent, compacted copy of the store into `destination` (created if
    /// missing; must be empty), while the store stays in use.
    public func backup(to destination: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: destination, isDirectory: &isDir) {
            guard isDir.boolValue else { throw StoreError.badDestination("\(destination) exists and is not a directory") }
            let contents = (try? fm.contentsOfDirectory(atPath: destination)) ?? []
            guard contents.isEmpty else { throw StoreError.badDestination("\(destination) is not empty; refusing to overwrite it") }
        } else {
            do {
                try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
            } catch {
                throw StoreError.badDestination("cannot create \(destination): \(error.localizedDescription)")
            }
        }
        try storeErrors { try env.copy(to: destination, compact: true) }
    }
}

/// Keys of the `meta` database.
enum Meta {
    static let format = Array("format".utf8)
    static let node = Array("node".utf8)
    static let epoch = Array("epoch".utf8)
    static let created = Array("created".utf8)
    static let seq = Array("seq".utf8)
    static let live = Array("count.live".utf8)
    static let tombstones = Array("count.tombstones".utf8)
    static let conflicts = Array("count.conflicts".utf8)
    static let home = Array("home".utf8)
    static let previousNodes = Array("previous-nodes".utf8)
    static let clock = Array("clock".utf8)
    static let searchDocs = Array("search.docs".utf8)
    static let searchLength = Array("search.length".utf8)
    static let searchNext = Array("search.next".utf8)
    static let searchVersion = Array("search.version".utf8)
    /// While the index is being built: the last article id indexed so far.
    static let searchBuild = Array("search.build".utf8)
    static let searchSegment = Array("search.segment".utf8)
    static let tombstonesCollected = Array("tombstones.collected".utf8)
    static let purgesCollected = Array("tombstones.purges".utf8)
    static let staleRefused = Array("tombstones.refused".utf8)
    /// While a store is upgraded to format 5: `1` + the last article key converted, or `2` +
    /// the last body key converted (`Store.upgradeBodies`).
    static let bodiesUpgrade = Array("upgrade.bodies".utf8)

    /// The recorded storage format (0 when none is).
    static func recordedFormat(_ db: Database, _ txn: Transaction) throws -> UInt32 {
        try txn.withValue(db, key: format) { b in b.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } } ?? 0
    }

    static func u64(_ key: [UInt8], _ db: Database, _ txn: Transaction) throws -> UInt64 {
        try txn.withValue(db, key: key) { b -> UInt64 in
            guard b.count == 8 else { throw CorruptRecord("meta \(String(decoding: key, as: UTF8.self)) is \(b.count) bytes, expected 8") }
            return UInt64(bigEndianBytes: b)
        } ?? 0
    }
}
