import FolioModel
import Foundation
import LMDB

extension Store {
    /// Articles indexed per write transaction while the index is built (a store of a million
    /// articles is indexed in many transactions, resumable: `meta/search.build` is the cursor).
    static let searchBuildBatch = 5000
    /// And at most about this much text per transaction (articles of 100 KB would otherwise
    /// put half a gigabyte of text in one, and its search journal several times that).
    static let searchBuildBytes = 8 << 20
    /// Document or segment numbers past this make the next write-open rebuild the index.
    static let renumberAt: UInt64 = 3 << 30

    /// At a write-open (after the tombstone upgrade): a store below format 4 gets the search
    /// index in format 4's layout (the postings of formats 2 and 3, `search_terms`, are
    /// dropped); an index built by another tokenizer version, or whose build was interrupted,
    /// is (re)built. Batched and resumable; the format is 4 from the first batch on (an older
    /// binary then refuses the store).
    ///
    /// An index whose document or segment numbers have used three quarters of their u32 range
    /// (each indexed version of an article takes a document number, each transaction and merge
    /// a segment number) is rebuilt too, which numbers them from 0 again, long before a write
    /// could find them used up.
    static func upgradeSearchIndex(env: Environment, dbs: Databases) throws {
        guard let search = dbs.search else { return }
        let (format, version, building, numbersUsed) = try storeErrors {
            try env.read { txn -> (UInt32, UInt64, Bool, Bool) in
                let f = try Meta.recordedFormat(dbs.meta, txn)
                let v = try txn.get(dbs.meta, key: Meta.searchVersion) == nil ? UInt64.max : try Meta.u64(Meta.searchVersion, dbs.meta, txn)
                let used = try max(Meta.u64(Meta.searchNext, dbs.meta, txn), Meta.u64(Meta.searchSegment, dbs.meta, txn)) >= renumberAt
                return (f, v, try txn.get(dbs.meta, key: Meta.searchBuild) != nil, used)
            }
        }
        if format >= searchIndexFormat && version == SearchText.fingerprint && !building && !numbersUsed { return }
        if version != SearchText.fingerprint || format < searchIndexFormat || numbersUsed {
            try storeErrors {
                try env.write { txn in
                    if format < searchIndexFormat, let legacy = try txn.openExistingDatabase(SearchDatabases.legacyTerms, flags: [.dupSort, .dupFixed]) {
                        try txn.drop(legacy)
                    }
                    try clearSearch(txn, search, dbs.meta)
                    if format < searchIndexFormat {
                        try txn.put(dbs.meta, key: Meta.format, value: withUnsafeBytes(of: searchIndexFormat.bigEndian) { Array($0) })
                    }
                }
            }
        }
        try buildSearchIndex(env: env, dbs: dbs, search: search)
    }

    /// What another process did to the index, recorded as `found` in `search.version`, that a
    /// process keeping its index under `SearchText.fingerprint` cannot write on.
    static func searchRulesChange(found: UInt64) -> String {
        if found == 0 { return "a folio keeping no search index opened it for writing" }
        if found >> 32 == UInt64(SearchText.version) {
            return "another build of folio (the same term rules \(SearchText.version), other Unicode tables) rebuilt its search index"
        }
        return "another folio rebuilt its search index under term rules \(found >> 32) (this one indexes under rules \(SearchText.version))"
    }

    private static func clearSearch(_ txn: Transaction, _ search: SearchDatabases, _ meta: Database) throws {
        for db in search.all { try txn.clear(db) }
        for k in [Meta.searchDocs, Meta.searchLength, Meta.searchNext, Meta.searchSegment] { try txn.put(meta, key: k, value: UInt64(0).bigEndianBytes) }
        try txn.put(meta, key: Meta.searchVersion, value: SearchText.fingerprint.bigEndianBytes)
        try txn.put(meta, key: Meta.searchBuild, value: [UInt8]())
    }

    /// Indexes every live article after the build cursor, a batch per transaction. An article
    /// written meanwhile (indexed by its write) is not indexed twice. Returns how many
    /// transactions it took.
    @discardableResult
    private static func buildSearchIndex(env: Environment, dbs: Databases, search: SearchDatabases) throws -> Int {
        var transactions = 0
        while true {
            transactions += 1
            let done = try storeErrors {
                try env.write { txn -> Bool in
                    // Another process may have rebuilt the index under its rules meanwhile.
                    let version = try Meta.u64(Meta.searchVersion, dbs.meta, txn)
                    guard version == SearchText.fingerprint else { throw StoreError.changedSinceOpen(searchRulesChange(found: version)) }
                    guard let cursor = try txn.get(dbs.meta, key: Meta.searchBuild) else { return true }
                    let index = SearchIndexWriter(txn: txn, dbs: search, meta: dbs.meta)
                    var journal = PostingJournal()
                    var pending: [(String, RecordCodec.ArticleRecord)] = []
                    var pendingBytes = 0
                    var more = false
                    var last: [UInt8]?
                    try txn.scan(dbs.articles, from: cursor.isEmpty ? nil : cursor) { k, v in
                        if !cursor.isEmpty && k.elementsEqual(cursor) { return true }
                        guard pending.count < searchBuildBatch && pendingBytes < searchBuildBytes else {
                            more = true
                            return false
                        }
                        guard let id = String(validating: k, as: UTF8.self) else { throw CorruptRecord("an article key is not UTF-8") }
                        let rec = try RecordCodec.decodeArticleWithBodies(v)
                        // The record (its inline bodies in it) and the winner's body, wherever it lives.
                        pendingBytes += v.count + max(0, rec.versions.winner?.content?.bodyLength ?? 0)
                        pending.append((id, rec))
                        last = Array(k)
                        return true
                    }
                    for (id, rec) in pending {
                        guard let w = rec.versions.winner, let c = w.content else { continue }
                        if try txn.get(search.ids, key: Array(id.utf8)) != nil { continue }
                        let body = try rec.inlineBodies[c.bodyHash].map { try $0.withUnsafeBytes { b throws(CorruptRecord) in try decodeUTF8(b, "body") } }
                            ?? c.bodyHash.withKeyBytes { key in try txn.withValue(dbs.bodies, key: key) { try RecordCodec.decodeBody($0) } }
                        // A body gone missing (damage `verify` names with the bodies) leaves its
                        // article out of the index: the build, which may run at an upgrade's
                        // open, never makes a damaged store unopenable.
                        guard let body else { continue }
                        try index.update(id: id, wasLive: false, new: IndexedDocument(content: c, body: body, lexicon: journal.lexicon), journal: &journal)
                    }
                    try journal.apply(txn, search, dbs.meta)
                    if let last, more {
                        try txn.put(dbs.meta, key: Meta.searchBuild, value: last)
                        return false
                    }
                    try txn.delete(dbs.meta, key: Meta.searchBuild)
                    return true
                }
            }
            if done { return transactions }
        }
    }

    /// Whether writes to this store keep a search index (so preparing documents for them,
    /// `StoreWriter.prepare`, is worth it).
    public var maintainsSearchIndex: Bool { dbs.search != nil }

    /// Rebuilds the search index from the articles (`folio reindex`): derived data, so nothing
    /// else changes. Batched like the build at an upgrade; searches are refused ("being
    /// built") from the first batch until the last commits.
    public func reindex() throws {
        try rebuildSearchIndex()
    }

    /// `reindex`, returning how many transactions the build took.
    @discardableResult
    func rebuildSearchIndex() throws -> Int {
        guard let search = dbs.search, !options.readOnly else {
            throw SearchUnavailable(reason: "the store is open read-only: reindex needs write access")
        }
        try storeErrors { try env.write { txn in try Store.clearSearch(txn, search, dbs.meta) } }
        return try Store.buildSearchIndex(env: env, dbs: dbs, search: search)
    }

    /// Articles indexed, and whether the index is complete (not being built).
    public func searchStatus() throws -> (documents: UInt64, complete: Bool, available: Bool) {
        guard dbs.search != nil else { return (0, false, false) }
        return try storeErrors {
            try env.read { txn in
                (try Meta.u64(Meta.searchDocs, dbs.meta, txn), try txn.get(dbs.meta, key: Meta.searchBuild) == nil, true)
            }
        }
    }

    /// The articles matching `query`, best first (BM25 over title — weighted ×2 — body,
    /// source and tags), at most `limit`; with a snippet of each. One read snapshot.
    public func search(_ query: SearchQuery, limit: Int = 20, snippets: Bool = true) throws -> [SearchHit] {
        try search(query, limit: limit, snippets: snippets, maxCheckedBytes: SearchExecution.maxCheckedBytes)
    }

    /// The same with another limit on the text read to check phrases (tests).
    func search(_ query: SearchQuery, limit: Int, snippets: Bool, maxCheckedBytes: Int) throws -> [SearchHit] {
        guard limit > 0 else { return [] }
        return try storeErrors {
            try env.read { txn in
                let format = try Meta.recordedFormat(dbs.meta, txn)
                guard let search = dbs.search, format >= Store.searchIndexFormat else {
                    throw SearchUnavailable(reason: format < 2
                        ? "this store has no search index yet (storage format \(format)): open it once for writing (any write, or `folio reindex`) to build it"
                        : "this store's search index has an older layout (storage format \(format)): open it once for writing (any write, or `folio reindex`) to rebuild it")
                }
                if try txn.get(dbs.meta, key: Meta.searchBuild) != nil {
                    throw SearchUnavailable(reason: "the search index is being built (by `folio reindex`, or after an upgrade): search again when the build ends; a build that was stopped part-way resumes the next time the store is opened for writing")
                }
                if try Meta.u64(Meta.searchVersion, dbs.meta, txn) != SearchText.fingerprint {
                    throw SearchUnavailable(reason: "the search index was built under other term rules (another folio or Unicode version): open the store once for writing (or `folio reindex`) to rebuild it")
                }
                return try SearchExecution(store: self, txn: txn, search: search, query: query, maxCheckedBytes: maxCheckedBytes).run(limit: limit, snippets: snippets)
            }
        }
    }
}

/// The postings of live documents read for one term (or a prefix's terms), segment after
/// segment.
struct PostingList {
    var docs: [UInt32] = []
    var tfs: [UInt32] = []
    var lengths: [UInt16] = []
    var masks: [UInt32] = []
    /// False once a document came before one read earlier (a prefix's terms).
    var sorted = true

    /// Reads a block of `segment`, keeping the postings of live documents; returns how many
    /// postings it held.
    mutating func read(_ block: UnsafeRawBufferPointer, _ segment: SegmentRecord, _ norms: inout Norms.Reader) throws -> Int {
        var r = try PostingBlock.Reader(block, base: segment.firstDoc, last: segment.lastDoc)
        // Room for every posting, filled in place and cut to those kept (no per-posting append).
        let start = docs.count
        docs.append(contentsOf: repeatElement(0, count: r.count))
        tfs.append(contentsOf: repeatElement(0, count: r.count))
        lengths.append(contentsOf: repeatElement(0, count: r.count))
        masks.append(contentsOf: repeatElement(0, count: r.count))
        var kept = start
        var last = start > 0 ? docs[start - 1] : nil
        var ordered = true
        try docs.withUnsafeMutableBufferPointer { d in
            try tfs.withUnsafeMutableBufferPointer { t in
                try lengths.withUnsafeMutableBufferPointer { l in
                    try masks.withUnsafeMutableBufferPointer { m in
                        while let p = try r.next() {
                            let norm = try norms.value(p.doc)
                            guard norm != 0 else { continue }
                            if let previous = last, previous >= p.doc { ordered = false }
                            last = p.doc
                            d[kept] = p.doc
                            t[kept] = p.tf
                            l[kept] = norm - 1
                            m[kept] = p.mask
                            kept += 1
                        }
                    }
                }
            }
        }
        if !ordered { sorted = false }
        let unused = docs.count - kept
        docs.removeLast(unused)
        tfs.removeLast(unused)
        lengths.removeLast(unused)
        masks.removeLast(unused)
        return r.count
    }
}

/// BM25 of one term (or a prefix's merged terms), computed per document when asked: a term
/// read for an intersection or a phrase is scored only in the documents that survive it.
struct BM25Inputs {
    var tfs: [UInt32]
    var lengths: [UInt16]
    let idf: Double
    let averageLength: Double

    static let k1 = 1.2
    static let b = 0.75

    @inline(__always) func score(_ i: Int) -> Double {
        let f = Double(tfs[i])
        return idf * f * (Self.k1 + 1) / (f + Self.k1 * (1 - Self.b + Self.b * Double(lengths[i]) / averageLength))
    }
}

/// Documents with a score each, sorted by document number.
struct ScoredDocs {
    var docs: [UInt32] = []
    /// Empty while `bm25` holds what computes them (`score(_:)` reads either).
    var scores: [Double] = []
    /// Position masks per document (a term's postings, or the chain of a phrase so far);
    /// empty after set operations, which do not keep them.
    var masks: [UInt32] = []
    var bm25: BM25Inputs?

    @inline(__always) func score(_ i: Int) -> Double { bm25?.score(i) ?? scores[i] }

    /// Computes every score (once), so `scores` holds them.
    mutating func materialize() {
        guard let m = bm25 else { return }
        scores = docs.indices.map(m.score)
        bm25 = nil
    }

    /// Calls `body` with the positions, here and in `o`, of each document both hold, in order.
    private func forEachCommon(_ o: ScoredDocs, _ body: (Int, Int) -> Void) {
        var (i, j) = (0, 0)
        while i < docs.count && j < o.docs.count {
            if docs[i] == o.docs[j] {
                body(i, j)
                i += 1
                j += 1
            } else if docs[i] < o.docs[j] {
                i += 1
            } else {
                j += 1
            }
        }
    }

    /// A phrase continued by the next word `o`: documents of both where some position of this
    /// chain, plus one, is a position of `o` (mod 32) — a necessary condition for adjacency.
    func followedBy(_ o: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        forEachCommon(o) { i, j in
            let m = (masks[i] << 1 | masks[i] >> 31) & o.masks[j]
            guard m != 0 else { return }
            out.docs.append(docs[i])
            out.scores.append(score(i) + o.score(j))
            out.masks.append(m)
        }
        return out
    }

    var isEmpty: Bool { docs.isEmpty }

    /// Both: the documents in each, scores added.
    func intersect(_ o: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        forEachCommon(o) { i, j in
            out.docs.append(docs[i])
            out.scores.append(score(i) + o.score(j))
        }
        return out
    }

    /// Either: every document of both, scores added where both hold it.
    func union(_ o: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        out.docs.reserveCapacity(docs.count + o.docs.count)
        out.scores.reserveCapacity(docs.count + o.docs.count)
        var (i, j) = (0, 0)
        while i < docs.count || j < o.docs.count {
            if j == o.docs.count || (i < docs.count && docs[i] < o.docs[j]) {
                out.docs.append(docs[i])
                out.scores.append(score(i))
                i += 1
            } else if i == docs.count || o.docs[j] < docs[i] {
                out.docs.append(o.docs[j])
                out.scores.append(o.score(j))
                j += 1
            } else {
                out.docs.append(docs[i])
                out.scores.append(score(i) + o.score(j))
                i += 1
                j += 1
            }
        }
        return out
    }

    /// Only the documents `keep` (sorted) holds, or (`excluding`) only those it does not.
    func filter(_ keep: [UInt32], excluding: Bool = false) -> ScoredDocs {
        var out = ScoredDocs()
        var j = 0
        for (i, d) in docs.enumerated() {
            while j < keep.count && keep[j] < d { j += 1 }
            let held = j < keep.count && keep[j] == d
            if held != excluding {
                out.docs.append(d)
                out.scores.append(score(i))
            }
        }
        return out
    }
}

/// A query that would cost the node more than one search may: refused, not run to the end.
public struct SearchTooBroad: Failure, Equatable, CustomStringConvertible {
    public var reason: String
    public var kind: FailureKind { .busy }
    public var description: String { "the query is too broad: \(reason); narrow it (more words, a longer prefix, a filter)" }
}

/// One search in one read transaction.
final class SearchExecution {
    /// Work limits of one search (SPEC §6.2): postings read, terms a prefix expands to,
    /// articles read to check phrases or dates, and bytes of their text read to check phrases
    /// (5 000 articles of 8 MiB would otherwise take minutes: 20 of 7 MB whose words cannot
    /// be kept in the fold cache took 44 s). Reaching this limit takes 0.2 s on ASCII text,
    /// 2.6 s on text whose words need folding, 2.2 s on such Latin or Cyrillic text whose
    /// words are all new.
    static let maxPostings = 5_000_000
    static let maxPrefixTerms = 5_000
    static let maxChecked = 5_000
    static let maxCheckedBytes = 128 << 20
    /// What a byte of a word folded afresh counts for against `maxCheckedBytes`: from the
    /// table of Latin, Greek and Cyrillic folds, or through Unicode's tables
    /// (`FoldCache.foldedBytes`) — about as much more as each takes longer than reading a byte.
    static let freshFoldWeight = (table: 2, slow: 16)

    private var postingsRead = 0
    private var checked = 0
    private var checkedBytes = 0
    private let maxCheckedBytes: Int
    /// By kind and term bytes (String keys would merge canonically equivalent terms, which
    /// the index keeps apart).
    private var cache: [[UInt8]: ScoredDocs] = [:]
    /// Words beyond ASCII of the candidates' text, folded once each for this search.
    private let foldCache = FoldCache()
    /// The index's segments, in document order, and its documents' norms (liveness, length).
    private let segments: [SegmentRecord]
    private var norms: Norms.Reader
    let store: Store
    let txn: Transaction
    let search: SearchDatabases
    let query: SearchQuery
    let documentCount: Double
    let averageLength: Double

    private func spend(postings n: Int) throws {
        postingsRead += n
        if postingsRead > Self.maxPostings { throw SearchTooBroad(reason: "its words are in too many articles") }
    }

    private func spendCheck() throws {
        checked += 1
        if checked > Self.maxChecked { throw SearchTooBroad(reason: "more than \(Self.maxChecked) articles would have to be read to check its phrases or dates") }
    }

    /// Counts `n` bytes of a candidate's text read for a phrase (each time one is checked).
    private func spend(textBytes n: Int) throws {
        checkedBytes += n
        if checkedBytes > maxCheckedBytes {
            let limit = maxCheckedBytes >= 1 << 20 ? "\(maxCheckedBytes >> 20) MiB" : "\(maxCheckedBytes) bytes"
            throw SearchTooBroad(reason: "more than \(limit) of article text would have to be read to check its phrases")
        }
    }

    init(store: Store, txn: Transaction, search: SearchDatabases, query: SearchQuery, maxCheckedBytes: Int = SearchExecution.maxCheckedBytes) throws {
        self.maxCheckedBytes = maxCheckedBytes
        self.store = store
        self.txn = txn
        self.search = search
        self.query = query
        let n = try Meta.u64(Meta.searchDocs, store.dbs.meta, txn)
        let total = try Meta.u64(Meta.searchLength, store.dbs.meta, txn)
        documentCount = Double(n)
        averageLength = n == 0 ? 1 : max(1, Double(total) / Double(n))
        segments = try SegmentRecord.ordered(txn, search.segments)
        norms = Norms.Reader(txn, search.norms)
    }

    /// The postings of a term, or of every term with a prefix (merged per document), scored
    /// by BM25 from the postings alone.
    private func scored(_ term: String, prefix: Bool) throws -> ScoredDocs {
        let cacheKey = [prefix ? 0x2A : 0x3D] + Array(term.utf8)
        if let hit = cache[cacheKey] { return hit }
        let result = try scoredUncached(term, prefix: prefix)
        cache[cacheKey] = result
        return result
    }

    private func scoredUncached(_ term: String, prefix: Bool) throws -> ScoredDocs {
        let key = Array(term.utf8)
        var termsSeen = Set<[UInt8]>()
        var list = PostingList()
        // A local copy: a stored property would be checked for exclusive access per posting.
        var norms = self.norms
        defer { self.norms = norms }
        // Segments in document order: one term's postings come out sorted.
        for segment in segments {
            if !prefix {
                if let n = try SegmentLookup.withBlock(txn, search.postings, segment, key, { try list.read($0, segment, &norms) }) { try spend(postings: n) }
                continue
            }
            try SegmentLookup.forEachTerm(txn, search.postings, segment, startingWith: key) { found, block in
                if found.first == 1 { return true }
                // One more term the prefix expands to.
                if termsSeen.insert(Array(found)).inserted && termsSeen.count > Self.maxPrefixTerms {
                    throw SearchTooBroad(reason: "\"\(term)*\" matches more than \(Self.maxPrefixTerms) terms")
                }
                try spend(postings: try list.read(block, segment, &norms))
                return true
            }
        }
        // One term, in document order (as its postings are stored): scored as it is.
        if list.sorted { return bm25(list.docs, tfs: list.tfs, lengths: list.lengths, masks: list.masks) }
        // A prefix's terms, merged per document (frequencies add up).
        let (docs, tfs, lengths, masks) = (list.docs, list.tfs, list.lengths, list.masks)
        let order = docs.indices.sorted { docs[$0] < docs[$1] }
        var mergedDocs: [UInt32] = []
        var mergedTF: [UInt32] = []
        var mergedLength: [UInt16] = []
        var mergedMasks: [UInt32] = []
        mergedDocs.reserveCapacity(order.count)
        for i in order {
            if mergedDocs.last == docs[i] {
                let (sum, overflow) = mergedTF[mergedTF.count - 1].addingReportingOverflow(tfs[i])
                mergedTF[mergedTF.count - 1] = overflow ? .max : sum
                mergedMasks[mergedMasks.count - 1] |= masks[i]
            } else {
                mergedDocs.append(docs[i])
                mergedTF.append(tfs[i])
                mergedLength.append(lengths[i])
                mergedMasks.append(masks[i])
            }
        }
        return bm25(mergedDocs, tfs: mergedTF, lengths: mergedLength, masks: mergedMasks)
    }

    /// BM25 of one term (or a prefix's merged terms) in each of `docs`, from each document's
    /// weighted frequency and length (computed when asked).
    private func bm25(_ docs: [UInt32], tfs: [UInt32], lengths: [UInt16], masks: [UInt32]) -> ScoredDocs {
        let df = Double(docs.count)
        let idf = log(1 + (documentCount - df + 0.5) / (df + 0.5))
        return ScoredDocs(docs: docs, masks: masks, bm25: BM25Inputs(tfs: tfs, lengths: lengths, idf: idf, averageLength: averageLength))
    }

    /// An atom's documents (for a phrase: those holding all its terms; adjacency is checked
    /// on the text later).
    private func evaluate(_ atom: SearchQuery.Atom) throws -> ScoredDocs {
        switch atom {
        case let .term(t): return try scored(t, prefix: false)
        case let .prefix(t): return try scored(t, prefix: true)
        case let .phrase(terms):
            // Each word must follow the previous one in the position masks; the text is
            // checked later only for documents that pass this.
            var result: ScoredDocs?
            for (j, t) in terms.enumerated() {
                var next = try scored(t, prefix: false)
                // A lone character at an end of the phrase also stands where a run of the text
                // ends (first in the phrase) or begins (last), at the position of the run's last
                // or first pair, which its mask holds shifted (`IndexedDocument.singleShift`).
                if terms.count > 1 && (j == 0 || j == terms.count - 1) && SearchText.isLoneCharacter(t.utf8) {
                    let shift = UInt32(j == 0 ? IndexedDocument.singleShift.last : IndexedDocument.singleShift.first)
                    next.masks = next.masks.map { $0 | ($0 >> shift | $0 << (32 - shift)) }
                }
                result = result.map { $0.followedBy(next) } ?? next
                if result!.isEmpty { break }
            }
            guard var result else { return ScoredDocs() }
            result.materialize()
            return ScoredDocs(docs: result.docs, scores: result.scores)
        }
    }

    /// Documents holding any of the exact filter values, sorted.
    private func filterDocs(_ prefix: String, _ values: [String]) throws -> [UInt32] {
        var all = ScoredDocs()
        for v in values { all = all.union(try scored(prefix + v, prefix: false)) }
        return all.docs
    }

    func run(limit: Int, snippets: Bool = true) throws -> [SearchHit] {
        // Groups whose atoms include a phrase keep each atom's documents: a document satisfies
        // such a group through a plain atom holding it, or a phrase that holds on its text.
        var checkedGroups: [[(atom: SearchQuery.Atom, docs: [UInt32])]] = []
        var candidates: ScoredDocs?
        for group in query.groups {
            var any = ScoredDocs()
            var atoms: [(atom: SearchQuery.Atom, docs: [UInt32])] = []
            for atom in group {
                let r = try evaluate(atom)
                any = any.union(r)
                atoms.append((atom, r.docs))
            }
            if group.contains(where: { if case .phrase = $0 { return true } else { return false } }) { checkedGroups.append(atoms) }
            candidates = candidates.map { $0.intersect(any) } ?? any
            if candidates!.isEmpty { return [] }
        }
        var filters: [[UInt32]] = []
        if !query.sources.isEmpty { filters.append(try filterDocs(IndexedDocument.sourcePrefix, query.sources)) }
        if !query.tags.isEmpty { filters.append(try filterDocs(IndexedDocument.tagPrefix, query.tags)) }
        var docs: ScoredDocs
        var everyDocument = false
        if let candidates {
            docs = candidates
        } else if let first = filters.first {
            docs = ScoredDocs(docs: first, scores: [Double](repeating: 0, count: first.count))
        } else {
            // Only date or id filters: every document is a candidate (walked in id order below).
            docs = ScoredDocs()
            everyDocument = true
        }
        for f in filters { docs = docs.filter(f) }
        var excludedPhrases: [[String]] = []
        for atom in query.excluded {
            if case let .phrase(terms) = atom {
                excludedPhrases.append(terms)
            } else if !everyDocument {
                docs = docs.filter(try evaluate(atom).docs, excluding: true)
            }
        }
        // Walking every document, plain excluded terms are checked per document instead.
        let excludedTermDocs: [[UInt32]] = everyDocument
            ? try query.excluded.compactMap { a in if case .phrase = a { return nil } else { return try evaluate(a).docs } }
            : []

        docs.materialize()
        // Scores as sent (3 decimals), so the order is the one the client sees: by score, then id.
        for i in docs.scores.indices { docs.scores[i] = (docs.scores[i] * 1000).rounded() / 1000 }

        /// The lazy checks, on one document: id, dates, phrases (mixed groups, exclusions).
        func passes(_ doc: UInt32, _ record: IndexedDocument.DocRecord) throws -> Bool {
            if let p = query.idPrefix, !record.id.utf8.starts(with: p.utf8) { return false }
            if !query.since.isEmpty || !query.until.isEmpty {
                if record.published.isEmpty { return false }
                for since in query.since where !PublishedTime.onOrAfter(record.published, since) { return false }
                for until in query.until where !PublishedTime.onOrBefore(record.published, until) { return false }
            }
            for d in excludedTermDocs where Self.contains(d, doc) { return false }
            var needText = !excludedPhrases.isEmpty
            for group in checkedGroups where !group.contains(where: { a in
                if case .phrase = a.atom { return false }
                return Self.contains(a.docs, doc)
            }) { needText = true }
            guard needText else { return true }
            try spendCheck()
            let text = try self.candidate(record.id)
            for group in checkedGroups {
                let ok = try group.contains { a in
                    if case let .phrase(t) = a.atom { return try Self.contains(a.docs, doc) && holds(text, t) }
                    return Self.contains(a.docs, doc)
                }
                if !ok { return false }
            }
            return try !excludedPhrases.contains { try holds(text, $0) }
        }

        var hits: [(score: Double, record: IndexedDocument.DocRecord)] = []
        if everyDocument {
            // Every document scores 0: walk them in id order (from the id prefix) until `limit` pass.
            var startKey = Array((query.idPrefix ?? "").utf8)
            if startKey.isEmpty { startKey = [] }
            var failure: Error?
            try txn.scan(search.ids, from: startKey.isEmpty ? nil : startKey) { k, v in
                if let p = query.idPrefix, !k.starts(with: Array(p.utf8)) { return false }
                guard v.count == 4 else { return true }
                let doc = UInt32(bigEndianBytes: v)
                do {
                    guard let record = try txn.withValue(search.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc) else { return true }
                    if try passes(doc, record) { hits.append((0, record)) }
                } catch {
                    failure = error
                    return false
                }
                return hits.count < limit
            }
            if let failure { throw failure }
        } else {
            var order = Array(docs.docs.indices)
            order.sort { docs.scores[$0] != docs.scores[$1] ? docs.scores[$0] > docs.scores[$1] : docs.docs[$0] < docs.docs[$1] }
            var position = 0
            while position < order.count && hits.count < limit {
                // One run of equal scores at a time, in id order.
                let score = docs.scores[order[position]]
                var end = position
                while end < order.count && docs.scores[order[end]] == score { end += 1 }
                var run: [(UInt32, IndexedDocument.DocRecord)] = []
                for i in order[position..<end] {
                    let doc = docs.docs[i]
                    guard let record = try txn.withValue(search.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc) else {
                        throw StoreError.corrupt("the search index names document \(doc), which it does not hold: run `folio reindex`")
                    }
                    run.append((doc, record))
                }
                // By id as bytes: a total order (String's < holds canonically equivalent ids equal).
                run.sort { $0.1.id.utf8.lexicographicallyPrecedes($1.1.id.utf8) }
                for (doc, record) in run where hits.count < limit {
                    if try passes(doc, record) { hits.append((score, record)) }
                }
                position = end
            }
        }
        let marked = Snippet.Marked(query)
        return try hits.map { hit in
            guard let rec = try store.record(hit.record.id, txn: txn), let w = rec.versions.winner, let c = w.content else {
                throw StoreError.corrupt("the search index holds \"\(hit.record.id)\", which is not a live article: run `folio reindex`")
            }
            let snippet = snippets ? Snippet.make(body: try store.body(c.bodyHash, of: hit.record.id, txn: txn) ?? "", title: c.title, marked) : ""
            return SearchHit(id: hit.record.id, score: hit.score, title: c.title, source: c.source, published: c.published, snippet: snippet)
        }
    }

    /// Binary search in sorted document numbers.
    static func contains(_ docs: [UInt32], _ doc: UInt32) -> Bool {
        var lo = 0, hi = docs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if docs[mid] < doc { lo = mid + 1 } else { hi = mid }
        }
        return lo < docs.count && docs[lo] == doc
    }

    /// Whether `text` holds `phrase`, the text read for it counted against the limit: the
    /// bytes looked at, and each byte of a word folded afresh (not in the search's fold
    /// cache: new to it, or a text of words it cannot keep) `freshFoldWeight` times.
    private func holds(_ text: CandidateText, _ phrase: [String]) throws -> Bool {
        var read = 0
        let before = foldCache.foldedBytes
        let found = try text.holds(phrase, foldCache: foldCache, read: &read)
        let after = foldCache.foldedBytes
        let (all, slowly) = (after.all - before.all, after.slowly - before.slowly)
        try spend(textBytes: read + (all - slowly) * (Self.freshFoldWeight.table - 1) + slowly * (Self.freshFoldWeight.slow - 1))
        return found
    }

    /// The text of an article's winner, to check phrases on.
    private func candidate(_ id: String) throws -> CandidateText {
        guard let rec = try store.record(id, txn: txn), let c = rec.versions.winner?.content else { return .none }
        return CandidateText(fields: [c.title, c.source] + c.tags, body: { [store, txn] body in
            try store.withBodyText(c.bodyHash, of: id, txn: txn) { try body(.bytes($0)) } ?? false
        })
    }
}

/// The text of a candidate for a phrase: its title, source and tags, and its body read in
/// place from the store. ASCII text is scanned as bytes, comparing words where they stand
/// (the common case, with no copy and no String); other text is split into terms by
/// `SearchText`.
struct CandidateText {
    enum Field {
        case bytes(UnsafeRawBufferPointer)
        case string(String)
    }

    let fields: [String]
    /// Lends the body to its argument (false when the article has none).
    let body: ((Field) throws -> Bool) throws -> Bool

    init(fields: [String], body: @escaping ((Field) throws -> Bool) throws -> Bool) {
        self.fields = fields
        self.body = body
    }

    /// An article that is not live: nothing holds.
    static var none: CandidateText { CandidateText(fields: []) { _ in false } }

    /// True when `phrase`'s terms stand next to each other, in order, in one field (a lone
    /// character at an end of it perhaps inside a pair: `PhraseMatcher`). Words beyond ASCII
    /// are folded once each per `foldCache`.
    /// `read` grows by the bytes of text looked at: a field or body read to its end, or to the
    /// end of the match found in it; twice where the ASCII scan stopped at a letter beyond
    /// ASCII and the text was read again as terms (up to there, then whole).
    func holds(_ phrase: [String], foldCache: FoldCache = FoldCache(), read: inout Int) throws -> Bool {
        let ascii = phrase.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
        let terms = phrase.map { Array($0.utf8) }
        var bytes = 0
        defer { read += bytes }
        func check(_ f: Field) -> Bool {
            switch f {
            case let .bytes(b):
                var end = 0
                if ascii, let found = Self.scanASCII(b, terms, end: &end) {
                    bytes += end
                    return found
                }
                // Read again as terms (after the scan's part, if it stopped at a letter
                // beyond ASCII).
                bytes += end + b.count
                return PhraseMatcher.holds(terms, in: String(decoding: b, as: UTF8.self), foldCache: foldCache)
            case let .string(s):
                var s = s
                var end = 0
                if ascii, let found = s.withUTF8({ Self.scanASCII(UnsafeRawBufferPointer($0), terms, end: &end) }) {
                    bytes += end
                    return found
                }
                bytes += end + s.utf8.count
                return PhraseMatcher.holds(terms, in: s, foldCache: foldCache)
            }
        }
        for f in fields where check(.string(f)) { return true }
        return try body { check($0) }
    }

    /// Words of `text` (letters and digits, compared lowercased, cut at 64 bytes as terms
    /// are) checked against `phrase` wherever its first term stands; nil when the text holds
    /// a byte beyond ASCII before a match (its words need folding: the caller splits it).
    static func scanASCII(_ text: UnsafeRawBufferPointer, _ phrase: [[UInt8]]) -> Bool? {
        var end = 0
        return scanASCII(text, phrase, end: &end)
    }

    /// The same, setting `end` to where the match found ends, to the text's end when none is
    /// found, or (nil) to where a byte beyond ASCII stopped the scan.
    static func scanASCII(_ text: UnsafeRawBufferPointer, _ phrase: [[UInt8]], end: inout Int) -> Bool? {
        guard let first = phrase.first else {
            end = 0
            return true
        }
        @inline(__always) func isWord(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        @inline(__always) func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }
        let n = text.count
        /// The word from `i` on (after skipping separators): its start and end, or nil at the
        /// end; `.none` with nonASCII set when a byte beyond ASCII stands in the way.
        var nonASCII = false
        /// Where a byte beyond ASCII stopped the scan.
        var stoppedAt = n
        /// The scalar starting at `i` beyond ASCII, and where the next one starts.
        func scalar(at i: Int) -> (Unicode.Scalar?, Int) {
            let lead = text[i]
            var value = UInt32(lead < 0xE0 ? lead & 0x1F : lead < 0xF0 ? lead & 0x0F : lead & 0x07)
            var j = i + 1
            while j < n, text[j] & 0xC0 == 0x80 {
                value = value << 6 | UInt32(text[j] & 0x3F)
                j += 1
            }
            return (Unicode.Scalar(value), j)
        }
        /// The word from `i` on (after skipping separators, punctuation beyond ASCII too): its
        /// start and end, or nil at the end, or (with `nonASCII` set) where a letter or CJK
        /// character beyond ASCII stands, whose terms need folding.
        func word(from i: Int) -> (Int, Int)? {
            var i = i
            while i < n, !isWord(text[i]) {
                if text[i] >= 0x80 {
                    let (u, next) = scalar(at: i)
                    guard let u, SearchText.isSeparator(u, afterWord: false) else {
                        nonASCII = true
                        stoppedAt = i
                        return nil
                    }
                    i = next
                } else {
                    i += 1
                }
            }
            guard i < n else { return nil }
            let start = i
            while i < n, isWord(text[i]) { i += 1 }
            if i < n, text[i] >= 0x80 {
                let (u, _) = scalar(at: i)
                guard let u, SearchText.isSeparator(u, afterWord: true) else {
                    nonASCII = true
                    stoppedAt = i
                    return nil
                }
            }
            return (start, i)
        }
        func equals(_ w: (Int, Int), _ term: [UInt8]) -> Bool {
            let len = min(w.1 - w.0, SearchText.maxTermBytes)
            guard len == term.count else { return false }
            for k in 0..<len where lower(text[w.0 + k]) != term[k] { return false }
            return true
        }
        var at = 0
        while let w = word(from: at) {
            at = w.1
            guard equals(w, first) else { continue }
            var next = w.1
            var all = true
            for term in phrase.dropFirst() {
                guard let v = word(from: next), equals(v, term) else {
                    all = false
                    break
                }
                next = v.1
            }
            if nonASCII {
                end = stoppedAt
                return nil
            }
            if all {
                end = next
                return true
            }
        }
        end = nonASCII ? stoppedAt : n
        return nonASCII ? nil : false
    }
}

/// A short passage showing why an article matched.
///
/// The passage is the stretch of about `shownBytes` of the body that holds the most matches
/// (else of the title, else the body's start), begun a little before its first match. It is
/// cut at spaces where a space is near (else between scalars, never inside one), every
/// match is marked «like this» (matches with only punctuation between them, as in e-mail or
/// a run of CJK pairs, as one mark), a mark is never cut, each run of whitespace (line breaks
/// included) is one space, and the whole is at most `maxBytes`, with "…" where text was left out.
enum Snippet {
    /// Bytes of the body (and of the title) looked at (a match further in shows the title),
    /// and most bytes of a snippet.
    static let scannedBytes = 64 << 10
    static let maxBytes = 400
    /// Text shown (marks and ellipses aside), and how much of it comes before the first match.
    static let shownBytes = 300
    static let leadBytes = 48
    /// How far a cut looks for a space before cutting between characters instead.
    static let reach = 40
    /// A mark is at most this long (a longer run of matches is marked in parts).
    static let maxMark = 96

    /// What a query's snippets mark, as bytes (a Set of Strings would keep one of two
    /// canonically equivalent terms): its terms and prefixes wherever they stand, each of its
    /// phrases (its terms, in order) only where it stands whole — never its words apart, as
    /// the pairs of a CJK or Thai word are found all over a text. Excluded atoms are not marked.
    struct Marked {
        var terms: [[UInt8]] = []
        var prefixes: [[UInt8]] = []
        var phrases: [[[UInt8]]] = []

        init(_ query: SearchQuery) {
            for atom in query.groups.joined() {
                switch atom {
                case let .term(t): terms.append(Array(t.utf8))
                case let .prefix(p): prefixes.append(Array(p.utf8))
                case let .phrase(ts): phrases.append(ts.map { Array($0.utf8) })
                }
            }
        }
    }

    static func make(body: String, title: String, _ marked: Marked) -> String {
        make(body: body, title: title, terms: marked.terms, prefixes: marked.prefixes, phrases: marked.phrases)
    }

    /// `terms` and `prefixes` are marked wherever they stand; each of `phrases` (its terms, in
    /// order) only where it stands whole.
    static func make(body: String, title: String, terms: [[UInt8]], prefixes: [[UInt8]], phrases: [[[UInt8]]] = []) -> String {
        let body = SearchText.cut(body, to: scannedBytes)
        let title = SearchText.cut(title, to: scannedBytes)
        if let s = passage(body, terms: terms, prefixes: prefixes, phrases: phrases, requireMatch: true) { return s }
        if let s = passage(title, terms: terms, prefixes: prefixes, phrases: phrases, requireMatch: true) { return s }
        return passage(body.isEmpty ? title : body, terms: terms, prefixes: prefixes, phrases: phrases, requireMatch: false) ?? ""
    }

    /// The byte ranges of `text` where a term or prefix matches, or a phrase stands whole (its
    /// terms one after the other: CJK singles, which take no position, do not part them), in
    /// order of where they start.
    static func matchedRanges(_ text: String, terms: [[UInt8]], prefixes: [[UInt8]], phrases: [[[UInt8]]]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var matchers = phrases.map(PhraseMatcher.init)
        // The ranges of the last terms (singles aside), as many as the longest phrase has:
        // a phrase found whole is the last of them.
        let longest = phrases.map(\.count).max() ?? 0
        var recent = [Range<Int>](repeating: 0..<0, count: max(1, longest))
        var seen = 0
        /// `range` narrowed to `character` at its end (`atEnd`) or start, when it holds more
        /// (a lone character of the phrase inside a pair of the text) and the text there is it.
        func narrowed(_ range: Range<Int>, to character: [UInt8], atEnd: Bool) -> Range<Int> {
            guard range.count > character.count, SearchText.isLoneCharacter(character) else { return range }
            let part = atEnd ? (range.upperBound - character.count)..<range.upperBound : range.lowerBound..<(range.lowerBound + character.count)
            return text.utf8.dropFirst(part.lowerBound).prefix(part.count).elementsEqual(character) ? part : range
        }
        // With CJK singles: a character typed alone is marked inside a longer run.
        SearchText.forEachTermBytes(text, singles: true) { term, range, single in
            if matches(term, terms, prefixes) { found.append(range) }
            guard !single, longest > 0 else { return }
            recent[seen % recent.count] = range
            seen += 1
            for k in matchers.indices where matchers[k].feed(term, range) {
                let phrase = phrases[k]
                let n = phrase.count
                let first = n > 1 ? narrowed(recent[(seen - n) % recent.count], to: phrase[0], atEnd: true) : range
                let last = n > 1 ? narrowed(range, to: phrase[n - 1], atEnd: false) : range
                // Whole; one longer than a mark may be is marked term by term.
                let whole = first.lowerBound..<last.upperBound
                if whole.count <= maxMark || n == 1 {
                    found.append(whole)
                } else {
                    found.append(first)
                    for back in 1..<(n - 1) { found.append(recent[(seen - 1 - back) % recent.count]) }
                    found.append(last)
                }
            }
        }
        // A phrase is found at its last term, after matches that begin inside it.
        if !phrases.isEmpty { found.sort { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) } }
        return found
    }

    /// True when `term` is one of `terms` or starts with one of `prefixes` (a query has a few).
    @inline(__always) private static func matches(_ term: UnsafeBufferPointer<UInt8>, _ terms: [[UInt8]], _ prefixes: [[UInt8]]) -> Bool {
        for t in terms where t.count == term.count && t.elementsEqual(term) { return true }
        for p in prefixes where p.count <= term.count && p.elementsEqual(UnsafeBufferPointer(rebasing: term[0..<p.count])) { return true }
        return false
    }

    @inline(__always) private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }

    /// Whether `bytes` hold only punctuation: no whitespace (of any script), no letter, digit
    /// or CJK character (two CJK singles with another character between are two marks).
    private static func onlyPunctuation(_ bytes: ArraySlice<UInt8>) -> Bool {
        !String(decoding: bytes, as: UTF8.self).unicodeScalars.contains { $0.properties.isWhitespace || !SearchText.isSeparator($0, afterWord: false) }
    }

    /// `bytes` as text with each run of whitespace (spaces, line breaks of any script, NEL,
    /// U+2028, no-break and ideographic spaces…) made one space: a snippet is one line.
    private static func collapsingSpaces(_ bytes: ArraySlice<UInt8>) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = false
        for u in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let space = u.properties.isWhitespace || u == "\u{0B}" || u == "\u{0C}"
            if !space {
                out.append(u)
            } else if !lastWasSpace {
                out.append(" ")
            }
            lastWasSpace = space
        }
        return String(out)
    }

    /// The byte offset at or before `offset` where a scalar of `bytes` (valid UTF-8) starts,
    /// moved back before up to `maxMarksKept` marks there (combining marks, kana voicing
    /// marks, Hangul vowels and finals) and the character they belong to: a cut keeps a kana
    /// with its dakuten, a letter with its accents. (Looking for a grapheme's start instead
    /// could walk a crafted one of any length: past that many marks, the cut parts them.)
    private static func scalarStart(_ bytes: [UInt8], atOrBefore offset: Int) -> Int {
        func start(_ offset: Int) -> Int {
            var i = offset
            while i > 0, i < bytes.count, bytes[i] & 0xC0 == 0x80 { i -= 1 }
            return i
        }
        func isMark(at i: Int) -> Bool {
            guard i < bytes.count else { return false }
            let n = min(bytes.count - i, SearchText.utf8Length(lead: bytes[i]))
            guard let u = String(decoding: bytes[i..<i + n], as: UTF8.self).unicodeScalars.first else { return false }
            switch u.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return true
            default: return SearchText.isCJKMark(u)
            }
        }
        var i = start(offset)
        var steps = 0
        while i > 0, steps <= maxMarksKept, isMark(at: i) {
            i = start(i - 1)
            steps += 1
        }
        return steps > maxMarksKept ? start(offset) : i
    }

    /// Most marks after one character a cut moves back over (`scalarStart`).
    static let maxMarksKept = 4

    private static func passage(_ text: String, terms: [[UInt8]], prefixes: [[UInt8]], phrases: [[[UInt8]]], requireMatch: Bool) -> String? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        // The matched byte ranges, in order; neighbours with only punctuation between them joined.
        var marks: [Range<Int>] = []
        for range in matchedRanges(text, terms: terms, prefixes: prefixes, phrases: phrases) {
            // A match overlapping the last mark (CJK pairs and singles do) starts where that
            // one ends; one inside it (a single of a marked pair) adds nothing.
            let from = max(range.lowerBound, marks.last?.upperBound ?? 0)
            guard from < range.upperBound else { continue }
            let range = from..<range.upperBound
            if let last = marks.last, range.upperBound - last.lowerBound <= maxMark,
                range.lowerBound - last.upperBound <= 4 && onlyPunctuation(bytes[last.upperBound..<range.lowerBound])
            {
                marks[marks.count - 1] = last.lowerBound..<range.upperBound
            } else if range.count <= maxMark {
                marks.append(range)
            } else {
                // One word longer than a mark may be (a long compound, a word cut to its term's
                // 64 bytes): its start is marked, the rest shown after it.
                let end = scalarStart(bytes, atOrBefore: range.lowerBound + maxMark)
                if end > range.lowerBound { marks.append(range.lowerBound..<end) }
            }
        }
        if requireMatch && marks.isEmpty { return nil }
        // The stretch holding the most marks.
        var start = 0
        if !marks.isEmpty {
            var (best, bestCount, j) = (0, 0, 0)
            for i in marks.indices {
                j = max(j, i)
                while j < marks.count, marks[j].upperBound <= marks[i].lowerBound + shownBytes - leadBytes { j += 1 }
                if j - i > bestCount { (best, bestCount) = (i, j - i) }
            }
            let anchor = marks[best].lowerBound
            start = max(0, anchor - leadBytes)
            if start > 0 {
                // At the first word that begins after `start` (else between two scalars).
                if let space = bytes[start..<anchor].firstIndex(where: isSpace) {
                    start = space
                    while start < anchor, isSpace(bytes[start]) { start += 1 }
                } else {
                    start = scalarStart(bytes, atOrBefore: start)
                }
                if let m = marks.first(where: { $0.lowerBound < start && start < $0.upperBound }) { start = m.lowerBound }
            }
        }
        var end = min(bytes.count, start + shownBytes)
        if end < bytes.count {
            if let space = bytes[max(start, end - reach)..<end].lastIndex(where: isSpace) {
                end = space
            } else {
                end = scalarStart(bytes, atOrBefore: end)
            }
            if let m = marks.first(where: { $0.lowerBound < end && end < $0.upperBound }) { end = m.lowerBound }
        }
        // The passage, marks whole, within `maxBytes` (ellipses included).
        var out = start > 0 ? "…" : ""
        let room = maxBytes - "…".utf8.count
        var p = start
        var complete = true
        /// Appends `bytes[p..<to]` as far as it fits (to a scalar's start); false if cut.
        func plain(to: Int) -> Bool {
            guard p < to else { return true }
            let fits = min(to, p + max(0, room - out.utf8.count))
            let cut = fits < to ? max(p, scalarStart(bytes, atOrBefore: fits)) : to
            out += collapsingSpaces(bytes[p..<cut])
            p = cut
            return cut == to
        }
        for m in marks where m.lowerBound >= start && m.upperBound <= end {
            guard plain(to: m.lowerBound) else {
                complete = false
                break
            }
            // A phrase's marks may span line breaks: one line, as the rest.
            let marked = "«" + collapsingSpaces(bytes[m]) + "»"
            guard out.utf8.count + marked.utf8.count <= room else {
                complete = false
                break
            }
            out += marked
            p = m.upperBound
        }
        if complete { complete = plain(to: end) }
        if !complete || end < bytes.count { out += "…" }
        return out
    }
}
