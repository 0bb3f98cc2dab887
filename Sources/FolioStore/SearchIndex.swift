import FolioModel
import Foundation
import LMDB

/// The full-text index (STORAGE.md "Search index"): derived from the winning live version of
/// each article, kept in the store's environment and changed in the same transaction as the
/// article, so a search sees exactly what the store holds. Never replicated.
///
/// - `search_ids`: article id → u32 document number;
/// - `search_docs`: u32 document number → u32 length (weighted terms), str id, str published;
/// - `search_terms` (`MDB_DUPSORT | MDB_DUPFIXED`): term → 12-byte postings: u32 document
///   number, u16 weighted term frequency, u16 document length (both saturating), u32 position
///   mask (bit p mod 32 set for each position p of the term), sorted by document — a term's
///   postings alone score it, and two masks tell most non-adjacent pairs from adjacent ones.
struct SearchDatabases: Sendable {
    let ids: Database
    let docs: Database
    let terms: Database

    static let names = ["search_ids", "search_docs", "search_terms"]
}

/// A set of terms (their UTF-8 bytes) with a value per term: an open-addressing hash table over
/// one byte arena, so adding a term makes no String and hashes its bytes once. Terms are
/// compared as bytes (never as Strings, whose == holds canonically equivalent text equal).
struct TermTable<Value: Sendable>: Sendable {
    /// Term `i`'s bytes are `arena[starts[i]..<starts[i + 1]]`.
    private(set) var arena: [UInt8] = []
    private var starts: [Int32] = [0]
    private var hashes: [UInt32] = []
    private(set) var values: [Value] = []
    /// Term number + 1 (0: empty slot); the count is a power of two, at most half full.
    private var slots: [Int32]

    init(capacity: Int = 64) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: 0, count: n)
        arena.reserveCapacity(capacity * 8)
        starts.reserveCapacity(capacity + 1)
        hashes.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    var count: Int { values.count }

    /// SipHash-1-3 keyed per process (Swift's `Hasher`): text from outside cannot be made
    /// to collide (an unkeyed hash let one crafted article of words sharing a slot turn every
    /// insertion into a walk of the whole table, stalling a node's writer for half a minute).
    @inline(__always) static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h = Hasher()
        h.combine(bytes: UnsafeRawBufferPointer(b))
        return UInt32(truncatingIfNeeded: h.finalize())
    }

    /// Terms are short: comparing in place beats a call to memcmp.
    @inline(__always) static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Drops the lookup slots and spare capacity: the table can then be read (`withBytes`,
    /// values, hashes) but not added to. What a prepared document keeps while it waits for
    /// its write (about twice its text, instead of six times).
    mutating func freeze() {
        slots = []
        arena = arena.withUnsafeBufferPointer { Array($0) }
        starts = starts.withUnsafeBufferPointer { Array($0) }
        hashes = hashes.withUnsafeBufferPointer { Array($0) }
        values = values.withUnsafeBufferPointer { Array($0) }
    }

    /// The number of `term`, added with `initial` if new.
    @inline(__always) mutating func number(of term: UnsafeBufferPointer<UInt8>, initial: @autoclosure () -> Value) -> Int {
        number(of: term, hash: Self.hash(term), initial: initial())
    }

    /// The same with the term's `hash` known (from another table).
    @inline(__always) mutating func number(of term: UnsafeBufferPointer<UInt8>, hash h: UInt32, initial: @autoclosure () -> Value) -> Int {
        precondition(!slots.isEmpty, "a frozen term table is read-only")
        let mask = slots.count - 1
        var slot = Int(h) & mask
        while true {
            let s = slots[slot]
            if s == 0 { break }
            let t = Int(s) - 1
            if hashes[t] == h {
                let a = Int(starts[t]), e = Int(starts[t + 1])
                if e - a == term.count, arena.withUnsafeBufferPointer({ Self.equal($0.baseAddress! + a, term.baseAddress!, term.count) }) { return t }
            }
            slot = (slot + 1) & mask
        }
        let t = values.count
        arena.append(contentsOf: term)
        starts.append(Int32(arena.count))
        hashes.append(h)
        values.append(initial())
        slots[slot] = Int32(t + 1)
        if values.count * 2 > slots.count { grow() }
        return t
    }

    mutating func number(of term: String, initial: @autoclosure () -> Value) -> Int {
        var term = term
        return term.withUTF8 { number(of: $0, initial: initial()) }
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for t in hashes.indices {
            var slot = Int(hashes[t]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(t + 1)
        }
    }

    subscript(term: Int) -> Value {
        get { values[term] }
        _modify { yield &values[term] }
    }

    /// The longest distance any term lies from its home slot (how many probes finding it
    /// takes, less one): small for any text, if the hash cannot be made to collide.
    var longestProbe: Int {
        let mask = slots.count - 1
        var longest = 0
        for (slot, s) in slots.enumerated() where s != 0 {
            longest = max(longest, (slot - Int(hashes[Int(s) - 1]) & mask) & mask)
        }
        return longest
    }

    /// Term `t`'s hash.
    func hash(of t: Int) -> UInt32 { hashes[t] }

    /// Term `t`'s bytes, valid during the call.
    func withBytes<R>(_ t: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[Int(starts[t])..<Int(starts[t + 1])])) }
    }

    func string(_ t: Int) -> String { withBytes(t) { String(decoding: $0, as: UTF8.self) } }

    /// True when term `a`'s bytes sort before term `b`'s (byte order, as LMDB sorts keys).
    func precedes(_ a: Int, _ b: Int) -> Bool {
        arena.withUnsafeBufferPointer { p in
            let (a0, a1, b0, b1) = (Int(starts[a]), Int(starts[a + 1]), Int(starts[b]), Int(starts[b + 1]))
            let c = memcmp(p.baseAddress! + a0, p.baseAddress! + b0, min(a1 - a0, b1 - b0))
            return c != 0 ? c < 0 : a1 - a0 < b1 - b0
        }
    }
}

/// The terms of one article as the index holds them.
struct IndexedDocument: Sendable {
    struct TermStats: Equatable, Sendable {
        /// Weighted frequency: a title occurrence counts `titleWeight`, any other one 1.
        var tf: UInt32 = 0
        /// Bit (position mod 32) for each position of the term in the document.
        var mask: UInt32 = 0

        mutating func add(_ weight: Int, _ bit: UInt32) {
            tf += UInt32(weight)
            mask |= bit
        }
    }

    /// Each distinct term with its statistics.
    private(set) var terms: TermTable<TermStats>
    var length = 0
    var published = ""
    /// Positions run through title, body, source and tags in that order, with a gap of 2
    /// between fields (so the last word of one field is not next to the first of the next).
    private var position = 0

    static let titleWeight = 2
    /// Filter terms (an exact source or tag) start with this byte, which no text term holds.
    static let sourcePrefix = "\u{1}s"
    static let tagPrefix = "\u{1}t"

    init(content c: VersionContent, body: String) {
        self.init(title: c.title, body: body, source: c.source, tags: c.tags, published: c.published)
    }

    init(title: String, body: String, source: String, tags: [String], published: String) {
        self.published = published
        // About one distinct term per 12 bytes of text: no rehashing while it fills.
        terms = TermTable(capacity: min(8192, (title.utf8.count + body.utf8.count) / 12 + 16))
        SearchText.forEachTermBytes(title) { add($0, Self.titleWeight) }
        position += 2
        SearchText.forEachTermBytes(body) { add($0, 1) }
        position += 2
        SearchText.forEachTermBytes(source) { add($0, 1) }
        for t in tags {
            position += 2
            SearchText.forEachTermBytes(t) { add($0, 1) }
        }
        let folded = SearchText.foldedValue(source)
        if !folded.isEmpty { setFilterTerm(Self.sourcePrefix + folded) }
        for t in Set(tags.map(SearchText.foldedValue)) where !t.isEmpty { setFilterTerm(Self.tagPrefix + t) }
    }

    /// Keeps only what reading the terms needs (`TermTable.freeze`).
    mutating func freeze() { terms.freeze() }

    private mutating func setFilterTerm(_ term: String) {
        let t = terms.number(of: term, initial: TermStats())
        terms[t] = TermStats(tf: 1, mask: 0)
    }

    private mutating func add(_ term: UnsafeBufferPointer<UInt8>, _ weight: Int) {
        let t = terms.number(of: term, initial: TermStats())
        terms[t].add(weight, UInt32(1) << UInt32(position & 31))
        length += weight
        position += 1
    }

    /// Each term's bytes (valid during the call), hash and statistics.
    func forEachTerm(_ body: (UnsafeBufferPointer<UInt8>, UInt32, TermStats) throws -> Void) rethrows {
        for t in 0..<terms.count { try terms.withBytes(t) { try body($0, terms.hash(of: t), terms[t]) } }
    }

    static let postingSize = 12

    /// A posting: document << 32 | frequency << 16 | length, and the position mask.
    struct Posting: Equatable {
        var head: UInt64
        var mask: UInt32
        var bytes: [UInt8] { head.bigEndianBytes + mask.bigEndianBytes }
    }

    static func posting(_ doc: UInt32, _ stats: TermStats, _ length: Int) -> Posting {
        Posting(head: UInt64(doc) << 32 | UInt64(UInt16(clamping: stats.tf)) << 16 | UInt64(UInt16(clamping: length)), mask: stats.mask)
    }

    static func encodeDoc(length: Int, id: String, published: String) -> [UInt8] {
        var out = UInt32(clamping: length).bigEndianBytes
        for s in [id, published] {
            out += UInt32(s.utf8.count).bigEndianBytes
            out += Array(s.utf8)
        }
        return out
    }

    struct DocRecord {
        var length: Int
        var id: String
        var published: String
    }

    static func decodeDoc(_ b: UnsafeRawBufferPointer) throws -> DocRecord {
        var r = ByteReader(b)
        let length = Int(try r.u32())
        let id = try r.string()
        let published = try r.string()
        guard r.isAtEnd else { throw CorruptRecord("a search document record has trailing bytes") }
        return DocRecord(length: length, id: id, published: published)
    }
}

extension UInt32 {
    init(bigEndianBytes b: UnsafeRawBufferPointer) {
        self = b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8(self >> 16 & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self & 0xFF)] }
}

/// An article's search terms worked out ahead of its write, on any thread, so the write
/// transaction (one thread, holding the store's writer lock) does not tokenize it:
/// `StoreWriter.prepare` hands these to the next puts and merges, which use one only when the
/// winner they index has exactly this title, body, source, tags and published date, and
/// tokenize as usual otherwise. Pure: the index holds the same either way.
public struct PreparedSearchDocument: Sendable {
    let title: String
    let source: String
    let published: String
    let tags: [String]
    let body: String
    let document: IndexedDocument

    /// The terms of this content (what `IndexedDocument(content:body:)` makes).
    public init(title: String, body: String, source: String, tags: [String], published: String) {
        self.title = title
        self.source = source
        self.published = published
        self.tags = tags
        self.body = body
        var document = IndexedDocument(title: title, body: body, source: source, tags: tags, published: published)
        document.freeze()
        self.document = document
    }

    /// The terms of a version set's own winner, when its body is at hand (nil otherwise, or
    /// when the winner is a tombstone).
    public init?(winnerOf versions: VersionSet, bodies: (BodyHash) -> String?) {
        guard let c = versions.winner?.content, let body = bodies(c.bodyHash) else { return nil }
        self.init(title: c.title, body: body, source: c.source, tags: c.tags, published: c.published)
    }

    /// True when this was made from `c` with `body` (compared as bytes: canonically equal
    /// text in other bytes may tokenize differently).
    func matches(_ c: VersionContent, body: String) -> Bool {
        Self.same(c.title, title) && Self.same(c.source, source) && Self.same(c.published, published)
            && c.tags.count == tags.count && zip(c.tags, tags).allSatisfy(Self.same) && Self.same(body, self.body)
    }

    /// The same UTF-8 bytes (one memcmp).
    static func same(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        return a.withUTF8 { x in b.withUTF8 { y in x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }
}

extension Store {
    /// The search documents of articles as a peer sent them (each set's own winner, when its
    /// body came along), for `applyBatch(prepared:)`: worked out on any thread while the
    /// previous chunk commits. Empty when this store keeps no index.
    public func prepareSearchDocuments(_ articles: [ArticleState]) -> [String: PreparedSearchDocument] {
        guard maintainsSearchIndex else { return [:] }
        var out: [String: PreparedSearchDocument] = [:]
        for a in articles { out[a.id] = PreparedSearchDocument(winnerOf: a.versions) { a.bodies[$0] } }
        return out
    }
}

/// The posting changes of one write transaction, applied when it ends (`apply`), sorted by
/// term: consecutive keys touch the same B-tree pages, and a term's new postings go in with
/// one `MDB_MULTIPLE` put. A savepoint that fails truncates the journal to where it began.
/// Terms are numbered as they come (`TermTable`), so a change costs one hash of its bytes.
struct PostingJournal {
    private var table = TermTable<Void>(capacity: 4096)
    private(set) var termOf: [Int32] = []
    private(set) var ops: [UInt64] = []
    private(set) var masks: [UInt32] = []
    private(set) var adds: [Bool] = []

    var count: Int { ops.count }
    var isEmpty: Bool { ops.isEmpty }

    /// Every posting of `document` (number `doc`) added, or removed.
    mutating func record(_ document: IndexedDocument, doc: UInt32, add: Bool) {
        let n = termOf.count + document.terms.count
        if n > termOf.capacity {
            // Geometric growth of all four (appending alone would grow each separately).
            let c = max(n, termOf.capacity * 2)
            termOf.reserveCapacity(c)
            ops.reserveCapacity(c)
            masks.reserveCapacity(c)
            adds.reserveCapacity(c)
        }
        document.forEachTerm { term, hash, stats in
            record(term, hash, IndexedDocument.posting(doc, stats, document.length), add: add)
        }
    }

    @inline(__always) private mutating func record(_ term: UnsafeBufferPointer<UInt8>, _ hash: UInt32, _ posting: IndexedDocument.Posting, add: Bool) {
        termOf.append(Int32(table.number(of: term, hash: hash, initial: ())))
        ops.append(posting.head)
        masks.append(posting.mask)
        adds.append(add)
    }

    mutating func truncate(to n: Int) {
        guard n < ops.count else { return }
        // Terms numbered since stay in the table: a term without changes writes nothing.
        termOf.removeSubrange(n...)
        ops.removeSubrange(n...)
        masks.removeSubrange(n...)
        adds.removeSubrange(n...)
    }

    /// Writes every change, in order per term, then empties the journal.
    mutating func apply(_ txn: Transaction, _ db: Database) throws {
        guard !ops.isEmpty else { return }
        // A counting sort groups the changes by term, keeping their order; only the distinct
        // terms are sorted, by their bytes.
        let distinct = table.count
        var starts = [Int](repeating: 0, count: distinct + 1)
        for t in termOf { starts[Int(t) + 1] += 1 }
        for i in 0..<distinct { starts[i + 1] += starts[i] }
        // The changes are copied into term order (reading in order, writing scattered), so the
        // loop below reads them sequentially.
        var next = starts
        var groupedOps = [UInt64](repeating: 0, count: ops.count)
        var groupedMasks = [UInt32](repeating: 0, count: ops.count)
        var groupedAdds = [Bool](repeating: false, count: ops.count)
        for i in ops.indices {
            let t = Int(termOf[i])
            groupedOps[next[t]] = ops[i]
            groupedMasks[next[t]] = masks[i]
            groupedAdds[next[t]] = adds[i]
            next[t] += 1
        }
        var batch = [UInt8](repeating: 0, count: 4096 * IndexedDocument.postingSize)
        let table = self.table
        var order = (0..<distinct).filter { starts[$0] < starts[$0 + 1] }
        order.sort { table.precedes($0, $1) }
        var adding: [(UInt64, UInt32)] = []
        for t in order {
            try table.withBytes(t) { keyBytes in
                let key = UnsafeRawBufferPointer(keyBytes)
                // Additions gather (until a removal or the term's end), then go in sorted, as
                // one append when they all come after what the term holds (new documents).
                func flush() throws {
                    guard !adding.isEmpty else { return }
                    adding.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
                    var unique = 0
                    for (i, a) in adding.enumerated() where i == 0 || a != adding[i - 1] {
                        batch.withUnsafeMutableBytes { b in
                            b.storeBytes(of: a.0.bigEndian, toByteOffset: unique * IndexedDocument.postingSize, as: UInt64.self)
                            b.storeBytes(of: a.1.bigEndian, toByteOffset: unique * IndexedDocument.postingSize + 8, as: UInt32.self)
                        }
                        unique += 1
                    }
                    try batch.withUnsafeBytes {
                        try txn.putMultiple(db, key: key, values: UnsafeRawBufferPointer(rebasing: $0[0..<unique * IndexedDocument.postingSize]), elementSize: IndexedDocument.postingSize, ascending: true)
                    }
                    adding.removeAll(keepingCapacity: true)
                }
                let n = starts[t + 1] - starts[t]
                if n * IndexedDocument.postingSize > batch.count { batch = [UInt8](repeating: 0, count: n * IndexedDocument.postingSize) }
                for op in starts[t]..<starts[t + 1] {
                    let p = groupedOps[op]
                    let m = groupedMasks[op]
                    if groupedAdds[op] {
                        adding.append((p, m))
                    } else {
                        try flush()
                        try txn.delete(db, key: key, value: IndexedDocument.Posting(head: p, mask: m).bytes)
                    }
                }
                try flush()
            }
        }
        self = PostingJournal()
    }
}

/// Keeps the index of one write transaction: document numbers and records at once, postings
/// through the journal.
struct SearchIndexWriter {
    let txn: Transaction
    let dbs: SearchDatabases
    let meta: Database

    /// Makes the index hold `new` (nil: not live) for article `id`, which it held as `old`.
    func update(id: String, old: IndexedDocument?, new: IndexedDocument?, journal: inout PostingJournal) throws {
        let idKey = Array(id.utf8)
        var docs = Int64(try Meta.u64(Meta.searchDocs, meta, txn))
        var total = Int64(try Meta.u64(Meta.searchLength, meta, txn))
        let existing = try txn.withValue(dbs.ids, key: idKey) { b -> UInt32 in
            guard b.count == 4 else { throw CorruptRecord("search id record of \"\(id)\" is \(b.count) bytes") }
            return UInt32(bigEndianBytes: b)
        }
        if let doc = existing {
            guard let old else {
                // The index holds a document the articles do not explain: never make it worse.
                throw StoreError.corrupt("the search index holds \"\(id)\" though its previous version was not live: run `folio reindex`")
            }
            do {
                journal.record(old, doc: doc, add: false)
                total -= Int64(old.length)
            }
            if new == nil {
                try txn.delete(dbs.ids, key: idKey)
                try txn.delete(dbs.docs, key: doc.bigEndianBytes)
                docs -= 1
            }
        }
        if let new {
            let doc: UInt32
            if let existing {
                doc = existing
            } else {
                let next = UInt32(truncatingIfNeeded: try Meta.u64(Meta.searchNext, meta, txn))
                guard next < UInt32.max else { throw StoreError.corrupt("the search index ran out of document numbers: run `folio reindex`") }
                doc = next
                try txn.put(meta, key: Meta.searchNext, value: UInt64(next + 1).bigEndianBytes)
                try txn.put(dbs.ids, key: idKey, value: doc.bigEndianBytes)
                docs += 1
            }
            journal.record(new, doc: doc, add: true)
            try txn.put(dbs.docs, key: doc.bigEndianBytes, value: IndexedDocument.encodeDoc(length: new.length, id: id, published: new.published))
            total += Int64(new.length)
        }
        try txn.put(meta, key: Meta.searchDocs, value: UInt64(max(0, docs)).bigEndianBytes)
        try txn.put(meta, key: Meta.searchLength, value: UInt64(max(0, total)).bigEndianBytes)
    }
}

/// Why a search cannot run on this store.
public struct SearchUnavailable: Failure, Equatable, CustomStringConvertible {
    public var reason: String
    public var kind: FailureKind { .unavailable }
    public var description: String { reason }
}
