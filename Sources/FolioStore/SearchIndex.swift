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

/// The terms of one article as the index holds them.
struct IndexedDocument: Equatable {
    struct TermStats: Equatable {
        /// Weighted frequency: a title occurrence counts `titleWeight`, any other one 1.
        var tf = 0
        /// Bit (position mod 32) for each position of the term in the document.
        var mask: UInt32 = 0

        mutating func add(_ weight: Int, _ bit: UInt32) {
            tf += weight
            mask |= bit
        }
    }

    var frequencies: [String: TermStats] = [:]
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
        published = c.published
        // About one distinct term per 12 bytes of text: no rehashing while it fills.
        frequencies.reserveCapacity(min(8192, (c.title.utf8.count + body.utf8.count) / 12 + 16))
        SearchText.forEachTerm(c.title) { add($0, Self.titleWeight) }
        position += 2
        SearchText.forEachTerm(body) { add($0, 1) }
        position += 2
        SearchText.forEachTerm(c.source) { add($0, 1) }
        for t in c.tags {
            position += 2
            SearchText.forEachTerm(t) { add($0, 1) }
        }
        let source = SearchText.foldedValue(c.source)
        if !source.isEmpty { frequencies[Self.sourcePrefix + source] = TermStats(tf: 1, mask: 0) }
        for t in Set(c.tags.map(SearchText.foldedValue)) where !t.isEmpty { frequencies[Self.tagPrefix + t] = TermStats(tf: 1, mask: 0) }
    }

    private mutating func add(_ term: String, _ weight: Int) {
        // One hash lookup per term: the dictionary's modify accessor.
        frequencies[term, default: TermStats()].add(weight, UInt32(1) << UInt32(position & 31))
        length += weight
        position += 1
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

/// The posting changes of one write transaction, applied when it ends (`apply`), sorted by
/// term: consecutive keys touch the same B-tree pages, and a term's new postings go in with
/// one `MDB_MULTIPLE` put. A savepoint that fails truncates the journal to where it began.
struct PostingJournal {
    private(set) var terms: [String] = []
    private(set) var ops: [UInt64] = []
    private(set) var masks: [UInt32] = []
    /// Bit 0 of an op's entry in `adds`: true to add the posting, false to remove it.
    private(set) var adds: [Bool] = []

    var count: Int { ops.count }
    var isEmpty: Bool { ops.isEmpty }

    mutating func add(_ term: String, _ posting: IndexedDocument.Posting) {
        terms.append(term)
        ops.append(posting.head)
        masks.append(posting.mask)
        adds.append(true)
    }

    mutating func remove(_ term: String, _ posting: IndexedDocument.Posting) {
        terms.append(term)
        ops.append(posting.head)
        masks.append(posting.mask)
        adds.append(false)
    }

    mutating func truncate(to n: Int) {
        guard n < ops.count else { return }
        terms.removeSubrange(n...)
        ops.removeSubrange(n...)
        masks.removeSubrange(n...)
        adds.removeSubrange(n...)
    }

    /// Writes every change, in order per term, then empties the journal.
    mutating func apply(_ txn: Transaction, _ db: Database) throws {
        guard !ops.isEmpty else { return }
        // Terms get small numbers (one hash lookup per change); a counting sort groups the
        // changes by term, keeping their order; only the distinct terms are sorted as text.
        var numbers: [String: Int32] = [:]
        numbers.reserveCapacity(ops.count / 16)
        var distinct: [String] = []
        var termOf = [Int32](repeating: 0, count: ops.count)
        for i in ops.indices {
            let t = terms[i]
            if let n = numbers[t] {
                termOf[i] = n
            } else {
                let n = Int32(distinct.count)
                numbers[t] = n
                distinct.append(t)
                termOf[i] = n
            }
        }
        var starts = [Int](repeating: 0, count: distinct.count + 1)
        for t in termOf { starts[Int(t) + 1] += 1 }
        for i in 0..<distinct.count { starts[i + 1] += starts[i] }
        // The changes themselves are copied into term order (reading them in order, writing
        // scattered), so the loop below reads them sequentially.
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
        var batch: [UInt8] = []
        // Byte order, as LMDB sorts keys (Swift's String order is Unicode-aware and slower).
        let keys = distinct.map { Array($0.utf8) }
        for t in distinct.indices.sorted(by: { keys[$0].lexicographicallyPrecedes(keys[$1]) }) {
            let key = keys[t]
            batch.removeAll(keepingCapacity: true)
            for op in starts[t]..<starts[t + 1] {
                let p = groupedOps[op]
                let m = groupedMasks[op]
                if groupedAdds[op] {
                    for shift in stride(from: 56, through: 0, by: -8) { batch.append(UInt8(truncatingIfNeeded: p >> UInt64(shift))) }
                    for shift in stride(from: 24, through: 0, by: -8) { batch.append(UInt8(truncatingIfNeeded: m >> UInt32(shift))) }
                } else {
                    if !batch.isEmpty {
                        try txn.putMultiple(db, key: key, values: batch, elementSize: IndexedDocument.postingSize)
                        batch.removeAll(keepingCapacity: true)
                    }
                    try txn.delete(db, key: key, value: IndexedDocument.Posting(head: p, mask: m).bytes)
                }
            }
            if !batch.isEmpty { try txn.putMultiple(db, key: key, values: batch, elementSize: IndexedDocument.postingSize) }
        }
        terms.removeAll(keepingCapacity: true)
        ops.removeAll(keepingCapacity: true)
        masks.removeAll(keepingCapacity: true)
        adds.removeAll(keepingCapacity: true)
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
                for (term, stats) in old.frequencies { journal.remove(term, IndexedDocument.posting(doc, stats, old.length)) }
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
            for (term, stats) in new.frequencies { journal.add(term, IndexedDocument.posting(doc, stats, new.length)) }
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
