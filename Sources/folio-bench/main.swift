// Benchmark driver for tools/bench-import (not a test).
//
//   folio-bench generate N DIR     writes DIR/articles.jsonl (N deterministic ~3 KB articles),
//                                  DIR/anchor.dump (mdb_load input: same keys, same value sizes)
//                                  and DIR/ids.txt
//   folio-bench reads STORE ANCHOR IDS [ROUNDS]
//                                  point reads of every id through the Folio library, and a
//                                  plain LMDB read loop over the same keys in ANCHOR; prints
//                                  reads/s for each and the ratio
import CLMDB
import Folio
import Foundation
import LMDB

struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let words = """
    harbour council archive ferry glacier survey orchid verge station winter timetable night train port \
    strike union wage deal container museum library exhibition telescope nebula mountain valley river \
    bridge market election budget minister policy school hospital research university climate storm \
    coast island village city district road tunnel airport festival theatre concert report agency
    """.split(separator: " ").map(String.init)

func generate(_ n: Int, _ dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var rng = Generator(state: 20261129)
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
    for i in 0..<n {
        var body = ""
        while body.utf8.count < 2900 {
            var sentence = (0..<Int.random(in: 8...16, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            sentence = sentence.prefix(1).uppercased() + sentence.dropFirst() + ". "
            body += sentence
            if Int.random(in: 0..<6, using: &rng) == 0 { body += "\n\n" }
        }
        let id = String(format: "bench/%07d", i)
        let a = Article(
            id: id, title: (0..<6).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ").capitalized,
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
    var folioBest = Double.infinity, rawBest = Double.infinity
    var bytes = 0
    for _ in 0..<rounds {
        folioBest = min(folioBest, try seconds {
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
    let n = Double(ids.count)
    print(String(format: "point reads: folio %.0f/s, raw LMDB %.0f/s, ratio %.2f (target >= 0.50)  [%d keys, best of %d]",
                 n / folioBest, n / rawBest, rawBest / folioBest, ids.count, rounds))
    if bytes == 42 { print("") }  // keep the reads observable
}

let args = CommandLine.arguments
switch args.dropFirst().first {
case "generate" where args.count == 4:
    try generate(Int(args[2])!, args[3])
case "reads" where args.count >= 5:
    try reads(store: args[2], anchor: args[3], idsFile: args[4], rounds: args.count > 5 ? Int(args[5])! : 3)
default:
    FileHandle.standardError.write(Data("usage: folio-bench generate N DIR | reads STORE ANCHOR IDS [ROUNDS]\n".utf8))
    exit(2)
}
