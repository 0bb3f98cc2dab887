import FolioModel
import Foundation
import LMDB

/// The full-text index (STORAGE.md "Search index"): derived from the winning live version of
/// each article, kept in the store's environment and changed in the same transaction as the
/// article, so a search sees exactly what the store holds. Never replicated.
///
/// - `search_ids`: article id → u32 document number (one indexed version; never reused);
/// - `search_docs`: u32 document number → u32 length (weighted terms), str id, str published;
/// - `search_norms`: per 512 documents, each one's length (+ 1), 0 when not live (`Norms`);
/// - `search_segments`, `search_postings`: the postings, in immutable segments
///   (`SegmentRecord`, `PostingBlock`), appended by each write and merged (`SegmentMerger`).
struct SearchDatabases: Sendable {
    let ids: Database
    let docs: Database
    let norms: Database
    let segments: Database
    let postings: Database

    static let names = ["search_ids", "search_docs", "search_norms", "search_segments", "search_postings"]
    /// The postings of storage formats 2 and 3 (one duplicate-sorted B-tree per term), dropped
    /// when such a store's index is rebuilt.
    static let legacyTerms = "search_terms"

    var all: [Database] { [ids, docs, norms, segments, postings] }
}

/// How a `TermTable` hashes its terms. A fast multiply-fold hash keyed per process does the
/// work; a table whose probes ever grow long (terms that collide under it, which text from
/// outside might be crafted to do) rehashes itself with SipHash-1-3 (Swift's `Hasher`, keyed
/// per process), which it cannot be made to collide under. Without that guard an unkeyed hash
/// let one crafted article of words sharing a slot turn every insertion into a walk of the
/// whole table, stalling a node's writer for half a minute.
enum TermHash: Sendable, Equatable {
    case fast
    case sip
    /// Every term hashes to 0 (tests of the guard only).
    case collidingForTesting

    /// The fast hash's key, drawn once per process.
    static let seed: UInt64 = UInt64.random(in: .min ... .max) | 1

    /// Longer probes than this switch a table to SipHash: at most half full, a table of a
    /// million terms hashed at random has its longest probe near 20.
    static let probeLimit = 64

    /// `b`'s hash; `seed` is `TermHash.seed` (passed in: a table reads it once, not per term).
    @inline(__always) func callAsFunction(_ b: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt32 {
        switch self {
        case .fast: return Self.fastHash(b, seed: seed)
        case .sip:
            var h = Hasher()
            h.combine(bytes: UnsafeRawBufferPointer(b))
            return UInt32(truncatingIfNeeded: h.finalize())
        case .collidingForTesting: return 0
        }
    }

    /// `ByteHash.hash` (shared with the fold cache).
    @inline(__always) static func fastHash(_ b: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt32 {
        ByteHash.hash(b, seed: seed)
    }

    /// `ByteHash.word`.
    @inline(__always) static func word(_ p: UnsafeRawPointer, from: Int, to: Int) -> UInt64 {
        ByteHash.word(p, from: from, to: to)
    }
}

/// A set of terms (their UTF-8 bytes) with a value per term: an open-addressing hash table over
/// one byte arena, so adding a term makes no String and hashes its bytes once. Terms are
/// compared as bytes (never as Strings, whose == holds canonically equivalent text equal).
struct TermTable<Value: Sendable>: Sendable {
    /// The table's memory, shared by copies until one of them adds a term (copy on write):
    /// term `i`'s bytes are `arena[starts[i]..<starts[i + 1]]`, its hash `hashes[i]`, its value
    /// `values[i]`. Raw pointers, so adding a term checks uniqueness once, not per array.
    final class Storage: @unchecked Sendable {
        var arena: UnsafeMutablePointer<UInt8>
        var arenaCount = 0
        var arenaCapacity: Int
        var starts: UnsafeMutablePointer<Int32>
        var hashes: UnsafeMutablePointer<UInt32>
        var values: UnsafeMutablePointer<Value>
        var count = 0
        var capacity: Int
        /// Nil only in a table made with no slots (never, as `init` sizes them).
        var slots: UnsafeMutablePointer<Slot>?
        var slotCount: Int

        init(capacity: Int, arenaCapacity: Int, slotCount: Int) {
            self.capacity = max(1, capacity)
            self.arenaCapacity = max(8, arenaCapacity)
            arena = .allocate(capacity: self.arenaCapacity)
            starts = .allocate(capacity: self.capacity + 1)
            starts[0] = 0
            hashes = .allocate(capacity: self.capacity)
            values = .allocate(capacity: self.capacity)
            self.slotCount = slotCount
            if slotCount > 0 {
                let s = UnsafeMutablePointer<Slot>.allocate(capacity: slotCount)
                s.initialize(repeating: Slot(tag: 0, head: 0), count: slotCount)
                slots = s
            }
        }

        /// A copy with room for `capacity` terms and `arenaCapacity` bytes (at least what it
        /// holds), its slots included.
        func copy(capacity: Int, arenaCapacity: Int) -> Storage {
            let c = Storage(capacity: max(capacity, count), arenaCapacity: max(arenaCapacity, arenaCount), slotCount: 0)
            c.arena.update(from: arena, count: arenaCount)
            c.arenaCount = arenaCount
            c.starts.update(from: starts, count: count + 1)
            c.hashes.update(from: hashes, count: count)
            c.values.initialize(from: values, count: count)
            c.count = count
            if let slots {
                let s = UnsafeMutablePointer<Slot>.allocate(capacity: slotCount)
                s.update(from: slots, count: slotCount)
                c.slots = s
                c.slotCount = slotCount
            }
            return c
        }

        deinit {
            arena.deallocate()
            starts.deallocate()
            hashes.deallocate()
            values.deinitialize(count: count)
            values.deallocate()
            slots?.deallocate()
        }

        @inline(__always) func bytes(_ t: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: arena + Int(starts[t]), count: Int(starts[t + 1] - starts[t]))
        }
    }

    /// Per slot, its term's `tag` and first 8 bytes (zero-padded): a probe compares the hash,
    /// the length and, for a term of at most 8 bytes, the whole term without another lookup.
    /// The count is a power of two; at most half the slots are full.
    struct Slot {
        /// High 32 bits: the hash's top 24 bits and the term's length (at most 255); low 32:
        /// the term's number + 1 (0: an empty slot).
        var tag: UInt64
        var head: UInt64
    }

    private var storage: Storage
    /// The hash this table's terms are kept under (`TermHash`).
    private(set) var hashing: TermHash
    private let seed = TermHash.seed

    init(capacity: Int = 64, hashing: TermHash = .fast) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        storage = Storage(capacity: capacity, arenaCapacity: capacity * 8, slotCount: n)
        self.hashing = hashing
    }

    var count: Int { storage.count }

    @inline(__always) static func tag(hash h: UInt32, count: Int) -> UInt64 {
        UInt64(h & 0xFFFF_FF00 | UInt32(min(count, 255))) << 32
    }

    /// A term's first 8 bytes as one little-endian integer, zero-padded.
    @inline(__always) static func head(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let p = b.baseAddress else { return 0 }
        return TermHash.word(UnsafeRawPointer(p), from: 0, to: min(b.count, 8))
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

    /// Makes the storage this table's own before a change.
    @inline(__always) private mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy(capacity: storage.capacity, arenaCapacity: storage.arenaCapacity)
        }
    }

    /// The number of `term`, added with `initial` if new.
    @inline(__always) mutating func number(of term: UnsafeBufferPointer<UInt8>, initial: @autoclosure () -> Value) -> Int {
        unique()
        return insert(term, hash: hashing(term, seed: seed), initial: initial())
    }

    /// The same with the term's hash `h` under `hashing` known (from another table): used
    /// when this table hashes the same way, else the term is hashed again.
    @inline(__always) mutating func number(of term: UnsafeBufferPointer<UInt8>, hash h: UInt32, hashedBy other: TermHash, initial: @autoclosure () -> Value) -> Int {
        unique()
        return insert(term, hash: other == hashing ? h : hashing(term, seed: seed), initial: initial())
    }

    /// Adds `term` if new (with `initial`), then lets `body` change its value, given its number.
    @inline(__always) mutating func upsert<R>(_ term: UnsafeBufferPointer<UInt8>, initial: @autoclosure () -> Value, _ body: (Int, inout Value) -> R) -> R {
        unique()
        let t = insert(term, hash: hashing(term, seed: seed), initial: initial())
        return body(t, &storage.values[t])
    }

    /// The number of `term`, if the table holds it.
    func find(_ term: UnsafeBufferPointer<UInt8>) -> Int? {
        withExtendedLifetime(storage) { Self.probe(storage, term, hash: hashing(term, seed: seed)).found }
    }

    mutating func number(of term: String, initial: @autoclosure () -> Value) -> Int {
        var term = term
        return term.withUTF8 { number(of: $0, initial: initial()) }
    }

    /// Where `term` (hashed `h`) is in `st`'s slots: its number, or the empty slot it would
    /// take and how many full slots came before it.
    @inline(__always) private static func probe(_ st: Storage, _ term: UnsafeBufferPointer<UInt8>, hash h: UInt32) -> (found: Int?, slot: Int, probes: Int) {
        guard let slots = st.slots else { preconditionFailure("a term table without slots") }
        let mask = st.slotCount - 1
        var slot = Int(h) & mask
        var probes = 0
        let tag = Self.tag(hash: h, count: term.count)
        let head = Self.head(term)
        while true {
            let s = slots[slot]
            if s.tag == 0 { return (nil, slot, probes) }
            if s.tag & 0xFFFF_FFFF_0000_0000 == tag && s.head == head {
                let t = Int(truncatingIfNeeded: s.tag & 0xFFFF_FFFF) - 1
                // The tag holds lengths up to 255 (terms of the index are at most 64 bytes,
                // filter values longer): the length is checked before the bytes.
                if term.count <= 8 || (Int(st.starts[t + 1] - st.starts[t]) == term.count && Self.equal(st.arena + Int(st.starts[t]) + 8, term.baseAddress! + 8, term.count - 8)) { return (t, slot, probes) }
            }
            slot = (slot + 1) & mask
            probes += 1
        }
    }

    /// The number of `term`, hashed `h`, added if new; the storage is this table's own.
    @inline(__always) private mutating func insert(_ term: UnsafeBufferPointer<UInt8>, hash h: UInt32, initial: @autoclosure () -> Value) -> Int {
        let st = storage
        let (found, slot, probes) = Self.probe(st, term, hash: h)
        if let found { return found }
        if probes > TermHash.probeLimit, hashing != .sip {
            // Terms collide under this hash: rehash them all with SipHash, then add this one.
            switchToSipHash()
            return insert(term, hash: hashing(term, seed: seed), initial: initial())
        }
        let t = st.count
        if t == st.capacity || st.arenaCount + term.count > st.arenaCapacity {
            storage = st.copy(capacity: t == st.capacity ? st.capacity * 2 : st.capacity, arenaCapacity: max(st.arenaCapacity * 2, st.arenaCount + term.count))
            return insert(term, hash: h, initial: initial())
        }
        (st.arena + st.arenaCount).update(from: term.baseAddress!, count: term.count)
        st.arenaCount += term.count
        st.starts[t + 1] = Int32(st.arenaCount)
        st.hashes[t] = h
        (st.values + t).initialize(to: initial())
        st.count = t + 1
        st.slots![slot] = Slot(tag: Self.tag(hash: h, count: term.count) | UInt64(t + 1), head: Self.head(term))
        if st.count * 2 > st.slotCount { rebuildSlots(count: st.slotCount * 2) }
        return t
    }

    private mutating func switchToSipHash() {
        hashing = .sip
        let st = storage
        for t in 0..<st.count { st.hashes[t] = hashing(st.bytes(t), seed: seed) }
        rebuildSlots(count: st.slotCount)
    }

    /// Places every term again in `count` slots; a probe grown long there too (terms whose
    /// full hashes collide) switches the table to SipHash.
    private mutating func rebuildSlots(count: Int) {
        let st = storage
        st.slots?.deallocate()
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: count)
        slots.initialize(repeating: Slot(tag: 0, head: 0), count: count)
        st.slots = slots
        st.slotCount = count
        let mask = count - 1
        var longest = 0
        for t in 0..<st.count {
            let h = st.hashes[t]
            let term = st.bytes(t)
            var slot = Int(h) & mask
            var probes = 0
            while slots[slot].tag != 0 {
                slot = (slot + 1) & mask
                probes += 1
            }
            longest = max(longest, probes)
            slots[slot] = Slot(tag: Self.tag(hash: h, count: term.count) | UInt64(t + 1), head: Self.head(term))
        }
        if longest > TermHash.probeLimit, hashing != .sip { switchToSipHash() }
    }

    subscript(term: Int) -> Value {
        get {
            precondition(term >= 0 && term < storage.count, "no term numbered \(term)")
            return storage.values[term]
        }
        _modify {
            precondition(term >= 0 && term < storage.count, "no term numbered \(term)")
            unique()
            yield &storage.values[term]
        }
    }

    /// The longest distance any term lies from its home slot (how many probes finding it
    /// takes, less one): small for any text, if the hash cannot be made to collide.
    var longestProbe: Int {
        guard let slots = storage.slots else { return 0 }
        let mask = storage.slotCount - 1
        var longest = 0
        for slot in 0..<storage.slotCount where slots[slot].tag != 0 {
            longest = max(longest, (slot - Int(storage.hashes[Int(slots[slot].tag & 0xFFFF_FFFF) - 1])) & mask)
        }
        return longest
    }

    /// Each term's bytes (valid during the call), hash and value, in number order.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, UInt32, Value) throws -> Void) rethrows {
        let st = storage
        try withExtendedLifetime(st) {
            for t in 0..<st.count { try body(st.bytes(t), st.hashes[t], st.values[t]) }
        }
    }

    /// Sets every term's value to `value` (terms and numbers stay).
    mutating func resetValues(to value: Value) {
        unique()
        for t in 0..<storage.count { storage.values[t] = value }
    }

    /// Calls `body` with a function giving term `t`'s bytes and the terms' hashes, both valid
    /// during the call (no check of `t` per term: the caller's numbers come from this table).
    func withTerms<R>(_ body: ((Int) -> UnsafeBufferPointer<UInt8>, UnsafePointer<UInt32>) throws -> R) rethrows -> R {
        let st = storage
        return try withExtendedLifetime(st) { try body({ st.bytes($0) }, UnsafePointer(st.hashes)) }
    }

    /// Term `t`'s hash.
    func hash(of t: Int) -> UInt32 { storage.hashes[t] }

    /// Term `t`'s bytes, valid during the call.
    func withBytes<R>(_ t: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(t >= 0 && t < storage.count, "no term numbered \(t)")
        let st = storage
        return try withExtendedLifetime(st) { try body(st.bytes(t)) }
    }

    func string(_ t: Int) -> String { withBytes(t) { String(decoding: $0, as: UTF8.self) } }

    /// The terms numbered `terms`, in byte order (as LMDB orders keys): a radix sort by their
    /// first 8 bytes as one big-endian integer (zero-padded), then, only where those tie, a
    /// sort of each tied run by all their bytes.
    func sorted(_ terms: [Int]) -> [Int] {
        let n = terms.count
        var keys = [UInt64](repeating: 0, count: n)
        var order = [Int32](repeating: 0, count: n)
        let st = storage
        withExtendedLifetime(st) {
            for (i, t) in terms.enumerated() {
                // Big-endian: integer order is byte order.
                keys[i] = Self.head(st.bytes(t)).byteSwapped
                order[i] = Int32(t)
            }
        }
        if n > 1 { Self.radixSort(&keys, &order) }
        // Runs of equal keys (terms longer than 8 bytes sharing them, or shorter ones ending in
        // zero bytes) by all their bytes.
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && keys[j] == keys[i] { j += 1 }
            if j - i > 1 { order[i..<j].sort { precedes(Int($0), Int($1)) } }
            i = j
        }
        return order.map { Int($0) }
    }

    /// Sorts `keys` ascending, carrying `values` along (stable LSD radix, a byte per pass; a
    /// pass whose byte all keys share is skipped).
    static func radixSort(_ keys: inout [UInt64], _ values: inout [Int32]) {
        let n = keys.count
        var counts = [Int](repeating: 0, count: 8 * 256)
        for k in keys {
            for b in 0..<8 { counts[b << 8 | Int(truncatingIfNeeded: k >> UInt64(8 * b)) & 0xFF] += 1 }
        }
        var k2 = [UInt64](repeating: 0, count: n)
        var v2 = [Int32](repeating: 0, count: n)
        for b in 0..<8 {
            let shift = UInt64(8 * b)
            let first = Int(truncatingIfNeeded: keys[0] >> shift) & 0xFF
            if counts[b << 8 | first] == n { continue }
            var next = [Int](repeating: 0, count: 256)
            var sum = 0
            for d in 0..<256 {
                next[d] = sum
                sum += counts[b << 8 | d]
            }
            keys.withUnsafeBufferPointer { ks in
                values.withUnsafeBufferPointer { vs in
                    k2.withUnsafeMutableBufferPointer { kd in
                        v2.withUnsafeMutableBufferPointer { vd in
                            for i in 0..<n {
                                let d = Int(truncatingIfNeeded: ks[i] >> shift) & 0xFF
                                let o = next[d]
                                kd[o] = ks[i]
                                vd[o] = vs[i]
                                next[d] = o + 1
                            }
                        }
                    }
                }
            }
            swap(&keys, &k2)
            swap(&values, &v2)
        }
    }

    /// True when term `a`'s bytes sort before term `b`'s (byte order, as LMDB sorts keys).
    func precedes(_ a: Int, _ b: Int) -> Bool {
        let st = storage
        return withExtendedLifetime(st) { PostingPage.compare(UnsafeRawBufferPointer(st.bytes(a)), UnsafeRawBufferPointer(st.bytes(b))) < 0 }
    }
}

/// Terms numbered once for documents tokenized together — an import batch, a sync chunk, a
/// write transaction's own, an index build's transaction — so each word of the text costs one
/// lookup in one table (not one in a table of its document, then one more per distinct term in
/// the journal's). A document made with a lexicon
/// (`IndexedDocument`) holds its terms' numbers with their statistics; the journal maps a
/// lexicon's numbers to its own once per term (`PostingJournal.record`).
///
/// One thread at a time makes documents with a lexicon. Documents made with it may be read
/// on another thread once none are being made: an importer hands a batch's documents to the
/// writer and starts the next batch with a new lexicon. The fold cache it carries goes with
/// it.
public final class TermLexicon: @unchecked Sendable {
    /// Each term with the mark of the last document that held it: that document's serial <<
    /// 32 | the term's index among its entries.
    fileprivate var table: TermTable<UInt64>
    /// The serial of the document being made (the first is 1: a mark of 0 is no document's).
    fileprivate var serial: UInt64 = 0
    public let foldCache: FoldCache

    public convenience init(foldCache: FoldCache = FoldCache()) {
        self.init(capacity: 4096, foldCache: foldCache)
    }

    init(capacity: Int, hashing: TermHash = .fast, foldCache: FoldCache = FoldCache()) {
        table = TermTable(capacity: capacity, hashing: hashing)
        self.foldCache = foldCache
    }

    /// How many distinct terms it has numbered.
    public var count: Int { table.count }

    /// The longest probe of its table (`TermTable.longestProbe`).
    var longestProbe: Int { table.longestProbe }

    /// The table, moved out while a document is made (`IndexedDocument.Builder`) so that
    /// adding to it neither copies it nor checks access to the lexicon per word.
    fileprivate func takeTable() -> TermTable<UInt64> {
        let t = table
        table = Self.placeholder
        return t
    }

    /// What the lexicon holds while its table is out (never added to).
    private static let placeholder = TermTable<UInt64>(capacity: 0)

    /// The next document's serial, in the high 32 bits.
    fileprivate func nextSerial() -> UInt64 {
        if serial == UInt64(UInt32.max) {
            // Four billion documents in one lexicon: forget every mark and count again.
            table.resetValues(to: 0)
            serial = 0
        }
        serial += 1
        return serial << 32
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

    /// A distinct term of the document: its number in `lexicon`, and its statistics.
    struct Entry: Sendable {
        var term: Int32
        var stats: TermStats
    }

    /// Where its terms are numbered.
    let lexicon: TermLexicon
    /// Each distinct term with its statistics, in the order they first appear.
    private(set) var entries: [Entry] = []
    var length = 0
    var published = ""

    static let titleWeight = 2
    /// How far a single's mark in a term's position mask is moved from the position of the
    /// pair it stands in, when it begins (`first`) or ends (`last`) its run.
    static let singleShift = (first: 16, last: 8)
    /// Filter terms (an exact source or tag) start with this byte, which no text term holds.
    static let sourcePrefix = "\u{1}s"
    static let tagPrefix = "\u{1}t"
    /// Every document holds this filter term once: its postings list the segment's documents
    /// (so a segment counts its documents exactly, and merges count the live ones).
    static let documentTerm = "\u{1}d"
    static let documentTermBytes = Array(documentTerm.utf8)

    init(content c: VersionContent, body: String, lexicon: TermLexicon? = nil) {
        self.init(title: c.title, body: body, source: c.source, tags: c.tags, published: c.published, lexicon: lexicon)
    }

    /// The terms of this content, numbered in `lexicon` (a lexicon of its own when nil).
    init(title: String, body: String, source: String, tags: [String], published: String, lexicon: TermLexicon? = nil) {
        self.published = published
        // About one distinct term per 12 bytes of text.
        let estimate = min(8192, (title.utf8.count + body.utf8.count) / 12 + 16)
        let lexicon = lexicon ?? TermLexicon(capacity: estimate)
        self.lexicon = lexicon
        // The serial first: when it wraps, it clears the marks of the table, not of the
        // placeholder left while the table is out.
        let serial = lexicon.nextSerial()
        var b = Builder(table: lexicon.takeTable(), serial: serial, estimate: estimate)
        let foldCache = lexicon.foldCache
        b.index(title, weight: Self.titleWeight, foldCache)
        b.position += 2
        b.index(body, weight: 1, foldCache)
        b.position += 2
        b.index(source, weight: 1, foldCache)
        for tag in tags {
            b.position += 2
            b.index(tag, weight: 1, foldCache)
        }
        let folded = SearchText.foldedValue(source)
        if !folded.isEmpty { b.setFilterTerm(Self.sourcePrefix + folded) }
        for t in Set(tags.map(SearchText.foldedValue)) where !t.isEmpty { b.setFilterTerm(Self.tagPrefix + t) }
        b.setFilterTerm(Self.documentTerm)
        lexicon.table = b.table
        entries = b.entries
        length = b.length
    }

    /// A document being made: the lexicon's table (moved out of it meanwhile) and the
    /// document's entries so far.
    private struct Builder {
        var table: TermTable<UInt64>
        /// This document's serial << 32 (`TermLexicon`).
        let serial: UInt64
        var entries: [Entry] = []
        var length = 0
        /// Positions run through title, body, source and tags in that order, with a gap of 2
        /// between fields (so the last word of one field is not next to the first of the next).
        var position = 0

        init(table: TermTable<UInt64>, serial: UInt64, estimate: Int) {
            self.table = table
            self.serial = serial
            entries.reserveCapacity(estimate)
        }

        /// The entry of a term marked `mark` if the document of `serial` holds it.
        @inline(__always) private static func entry(marked mark: UInt64, _ serial: UInt64) -> Int? {
            mark & 0xFFFF_FFFF_0000_0000 == serial ? Int(truncatingIfNeeded: mark & 0xFFFF_FFFF) : nil
        }

        /// Term `term`'s number, and its entry if this document holds it (else it is marked as
        /// the next entry's).
        @inline(__always) private mutating func lookUp(_ term: UnsafeBufferPointer<UInt8>) -> (Int, Int?) {
            let (serial, next) = (self.serial, UInt64(entries.count))
            return table.upsert(term, initial: 0) { t, mark -> (Int, Int?) in
                if let e = Self.entry(marked: mark, serial) { return (t, e) }
                mark = serial | next
                return (t, nil)
            }
        }

        /// Adds the terms of `text`, each occurrence weighing `weight`; a CJK single (a
        /// character of a longer run) counts in its term's frequency only.
        /// Where the last term (not a single) of the field stands in its text, and whether it
        /// overlaps the one before it (a pair after the first of its run).
        private var lastStart = -1, lastEnd = -1
        private var lastOverlaps = false

        mutating func index(_ text: String, weight: Int, _ foldCache: FoldCache) {
            (lastStart, lastEnd, lastOverlaps) = (-1, -1, false)
            SearchText.forEachTermBytes(text, foldCache: foldCache, singles: true) { t, range, single in single ? addSingle(t, range, weight) : add(t, range, weight) }
        }

        @inline(__always) mutating func add(_ term: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ weight: Int) {
            let bit = UInt32(1) << UInt32(position & 31)
            length += weight
            position += 1
            lastOverlaps = range.lowerBound < lastEnd
            (lastStart, lastEnd) = (range.lowerBound, range.upperBound)
            count(term, weight, bit)
        }

        /// A CJK single (`SearchText.forEachTermBytes(singles:)`): its frequency counts, but
        /// it takes no position of its own and adds nothing to the length, so a phrase or a
        /// pair ranks as it would without it. The first and the last character of a run mark
        /// the position of the pair they begin or end (term rules 7), shifted so that one mask
        /// keeps the kinds apart: a run's last character at that position + 8, its first at
        /// + 16 (`singleShift`). A phrase starting with a lone character (`港2026`: 神戸港2026)
        /// then passes the masks where it ends a run, one ending with it (`2026港`: 2026港湾)
        /// where it begins one (`PhraseMatcher`).
        @inline(__always) mutating func addSingle(_ term: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ weight: Int) {
            // It follows the pair it begins (the pair's range starts where it does) or, last
            // of its run, the pair it ends; the position of that pair is the last one taken.
            var bit: UInt32 = 0
            if range.lowerBound == lastStart && !lastOverlaps {
                bit = UInt32(1) << UInt32((position - 1 + IndexedDocument.singleShift.first) & 31)
            } else if range.lowerBound > lastStart && range.lowerBound < lastEnd {
                bit = UInt32(1) << UInt32((position - 1 + IndexedDocument.singleShift.last) & 31)
            }
            count(term, weight, bit)
        }

        @inline(__always) private mutating func count(_ term: UnsafeBufferPointer<UInt8>, _ weight: Int, _ bit: UInt32) {
            if entries.count < SearchText.maxDocumentTerms {
                let (t, held) = lookUp(term)
                if let held {
                    entries[held].stats.add(weight, bit)
                } else {
                    entries.append(Entry(term: Int32(t), stats: TermStats(tf: UInt32(weight), mask: bit)))
                }
            } else if let t = table.find(term), let e = Self.entry(marked: table[t], serial) {
                // Past the cap: only terms the document already holds still count.
                entries[e].stats.add(weight, bit)
            }
        }

        /// Holds filter term `term` with frequency 1 and mask 0.
        mutating func setFilterTerm(_ term: String) {
            var term = term
            let (t, held) = term.withUTF8 { lookUp($0) }
            if let held {
                entries[held].stats = TermStats(tf: 1, mask: 0)
            } else {
                entries.append(Entry(term: Int32(t), stats: TermStats(tf: 1, mask: 0)))
            }
        }
    }

    /// How many distinct terms it holds (its filter terms included).
    var termCount: Int { entries.count }

    /// Each term's bytes (valid during the call), hash (as its lexicon hashes it) and
    /// statistics.
    func forEachTerm(_ body: (UnsafeBufferPointer<UInt8>, UInt32, TermStats) throws -> Void) rethrows {
        let table = lexicon.table
        try table.withTerms { bytes, hashes in
            for e in entries { try body(bytes(Int(e.term)), hashes[Int(e.term)], e.stats) }
        }
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

    /// The terms of this content (what `IndexedDocument(content:body:)` makes), numbered in
    /// `lexicon`: the documents one thread prepares together (an import batch) share one.
    public init(title: String, body: String, source: String, tags: [String], published: String, lexicon: TermLexicon? = nil) {
        self.title = title
        self.source = source
        self.published = published
        self.tags = tags
        self.body = body
        document = IndexedDocument(title: title, body: body, source: source, tags: tags, published: published, lexicon: lexicon)
    }

    /// The terms of a version set's own winner, when its body is at hand (nil otherwise, or
    /// when the winner is a tombstone).
    public init?(winnerOf versions: VersionSet, lexicon: TermLexicon? = nil, bodies: (BodyHash) -> String?) {
        guard let c = versions.winner?.content, let body = bodies(c.bodyHash) else { return nil }
        self.init(title: c.title, body: body, source: c.source, tags: c.tags, published: c.published, lexicon: lexicon)
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
        // The same storage (the prepared copy of the very text being written) is equal at once.
        return a.withUTF8 { x in b.withUTF8 { y in x.count == y.count && (x.isEmpty || x.baseAddress == y.baseAddress || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }
}

extension Store {
    /// The search documents of articles as a peer sent them (each set's own winner, when its
    /// body came along), for `applyBatch(prepared:)`: worked out on any thread while the
    /// previous chunk commits. Empty when this store keeps no index.
    public func prepareSearchDocuments(_ articles: [ArticleState]) -> [String: PreparedSearchDocument] {
        guard maintainsSearchIndex else { return [:] }
        var out: [String: PreparedSearchDocument] = [:]
        let lexicon = TermLexicon()
        for a in articles { out[a.id] = PreparedSearchDocument(winnerOf: a.versions, lexicon: lexicon) { a.bodies[$0] } }
        return out
    }
}

/// The postings of one write transaction's new documents, written when it ends (`apply`) as
/// one new segment: grouped by term, terms in byte order, each term's block appended. A
/// savepoint that fails truncates the journal to where it began. Its terms are numbered in its
/// own lexicon, in which the transaction tokenizes what it indexes itself (`lexicon`): those
/// documents' numbers are the journal's. Another lexicon's documents (prepared ahead) have their
/// numbers mapped once per term; the first one's table, when it comes first, becomes the
/// journal's own (an import batch's documents then cost no lookup at all).
struct PostingJournal {
    struct Posting {
        var term: Int32
        var doc: UInt32
        var tf: UInt32
        var mask: UInt32
    }

    /// Where the journal's terms are numbered: what the transaction tokenizes itself is made
    /// with this one.
    let lexicon = TermLexicon(capacity: 256)
    private(set) var postings: [Posting] = []
    /// Per lexicon whose documents were recorded, its term numbers' numbers here (+ 1; 0: not
    /// mapped yet), found by `mapOf`.
    private var maps: [(lexicon: TermLexicon, numbers: [Int32])] = []
    private var mapOf: [ObjectIdentifier: Int] = [:]
    /// Set when a document died in this transaction: the merge policy runs at its end even
    /// when it indexed nothing (a transaction that only deletes can leave segments half dead).
    var killedDocuments = false

    var count: Int { postings.count }
    /// How many distinct terms the journal has numbered.
    var distinctTerms: Int { lexicon.count }

    /// Every posting of `document`, numbered `doc` (above every document recorded before).
    mutating func record(_ document: IndexedDocument, doc: UInt32) {
        let n = postings.count + document.termCount
        // Geometric: an exact reserve per document would copy the journal each time.
        if n > postings.capacity { postings.reserveCapacity(max(n, postings.capacity * 2)) }
        let lexicon = document.lexicon
        if lexicon === self.lexicon {
            for e in document.entries { postings.append(Posting(term: e.term, doc: doc, tf: e.stats.tf, mask: e.stats.mask)) }
            return
        }
        let m: Int
        if let last = maps.last, last.lexicon === lexicon {
            m = maps.count - 1
        } else if let i = mapOf[ObjectIdentifier(lexicon)] {
            m = i
        } else {
            if maps.isEmpty && self.lexicon.count == 0 {
                // The first lexicon's terms become the journal's, numbered the same (sharing
                // its table until either adds a term). The table's values are that lexicon's
                // marks: the journal's own documents take serials above all of them, or a
                // word of one would look held by it.
                self.lexicon.table = lexicon.table
                self.lexicon.serial = lexicon.serial
                maps.append((lexicon, (0..<lexicon.count).map { Int32($0) + 1 }))
            } else {
                maps.append((lexicon, []))
            }
            m = maps.count - 1
            mapOf[ObjectIdentifier(lexicon)] = m
        }
        var numbers = maps[m].numbers
        maps[m].numbers = []
        let terms = lexicon.table
        if numbers.count < terms.count { numbers.append(contentsOf: repeatElement(0, count: terms.count - numbers.count)) }
        let hashing = terms.hashing
        let own = self.lexicon
        terms.withTerms { bytes, hashes in
            for e in document.entries {
                let l = Int(e.term)
                var t = numbers[l]
                if t == 0 {
                    // Added unmarked (0 is no document's mark).
                    t = Int32(own.table.number(of: bytes(l), hash: hashes[l], hashedBy: hashing, initial: 0)) + 1
                    numbers[l] = t
                }
                postings.append(Posting(term: t - 1, doc: doc, tf: e.stats.tf, mask: e.stats.mask))
            }
        }
        maps[m].numbers = numbers
    }

    /// Term `t`'s text (tests).
    func term(_ t: Int) -> String { lexicon.table.string(t) }

    mutating func truncate(to n: Int) {
        // Terms numbered since stay in the table: a term without postings writes nothing.
        if n < postings.count { postings.removeSubrange(n...) }
    }

    /// Writes the postings of the documents still live (one replaced within the transaction
    /// is dropped here) as a new segment, lets the merge policy run, and empties the journal.
    mutating func apply(_ txn: Transaction, _ dbs: SearchDatabases, _ meta: Database) throws {
        defer { self = PostingJournal() }
        if try writeSegment(txn, dbs, meta) || killedDocuments { try SegmentMerger.maintain(txn, dbs, meta) }
    }

    /// The segment of the postings still live; false when there are none.
    private func writeSegment(_ txn: Transaction, _ dbs: SearchDatabases, _ meta: Database) throws -> Bool {
        guard let first = postings.first?.doc, let last = postings.last?.doc else { return false }
        // Which of the transaction's documents are still live, and how many.
        var norms = Norms.Reader(txn, dbs.norms)
        var live = [Bool](repeating: false, count: Int(last - first) + 1)
        var liveDocs: UInt32 = 0
        for d in first...last where try norms.isLive(d) {
            live[Int(d - first)] = true
            liveDocs += 1
        }
        guard liveDocs > 0 else { return false }
        // A counting sort groups the postings by term, keeping document order; only the
        // distinct terms are sorted, by their bytes.
        let distinct = lexicon.count
        var starts = [Int](repeating: 0, count: distinct + 1)
        for p in postings { starts[Int(p.term) + 1] += 1 }
        for i in 0..<distinct { starts[i + 1] += starts[i] }
        // The postings themselves are copied into term order (reading in order, writing
        // scattered), so encoding reads them sequentially: gathering them through indices
        // instead would miss the cache on nearly every posting.
        var next = starts
        var grouped = [Posting](repeating: Posting(term: 0, doc: 0, tf: 0, mask: 0), count: postings.count)
        grouped.withUnsafeMutableBufferPointer { g in
            for p in postings {
                let t = Int(p.term)
                g[next[t]] = p
                next[t] += 1
            }
        }
        let table = lexicon.table
        let order = table.sorted((0..<distinct).filter { starts[$0] < starts[$0 + 1] })
        var builder = SegmentBuilder(txn, dbs.postings, number: try SegmentRecord.allocate(txn, meta))
        var writer = PostingBlock.Writer()
        var written = 0
        for t in order {
            try writer.encode(base: first, room: (starts[t + 1] - starts[t]) * PostingBlock.maxPostingBytes, { sink in
                for g in starts[t]..<starts[t + 1] {
                    let p = grouped[g]
                    guard live[Int(p.doc - first)] else { continue }
                    sink.append(doc: p.doc, tf: p.tf, mask: p.mask)
                }
            }, then: { block, count in
                try table.withBytes(t) { try builder.add(UnsafeRawBufferPointer($0), block: block, count: count) }
                written += count
            })
        }
        try builder.finish()
        guard written > 0 else { return false }
        let record = SegmentRecord(number: builder.number, firstDoc: first, lastDoc: last, docs: liveDocs, dead: 0, postings: builder.postings, bytes: builder.bytes)
        try txn.put(dbs.segments, key: record.key, value: record.encoded)
        return true
    }
}

/// Keeps the index of one write transaction: document numbers, records and norms at once,
/// postings through the journal.
struct SearchIndexWriter {
    let txn: Transaction
    let dbs: SearchDatabases
    let meta: Database

    /// Makes the index hold `new` (nil: not live) for article `id`, whose previous winner was
    /// live (`wasLive`) or not. The document it held is marked dead; `new` gets a new number.
    func update(id: String, wasLive: Bool, new: IndexedDocument?, journal: inout PostingJournal) throws {
        let idKey = Array(id.utf8)
        var docs = Int64(try Meta.u64(Meta.searchDocs, meta, txn))
        var total = Int64(try Meta.u64(Meta.searchLength, meta, txn))
        let existing = try txn.withValue(dbs.ids, key: idKey) { b -> UInt32 in
            guard b.count == 4 else { throw CorruptRecord("search id record of \"\(id)\" is \(b.count) bytes") }
            return UInt32(bigEndianBytes: b)
        }
        if let doc = existing {
            guard wasLive else {
                // The index holds a document the articles do not explain: never make it worse.
                throw StoreError.corrupt("the search index holds \"\(id)\" though its previous version was not live: run `folio reindex`")
            }
            guard let record = try txn.withValue(dbs.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc) else {
                throw StoreError.corrupt("the search index names document \(doc) for \"\(id)\", which it does not hold: run `folio reindex`")
            }
            total -= Int64(record.length)
            try txn.delete(dbs.docs, key: doc.bigEndianBytes)
            try Norms.set(txn, dbs.norms, doc: doc, length: nil)
            try SegmentRecord.markDead(doc, txn, dbs.segments)
            journal.killedDocuments = true
            if new == nil {
                try txn.delete(dbs.ids, key: idKey)
                docs -= 1
            }
        }
        if let new {
            let next = try Meta.u64(Meta.searchNext, meta, txn)
            guard next < UInt64(UInt32.max) else { throw StoreError.corrupt("the search index ran out of document numbers: run `folio reindex`") }
            let doc = UInt32(next)
            try txn.put(meta, key: Meta.searchNext, value: (next + 1).bigEndianBytes)
            try txn.put(dbs.ids, key: idKey, value: doc.bigEndianBytes)
            if existing == nil { docs += 1 }
            journal.record(new, doc: doc)
            do {
                try txn.put(dbs.docs, key: doc.bigEndianBytes, value: IndexedDocument.encodeDoc(length: new.length, id: id, published: new.published), flags: .append)
            } catch let e as LMDBError where e == .keyExists {
                throw StoreError.corrupt("search_docs already holds documents past \(doc) (meta/search.next is behind): run `folio reindex`")
            }
            try Norms.set(txn, dbs.norms, doc: doc, length: new.length)
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
