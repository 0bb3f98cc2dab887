// Benchmark driver for tools/bench-import and tools/bench-server (not a test).
//
//   folio-bench generate N DIR     writes DIR/articles.jsonl (N deterministic ~3 KB articles),
//                                  DIR/anchor.dump (mdb_load input: same keys, same value sizes)
//                                  and DIR/ids.txt
//   folio-bench reads STORE ANCHOR IDS [ROUNDS]
//                                  point reads of every id through the Folio library, and a
//                                  plain LMDB read loop over the same keys in ANCHOR; prints
//                                  reads/s for each and the ratio
//   folio-bench search-corpus N DIR / index-cost JSONL DIR / index-stages JSONL / index-floor JSONL DIR / search STORE QUERIES OUT [ROUNDS]
//                                  tools/bench-search (see SearchBench.swift)
//   folio-bench load ADDR fill|get|put CONNECTIONS REQUESTS SIZE KEYS
//                                  drives a node from CONNECTIONS clients; prints
//                                  "op ops/s p50_ms p99_ms"
import CLMDB
import FolioImport
import FolioModel
import FolioStore
import FolioClient
import Foundation
import LMDB

typealias Generator = SplitMix64

let words = """
    harbour council archive ferry glacier survey orchid verge station winter timetable night train port \
    strike union wage deal container museum library exhibition telescope nebula mountain valley river \
    bridge market election budget minister policy school hospital research university climate storm \
    coast island village city district road tunnel airport festival theatre concert report agency
    """.split(separator: " ").map(String.init)

func generate(_ n: Int, _ dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var rng = Generator(seed: 20261129)
    for f in ["articles.jsonl", "anchor.dump", "ids.txt"] { _ = FileManager.default.createFile(atPath: dir + "/" + f, contents: nil) }
    let jsonl = FileHandle(forWritingAtPath: dir + "/articles.jsonl")!
    let dump = FileHandle(forWritingAtPath: dir + "/anchor.dump")!
    let ids = FileHandle(forWritingAtPath: dir + "/ids.txt")!
    dump.write(Data("VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=\(16 << 30)\nHEADER=END\n".utf8))
    var jbuf: [UInt8] = [], dbuf: [UInt8] = [], ibuf: [UInt8] = []
    let hex = Array("0123456789abcdef".utf8)
    func hexLine(_ bytes: some Sequence<UInt8>) {
        dbuf.append(0x20)
        for b in bytes {
            dbuf.append(hex[Int(b >> 4)])
            dbuf.append(hex[Int(b & 15)])
        }
        dbuf.append(0x0A)
    }
    // Words from the search benchmark's Zipf vocabulary (40 000 words, as news text has),
    // so the search index costs here what it costs on real archives.
    let corpus = Corpus(seed: 20261130)
    var wordRNG = SplitMix64(seed: 20261130)
    for i in 0..<n {
        var body = ""
        while body.utf8.count < 2900 {
            var sentence = (0..<Int.random(in: 8...16, using: &rng)).map { _ in corpus.word(&wordRNG) }.joined(separator: " ")
            sentence = sentence.prefix(1).uppercased() + sentence.dropFirst() + ". "
            body += sentence
            if Int.random(in: 0..<6, using: &rng) == 0 { body += "\n\n" }
        }
        let id = String(format: "bench/%07d", i)
        let a = Article(
            id: id, title: (0..<6).map { _ in corpus.word(&wordRNG) }.joined(separator: " ").capitalized,
            source: ["Nordic Wire", "Coastal Gazette", "Asia Desk"][i % 3], url: "https://example.org/\(id)",
            published: String(format: "2026-%02d-%02d", 1 + i % 12, 1 + i % 28), body: body, tags: [words[i % words.count]])
        let line = a.jsonLine
        jbuf.append(contentsOf: line.utf8)
        jbuf.append(0x0A)
        ibuf.append(contentsOf: (id + "\n").utf8)
        // Anchor: the same key and a value of the same size as the stored article.
        hexLine(id.utf8)
        hexLine(line.utf8)
        if jbuf.count > 4 << 20 {
            jsonl.write(Data(jbuf)); dump.write(Data(dbuf)); ids.write(Data(ibuf))
            jbuf.removeAll(keepingCapacity: true); dbuf.removeAll(keepingCapacity: true); ibuf.removeAll(keepingCapacity: true)
        }
    }
    dbuf.append(contentsOf: "DATA=END\n".utf8)
    jsonl.write(Data(jbuf)); dump.write(Data(dbuf)); ids.write(Data(ibuf))
    for h in [jsonl, dump, ids] { try h.close() }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func reads(store path: String, anchor: String, idsFile: String, rounds: Int) throws {
    let ids = try String(contentsOfFile: idsFile, encoding: .utf8).split(separator: "\n").map(String.init)
    var o = Store.Options()
    o.readOnly = true
    let store = try Store.open(at: path, options: o)
    var ao = Environment.Options()
    ao.readOnly = true
    let env = try Environment(path: anchor, options: ao)
    // mdb_load without -s loads into the main (unnamed) database.
    let main = try env.openDatabases([("", [])])
    _ = main
    var folioBest = Double.infinity, rawBest = Double.infinity, stateBest = Double.infinity
    var bytes = 0
    for _ in 0..<rounds {
        // The point read: the winning article, decoded from the page (`Store.article`).
        folioBest = min(folioBest, try seconds {
            for id in ids {
                guard let a = try store.article(id) else { fatalError("missing \(id)") }
                bytes &+= a.body.utf8.count
            }
        })
        // Every version decoded, the winner's body loaded (`Store.get`).
        stateBest = min(stateBest, try seconds {
            for id in ids {
                guard let a = try store.get(id)?.article else { fatalError("missing \(id)") }
                bytes &+= a.body.utf8.count
            }
        })
        rawBest = min(rawBest, try seconds {
            for id in ids {
                // One read transaction per point read, value copied out: what any reader must do.
                let v = try env.read { txn in try txn.get(main[0], key: Array(id.utf8)) }
                guard let v else { fatalError("anchor missing \(id)") }
                bytes &+= v.count
            }
        })
    }
    // Where the time goes: the article record alone (no body), for the closing note.
    var metaBest = Double.infinity
    for _ in 0..<rounds {
        metaBest = min(metaBest, try seconds {
            for id in ids {
                guard let s = try store.get(id, bodies: .none) else { fatalError("missing \(id)") }
                bytes &+= s.versions.versions.count
            }
        })
    }
    let n = Double(ids.count)
    print(String(format: "  (folio get, every version decoded: %.0f/s, ratio %.2f; without the body: %.0f/s)", n / stateBest, rawBest / stateBest, n / metaBest))
    print(String(format: "point reads: folio %.0f/s, raw LMDB %.0f/s, ratio %.2f (target >= 0.80)  [%d keys, best of %d]",
                 n / folioBest, n / rawBest, rawBest / folioBest, ids.count, rounds))
    if bytes == 42 { print("") }  // keep the reads observable
}

/// Drives a node from `connections` clients, each with one request outstanding (like
/// redis-benchmark's default), for `requests` operations in total; prints ops/s and latency.
func load(address: String, op: String, connections: Int, requests: Int, size: Int, keys: Int) async throws {
    // Bodies of news-like text (the Zipf vocabulary of tools/bench-search), 64 of them, so a
    // put indexes what a real article costs to index (a run of one letter is a single term).
    let corpus = Corpus(seed: 7)
    var wordRNG = SplitMix64(seed: 7)
    let bodies: [String] = (0..<64).map { _ in
        var b = ""
        while b.utf8.count < size { b += corpus.word(&wordRNG) + " " }
        return String(b.utf8.prefix(size))!
    }
    let body = bodies[0]
    let clients = try await withThrowingTaskGroup(of: FolioClient.self) { g in
        // FOLIO_KEY_FILE: connect over TLS with the mesh key (tools/bench-tls).
        let key = try ProcessInfo.processInfo.environment["FOLIO_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }.map { try SharedKey(file: $0) }
        for _ in 0..<connections { g.addTask { try await FolioClient.connect(to: address, key: key) } }
        return try await g.reduce(into: []) { $0.append($1) }
    }
    if op == "fill" {
        // Store every key once (what the gets will read), timed and charged apart from them.
        try await withThrowingTaskGroup(of: Void.self) { g in
            for (c, client) in clients.enumerated() {
                g.addTask {
                    for k in stride(from: c, to: keys, by: connections) {
                        try await client.put(Article(id: "key:\(k)", title: "t", body: body))
                    }
                }
            }
            try await g.waitForAll()
        }
        return
    }
    let perClient = requests / connections
    let clock = ContinuousClock()
    let start = clock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { g in
        for (c, client) in clients.enumerated() {
            g.addTask {
                var rng = Generator(seed: UInt64(c + 1))
                var lat: [Double] = []
                lat.reserveCapacity(perClient)
                for i in 0..<perClient {
                    let k = Int.random(in: 0..<keys, using: &rng)
                    let t0 = clock.now
                    if op == "get" {
                        _ = try await client.get("key:\(k)")
                    } else {
                        // Another body each time: a put replaces the article's terms in the index.
                        try await client.put(Article(id: "key:\(k)", title: "t", body: bodies[(i + c) % bodies.count]))
                    }
                    let d = clock.now - t0
                    lat.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
                }
                return lat
            }
        }
        return try await g.reduce(into: [Double]()) { $0 += $1 }
    }
    let elapsed = clock.now - start
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let sorted = latencies.sorted()
    func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    print(String(format: "%@ %.0f %.3f %.3f", op, Double(latencies.count) / secs, pct(0.5), pct(0.99)))
    for c in clients { try? await c.close() }
}

/// Point reads of `count` ids drawn at random from `idsFile`, through the library: reads/s.
func storeReads(store path: String, idsFile: String, count: Int) throws {
    let ids = try String(contentsOfFile: idsFile, encoding: .utf8).split(separator: "\n").map(String.init)
    var o = Store.Options()
    o.readOnly = true
    let store = try Store.open(at: path, options: o)
    var rng = Generator(seed: 7)
    let picks = (0..<count).map { _ in ids[Int.random(in: 0..<ids.count, using: &rng)] }
    var bytes = 0
    let secs = try seconds {
        for id in picks {
            guard let a = try store.article(id) else { fatalError("missing \(id)") }
            bytes &+= a.body.utf8.count
        }
    }
    print(String(format: "%.0f", Double(count) / secs))
}

let args = CommandLine.arguments
switch args.dropFirst().first {
case "store-reads" where args.count == 5:
    try storeReads(store: args[2], idsFile: args[3], count: Int(args[4])!)
case "load" where args.count == 8:
    try await load(address: args[2], op: args[3], connections: Int(args[4])!, requests: Int(args[5])!, size: Int(args[6])!, keys: Int(args[7])!)
case "generate" where args.count == 4:
    try generate(Int(args[2])!, args[3])
case "search-corpus" where args.count == 4:
    try searchCorpus(Int(args[2])!, args[3])
case "index-cost" where args.count == 4:
    try indexCost(args[2], args[3])
case "index-floor" where args.count == 4:
    try indexFloor(args[2], args[3])
case "index-stages" where args.count == 3:
    try indexStages(args[2])
case "sync-cost" where args.count == 4 || (args.count == 5 && args[4] == "deflate"):
    try await syncCost(args[2], args[3], deflate: args.count == 5)
case "search" where args.count >= 5:
    try searchQueries(args[2], args[3], args[4], rounds: args.count > 5 ? Int(args[5])! : 5)
case "reads" where args.count >= 5:
    try reads(store: args[2], anchor: args[3], idsFile: args[4], rounds: args.count > 5 ? Int(args[5])! : 3)
default:
    FileHandle.standardError.write(Data("usage: folio-bench generate N DIR | search-corpus N DIR | index-cost JSONL DIR | index-stages JSONL | index-floor JSONL DIR | sync-cost ADDR DIR [deflate] | search STORE QUERIES OUT [ROUNDS] | reads STORE ANCHOR IDS [ROUNDS] | store-reads STORE IDS COUNT | load ADDR fill|get|put CONNECTIONS REQUESTS SIZE KEYS\n".utf8))
    exit(2)
}
