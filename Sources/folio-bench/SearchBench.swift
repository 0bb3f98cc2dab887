// tools/bench-search's driver: a corpus with a realistic vocabulary, the index's cost on
// import, and query latency through the library. SQLite FTS5 runs the same in Python.
import FolioClient
import FolioImport
import FolioModel
import FolioStore
import FolioSync
import Foundation

/// A pseudo-language: a 40 000-word vocabulary drawn Zipf-like (word i with weight 1/(i+10)),
/// so a few words are everywhere and most are rare, as in news text.
struct Corpus {
    var vocabulary: [String]
    var cumulative: [Double]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let syllables = ["ka", "lo", "ri", "ten", "mar", "sa", "vel", "do", "ni", "port", "gra", "su", "bel", "on", "tri", "ze", "wu", "han", "es", "pol", "qui", "ra", "mo", "lin"]
        var words = Set<String>()
        var vocabulary: [String] = []
        while vocabulary.count < 40_000 {
            let n = 1 + Int(rng.next() % 4)
            let w = (0..<n).map { _ in syllables[Int(rng.next() % UInt64(syllables.count))] }.joined()
            if words.insert(w).inserted { vocabulary.append(w) }
        }
        self.vocabulary = vocabulary
        var total = 0.0
        cumulative = vocabulary.indices.map { i in
            total += 1 / Double(i + 10)
            return total
        }
    }

    func word(_ rng: inout SplitMix64) -> String {
        let x = Double(rng.next() % 1_000_000_000) / 1_000_000_000 * cumulative.last!
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return vocabulary[lo]
    }
}

/// Writes DIR/articles.jsonl (N articles, ~3 KB bodies) and DIR/queries.tsv: 50 queries of each
/// kind, as "kind\tfolio query\tFTS5 MATCH expression".
func searchCorpus(_ n: Int, _ dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let corpus = Corpus(seed: 7)
    var rng = SplitMix64(seed: 20261129)
    _ = FileManager.default.createFile(atPath: dir + "/articles.jsonl", contents: nil)
    let out = FileHandle(forWritingAtPath: dir + "/articles.jsonl")!
    var buffer = ""
    var bigrams: [String] = []
    for i in 0..<n {
        var body = ""
        while body.utf8.count < 2900 {
            let sentence = (0..<(6 + Int(rng.next() % 12))).map { _ in corpus.word(&rng) }
            if bigrams.count < 2000, rng.next() % 50 == 0 { bigrams.append(sentence[0] + " " + sentence[1]) }
            body += sentence.joined(separator: " ") + ". "
        }
        let a = Article(
            id: String(format: "news/%07d", i), title: (0..<(5 + Int(rng.next() % 5))).map { _ in corpus.word(&rng) }.joined(separator: " "),
            source: "source\(rng.next() % 50)", url: "", published: String(format: "2026-%02d-%02d", 1 + Int(rng.next() % 12), 1 + Int(rng.next() % 28)),
            body: body, tags: ["tag\(rng.next() % 200)", "tag\(rng.next() % 200)"])
        buffer += a.jsonLine + "\n"
        if buffer.utf8.count > 1 << 20 {
            out.write(Data(buffer.utf8))
            buffer = ""
        }
    }
    out.write(Data(buffer.utf8))
    try out.close()
    // Queries over mid-frequency words (ranks 200…5000): neither everywhere nor absent.
    var q = ""
    func mid() -> String { corpus.vocabulary[200 + Int(rng.next() % 4800)] }
    for _ in 0..<50 { let w = mid(); q += "term\t\(w)\t\(w)\n" }
    for _ in 0..<50 { let (a, b) = (corpus.vocabulary[50 + Int(rng.next() % 500)], corpus.vocabulary[50 + Int(rng.next() % 500)]); q += "two\t\(a) \(b)\t\(a) \(b)\n" }
    for i in 0..<50 { let p = bigrams[(i * 37) % max(1, bigrams.count)]; q += "phrase\t\"\(p)\"\t\"\(p)\"\n" }
    for _ in 0..<50 { let w = mid(); let p = String(w.prefix(max(3, w.count - 2))); q += "prefix\t\(p)*\t\(p)*\n" }
    for _ in 0..<50 { let w = mid(); let s = "source\(rng.next() % 50)"; q += "filtered\t\(w) source:\(s)\t\(w) AND source:\(s)\n" }
    try q.write(toFile: dir + "/queries.tsv", atomically: true, encoding: .utf8)
}

/// This process's CPU time so far (user + system), in seconds.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func timeSeconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// Imports FILE into DIR/with-index and DIR/without-index, then rebuilds the index of the
/// first alone (what FTS5's insert does). Prints "import_with import_without reindex index_bytes".
func indexCost(_ file: String, _ dir: String) throws {
    var times: [Double] = []
    var cpu: [Double] = []
    for (name, index) in [("without-index", false), ("with-index", true)] {
        var o = Store.Options()
        o.maintainSearchIndex = index
        o.mapSize = 1 << 30
        let s = try Store.create(at: dir + "/" + name, options: o)
        let c0 = processCPUSeconds()
        times.append(try timeSeconds { _ = try Importer(store: s).run(paths: [file]) })
        cpu.append(processCPUSeconds() - c0)
        s.close()
    }
    var o = Store.Options()
    o.mapSize = 1 << 30
    let s = try Store.open(at: dir + "/with-index", options: o)
    defer { s.close() }
    let reindex = try timeSeconds { try s.reindex() }
    let st = try s.statistics()
    let bytes = st.databases.filter { $0.name.hasPrefix("search_") }.reduce(0) { $0 + $1.statistics.pages * st.pageSize }
    // The sync path: what a peer sends is merged (its versions, with their dots). An export of
    // every version imported into fresh stores goes through the same merge.
    let versions = dir + "/all-versions.jsonl"
    _ = FileManager.default.createFile(atPath: versions, contents: nil)
    let out = FileHandle(forWritingAtPath: versions)!
    var buffer = ""
    try s.forEach(includeDeleted: true) { state in
        for v in state.versions.versions { buffer += VersionJSON.exportLine(state, v) + "\n" }
        if buffer.utf8.count > 1 << 20 { out.write(Data(buffer.utf8)); buffer = "" }
    }
    out.write(Data(buffer.utf8))
    try out.close()
    var merges: [Double] = []
    for (name, index) in [("merge-without", false), ("merge-with", true)] {
        var mo = Store.Options()
        mo.maintainSearchIndex = index
        mo.mapSize = 1 << 30
        let m = try Store.create(at: dir + "/" + name, options: mo)
        merges.append(try timeSeconds { _ = try Importer(store: m).run(paths: [versions]) })
        m.close()
    }
    print(String(format: "%.3f %.3f %.3f %d %.3f %.3f %.3f %.3f", times[1], times[0], reindex, bytes, merges[1], merges[0], cpu[1], cpu[0]))
}

/// The floor under what any index written in the import's transactions can cost: the import
/// pipeline (read and parse on one thread, write each batch on another while the next is
/// read) with no index, then with each batch's text, before it is handed over, only
/// - scan: split into words (ASCII letters and digits, eight bytes at a time, nothing folded or
///   kept): the least any tokenizer does;
/// - hash: also each word hashed and counted in one table per batch: the least any inverted
///   index does on top (no document, no position, no posting);
/// - tokenize: tokenized as the index does (every term handed to a no-op);
/// - documents: made into search documents (terms numbered in a lexicon per batch, as the
///   importer does);
/// nothing of any of them written. Prints the five wall-clock seconds, then the five CPU ones.
func indexFloor(_ file: String, _ dir: String) throws {
    enum Work: CaseIterable { case none, scan, hash, tokenize, documents }
    var wall: [Double] = []
    var cpu: [Double] = []
    var seen = 0
    for (n, work) in Work.allCases.enumerated() {
        var o = Store.Options()
        o.maintainSearchIndex = false
        o.mapSize = 1 << 30
        let store = try Store.create(at: dir + "/floor-\(n)", options: o)
        let queue = DispatchQueue(label: "floor.write")
        let group = DispatchGroup()
        let cache = FoldCache()
        let c0 = processCPUSeconds()
        wall.append(try timeSeconds {
            _ = try Importer(options: Importer.Options()) { batch in
                switch work {
                case .none: break
                case .scan:
                    // The least any tokenizer does: each byte classed (ASCII letter or digit,
                    // or not), each word's end found. Nothing folded, nothing kept.
                    for a in batch {
                        for field in [a.title, a.body, a.source] + a.tags { seen &+= FloorScan.words(field) }
                    }
                case .hash:
                    // The least any index does on top: each word hashed and counted in one
                    // table of the batch's words (no document, no posting).
                    let table = FloorScan.Table()
                    for a in batch {
                        for field in [a.title, a.body, a.source] + a.tags { seen &+= FloorScan.count(field, into: table) }
                    }
                case .tokenize:
                    for a in batch {
                        for field in [a.title, a.body, a.source] + a.tags { SearchText.forEachTermBytes(field, foldCache: cache) { seen &+= $0.count } }
                    }
                case .documents:
                    let lexicon = TermLexicon(foldCache: cache)
                    for a in batch {
                        let d = PreparedSearchDocument(title: a.title, body: a.body, source: a.source, tags: a.tags, published: a.published, lexicon: lexicon)
                        withExtendedLifetime(d) { seen &+= 1 }
                    }
                }
                group.wait()
                queue.async(group: group) {
                    do { try store.write { w in for a in batch { _ = try w.put(a, skipIfUnchanged: true) } } } catch { fatalError("\(error)") }
                }
                return Importer.Counts(added: batch.count)
            }.run(paths: [file])
            group.wait()
        })
        cpu.append(processCPUSeconds() - c0)
        store.close()
        FileHandle.standardError.write(Data("\(work): \(seen)\n".utf8))
        seen = 0
    }
    print((wall + cpu).map { String(format: "%.3f", $0) }.joined(separator: " "))
}

/// The cheapest conceivable tokenizing and term counting, as floors for `index-floor`: ASCII
/// letters and digits make words, every other byte separates them. Eight bytes at a time
/// (each classed by arithmetic on one 64-bit word, no table), words found from the bits of
/// where they start and end.
enum FloorScan {
    /// Bit 7 of each byte of `x` set where that byte is an ASCII letter or digit.
    @inline(__always) static func wordBytes(_ x: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        // Per byte b < 0x80: (b + (0x80 - lo)) has bit 7 set iff b >= lo; bytes ≥ 0x80 are not
        // word bytes (the top bit is cleared first and masked out after).
        @inline(__always) func between(_ x: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64 {
            let y = x & ~high
            return ((y &+ ones &* (0x80 - lo)) & ~(y &+ ones &* (0x80 - hi - 1))) & ~x & high
        }
        let lower = x | ones &* 0x20
        return between(x, 0x30, 0x39) | between(lower, 0x61, 0x7A)
    }

    /// Calls `body` with each word's start and end in `b`.
    @inline(__always) static func forEachWord(_ b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        guard let p = b.baseAddress.map(UnsafeRawPointer.init) else { return }
        let n = b.count
        var start = -1
        var i = 0
        func scanByte(_ k: Int) {
            let c = p.load(fromByteOffset: k, as: UInt8.self)
            let w = c < 0x80 && ((c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A))
            if w && start < 0 { start = k } else if !w && start >= 0 {
                body(start, k)
                start = -1
            }
        }
        // Bit 7 of byte 0 set when the byte before these eight is a word byte.
        var carry: UInt64 = 0
        while i + 8 <= n {
            let m = wordBytes(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            let before = m << 8 | carry
            // Word bytes after a separator start a word; separators after a word byte end one.
            var starts = m & ~before
            var ends = ~m & before & 0x8080_8080_8080_8080
            carry = m >> 56 & 0x80
            while starts | ends != 0 {
                let s = starts.trailingZeroBitCount, e = ends.trailingZeroBitCount
                if s < e {
                    start = i + s >> 3
                    starts &= starts &- 1
                } else {
                    body(start, i + e >> 3)
                    start = -1
                    ends &= ends &- 1
                }
            }
            i += 8
        }
        while i < n {
            scanByte(i)
            i += 1
        }
        if start >= 0 { body(start, n) }
    }

    /// How many words `text` holds.
    static func words(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { b in
            var n = 0
            forEachWord(b) { _, _ in n &+= 1 }
            return n
        }
    }

    /// A table of 64-bit word hashes (linear probing, at most half full: it doubles) with a
    /// count each.
    final class Table {
        var keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 1 << 16)
        var counts = UnsafeMutablePointer<UInt32>.allocate(capacity: 1 << 16)
        var mask = (1 << 16) - 1
        var count = 0
        init() {
            keys.initialize(repeating: 0, count: mask + 1)
            counts.initialize(repeating: 0, count: mask + 1)
        }
        deinit {
            keys.deallocate()
            counts.deallocate()
        }

        @inline(__always) func add(_ h: UInt64) {
            var slot = Int(truncatingIfNeeded: h) & mask
            while keys[slot] != 0 && keys[slot] != h { slot = (slot + 1) & mask }
            if keys[slot] == 0 {
                keys[slot] = h
                count += 1
            }
            counts[slot] &+= 1
            if count * 2 > mask { grow() }
        }

        private func grow() {
            let (oldKeys, oldCounts, oldSize) = (keys, counts, mask + 1)
            mask = oldSize * 2 - 1
            keys = .allocate(capacity: mask + 1)
            counts = .allocate(capacity: mask + 1)
            keys.initialize(repeating: 0, count: mask + 1)
            counts.initialize(repeating: 0, count: mask + 1)
            for i in 0..<oldSize where oldKeys[i] != 0 {
                var slot = Int(truncatingIfNeeded: oldKeys[i]) & mask
                while keys[slot] != 0 { slot = (slot + 1) & mask }
                keys[slot] = oldKeys[i]
                counts[slot] = oldCounts[i]
            }
            oldKeys.deallocate()
            oldCounts.deallocate()
        }
    }

    static let seed = UInt64.random(in: .min ... .max) | 1

    /// Counts each word of `text` in `table` (hashed as the index hashes terms); returns how
    /// many words.
    static func count(_ text: String, into table: Table) -> Int {
        var text = text
        return text.withUTF8 { b in
            var n = 0
            forEachWord(b) { s, e in
                // The index's own hash (nonzero: 0 marks an empty slot).
                let h = UInt64(ByteHash.hash(UnsafeBufferPointer(rebasing: b[s..<e]), seed: FloorScan.seed)) | 1 << 32
                table.add(h)
                n &+= 1
            }
            return n
        }
    }
}

/// Runs every query of QUERIES (limit 10) ROUNDS times; writes "kind p50_ms p99_ms" lines to
/// stdout and each query's top-10 ids to OUT ("kind\tquery\tid,id,…").
func searchQueries(_ storePath: String, _ queriesFile: String, _ outFile: String, rounds: Int) throws {
    var o = Store.Options()
    o.readOnly = true
    let s = try Store.open(at: storePath, options: o)
    defer { s.close() }
    let lines = try String(contentsOfFile: queriesFile, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    var byKind: [String: [Double]] = [:]
    var bare: [String: [Double]] = [:]
    var top = ""
    var refused: [String: Int] = [:]
    for line in lines {
        let (kind, text) = (line[0], line[1])
        let query = try SearchQuery(parsing: text)
        var hits: [SearchHit] = []
        do {
            for _ in 0..<rounds {
                let t = try timeSeconds { hits = try s.search(query, limit: 10) }
                byKind[kind, default: []].append(t * 1000)
                let u = try timeSeconds { _ = try s.search(query, limit: 10, snippets: false) }
                bare[kind, default: []].append(u * 1000)
            }
        } catch {
            // A query over the work limits (SearchTooBroad) is answered "busy": counted, not timed.
            refused[kind, default: 0] += 1
            FileHandle.standardError.write(Data("refused \(kind) \(text): \(error)\n".utf8))
            continue
        }
        top += "\(kind)\t\(text)\t\(hits.map(\.id).joined(separator: ","))\n"
    }
    if !refused.isEmpty { FileHandle.standardError.write(Data("queries refused as too broad: \(refused)\n".utf8)) }
    try top.write(toFile: outFile, atomically: true, encoding: .utf8)
    for kind in ["term", "two", "phrase", "prefix", "filtered"] {
        let t = (byKind[kind] ?? [0]).sorted()
        let u = (bare[kind] ?? [0]).sorted()
        print(String(format: "%@ %.3f %.3f %.3f %.3f", kind, t[t.count / 2], t[min(t.count - 1, t.count * 99 / 100)], u[u.count / 2], u[min(u.count - 1, u.count * 99 / 100)]))
    }
}

/// A full sync from the node at ADDR into fresh stores in DIR, without and with the search
/// index (the whole pull, as `folio sync --pull-only` makes it), deflated with `deflate` (as
/// over a real link; through a proxy on loopback `--compress auto` would not). Prints
/// "with without" (s).
func syncCost(_ address: String, _ dir: String, deflate: Bool = false) async throws {
    var times: [Double] = []
    for (name, index) in [("pull-without", false), ("pull-with", true)] {
        var o = Store.Options()
        o.maintainSearchIndex = index
        o.mapSize = 1 << 30
        let path = dir + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        let s = try Store.create(at: path, options: o)
        var options = FolioClient.Options()
        options.compression = deflate ? .always : .never
        let client = try await FolioClient.connect(to: address, options: options)
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try await Replicator(store: s).pull(from: client)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        try await client.close()
        s.close()
    }
    print(String(format: "%.3f %.3f", times[1], times[0]))
}

/// What each stage of building the index costs on one core, with the articles of FILE already
/// in memory: tokenizing alone (every term handed to a no-op), then tokenizing into each
/// document's term table (what the importer's reading thread prepares), against parsing the
/// same JSON lines. Prints "parse tokenize prepare" (s) and the text's MB.
func indexStages(_ file: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: file))
    let lines = data.split(separator: UInt8(ascii: "\n"))
    var articles: [Article] = []
    articles.reserveCapacity(lines.count)
    let parse = try timeSeconds {
        for line in lines { articles.append(try Article(json: JSONParser.parse(line))) }
    }
    var textBytes = 0
    for a in articles { textBytes += a.title.utf8.count + a.body.utf8.count + a.source.utf8.count + a.tags.reduce(0) { $0 + $1.utf8.count } }
    var terms = 0
    let tokenize = timeSeconds {
        for a in articles {
            for field in [a.title, a.body, a.source] + a.tags { SearchText.forEachTermBytes(field) { terms &+= $0.count } }
        }
    }
    var kept = 0
    let prepare = timeSeconds {
        let cache = FoldCache()
        var lexicon = TermLexicon(foldCache: cache)
        for (i, a) in articles.enumerated() {
            // A lexicon per 1 000 articles, as the importer's batches have (one fold cache).
            if i % 1000 == 0 { lexicon = TermLexicon(foldCache: cache) }
            let d = PreparedSearchDocument(title: a.title, body: a.body, source: a.source, tags: a.tags, published: a.published, lexicon: lexicon)
            withExtendedLifetime(d) { kept &+= 1 }
        }
    }
    FileHandle.standardError.write(Data("\(articles.count) articles, \(terms) term bytes, \(kept) prepared\n".utf8))
    print(String(format: "%.3f %.3f %.3f %.1f", parse, tokenize, prepare, Double(textBytes) / 1e6))
}
