import FolioModel
import LMDB

/// The operations of one write transaction (`Store.write`).
///
/// Each change to an article gets the next sequence number, replaces the article's entry in
/// the change feed, keeps body reference counts and the live/tombstone/conflict counters
/// exact; all of it commits together when the closure returns.
public final class StoreWriter {
    let store: Store
    private(set) var txn: Transaction
    private var dbs: Store.Databases { store.dbs }
    private(set) var seq: UInt64
    private var live: Int64
    private var tombstones: Int64
    private var conflicts: Int64
    /// The hybrid logical clock: the largest timestamp this store has written, or adopted
    /// from a received version no further ahead than `Clocks.maxSkew` (STORAGE.md "Clocks").
    private var clock: Int64
    private var dirty = false
    /// Bodies whose last reference went away in this transaction; deleted at commit unless a
    /// later write in the same transaction refers to them again.
    private var orphanedBodies = Set<BodyHash>()
    /// Search postings changed by this transaction, written at its end; what it tokenizes
    /// itself is numbered in their lexicon (a group commit's articles share its terms and
    /// folded words).
    private var postings = PostingJournal()
    /// Search documents prepared ahead of this transaction's writes, by article id (`prepare`).
    private var prepared: [String: PreparedSearchDocument] = [:]
    /// Version sets refused as collected articles coming back (counted in `meta/tombstones.refused`).
    var staleRefused: UInt64 = 0
    /// Whether this store has collected anything (so merges look up what it covered); read
    /// once per transaction.
    lazy var hasCollected: Bool = {
        for case let db? in [store.dbs.purged, store.dbs.collected] where ((try? txn.statistics(db).entries) ?? 1) > 0 { return true }
        return false
    }()

    init(store: Store, txn: Transaction) throws {
        self.store = store
        self.txn = txn
        try Self.checkUnchangedSinceOpen(store, txn)
        seq = try Meta.u64(Meta.seq, store.dbs.meta, txn)
        live = Int64(try Meta.u64(Meta.live, store.dbs.meta, txn))
        tombstones = Int64(try Meta.u64(Meta.tombstones, store.dbs.meta, txn))
        conflicts = Int64(try Meta.u64(Meta.conflicts, store.dbs.meta, txn))
        clock = Int64(bitPattern: try Meta.u64(Meta.clock, store.dbs.meta, txn))
    }

    /// Refuses a write transaction on a store that another folio process changed since this
    /// one opened it (LMDB lets several processes write one store: a node runs while an admin
    /// runs a newer `folio`, whose write-open upgrades the format or rebuilds the search index
    /// under its own term rules): writing on would index under rules the index no longer
    /// has, or misread records. A process that keeps no index makes any index there stale
    /// (`search.version` 0), so a process that keeps one finds out at its next write.
    static func checkUnchangedSinceOpen(_ store: Store, _ txn: Transaction) throws {
        let meta = store.dbs.meta
        let format = try Meta.recordedFormat(meta, txn)
        guard format <= Store.storageFormat else {
            throw StoreError.changedSinceOpen("another folio upgraded it to storage format \(format) (this one writes format \(Store.storageFormat))")
        }
        let version = try Meta.u64(Meta.searchVersion, meta, txn)
        if store.dbs.search != nil {
            guard version == SearchText.fingerprint else {
                throw StoreError.changedSinceOpen(Store.searchRulesChange(found: version))
            }
        } else if version != 0 {
            try txn.put(meta, key: Meta.searchVersion, value: UInt64(0).bigEndianBytes)
        }
    }

    /// The timestamp of a new local version of an article held as `held`: never below the
    /// wall clock, the store's clock, or one past the newest version held of that article —
    /// so a write made after seeing a version wins over it even when that version's writer's
    /// clock runs ahead. Only wall-clock-plausible times move the store's clock.
    private func nextTimestamp(after held: VersionSet?) -> Int64 {
        let now = store.options.clock()
        var t = max(now, clock)
        if let newest = held?.versions.map(\.timestamp).max(), newest >= t {
            t = newest == .max ? .max : newest + 1
        }
        adopt(t, now: now)
        return t
    }

    private func adopt(_ t: Int64, now: Int64) {
        guard t > clock, t <= now.addingReportingOverflow(Clocks.maxSkew).partialValue else { return }
        clock = t
        dirty = true
    }

    public var nodeID: NodeID { store.nodeID }

    /// Runs `body` as one atomic step of this transaction (an LMDB nested transaction, like
    /// GRDB's savepoints): when it throws, nothing it wrote remains and the writer's counters
    /// are as before, while the enclosing transaction goes on and may commit.
    public func savepoint<T>(_ body: (StoreWriter) throws -> T) throws -> T {
        let saved = (seq, live, tombstones, conflicts, clock, dirty, orphanedBodies, staleRefused)
        let journaled = postings.count
        let parent = txn
        do {
            return try storeErrors {
                try parent.nested { child in
                    txn = child
                    defer { txn = parent }
                    return try body(self)
                }
            }
        } catch {
            (seq, live, tombstones, conflicts, clock, dirty, orphanedBodies, staleRefused) = saved
            postings.truncate(to: journaled)
            throw error
        }
    }

    /// Hands this transaction search documents worked out ahead (on other threads) for the
    /// articles it is about to write, by id. A put or merge whose new winner has exactly the
    /// prepared content indexes it from these instead of tokenizing it again; any other is
    /// tokenized as usual. Unused ones are dropped when the transaction ends.
    public func prepare(_ documents: [String: PreparedSearchDocument]) {
        guard store.dbs.search != nil else { return }
        prepared.merge(documents) { _, new in new }
    }

    /// The article as this transaction sees it (bodies per `bodies`).
    public func get(_ id: String, bodies: Store.BodySelection = .winner) throws -> ArticleState? {
        try store.state(id, bodies: bodies, txn: txn)
    }

    /// Writes `article` as a new local version.
    ///
    /// With `context` (a vector a reader obtained), the write supersedes exactly the siblings
    /// that context covers; without, it supersedes every sibling held now. With
    /// `skipIfUnchanged`, a context-free write whose content equals the only sibling's is a
    /// no-op reported as `.unchanged` (what makes re-imports cheap).
    @discardableResult
    public func put(_ article: Article, context: VersionVector? = nil, skipIfUnchanged: Bool = false) throws -> WriteOutcome {
        var article = article
        do {
            try article.validate(limits: store.options.limits)
        } catch {
            throw StoreError.invalidArticle(id: article.id, error)
        }
        // Extra values are stored as compact JSON (SPEC §5), whatever spacing they came with.
        article.extra = article.extra.map { f in (try? JSONParser.parse(f.json)).map { ExtraField(name: f.name, value: $0) } ?? f }
        try checkContext(context)
        let old = try store.record(article.id, txn: txn)
        if let context, context[.purgeMarker] > (old?.versions.clock[.purgeMarker] ?? 0) {
            throw StoreError.invalidContext("it names a purge of \"\(article.id)\" that this store does not hold")
        }
        let hash = BodyHash(of: article.body)
        let content = VersionContent(
            title: article.title, source: article.source, url: article.url, published: article.published,
            tags: article.tags, extra: article.extra, bodyHash: hash, bodyLength: article.body.utf8.count)
        if skipIfUnchanged, context == nil, let old, old.versions.versions.count == 1,
            old.versions.versions[0].content == content
        {
            return WriteOutcome(kind: .unchanged, version: nil, superseded: 0, siblings: 1, seq: old.seq)
        }
        var versions = old?.versions ?? VersionSet()
        let wasLive = old?.versions.isLive ?? false
        let context = try withCollectedHistory(article.id, context, held: old?.versions)
        let timestamp = try laterThanPurges(nextTimestamp(after: old?.versions), context ?? old?.versions.clock)
        let result = versions.write(content, context: context, node: store.nodeID, timestamp: timestamp)
        let newSeq = try persist(id: article.id, old: old, new: versions, bodies: [hash: article.body])
        return WriteOutcome(
            kind: wasLive ? .updated : .added, version: result.written, superseded: result.superseded.count,
            siblings: versions.versions.count, seq: newSeq)
    }

    /// Deletes an article by writing a tombstone version (which replicates like any write).
    /// Throws `notFound` when the article is absent or already deleted.
    @discardableResult
    public func delete(_ id: String, context: VersionVector? = nil) throws -> WriteOutcome {
        try Store.checkID(id)
        try checkContext(context)
        if let context, context[.purgeMarker] > 0 {
            // A purge over the wire (SPEC §5.2): also of a deleted article, not of a purged one.
            guard let old = try store.record(id, txn: txn), !old.versions.isPurged else { throw StoreError.notFound(id: id) }
            return try writePurge(id, old: old, read: context)
        }
        // A deleted article is not deleted again, unless a reader settles a conflict between
        // deletions (several versions, a context that read them).
        guard let old = try store.record(id, txn: txn), old.versions.isLive || (context != nil && old.versions.isInConflict) else {
            throw StoreError.notFound(id: id)
        }
        var versions = old.versions
        let ctx = try withCollectedHistory(id, context, held: old.versions)
        let timestamp = try laterThanPurges(nextTimestamp(after: old.versions), ctx ?? old.versions.clock)
        let result = versions.write(nil, context: ctx, node: store.nodeID, timestamp: timestamp)
        let newSeq = try persist(id: id, old: old, new: versions, bodies: [:])
        return WriteOutcome(
            kind: .deleted, version: result.written, superseded: result.superseded.count,
            siblings: versions.versions.count, seq: newSeq)
    }

    /// Resolves a conflict by writing the content of the sibling with `dot` as a new version
    /// that supersedes every sibling held now.
    @discardableResult
    public func resolve(_ id: String, keeping dot: Dot) throws -> WriteOutcome {
        try Store.checkID(id)
        guard let state = try get(id, bodies: .all) else { throw StoreError.notFound(id: id) }
        guard let chosen = state.versions.versions.first(where: { $0.dot == dot }) else {
            throw StoreError.noSuchVersion(id: id, dot.description)
        }
        if let article = state.article(chosen) { return try put(article) }
        return try deleteAll(id, state: state)
    }

    /// Resolves a conflict with new content that supersedes every sibling held now.
    @discardableResult
    public func resolve(_ id: String, with article: Article) throws -> WriteOutcome {
        guard try store.record(id, txn: txn) != nil else { throw StoreError.notFound(id: id) }
        guard article.id.sameBytes(id) else {
            throw StoreError.invalidArticle(id: article.id, InvalidArticle(field: "id", reason: "must be \"\(id)\", the article being resolved"))
        }
        return try put(article)
    }

    /// A purge of the article held as `old` (SPEC §5.2): a tombstone superseding what the
    /// reader's context `read` saw (every version held, without one), whose context's
    /// purge-marker entry is its timestamp — later than any marker it inherits.
    func writePurge(_ id: String, old: RecordCodec.ArticleRecord, read: VersionVector?) throws -> WriteOutcome {
        let base = try withCollectedHistory(id, read, held: old.versions) ?? old.versions.clock
        let inherited = max(base[.purgeMarker], old.versions.clock[.purgeMarker])
        var timestamp = nextTimestamp(after: old.versions)
        if inherited >= UInt64(max(0, timestamp)) { timestamp = Int64(clamping: inherited + 1) }
        guard UInt64(timestamp) <= Dot.maxCounter else { throw StoreError.invalidContext("the purge's time is beyond what a context can hold") }
        adopt(timestamp, now: store.options.clock())
        var context = VersionVector(base.entries.filter { $0.node != .purgeMarker }.map { ($0.node, $0.counter) })
        context.advance(.purgeMarker, to: UInt64(timestamp))
        return try writeTombstone(id, old: old, context: context, timestamp: timestamp)
    }

    /// A tombstone with `context` (covering what it supersedes) as the article's new version.
    func writeTombstone(_ id: String, old: RecordCodec.ArticleRecord, context: VersionVector, timestamp: Int64? = nil) throws -> WriteOutcome {
        var versions = old.versions
        let result = versions.write(nil, context: context, node: store.nodeID, timestamp: timestamp ?? nextTimestamp(after: old.versions))
        let newSeq = try persist(id: id, old: old, new: versions, bodies: [:])
        return WriteOutcome(
            kind: .deleted, version: result.written, superseded: result.superseded.count, siblings: versions.versions.count, seq: newSeq)
    }

    private func deleteAll(_ id: String, state: ArticleState) throws -> WriteOutcome {
        let old = RecordCodec.ArticleRecord(seq: state.seq, versions: state.versions)
        var versions = state.versions
        let ctx = try withCollectedHistory(id, nil, held: state.versions)
        let timestamp = try laterThanPurges(nextTimestamp(after: state.versions), ctx ?? state.versions.clock)
        let result = versions.write(nil, context: ctx, node: store.nodeID, timestamp: timestamp)
        let newSeq = try persist(id: id, old: old, new: versions, bodies: [:])
        return WriteOutcome(kind: .deleted, version: result.written, superseded: result.superseded.count, siblings: 1, seq: newSeq)
    }

    /// Merges the sibling versions another replica holds for article `id` — its whole set,
    /// see `VersionSet.merge` — by causality alone: what they supersede goes, what supersedes
    /// them keeps them out, concurrent versions stay as siblings. `bodies` holds the bodies
    /// of live versions; one may be left out when it is already stored here.
    @discardableResult
    public func merge(id: String, versions remote: [Version], bodies: [BodyHash: String]) throws -> MergeOutcome {
        try Store.checkID(id)
        do {
            try VersionSet.validate(received: remote, bodies: bodies, limits: store.options.limits)
        } catch {
            throw StoreError.invalidArticle(id: id, error)
        }
        let old = try store.record(id, txn: txn)
        var remote = remote
        var dropped = false
        var refused = false
        // Versions a collected purge or tombstone covered never come back (SPEC §5.2).
        if let record = try collectedRecord(of: id) {
            let (purged, tombstone) = (record.purged ?? VersionVector(), record.tombstone ?? VersionVector())
            // Only live versions are dropped: a covered deletion merges as usual (it changes
            // nothing where the article is gone, and keeps a conflict with an edit the
            // deletion never saw identical on every replica).
            let kept = remote.filter { $0.isTombstone || (!purged.covers($0.dot) && !tombstone.covers($0.dot)) }
            if kept.count < remote.count {
                if remote.contains(where: { !$0.isTombstone && purged.covers($0.dot) && !tombstone.covers($0.dot) }) { dropped = true }
                if remote.contains(where: { !$0.isTombstone && tombstone.covers($0.dot) }) {
                    // The deleted article's own versions, coming back from a stale replica.
                    refused = true
                    staleRefused += 1
                    dirty = true
                }
                remote = kept
            }
        }
        func outcome(_ result: VersionSet.MergeResult, siblings: Int, seq: UInt64) -> MergeOutcome {
            var o = MergeOutcome(result: result, siblings: siblings, seq: seq)
            o.droppedAsPurged = dropped
            o.refusedAsStale = refused
            return o
        }
        if remote.isEmpty { return outcome(.unchanged, siblings: old?.versions.versions.count ?? 0, seq: old?.seq ?? 0) }
        var versions = old?.versions ?? VersionSet()
        for r in remote {
            if let held = versions.versions.first(where: { $0.dot == r.dot }), held != r {
                throw StoreError.dotClash(id: id, dot: r.dot.description)
            }
        }
        let result = versions.merge(remote)
        let now = store.options.clock()
        for r in remote { adopt(r.timestamp, now: now) }
        guard case .changed = result else { return outcome(result, siblings: versions.versions.count, seq: old?.seq ?? 0) }
        let newSeq = try persist(id: id, old: old, new: versions, bodies: bodies)
        return outcome(result, siblings: versions.versions.count, seq: newSeq)
    }

    /// `timestamp`, raised above the purge-marker entry `context` carries (an earlier purge's
    /// time, perhaps from a clock running ahead): a version is never older than a purge it
    /// inherits (SPEC §5.2, "Marker entries are checked").
    func laterThanPurges(_ timestamp: Int64, _ context: VersionVector?) throws -> Int64 {
        let marker = context?[.purgeMarker] ?? 0
        guard marker >= UInt64(max(0, timestamp)) else { return timestamp }
        guard marker < Dot.maxCounter else { throw StoreError.invalidContext("it names a purge beyond what a timestamp can follow") }
        let raised = Int64(marker + 1)
        adopt(raised, now: store.options.clock())
        return raised
    }

    /// The context of a local write of `id`: after a collected purge or tombstone of it, the
    /// reader's context (or, without one, everything held) joined with what was collected, so
    /// the write supersedes the deletion wherever it is still held and takes no dot of the
    /// article's earlier life — held again or not (SPEC §5.2).
    func withCollectedHistory(_ id: String, _ context: VersionVector?, held: VersionSet?) throws -> VersionVector? {
        guard let covered = try collectedHistory(of: id) else { return context }
        return (context ?? held?.clock ?? VersionVector()).merged(with: covered)
    }

    /// A reader's context may claim only what a version set could hold (node ids ≠ 0,
    /// counters ≤ 2^62), so the write's new dot can never overflow.
    private func checkContext(_ context: VersionVector?) throws {
        do {
            try context?.validate()
        } catch {
            throw StoreError.invalidContext(error.reason)
        }
    }

    // MARK: Persistence

    /// Stores the article's new version set under a new sequence number, moving its change
    /// feed entry, adjusting body reference counts and the counters.
    private func persist(id: String, old: RecordCodec.ArticleRecord?, new: VersionSet, bodies: [BodyHash: String]) throws -> UInt64 {
        // The search index follows the winner.
        let oldWinner = old?.versions.winner.flatMap { $0.isTombstone ? nil : $0 }
        let newWinner = new.winner.flatMap { $0.isTombstone ? nil : $0 }
        let reindex = dbs.search != nil && oldWinner?.dot != newWinner?.dot
        // Small bodies go in the record; large ones are counted in `bodies` (STORAGE.md).
        var delta: [BodyHash: Int] = [:]
        for case let c? in old?.versions.versions.map(\.content) ?? [] where !RecordCodec.isInline(c) { delta[c.bodyHash, default: 0] -= 1 }
        var inline: [(BodyHash, [UInt8])] = []
        for case let c? in new.versions.map(\.content) {
            if !RecordCodec.isInline(c) {
                delta[c.bodyHash, default: 0] += 1
            } else if !inline.contains(where: { $0.0 == c.bodyHash }) {
                inline.append((c.bodyHash, try inlineText(c, id: id, supplied: bodies)))
            }
        }
        for (hash, d) in delta where d != 0 {
            try adjustReference(hash, by: d, id: id, body: bodies[hash])
        }

        seq += 1
        let idKey = Array(id.utf8)
        if let old { try txn.delete(dbs.changes, key: old.seq.bigEndianBytes) }
        try txn.put(dbs.changes, key: seq.bigEndianBytes, value: idKey, flags: .append)
        if let tombstones = dbs.tombstones {
            if let old, old.versions.isOnlyTombstones { try txn.delete(tombstones, key: old.seq.bigEndianBytes) }
            if new.isOnlyTombstones { try txn.put(tombstones, key: seq.bigEndianBytes, value: idKey, flags: .append) }
        }
        try txn.put(dbs.articles, key: idKey, value: RecordCodec.encode(seq: seq, versions: new, inline: inline))

        if let o = old?.versions { count(o, sign: -1) }
        count(new, sign: 1)
        if reindex, let search = dbs.search {
            let newDocument = try indexedDocument(newWinner, id: id, bodies: bodies, inline: inline)
            try SearchIndexWriter(txn: txn, dbs: search, meta: dbs.meta).update(id: id, wasLive: oldWinner != nil, new: newDocument, journal: &postings)
        }
        dirty = true
        return seq
    }

    /// Removes a collected tombstone: the article's record and its change feed entry (it has
    /// no body and no search document), adjusting the counters.
    func forget(id: String, record: RecordCodec.ArticleRecord) throws {
        try txn.delete(dbs.articles, key: Array(id.utf8))
        try txn.delete(dbs.changes, key: record.seq.bigEndianBytes)
        if let tombstones = dbs.tombstones { try txn.delete(tombstones, key: record.seq.bigEndianBytes) }
        count(record.versions, sign: -1)
        dirty = true
    }

    /// What the search index holds for `winner` (a live version) of article `id`.
    private func indexedDocument(_ winner: Version?, id: String, bodies: [BodyHash: String], inline: [(BodyHash, [UInt8])]) throws -> IndexedDocument? {
        guard let c = winner?.content else { return nil }
        let text = bodies[c.bodyHash] ?? inline.first(where: { $0.0 == c.bodyHash }).map { String(decoding: $0.1, as: UTF8.self) }
        guard let body = try text ?? store.body(c.bodyHash, of: id, txn: txn) else {
            throw StoreError.corrupt("body \(c.bodyHash) of \"\(id)\" is missing")
        }
        if let p = prepared[id], p.matches(c, body: body) { return p.document }
        return IndexedDocument(content: c, body: body, lexicon: postings.lexicon)
    }

    private func count(_ v: VersionSet, sign: Int64) {
        if v.isLive { live += sign } else { tombstones += sign }
        if v.isInConflict { conflicts += sign }
    }

    /// The text of an inline body of a version of `id`: as the write supplied it, else as the
    /// store holds it (in the article's record, or — a store upgraded from format 4 — in
    /// `bodies`). A body the write left out must have the length its version declares.
    private func inlineText(_ c: VersionContent, id: String, supplied: [BodyHash: String]) throws -> [UInt8] {
        if let body = supplied[c.bodyHash] { return Array(body.utf8) }
        guard let text = try store.withBodyText(c.bodyHash, of: id, txn: txn, { Array($0) }) else {
            throw StoreError.missingBody(id: id, hash: c.bodyHash.hex)
        }
        guard text.count == c.bodyLength else {
            throw StoreError.invalidArticle(id: id, InvalidArticle(field: "body", reason: "a version declares \(c.bodyLength) bytes for body \(c.bodyHash.hex.prefix(12))…, which holds \(text.count)"))
        }
        return text
    }

    /// Changes the reference count of a large body, kept in its `bodies` record: the first
    /// reference stores the body (which must come with the write unless it is stored), the
    /// last one leaves it to be deleted at commit (unless referred to again by then).
    private func adjustReference(_ hash: BodyHash, by d: Int, id: String, body: String?) throws {
        try hash.withKeyBytes { key in
            let stored = try txn.withValue(dbs.bodies, key: key) { v -> (UInt64, [UInt8]) in
                let (references, text) = try RecordCodec.bodyRecord(v)
                guard let references else { throw StoreError.corrupt("body \(hash) has no reference count (a store of format 4 not upgraded): run `folio verify`") }
                return (references, Array(text))
            }
            let current = stored?.0 ?? 0
            guard current <= UInt64(Int64.max) else { throw StoreError.corrupt("body \(hash) counts \(current) references: run `folio verify`") }
            let next = Int64(current) + Int64(d)
            if next < 0 { throw StoreError.corrupt("body \(hash) reference count would go negative") }
            var text: [UInt8]
            if let stored {
                text = stored.1
            } else if let body {
                text = Array(body.utf8)
            } else if let held = try store.withBodyText(hash, of: id, txn: txn, { $0.count }) {
                // Held in the record, so small: the version that wants it outside lies about its length.
                throw StoreError.invalidArticle(id: id, InvalidArticle(field: "body", reason: "a version declares more than \(RecordCodec.inlineBodyLimit) bytes for body \(hash.hex.prefix(12))…, which holds \(held)"))
            } else {
                throw StoreError.missingBody(id: id, hash: hash.hex)
            }
            if next == 0 { orphanedBodies.insert(hash) }
            // A count of 0 stays until commit: a later write of this transaction may refer to it again.
            let value = text.withUnsafeBytes { RecordCodec.encodeBody($0, references: UInt64(next)) }
            try txn.put(dbs.bodies, key: key, value: value)
        }
    }

    func finish() throws {
        if let search = dbs.search { try postings.apply(txn, search, dbs.meta) }
        for hash in orphanedBodies where try txn.withValue(dbs.bodies, key: hash.bytes, { try RecordCodec.bodyRecord($0).references }) == 0 {
            try txn.delete(dbs.bodies, key: hash.bytes)
        }
        guard dirty else { return }
        try txn.put(dbs.meta, key: Meta.seq, value: seq.bigEndianBytes)
        try txn.put(dbs.meta, key: Meta.live, value: UInt64(max(0, live)).bigEndianBytes)
        try txn.put(dbs.meta, key: Meta.tombstones, value: UInt64(max(0, tombstones)).bigEndianBytes)
        try txn.put(dbs.meta, key: Meta.conflicts, value: UInt64(max(0, conflicts)).bigEndianBytes)
        try txn.put(dbs.meta, key: Meta.clock, value: UInt64(bitPattern: clock).bigEndianBytes)
        if staleRefused > 0 {
            let before = try Meta.u64(Meta.staleRefused, dbs.meta, txn)
            try txn.put(dbs.meta, key: Meta.staleRefused, value: (before &+ staleRefused).bigEndianBytes)
        }
    }
}
