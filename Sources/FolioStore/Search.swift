import FolioModel
import Foundation
import LMDB

extension Store {
    /// Articles indexed per write transaction while the index is built (a store of a million
    /// articles is indexed in many transactions, resumable: `meta/search.build` is the cursor).
    static let searchBuildBatch = 1000

    /// At a write-open: a format-1 store gains the search index (format 2); an index built by
    /// another tokenizer version, or whose build was interrupted, is (re)built. Batched and
    /// resumable; the format is 2 from the first batch on (a format-1 binary then refuses it).
    static func upgradeSearchIndex(env: Environment, dbs: Databases) throws {
        guard let search = dbs.search else { return }
        let (format, version, building) = try storeErrors {
            try env.read { txn -> (UInt32, UInt64, Bool) in
                let f = try txn.withValue(dbs.meta, key: Meta.format) { b in b.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } } ?? 0
                let v = try txn.get(dbs.meta, key: Meta.searchVersion) == nil ? UInt64.max : try Meta.u64(Meta.searchVersion, dbs.meta, txn)
                return (f, v, try txn.get(dbs.meta, key: Meta.searchBuild) != nil)
            }
        }
        if format >= storageFormat && version == UInt64(SearchText.version) && !building { return }
        if version != UInt64(SearchText.version) || format < storageFormat {
            try storeErrors {
                try env.write { txn in
                    try clearSearch(txn, search, dbs.meta)
                    try txn.put(dbs.meta, key: Meta.format, value: withUnsafeBytes(of: storageFormat.bigEndian) { Array($0) })
                }
            }
        }
        try buildSearchIndex(env: env, dbs: dbs, search: search)
    }

    private static func clearSearch(_ txn: Transaction, _ search: SearchDatabases, _ meta: Database) throws {
        try txn.clear(search.ids)
        try txn.clear(search.docs)
        try txn.clear(search.terms)
        for k in [Meta.searchDocs, Meta.searchLength, Meta.searchNext] { try txn.put(meta, key: k, value: UInt64(0).bigEndianBytes) }
        try txn.put(meta, key: Meta.searchVersion, value: UInt64(SearchText.version).bigEndianBytes)
        try txn.put(meta, key: Meta.searchBuild, value: [UInt8]())
    }

    /// Indexes every live article after the build cursor, a batch per transaction. An article
    /// written meanwhile (indexed by its write) is not indexed twice.
    private static func buildSearchIndex(env: Environment, dbs: Databases, search: SearchDatabases) throws {
        while true {
            let done = try storeErrors {
                try env.write { txn -> Bool in
                    guard let cursor = try txn.get(dbs.meta, key: Meta.searchBuild) else { return true }
                    let index = SearchIndexWriter(txn: txn, dbs: search, meta: dbs.meta)
                    var pending: [(String, RecordCodec.ArticleRecord)] = []
                    var last: [UInt8]?
                    try txn.scan(dbs.articles, from: cursor.isEmpty ? nil : cursor) { k, v in
                        if !cursor.isEmpty && k.elementsEqual(cursor) { return true }
                        guard pending.count < searchBuildBatch else { return false }
                        guard let id = String(validating: k, as: UTF8.self) else { throw CorruptRecord("an article key is not UTF-8") }
                        pending.append((id, try RecordCodec.decodeArticle(v)))
                        last = Array(k)
                        return true
                    }
                    for (id, rec) in pending {
                        guard let w = rec.versions.winner, let c = w.content else { continue }
                        if try txn.get(search.ids, key: Array(id.utf8)) != nil { continue }
                        let body = try c.bodyHash.withKeyBytes { key in try txn.withValue(dbs.bodies, key: key) { try RecordCodec.decodeBody($0) } }
                        guard let body else { throw StoreError.corrupt("body \(c.bodyHash) of \"\(id)\" is missing") }
                        try index.update(id: id, old: nil, new: IndexedDocument(content: c, body: body))
                    }
                    if let last, pending.count == searchBuildBatch {
                        try txn.put(dbs.meta, key: Meta.searchBuild, value: last)
                        return false
                    }
                    try txn.delete(dbs.meta, key: Meta.searchBuild)
                    return true
                }
            }
            if done { return }
        }
    }

    /// Rebuilds the search index from the articles (`folio reindex`): derived data, so nothing
    /// else changes. Batched like the build at an upgrade; searches see the old index until
    /// the first batch commits, then a growing one until the last.
    public func reindex() throws {
        guard let search = dbs.search, !options.readOnly else {
            throw SearchUnavailable(reason: "the store is open read-only: reindex needs write access")
        }
        try storeErrors { try env.write { txn in try Store.clearSearch(txn, search, dbs.meta) } }
        try Store.buildSearchIndex(env: env, dbs: dbs, search: search)
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
    public func search(_ query: SearchQuery, limit: Int = 20) throws -> [SearchHit] {
        guard let search = dbs.search else {
            throw SearchUnavailable(reason: "this store has no search index yet (storage format 1): open it once for writing (any write, or `folio reindex`) to build it")
        }
        guard limit > 0 else { return [] }
        return try storeErrors {
            try env.read { txn in
                if try txn.get(dbs.meta, key: Meta.searchBuild) != nil {
                    throw SearchUnavailable(reason: "the search index is being built; try again when the store has been opened for writing to the end of the build")
                }
                return try SearchExecution(store: self, txn: txn, search: search, query: query).run(limit: limit)
            }
        }
    }
}

/// One search in one read transaction.
struct SearchExecution {
    let store: Store
    let txn: Transaction
    let search: SearchDatabases
    let query: SearchQuery
    let documentCount: Double
    let averageLength: Double

    static let k1 = 1.2
    static let b = 0.75

    init(store: Store, txn: Transaction, search: SearchDatabases, query: SearchQuery) throws {
        self.store = store
        self.txn = txn
        self.search = search
        self.query = query
        let n = try Meta.u64(Meta.searchDocs, store.dbs.meta, txn)
        let total = try Meta.u64(Meta.searchLength, store.dbs.meta, txn)
        documentCount = Double(n)
        averageLength = n == 0 ? 1 : max(1, Double(total) / Double(n))
    }

    /// Postings of a term or a prefix: documents ascending, each with the weighted frequency
    /// summed over the matching terms (a prefix can match several in one document).
    private func postings(_ term: String, prefix: Bool) throws -> [(doc: UInt32, tf: Int)] {
        let key = Array(term.utf8)
        var out: [(doc: UInt32, tf: Int)] = []
        var sawOtherTerm = false
        try txn.scan(search.terms, from: key) { k, v in
            guard prefix ? k.starts(with: key) : k.elementsEqual(key) else { return false }
            if prefix, k.first == 1 { return true }
            guard v.count == 6 else { throw CorruptRecord("a search posting is \(v.count) bytes, expected 6") }
            let doc = UInt32(bigEndianBytes: UnsafeRawBufferPointer(rebasing: v[0..<4]))
            let tf = Int(v[4]) << 8 | Int(v[5])
            if prefix, let lastDoc = out.last?.doc, lastDoc >= doc { sawOtherTerm = true }
            out.append((doc, tf))
            return true
        }
        if sawOtherTerm {
            // Several terms: merge by document.
            var merged: [UInt32: Int] = [:]
            for p in out { merged[p.doc, default: 0] += p.tf }
            out = merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        return out
    }

    /// One matched atom's part of a document's score: its terms' idf and frequency there.
    typealias Part = [(idf: Double, tf: Int)]

    private func idf(_ df: Int) -> Double {
        log(1 + (documentCount - Double(df) + 0.5) / (Double(df) + 0.5))
    }

    /// The documents an atom matches (candidates for a phrase: all its terms present; the
    /// adjacency is checked on the text later), with their score parts.
    private func evaluate(_ atom: SearchQuery.Atom) throws -> [UInt32: Part] {
        switch atom {
        case let .term(t):
            let p = try postings(t, prefix: false)
            let w = idf(p.count)
            return Dictionary(p.map { ($0.doc, [(w, $0.tf)]) }, uniquingKeysWith: { a, _ in a })
        case let .prefix(t):
            let p = try postings(t, prefix: true)
            let w = idf(p.count)
            return Dictionary(p.map { ($0.doc, [(w, $0.tf)]) }, uniquingKeysWith: { a, _ in a })
        case let .phrase(terms):
            var result: [UInt32: Part]?
            for t in terms {
                let p = try postings(t, prefix: false)
                let w = idf(p.count)
                var next: [UInt32: Part] = [:]
                if let current = result {
                    for (doc, tf) in p { if let part = current[doc] { next[doc] = part + [(w, tf)] } }
                } else {
                    for (doc, tf) in p { next[doc] = [(w, tf)] }
                }
                result = next
                if next.isEmpty { break }
            }
            return result ?? [:]
        }
    }

    /// Documents holding any of the exact filter values.
    private func filter(_ prefix: String, _ values: [String]) throws -> Set<UInt32> {
        var out = Set<UInt32>()
        for v in values { for p in try postings(prefix + v, prefix: false) { out.insert(p.doc) } }
        return out
    }

    func run(limit: Int) throws -> [SearchHit] {
        // Candidates and score parts: every group must match (any atom of it).
        var candidates: [UInt32: Part]?
        for group in query.groups {
            var union: [UInt32: Part] = [:]
            for atom in group {
                for (doc, part) in try evaluate(atom) { union[doc, default: []] += part }
            }
            if let c = candidates {
                var next: [UInt32: Part] = [:]
                for (doc, part) in union { if let p = c[doc] { next[doc] = p + part } }
                candidates = next
            } else {
                candidates = union
            }
            if candidates!.isEmpty { return [] }
        }
        var sets: [Set<UInt32>] = []
        if !query.sources.isEmpty { sets.append(try filter(IndexedDocument.sourcePrefix, query.sources)) }
        if !query.tags.isEmpty { sets.append(try filter(IndexedDocument.tagPrefix, query.tags)) }
        var docs: [UInt32: Part]
        if let candidates {
            docs = candidates
            for s in sets { docs = docs.filter { s.contains($0.key) } }
        } else if let first = sets.first {
            var keep = first
            for s in sets.dropFirst() { keep.formIntersection(s) }
            docs = Dictionary(keep.map { ($0, []) }, uniquingKeysWith: { a, _ in a })
        } else {
            // Only date or id filters: every document is a candidate.
            docs = [:]
            try txn.scan(search.docs) { k, _ in
                docs[UInt32(bigEndianBytes: k)] = []
                return true
            }
        }
        var excluded = Set<UInt32>()
        for atom in query.excluded {
            for (doc, _) in try evaluate(atom) where docs[doc] != nil {
                if case let .phrase(terms) = atom, try !containsPhrase(doc, terms) { continue }
                excluded.insert(doc)
            }
        }
        let phrases = query.groups.flatMap { $0 }.compactMap { a -> [String]? in
            if case let .phrase(t) = a { return t }
            return nil
        }
        var scored: [(doc: UInt32, score: Double, record: IndexedDocument.DocRecord)] = []
        for (doc, part) in docs where !excluded.contains(doc) {
            guard let record = try txn.withValue(search.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc) else {
                throw StoreError.corrupt("the search index names document \(doc), which it does not hold: run `folio reindex`")
            }
            if let p = query.idPrefix, !record.id.hasPrefix(p) { continue }
            if let since = query.since, record.published.isEmpty || !Self.onOrAfter(record.published, since) { continue }
            if let until = query.until, record.published.isEmpty || !Self.onOrBefore(record.published, until) { continue }
            if !phrases.isEmpty, try !phrasesHold(doc, query.groups) { continue }
            let norm = Self.k1 * (1 - Self.b + Self.b * Double(record.length) / averageLength)
            let score = part.reduce(0.0) { s, p in s + p.idf * Double(p.tf) * (Self.k1 + 1) / (Double(p.tf) + norm) }
            scored.append((doc, score, record))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.record.id < $1.record.id }
        let terms = Set(query.groups.flatMap { $0 }.flatMap { a -> [String] in
            switch a {
            case let .term(t): return [t]
            case let .phrase(t): return t
            case .prefix: return []
            }
        })
        let prefixes = query.groups.flatMap { $0 }.compactMap { a -> String? in
            if case let .prefix(p) = a { return p }
            return nil
        }
        return try scored.prefix(limit).map { hit in
            guard let rec = try store.record(hit.record.id, txn: txn), let w = rec.versions.winner, let c = w.content else {
                throw StoreError.corrupt("the search index holds \"\(hit.record.id)\", which is not a live article: run `folio reindex`")
            }
            let body = try store.body(c.bodyHash, txn: txn) ?? ""
            return SearchHit(
                id: hit.record.id, score: (hit.score * 1000).rounded() / 1000, title: c.title, source: c.source,
                published: c.published, snippet: Snippet.make(body: body, title: c.title, terms: terms, prefixes: prefixes))
        }
    }

    /// Every group that consists of phrases only must have one that holds; a group mixing
    /// phrases and terms matched through a term already counts.
    private func phrasesHold(_ doc: UInt32, _ groups: [[SearchQuery.Atom]]) throws -> Bool {
        for group in groups {
            var anyHolds = false
            for atom in group {
                switch atom {
                case let .phrase(terms): anyHolds = try containsPhrase(doc, terms)
                default: anyHolds = true
                }
                if anyHolds { break }
            }
            if !anyHolds { return false }
        }
        return true
    }

    /// True when `terms` stand next to each other, in order, in one field of the document.
    private func containsPhrase(_ doc: UInt32, _ terms: [String]) throws -> Bool {
        guard let record = try txn.withValue(search.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc),
            let rec = try store.record(record.id, txn: txn), let c = rec.versions.winner?.content
        else { return false }
        let body = try store.body(c.bodyHash, txn: txn) ?? ""
        for field in [c.title, body, c.source] + c.tags {
            let words = SearchText.terms(field)
            if words.count >= terms.count {
                for i in 0...(words.count - terms.count) where words[i] == terms[0] {
                    if Array(words[i..<i + terms.count]) == terms { return true }
                }
            }
        }
        return false
    }

    /// ISO-8601 texts compared by their date (and time when both have one): "2026-11-20T14:05Z"
    /// is on or after "2026-11-20".
    static func onOrAfter(_ published: String, _ bound: String) -> Bool {
        let n = min(published.count, bound.count)
        return published.prefix(n) >= bound.prefix(n)
    }

    static func onOrBefore(_ published: String, _ bound: String) -> Bool {
        let n = min(published.count, bound.count)
        return published.prefix(n) <= bound.prefix(n)
    }
}

/// A short passage showing why an article matched.
enum Snippet {
    static let words = 24

    /// The window of the body with the most matching words (else the title), matched words
    /// marked «like this», cut at word boundaries with "…".
    static func make(body: String, title: String, terms: Set<String>, prefixes: [String]) -> String {
        func matches(_ word: Substring) -> Bool {
            SearchText.terms(String(word)).contains { t in terms.contains(t) || prefixes.contains { t.hasPrefix($0) } }
        }
        let flat = body.split(whereSeparator: { $0.isWhitespace })
        let marks = flat.map(matches)
        if !marks.contains(true) {
            // Matched in the title (or only by a filter): the title, else the body's start.
            let t = title.split(whereSeparator: { $0.isWhitespace })
            let tm = t.map(matches)
            if tm.contains(true) || flat.isEmpty { return mark(t, tm, from: 0, to: t.count) }
            return mark(flat, marks, from: 0, to: words)
        }
        var best = 0
        var bestCount = -1
        var count = 0
        for i in 0..<flat.count {
            if marks[i] { count += 1 }
            if i >= words, marks[i - words] { count -= 1 }
            let start = max(0, i - words + 1)
            if count > bestCount {
                bestCount = count
                best = start
            }
        }
        // Start a little before the first match of the window, so it has some context.
        if let first = (best..<min(flat.count, best + words)).first(where: { marks[$0] }) { best = max(0, min(best, first - 4)) }
        return mark(flat, marks, from: best, to: min(flat.count, best + words))
    }

    private static func mark(_ words: [Substring], _ marks: [Bool], from: Int, to: Int) -> String {
        let end = min(to, words.count)
        guard from < end else { return "" }
        var parts: [String] = []
        for i in from..<end { parts.append(marks[i] ? "«\(words[i])»" : String(words[i])) }
        return (from > 0 ? "…" : "") + parts.joined(separator: " ") + (end < words.count ? "…" : "")
    }
}
