import FolioModel
import Foundation
import LMDB

// The index's postings live in immutable segments (STORAGE.md, the search index): each write
// transaction that indexes documents appends one segment, whose pages (keyed u32 segment number
// + first term) come after every key already stored, so it dirties only new pages, in
// proportion to the postings it writes and not to the terms it touches. A document number names
// one indexed version of an article and is not reused before a rebuild: replacing or deleting
// an article marks its document dead (`search_norms`), and merges drop dead postings.

/// One term's postings in one segment: varint count, then per posting (documents ascending)
/// varint document delta (the first from the segment's first document, the others from the
/// previous document, so ≥ 1), varint (weighted frequency << 1 | oneByte), and the position
/// mask: one byte when at most one bit is set (`oneByte`: the bit's index, 32 for no bit — a
/// filter term, a CJK single), else u32.
enum PostingBlock {
    /// The most bytes one posting takes (varint delta ≤ 5, varint frequency ≤ 5, mask ≤ 4).
    static let maxPostingBytes = 14

    /// Encodes blocks into one reused buffer, writing through a pointer (no per-byte append).
    struct Writer {
        private var storage: [UInt8] = []

        /// Where `encode`'s body appends postings (documents ascending; at most the number of
        /// postings, or of bytes, it was promised).
        struct Sink {
            fileprivate let p: UnsafeMutablePointer<UInt8>
            fileprivate var o = 5
            fileprivate var previous: UInt32?
            fileprivate let base: UInt32
            private(set) var count = 0

            @inline(__always) private mutating func varint(_ v: UInt64) {
                var v = v
                while v >= 0x80 {
                    p[o] = UInt8(truncatingIfNeeded: v) | 0x80
                    o += 1
                    v >>= 7
                }
                p[o] = UInt8(v)
                o += 1
            }

            @inline(__always) mutating func append(doc: UInt32, tf: UInt32, mask: UInt32) {
                varint(UInt64(doc - (previous ?? base)))
                let oneByte = mask & (mask &- 1) == 0
                varint(UInt64(tf) << 1 | (oneByte ? 1 : 0))
                if oneByte {
                    // The bit's index; 32 (UInt32's count of trailing zeros) for a mask of 0.
                    p[o] = UInt8(mask.trailingZeroBitCount)
                    o += 1
                } else {
                    p[o] = UInt8(mask >> 24)
                    p[o + 1] = UInt8(mask >> 16 & 0xFF)
                    p[o + 2] = UInt8(mask >> 8 & 0xFF)
                    p[o + 3] = UInt8(mask & 0xFF)
                    o += 4
                }
                previous = doc
                count += 1
            }
        }

        /// Lets `body` append postings — room for `bytes` of them — then lends the block (count
        /// first) and its count to `use`, when it holds any.
        mutating func encode(base: UInt32, room bytes: Int, _ body: (inout Sink) throws -> Void, then use: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
            if storage.count < bytes + 5 { storage = [UInt8](repeating: 0, count: max(bytes + 5, storage.count * 2)) }
            try storage.withUnsafeMutableBufferPointer { b in
                var sink = Sink(p: b.baseAddress!, base: base)
                try body(&sink)
                precondition(sink.o <= b.count, "a posting block outgrew the room it was promised")
                guard sink.count > 0 else { return }
                // The count's varint, right before the postings.
                var length = 1
                while UInt64(sink.count) >> (7 * UInt64(length)) > 0 { length += 1 }
                let start = 5 - length
                var v = UInt64(sink.count)
                for i in start..<5 {
                    b[i] = UInt8(truncatingIfNeeded: v) | (i < 4 ? 0x80 : 0)
                    v >>= 7
                }
                try use(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(b)[start..<sink.o]), sink.count)
            }
        }
    }

    /// Reads a block lent by LMDB, checking every posting against the block's bounds and the
    /// segment's document range (a damaged block throws; it never reads past its end).
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        private var offset = 0
        let count: Int
        private(set) var read = 0
        private var previous: UInt32?
        let base: UInt32
        let last: UInt32

        init(_ bytes: UnsafeRawBufferPointer, base: UInt32, last: UInt32) throws {
            self.bytes = bytes
            self.base = base
            self.last = last
            var o = 0
            let n = try Self.varint(bytes, &o)
            // Every posting takes at least 3 bytes.
            guard n <= UInt64(bytes.count / 3) else { throw CorruptRecord("a posting block claims \(n) postings in \(bytes.count) bytes") }
            count = Int(n)
            offset = o
        }

        @inline(__always) static func varint(_ b: UnsafeRawBufferPointer, _ o: inout Int) throws -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard o < b.count else { throw CorruptRecord("a posting block ends inside a number") }
                let byte = b[o]
                o += 1
                guard shift < 63 || (shift == 63 && byte <= 1) else { throw CorruptRecord("a posting block holds a number beyond 64 bits") }
                v |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return v }
                shift += 7
            }
        }

        /// The next posting, or nil after the last (then the block must end exactly there).
        @inline(__always) mutating func next() throws -> (doc: UInt32, tf: UInt32, mask: UInt32)? {
            guard read < count else {
                guard offset == bytes.count else { throw CorruptRecord("a posting block has \(bytes.count - offset) bytes after its \(count) postings") }
                return nil
            }
            let delta = try Self.varint(bytes, &offset)
            let from = previous ?? base
            guard previous == nil || delta > 0, delta <= UInt64(last - min(from, last)), from <= last else {
                throw CorruptRecord("a posting block's documents are not ascending within its segment (\(base)…\(last))")
            }
            let doc = from + UInt32(delta)
            let h = try Self.varint(bytes, &offset)
            guard h >> 1 <= UInt64(UInt32.max), h >> 1 > 0 else { throw CorruptRecord("a posting's frequency is \(h >> 1)") }
            let mask: UInt32
            if h & 1 == 1 {
                guard offset < bytes.count, bytes[offset] <= 32 else { throw CorruptRecord("a posting's position bit is missing or beyond 32") }
                mask = bytes[offset] == 32 ? 0 : 1 << UInt32(bytes[offset])
                offset += 1
            } else {
                guard bytes.count - offset >= 4 else { throw CorruptRecord("a posting block ends inside a position mask") }
                mask = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
                offset += 4
            }
            previous = doc
            read += 1
            return (doc, UInt32(h >> 1), mask)
        }
    }
}

/// Per document its length as BM25 needs it, and whether it is live: key u32 chunk (document
/// number / 512) → 1 024 bytes, a u16 per document: 0 not live (never indexed, replaced or
/// deleted), else min(length, 65 534) + 1. A chunk of only zeros is deleted.
enum Norms {
    static let perChunk: UInt32 = 512
    static let chunkBytes = Int(perChunk) * 2

    static func value(length: Int) -> UInt16 { UInt16(min(length, 65_534) + 1) }

    /// Sets (`length`) or clears (nil) document `doc`'s entry.
    static func set(_ txn: Transaction, _ db: Database, doc: UInt32, length: Int?) throws {
        let key = (doc / perChunk).bigEndianBytes
        var chunk = try txn.withValue(db, key: key) { b -> [UInt8] in
            guard b.count == chunkBytes else { throw CorruptRecord("search_norms chunk \(doc / perChunk) is \(b.count) bytes, expected \(chunkBytes)") }
            return Array(b)
        } ?? [UInt8](repeating: 0, count: chunkBytes)
        let o = Int(doc % perChunk) * 2
        let v = length.map(value(length:)) ?? 0
        chunk[o] = UInt8(v >> 8)
        chunk[o + 1] = UInt8(v & 0xFF)
        if v == 0 && !chunk.contains(where: { $0 != 0 }) {
            try txn.delete(db, key: key)
        } else {
            try txn.put(db, key: key, value: chunk)
        }
    }

    /// Reads entries, keeping each chunk read (a query reads the same chunks for each of its
    /// terms; the transaction's snapshot does not change under it).
    struct Reader {
        let txn: Transaction
        let db: Database
        private var chunkNumber: UInt32 = .max
        private var chunk: [UInt8] = []
        private var cache: [UInt32: [UInt8]] = [:]

        init(_ txn: Transaction, _ db: Database) {
            self.txn = txn
            self.db = db
        }

        /// The stored value: 0 when not live, else the length + 1 (saturated).
        @inline(__always) mutating func value(_ doc: UInt32) throws -> UInt16 {
            let c = doc / Norms.perChunk
            if c != chunkNumber { try load(c) }
            guard !chunk.isEmpty else { return 0 }
            let o = Int(doc % Norms.perChunk) * 2
            return UInt16(chunk[o]) << 8 | UInt16(chunk[o + 1])
        }

        private mutating func load(_ c: UInt32) throws {
            // Read first: a chunk that fails to read must not leave another one standing in for it.
            let next = try cache[c] ?? txn.withValue(db, key: c.bigEndianBytes) { b -> [UInt8] in
                guard b.count == Norms.chunkBytes else { throw CorruptRecord("search_norms chunk \(c) is \(b.count) bytes, expected \(Norms.chunkBytes)") }
                return Array(b)
            } ?? []
            cache[chunkNumber] = chunk
            chunkNumber = c
            chunk = next
        }

        @inline(__always) mutating func isLive(_ doc: UInt32) throws -> Bool { try value(doc) != 0 }
    }
}

/// A segment's record in `search_segments`, keyed by its last document (u32), so the segment
/// holding a document is the first at or after it: u8 format = 1, u32 number (its postings'
/// key prefix), u32 first document, u32 documents written, u32 of them dead since, u64
/// postings, u64 bytes of posting blocks. Segments cover disjoint document ranges.
struct SegmentRecord: Equatable {
    var number: UInt32
    var firstDoc: UInt32
    var lastDoc: UInt32
    var docs: UInt32
    var dead: UInt32
    var postings: UInt64
    var bytes: UInt64

    var key: [UInt8] { lastDoc.bigEndianBytes }
    var prefix: [UInt8] { number.bigEndianBytes }

    var encoded: [UInt8] {
        [1] + number.bigEndianBytes + firstDoc.bigEndianBytes + docs.bigEndianBytes + dead.bigEndianBytes + postings.bigEndianBytes + bytes.bigEndianBytes
    }

    init(number: UInt32, firstDoc: UInt32, lastDoc: UInt32, docs: UInt32, dead: UInt32, postings: UInt64, bytes: UInt64) {
        (self.number, self.firstDoc, self.lastDoc, self.docs, self.dead, self.postings, self.bytes) = (number, firstDoc, lastDoc, docs, dead, postings, bytes)
    }

    init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        guard key.count == 4 else { throw CorruptRecord("a search_segments key is \(key.count) bytes") }
        var r = ByteReader(value)
        guard try r.u8() == 1 else { throw CorruptRecord("a search_segments record has an unknown format") }
        number = try r.u32()
        firstDoc = try r.u32()
        lastDoc = UInt32(bigEndianBytes: key)
        docs = try r.u32()
        dead = try r.u32()
        postings = try r.u64()
        bytes = try r.u64()
        guard r.isAtEnd, firstDoc <= lastDoc, dead <= docs else { throw CorruptRecord("search_segments record \(number) is malformed") }
    }

    /// Every segment, in document order.
    static func all(_ txn: Transaction, _ db: Database) throws -> [SegmentRecord] {
        var out: [SegmentRecord] = []
        try txn.scan(db) { k, v in
            out.append(try SegmentRecord(key: k, value: v))
            return true
        }
        return out
    }

    /// Every segment, in document order, checked to cover disjoint ranges (what reading and
    /// merging them rely on); overlapping records are corruption.
    static func ordered(_ txn: Transaction, _ db: Database) throws -> [SegmentRecord] {
        let segments = try all(txn, db)
        for i in segments.indices.dropFirst() where segments[i].firstDoc <= segments[i - 1].lastDoc {
            throw StoreError.corrupt("search segments \(segments[i - 1].number) and \(segments[i].number) overlap (documents \(segments[i].firstDoc)…\(segments[i - 1].lastDoc)): run `folio reindex`")
        }
        return segments
    }

    /// Counts a document of the segment holding it as dead (none: it was indexed by this
    /// transaction and never written into a segment).
    static func markDead(_ doc: UInt32, _ txn: Transaction, _ db: Database) throws {
        var found: SegmentRecord?
        try txn.scan(db, from: doc.bigEndianBytes) { k, v in
            found = try SegmentRecord(key: k, value: v)
            return false
        }
        guard var s = found, s.firstDoc <= doc else { return }
        guard s.dead < s.docs else { throw StoreError.corrupt("search segment \(s.number) counts more dead documents than it holds: run `folio reindex`") }
        s.dead += 1
        try txn.put(db, key: s.key, value: s.encoded)
    }

    /// The next segment number (`meta/search.segment`).
    static func allocate(_ txn: Transaction, _ meta: Database) throws -> UInt32 {
        let next = try Meta.u64(Meta.searchSegment, meta, txn)
        guard next < UInt64(UInt32.max) else { throw StoreError.corrupt("the search index ran out of segment numbers: run `folio reindex`") }
        try txn.put(meta, key: Meta.searchSegment, value: (next + 1).bigEndianBytes)
        return UInt32(next)
    }
}

/// A page of one segment's terms, the value of one `search_postings` key (u32 segment + the
/// page's first term): entries back to back, terms ascending, each varint term length, term,
/// varint block length, posting block. A page is closed before an entry would take it past
/// `target` bytes (an entry larger than that is a page of its own), so a segment costs one key
/// and about one overflow page per 4 KB of postings, not one key per term.
enum PostingPage {
    static let target = 4_000

    /// Visits a page's entries in order, checking every bound and that terms ascend; `body`
    /// gets each term and block and returns false to stop. Returns false when stopped.
    @discardableResult
    static func forEach(_ page: UnsafeRawBufferPointer, _ body: (_ term: UnsafeRawBufferPointer, _ block: UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        var o = 0
        var previous: UnsafeRawBufferPointer?
        guard !page.isEmpty else { throw CorruptRecord("a posting page is empty") }
        while o < page.count {
            let tl = try PostingBlock.Reader.varint(page, &o)
            guard tl > 0 else { throw CorruptRecord("a posting page holds an empty term") }
            guard tl <= UInt64(page.count - o) else { throw CorruptRecord("a posting page's term runs past its end") }
            let term = UnsafeRawBufferPointer(rebasing: page[o..<o + Int(tl)])
            o += Int(tl)
            let bl = try PostingBlock.Reader.varint(page, &o)
            guard bl <= UInt64(page.count - o) else { throw CorruptRecord("a posting page's block runs past its end") }
            let block = UnsafeRawBufferPointer(rebasing: page[o..<o + Int(bl)])
            o += Int(bl)
            if let previous, compare(previous, term) >= 0 { throw CorruptRecord("a posting page's terms do not ascend") }
            previous = term
            if try !body(term, block) { return false }
        }
        return true
    }

    /// Byte order, as LMDB compares keys (a prefix first).
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }
}

/// Writes one segment's terms in ascending byte order into pages, each appended.
struct SegmentBuilder {
    let txn: Transaction
    let db: Database
    let number: UInt32
    private var page: [UInt8] = []
    private var key: [UInt8]
    private(set) var postings: UInt64 = 0
    private(set) var bytes: UInt64 = 0

    init(_ txn: Transaction, _ db: Database, number: UInt32) {
        self.txn = txn
        self.db = db
        self.number = number
        key = number.bigEndianBytes
    }

    @inline(__always) private static func varint(_ v: Int, _ out: inout [UInt8]) {
        var v = UInt64(v)
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Adds `term`'s block (of `count` postings); terms come in ascending byte order.
    mutating func add(_ term: UnsafeRawBufferPointer, block: UnsafeRawBufferPointer, count: Int) throws {
        let size = term.count + block.count + 10
        if !page.isEmpty && page.count + size > PostingPage.target { try flush() }
        if page.isEmpty {
            key.removeSubrange(4...)
            key.append(contentsOf: term)
        }
        Self.varint(term.count, &page)
        page.append(contentsOf: term)
        Self.varint(block.count, &page)
        page.append(contentsOf: block)
        postings += UInt64(count)
        bytes += UInt64(block.count)
    }

    /// Writes the last page.
    mutating func finish() throws {
        if !page.isEmpty { try flush() }
    }

    private mutating func flush() throws {
        do {
            try txn.put(db, key: key, value: page, flags: .append)
        } catch let e as LMDBError where e == .keyExists {
            throw StoreError.corrupt("search_postings already holds keys past segment \(number) (meta/search.segment is behind the segments stored): run `folio reindex`")
        }
        page.removeAll(keepingCapacity: true)
    }
}

/// Finds terms in one segment's pages.
enum SegmentLookup {
    /// Lends `term`'s block in `segment`, or returns nil when the segment does not hold it.
    static func withBlock<T>(_ txn: Transaction, _ db: Database, _ segment: SegmentRecord, _ term: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        let prefix = segment.prefix
        return try txn.withFloor(db, key: prefix + term) { k, page -> T? in
            guard k.count > 4, k.starts(with: prefix) else { return nil }
            var result: T?
            try term.withUnsafeBytes { target in
                try PostingPage.forEach(page) { t, block in
                    let c = PostingPage.compare(t, target)
                    if c == 0 { result = try body(block) }
                    return c < 0
                }
            }
            return result
        } ?? nil
    }

    /// Visits, in order, the terms of `segment` that start with `prefix` (from the page that
    /// holds the first), with their blocks; `body` returns false to stop.
    static func forEachTerm(_ txn: Transaction, _ db: Database, _ segment: SegmentRecord, startingWith prefix: [UInt8], _ body: (_ term: UnsafeRawBufferPointer, _ block: UnsafeRawBufferPointer) throws -> Bool) throws {
        try forEachTerm(txn, db, segment, after: nil, from: prefix) { term, block in
            // Terms come at or after the prefix: the first without it is past every one with it.
            guard term.starts(with: prefix) else { return false }
            return try body(term, block)
        }
    }

    /// Visits the entries of `segment` in term order from `start` (a term; entries before it
    /// are skipped) or, with `after`, from the first term after it. `body` returns false to stop.
    static func forEachTerm(_ txn: Transaction, _ db: Database, _ segment: SegmentRecord, after: [UInt8]?, from start: [UInt8] = [], _ body: (_ term: UnsafeRawBufferPointer, _ block: UnsafeRawBufferPointer) throws -> Bool) throws {
        let prefix = segment.prefix
        let first = after ?? start
        // The page holding `first`, else the segment's first page.
        let floor = try first.isEmpty ? nil : txn.withFloor(db, key: prefix + first) { k, _ in k.count > 4 && k.starts(with: prefix) ? Array(k) : nil } ?? nil
        try first.withUnsafeBytes { f in
            var firstPage = true
            try txn.scan(db, from: floor ?? prefix) { k, page in
                guard k.starts(with: prefix) else { return false }
                guard k.count > 4 else { throw CorruptRecord("search segment \(segment.number) has a page key without a term") }
                defer { firstPage = false }
                return try PostingPage.forEach(page) { term, block in
                    let c = PostingPage.compare(term, f)
                    if c < 0 || (c == 0 && after != nil) {
                        // Only the floor page may hold terms before the start; a later page
                        // holding one is out of order (and would be skipped unseen).
                        if !firstPage { throw CorruptRecord("search segment \(segment.number)'s pages hold terms out of order") }
                        return true
                    }
                    return try body(term, block)
                }
            }
        }
    }
}

/// When segments merge (STORAGE.md "Merges"): sizes (live bytes of blocks) fall into levels —
/// below 64 KiB, below 512 KiB, …, ×8 each. When the newest segments share a level and there
/// are 8 or more of them, they merge into one (of the next level), as long as the result stays
/// within 32 MiB; beyond 24 segments the 8 adjacent ones with the fewest live bytes merge; a
/// segment at least half dead is rewritten alone (within 16 MiB per transaction), one all dead
/// deleted unread. Merges run at the end of the transaction that wrote a segment or killed a
/// document, so the index is never seen half merged; only adjacent segments merge, so they
/// stay disjoint; each posting is rewritten about log8(segment size / 64 KiB) times.
enum SegmentMerger {
    static let fanIn = 8
    static let smallestLevelBytes: UInt64 = 64 << 10
    static let largestMergeBytes: UInt64 = 32 << 20
    /// Bytes of blocks read ahead per merge, shared among its segments.
    static let readBudget = 4 << 20
    /// Beyond this many segments, the smallest adjacent ones merge whatever their levels.
    static let mostSegments = 24
    /// Bytes of half-dead segments rewritten per transaction (beyond the first).
    static let rewriteBudget: UInt64 = 16 << 20

    static func liveBytes(_ s: SegmentRecord) -> UInt64 {
        s.docs == 0 ? 0 : s.bytes / UInt64(s.docs) * UInt64(s.docs - s.dead)
    }

    /// Sizes come from records on disk: added saturating, never trapping.
    static func sum(_ sizes: some Sequence<UInt64>) -> UInt64 {
        sizes.reduce(0) { a, b in
            let (s, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : s
        }
    }

    static func level(_ s: SegmentRecord) -> Int {
        var b = liveBytes(s) / smallestLevelBytes
        var l = 0
        while b > 0 {
            b /= UInt64(fanIn)
            l += 1
        }
        return l
    }

    static func maintain(_ txn: Transaction, _ dbs: SearchDatabases, _ meta: Database) throws {
        var rewritten: UInt64 = 0
        // What this transaction's merges have written so far: merges stop once it reaches
        // the largest merge (the next write goes on), so a transaction never holds more than
        // about that many bytes of merged pages on top of its own (a cascade of levels, or
        // many merges in a large store, would otherwise pile up in one commit's memory).
        var merged: UInt64 = 0
        func merging(_ run: [SegmentRecord]) throws -> Bool {
            try merge(run, txn, dbs, meta)
            merged = sum([merged, sum(run.map(liveBytes))])
            return merged < largestMergeBytes
        }
        while true {
            let segments = try SegmentRecord.ordered(txn, dbs.segments)
            guard let last = segments.last else { return }
            // The newest segments, when 8 or more share a level.
            let l = level(last)
            var start = segments.count - 1
            while start > 0 && level(segments[start - 1]) == l { start -= 1 }
            let run = Array(segments[start...])
            if run.count >= fanIn && sum(run.map(liveBytes)) <= largestMergeBytes {
                if try merging(run) { continue }
                return
            }
            // Too many segments (levels broken up as documents die): the 8 adjacent ones with
            // the fewest live bytes, within the size limit.
            if segments.count > mostSegments {
                var best: (start: Int, bytes: UInt64)?
                for start in 0...(segments.count - fanIn) {
                    let bytes = sum(segments[start..<start + fanIn].map(liveBytes))
                    if bytes <= largestMergeBytes && bytes < best?.bytes ?? .max { best = (start, bytes) }
                }
                if let best {
                    if try merging(Array(segments[best.start..<best.start + fanIn])) { continue }
                    return
                }
            }
            // Segments at least half dead are rewritten alone, up to a budget of blocks read
            // per transaction (at least one).
            if let s = segments.first(where: { $0.dead > 0 && UInt64($0.dead) * 2 >= UInt64($0.docs) && (rewritten == 0 || sum([rewritten, $0.bytes]) <= rewriteBudget) }) {
                rewritten = sum([rewritten, max(1, s.bytes)])
                if try merging([s]) { continue }
                return
            }
            return
        }
    }

    /// One source segment's blocks, read ahead a budget at a time (copied: the merge writes
    /// between reads).
    private struct Source {
        let record: SegmentRecord
        var arena: [UInt8] = []
        /// (term start, block start, block end) in `arena`; the term ends where its block starts.
        var entries: [(Int, Int, Int)] = []
        var head = 0
        var exhausted = false
        var resumeAfter: [UInt8]?
        /// Postings and block bytes consumed, to hold against the record at the end.
        var postingsRead: UInt64 = 0
        var bytesRead: UInt64 = 0

        var hasHead: Bool { head < entries.count }

        func withHeadTerm<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            let (t, b, _) = entries[head]
            return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[t..<b])) }
        }

        mutating func refill(_ txn: Transaction, _ db: Database, budget: Int) throws {
            arena.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
            head = 0
            var reachedEnd = true
            try SegmentLookup.forEachTerm(txn, db, record, after: resumeAfter) { term, block in
                // Pages check their own order; across pages it is checked here.
                let order: Int
                if let (t, b, _) = entries.last {
                    order = arena.withUnsafeBytes { PostingPage.compare(UnsafeRawBufferPointer(rebasing: $0[t..<b]), term) }
                } else {
                    order = resumeAfter?.withUnsafeBytes { PostingPage.compare($0, term) } ?? -1
                }
                if order >= 0 { throw CorruptRecord("search segment \(record.number)'s pages hold terms out of order") }
                let t = arena.count
                arena.append(contentsOf: term)
                let b = arena.count
                arena.append(contentsOf: block)
                entries.append((t, b, arena.count))
                if arena.count >= budget {
                    reachedEnd = false
                    return false
                }
                return true
            }
            exhausted = reachedEnd
            if let (t, b, _) = entries.last { resumeAfter = Array(arena[t..<b]) }
        }
    }

    /// Merges `run` (segments adjacent in document order) into one new segment, dropping the
    /// postings of dead documents, then deletes them.
    static func merge(_ run: [SegmentRecord], _ txn: Transaction, _ dbs: SearchDatabases, _ meta: Database) throws {
        // Only dead documents: nothing to read, the keys go.
        if run.allSatisfy({ $0.dead == $0.docs }) {
            for s in run {
                try txn.deletePrefix(dbs.postings, s.prefix)
                try txn.delete(dbs.segments, key: s.key)
            }
            return
        }
        let number = try SegmentRecord.allocate(txn, meta)
        var builder = SegmentBuilder(txn, dbs.postings, number: number)
        var norms = Norms.Reader(txn, dbs.norms)
        let base = run[0].firstDoc
        let lastDoc = run[run.count - 1].lastDoc
        var sources = run.map { Source(record: $0) }
        let share = max(64 << 10, readBudget / run.count)
        var writer = PostingBlock.Writer()
        var matching: [Int] = []
        var liveDocs: UInt32 = 0
        // No document of the run died since its segment was written: every posting is live,
        // and none needs looking up (a bulk import's merges).
        let allLive = run.allSatisfy { $0.dead == 0 }
        while true {
            for i in sources.indices where !sources[i].hasHead && !sources[i].exhausted {
                try sources[i].refill(txn, dbs.postings, budget: share)
            }
            // Terms up to the smallest last term buffered by a source not read to its end are
            // complete in every buffer.
            var bound: [UInt8]?
            for s in sources where !s.exhausted {
                let last = s.entries.last.map { Array(s.arena[$0.0..<$0.1]) } ?? []
                if bound.map({ last.lexicographicallyPrecedes($0) }) ?? true { bound = last }
            }
            var progressed = false
            while true {
                // The smallest head term, and the sources (in document order) whose head it is.
                var smallest: Int?
                matching.removeAll(keepingCapacity: true)
                for i in sources.indices where sources[i].hasHead {
                    guard let s = smallest else {
                        smallest = i
                        matching.append(i)
                        continue
                    }
                    let c = sources[i].withHeadTerm { a in sources[s].withHeadTerm { b in PostingPage.compare(a, b) } }
                    if c < 0 {
                        smallest = i
                        matching.removeAll(keepingCapacity: true)
                        matching.append(i)
                    } else if c == 0 {
                        matching.append(i)
                    }
                }
                guard let s = smallest else { break }
                let term = sources[s].withHeadTerm { Array($0) }
                if let bound, bound.lexicographicallyPrecedes(term) { break }
                let isDocumentTerm = term == IndexedDocument.documentTermBytes
                // Room: the sources' blocks, plus what a first posting's delta from the merged
                // base may add (each posting is encoded as before, but the first of a block).
                var room = 5
                for i in matching {
                    let (_, b, e) = sources[i].entries[sources[i].head]
                    room += e - b + 5
                }
                try writer.encode(base: base, room: room, { sink in
                    for i in matching {
                        let (_, b, e) = sources[i].entries[sources[i].head]
                        let record = sources[i].record
                        try sources[i].arena.withUnsafeBytes { a in
                            var r = try PostingBlock.Reader(UnsafeRawBufferPointer(rebasing: a[b..<e]), base: record.firstDoc, last: record.lastDoc)
                            sources[i].postingsRead += UInt64(r.count)
                            sources[i].bytesRead += UInt64(e - b)
                            while let p = try r.next() {
                                guard try allLive || norms.isLive(p.doc) else { continue }
                                sink.append(doc: p.doc, tf: p.tf, mask: p.mask)
                                if isDocumentTerm { liveDocs += 1 }
                            }
                        }
                        sources[i].head += 1
                    }
                }, then: { block, count in
                    try term.withUnsafeBytes { try builder.add($0, block: block, count: count) }
                })
                progressed = true
            }
            if sources.allSatisfy({ $0.exhausted && !$0.hasHead }) { break }
            // Each round drains the source whose last buffered term is the bound, unless a
            // source's terms do not ascend.
            guard progressed else { throw StoreError.corrupt("search segments \(run.map { String($0.number) }.joined(separator: ", ")) hold terms out of order: run `folio reindex`") }
        }
        // Every posting of every source must have been read: a page missing, skipped or
        // unreachable would otherwise be dropped without a word.
        for source in sources where source.postingsRead != source.record.postings || source.bytesRead != source.record.bytes {
            throw StoreError.corrupt("search segment \(source.record.number) records \(source.record.postings) postings in \(source.record.bytes) bytes, its pages hold \(source.postingsRead) in \(source.bytesRead): run `folio reindex`")
        }
        try builder.finish()
        for s in run {
            try txn.deletePrefix(dbs.postings, s.prefix)
            try txn.delete(dbs.segments, key: s.key)
        }
        guard builder.postings > 0 else { return }
        let record = SegmentRecord(number: number, firstDoc: base, lastDoc: lastDoc, docs: liveDocs, dead: 0, postings: builder.postings, bytes: builder.bytes)
        try txn.put(dbs.segments, key: record.key, value: record.encoded)
    }
}
