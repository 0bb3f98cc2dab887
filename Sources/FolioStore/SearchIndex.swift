import FolioModel
import Foundation
import LMDB

/// The full-text index (STORAGE.md "Search index"): derived from the winning live version of
/// each article, kept in the store's environment and changed in the same transaction as the
/// article, so a search sees exactly what the store holds. Never replicated.
///
/// - `search_ids`: article id → u32 document number;
/// - `search_docs`: u32 document number → u32 length (weighted terms), str id, str published;
/// - `search_terms` (`MDB_DUPSORT | MDB_DUPFIXED`): term → 6-byte postings, u32 document
///   number then u16 weighted term frequency, sorted by document.
struct SearchDatabases: Sendable {
    let ids: Database
    let docs: Database
    let terms: Database

    static let names = ["search_ids", "search_docs", "search_terms"]
}

/// The terms of one article as the index holds them.
struct IndexedDocument: Equatable {
    /// Weighted term frequencies: a title occurrence counts `titleWeight`, any other one 1.
    var frequencies: [String: Int] = [:]
    var length = 0
    var published = ""

    static let titleWeight = 2
    /// Filter terms (an exact source or tag) start with this byte, which no text term holds.
    static let sourcePrefix = "\u{1}s"
    static let tagPrefix = "\u{1}t"

    init(content c: VersionContent, body: String) {
        published = c.published
        SearchText.forEachTerm(c.title) { add($0, Self.titleWeight) }
        SearchText.forEachTerm(body) { add($0, 1) }
        SearchText.forEachTerm(c.source) { add($0, 1) }
        for t in c.tags { SearchText.forEachTerm(t) { add($0, 1) } }
        let source = SearchText.foldedValue(c.source)
        if !source.isEmpty { frequencies[Self.sourcePrefix + source, default: 0] = 1 }
        for t in Set(c.tags.map(SearchText.foldedValue)) where !t.isEmpty { frequencies[Self.tagPrefix + t] = 1 }
    }

    private mutating func add(_ term: String, _ weight: Int) {
        frequencies[term, default: 0] += weight
        length += weight
    }

    static func posting(_ doc: UInt32, _ tf: Int) -> [UInt8] {
        let f = UInt16(clamping: tf)
        return [UInt8(doc >> 24), UInt8(doc >> 16 & 0xFF), UInt8(doc >> 8 & 0xFF), UInt8(doc & 0xFF), UInt8(f >> 8), UInt8(f & 0xFF)]
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

/// Keeps the index of one write transaction.
struct SearchIndexWriter {
    let txn: Transaction
    let dbs: SearchDatabases
    let meta: Database

    /// Makes the index hold `new` (nil: not live) for article `id`, which it held as `old`.
    func update(id: String, old: IndexedDocument?, new: IndexedDocument?) throws {
        let idKey = Array(id.utf8)
        var docs = Int64(try Meta.u64(Meta.searchDocs, meta, txn))
        var total = Int64(try Meta.u64(Meta.searchLength, meta, txn))
        let existing = try txn.withValue(dbs.ids, key: idKey) { b -> UInt32 in
            guard b.count == 4 else { throw CorruptRecord("search id record of \"\(id)\" is \(b.count) bytes") }
            return UInt32(bigEndianBytes: b)
        }
        if let doc = existing {
            // What the index holds for it: `old` when given, else what its record says it is.
            if let old {
                for (term, tf) in old.frequencies {
                    try txn.delete(dbs.terms, key: Array(term.utf8), value: IndexedDocument.posting(doc, tf))
                }
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
            for (term, tf) in new.frequencies {
                try txn.put(dbs.terms, key: Array(term.utf8), value: IndexedDocument.posting(doc, tf))
            }
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
