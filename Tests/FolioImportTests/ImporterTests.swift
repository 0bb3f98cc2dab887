import FolioTestSupport
import Foundation
import XCTest

@testable import FolioModel
@testable import FolioStore
@testable import FolioImport

final class ImporterTests: XCTestCase {
    func write(_ path: String, _ text: String) {
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    func testImportsBothFormatsRecursivelyAndReimportIsUnchanged() throws {
        let s = try makeStore(self)
        let importer = Importer(store: s)
        let first = try importer.run(paths: [samplesDirectory])
        XCTAssertEqual(first.files, 5)
        XCTAssertEqual(first.added, 9)
        XCTAssertEqual(first.rejected, [])
        let again = try importer.run(paths: [samplesDirectory])
        XCTAssertEqual([again.added, again.updated, again.unchanged], [0, 0, 9])
        XCTAssertEqual(try s.lastSequence(), 9, "a re-import writes nothing")
        XCTAssertNotNil(try s.get("coastal-gazette/harbour-ferry-returns-after-two-year-restoration"))
        XCTAssertEqual(try s.get("world/2026-11-23-tokyo-exhibit")?.article?.title, "東京で古地図展が開幕")
    }

    func testABrokenFileIsReportedPreciselyAndTheRestLands() throws {
        let dir = temporaryDirectory(self)
        write(dir + "/good.jsonl", #"{"id":"g1","title":"one"}"# + "\n\n" + #"{"id":"g2","title":"two"}"# + "\n")
        write(dir + "/sub/bad.jsonl", #"{"id":"b1","title":"fine"}"# + "\n" + #"{"id":"b2","published":"2026-02-30"}"# + "\n" + #"{"id":"b3","title":"cut of"#)
        write(dir + "/sub/deeper/page.txt", "A page\n\nA page\n\nWire - Text.\n")
        write(dir + "/sub/empty.txt", "")
        write(dir + "/notes.md", "# not an article")
        write(dir + "/.hidden/x.jsonl", "garbage")
        let s = try makeStore(self)
        let r = try Importer(store: s).run(paths: [dir, dir + "/missing.jsonl"])
        XCTAssertEqual(r.added, 4)
        XCTAssertEqual(r.rejected.map(\.description), [
            dir + "/missing.jsonl: no such file or directory",
            dir + "/sub/bad.jsonl:2: field \"published\": \"2026-02-30\" is not an ISO-8601 date or date-time: day 30 does not exist in month 2",
            dir + "/sub/bad.jsonl:3: invalid JSON at column 20: unterminated string (truncated record?)",
            dir + "/sub/empty.txt:1: the file is empty",
        ])
        XCTAssertEqual(r.skipped.map(\.path), [dir + "/.hidden", dir + "/notes.md"])
        XCTAssertTrue(r.skipped[0].reason.contains("hidden"))
        XCTAssertEqual(Set(try s.list().map(\.id)), ["g1", "g2", "b1", "wire/a-page"])
    }

    func testStrictModeWritesNothingWhenAnyRecordIsBad() throws {
        let dir = temporaryDirectory(self)
        write(dir + "/a.jsonl", #"{"id":"s1"}"# + "\n" + #"{"id":"s2","tags":"x"}"# + "\n")
        let s = try makeStore(self)
        var o = Importer.Options()
        o.strict = true
        let r = try Importer(store: s, options: o).run(paths: [dir])
        XCTAssertTrue(r.aborted)
        XCTAssertEqual(r.rejected.count, 1)
        XCTAssertEqual(try s.lastSequence(), 0)
        write(dir + "/a.jsonl", #"{"id":"s1"}"# + "\n")
        XCTAssertEqual(try Importer(store: s, options: o).run(paths: [dir]).added, 1)
    }

    func testBatchesKeepMemoryBoundedAndCountsStayExact() throws {
        let dir = temporaryDirectory(self)
        var text = ""
        for i in 0..<5000 { text += #"{"id":"n\#(i)","title":"t","body":"\#(String(repeating: "z", count: 100))\#(i)"}"# + "\n" }
        write(dir + "/many.jsonl", text)
        let s = try makeStore(self)
        var o = Importer.Options()
        o.batchSize = 333
        var progressCalls = 0
        let r = try Importer(store: s, options: o).run(paths: [dir]) { _ in progressCalls += 1 }
        XCTAssertEqual(r.added, 5000)
        XCTAssertGreaterThan(progressCalls, 0)
        XCTAssertEqual(try s.statistics().liveArticles, 5000)
        XCTAssertTrue(try s.verify().isClean)
    }

    /// A write that fails mid-import (here: another process rebuilt the index under other
    /// rules, so every write refuses) stops it: the batches already prepared behind the failed
    /// one are not written, and the failure's report counts exactly what was committed — a
    /// prefix of the input.
    func testAFailedWriteStopsTheImportAndTheReportCountsWhatWasCommitted() throws {
        let dir = temporaryDirectory(self)
        var text = ""
        for i in 0..<6000 { text += #"{"id":"n\#(String(format: "%05d", i))","title":"t","body":"word\#(i) text"}"# + "\n" }
        write(dir + "/many.jsonl", text)
        let s = try makeStore(self)
        var o = Importer.Options()
        o.batchSize = 100
        let meta = s.dbs.meta
        let ours = try s.env.read { try Meta.u64(Meta.searchVersion, meta, $0) }
        var records = 0
        var marked = false
        // Progress comes on the importer's thread after 1 024 records: the index is then marked
        // as another process's (the batches read so far may or may not be written by then).
        let progress: (Importer.Progress) -> Void = { p in
            records = p.records
            guard !marked else { return }
            marked = true
            do {
                try s.env.write { try $0.put(meta, key: Meta.searchVersion, value: UInt64(0).bigEndianBytes) }
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try Importer(store: s, options: o).run(paths: [dir], progress: progress)) { e in
            guard let f = e as? Importer.Failure else { return XCTFail("\(e)") }
            guard case StoreError.changedSinceOpen = f.error else { return XCTFail("\(f.error)") }
            let held = (try? s.list(prefix: "").map(\.id)) ?? []
            XCTAssertEqual(f.report.added, held.count)
            XCTAssertEqual(held.count % 100, 0, "whole batches only")
            XCTAssertLessThan(held.count, 1100)
            XCTAssertEqual(held, (0..<held.count).map { "n" + String(format: "%05d", $0) }, "a prefix of the input")
        }
        XCTAssertLessThan(records, 6000, "reading stopped at the failure")
        try s.env.write { try $0.put(meta, key: Meta.searchVersion, value: ours.bigEndianBytes) }
        XCTAssertTrue(try s.verify().isClean)
    }

    /// Version records of two ids that differ only in normalization (é precomposed, e +
    /// U+0301), one after the other, restore two articles: a run of records is one
    /// article's only when the ids are the same bytes.
    func testVersionRecordsOfCanonicallyEquivalentIdsRestoreTwoArticles() throws {
        let a = try makeStore(self)
        let ids = ["caf\u{E9}/1", "cafe\u{301}/1"]
        try a.write { w in for (i, id) in ids.enumerated() { try w.put(Article(id: id, title: "t", body: "word\(i)")) } }
        var lines = ""
        try a.forEach { st in for v in st.versions.versions { lines += VersionJSON.exportLine(st, v) + "\n" } }
        let dir = temporaryDirectory(self)
        write(dir + "/all.jsonl", lines)
        let b = try makeStore(self)
        let r = try Importer(store: b).run(paths: [dir + "/all.jsonl"])
        XCTAssertEqual(r.restored, 2)
        XCTAssertEqual(try b.list().map { Array($0.id.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }, ids.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        XCTAssertTrue(try b.verify().isClean)
    }

    func testOversizedLineIsRejectedWithoutBufferingIt() throws {
        let dir = temporaryDirectory(self)
        var o = Store.Options()
        o.limits = ArticleLimits(maxBodyBytes: 1000)
        let s = try Store.create(at: dir + "/store", options: o)
        defer { s.close() }
        let huge = #"{"id":"big","body":""# + String(repeating: "q", count: 3 << 20) + "\"}"
        write(dir + "/in.jsonl", #"{"id":"small"}"# + "\n" + huge + "\n" + #"{"id":"after"}"# + "\n")
        let r = try Importer(store: s).run(paths: [dir + "/in.jsonl"])
        XCTAssertEqual(r.added, 2)
        XCTAssertEqual(r.rejected.count, 1)
        XCTAssertEqual(r.rejected.first?.line, 2)
        XCTAssertTrue(r.rejected.first?.reason.contains("line limit") ?? false, "\(r.rejected)")
    }

    /// import(export(store)) reproduces the same articles byte for byte; --all-versions
    /// export restores conflicts and tombstones exactly.
    func testExportImportRoundTrips() throws {
        let a = try makeStore(self)
        _ = try Importer(store: a).run(paths: [samplesDirectory])
        let ctx = try XCTUnwrap(a.get("wire/2026-11-20-port-strike")).context
        try a.write { try $0.put(Article(id: "wire/2026-11-20-port-strike", title: "Sibling ✓", body: "x"), context: ctx) }
        try a.write { try $0.put(Article(id: "wire/2026-11-20-port-strike", title: "Sibling 2", body: "y"), context: ctx) }
        try a.write { try $0.delete("kultur/2026-11-22-bibliothek") }

        func export(_ s: Store, all: Bool) throws -> String {
            var out = ""
            try s.forEach(includeDeleted: all) { st in
                if all {
                    for v in st.versions.versions { out += VersionJSON.exportLine(st, v) + "\n" }
                } else if let art = st.article {
                    out += art.jsonLine + "\n"
                }
            }
            return out
        }
        let dir = temporaryDirectory(self)
        let plain = try export(a, all: false)
        write(dir + "/plain.jsonl", plain)
        let b = try makeStore(self)
        XCTAssertEqual(try Importer(store: b).run(paths: [dir + "/plain.jsonl"]).rejected, [])
        XCTAssertEqual(try export(b, all: false), plain)

        let full = try export(a, all: true)
        write(dir + "/full.jsonl", full)
        let c = try makeStore(self)
        let r = try Importer(store: c).run(paths: [dir + "/full.jsonl"])
        XCTAssertEqual(r.rejected, [])
        XCTAssertEqual(try export(c, all: true), full)
        XCTAssertEqual(try c.get("wire/2026-11-20-port-strike")?.versions, try a.get("wire/2026-11-20-port-strike")?.versions)
        XCTAssertTrue(try c.get("kultur/2026-11-22-bibliothek")?.isDeleted ?? false)
        XCTAssertEqual(try c.statistics().articlesInConflict, 1)
        // Restoring again changes nothing.
        XCTAssertEqual(try Importer(store: c).run(paths: [dir + "/full.jsonl"]).restored, 0)
        XCTAssertTrue(try c.verify().isClean)
    }
    /// Two stores' `--all-versions` exports of the same articles, concatenated in either order,
    /// restore the same sets: a record that does not follow the one before by dot starts
    /// another store's set, merged as that store's whole set (it once made the importer send
    /// both stores' records as one unsorted set, and the store refused it: exit 3). A store
    /// whose version supersedes the other's keeps only it, whichever comes first.
    func testConcatenatedExportsOfSeveralStoresRestoreInEitherOrder() throws {
        let a = try makeStore(self), b = try makeStore(self)
        try a.write { try $0.put(Article(id: "k/1", title: "from a", body: "alpha words")) }
        try b.write { try $0.put(Article(id: "k/1", title: "from b", body: "beta words")) }
        // k/2: b saw a's version and replaced it.
        try a.write { try $0.put(Article(id: "k/2", title: "first", body: "old text")) }
        let seen = try XCTUnwrap(a.get("k/2"))
        let bodies = Dictionary(uniqueKeysWithValues: seen.versions.versions.compactMap(\.content).map { ($0.bodyHash, seen.bodies[$0.bodyHash]!) })
        try b.write { _ = try $0.merge(id: "k/2", versions: seen.versions.versions, bodies: bodies) }
        try b.write { try $0.put(Article(id: "k/2", title: "second", body: "new text")) }
        func export(_ s: Store, _ id: String) throws -> String {
            let st = try XCTUnwrap(s.get(id))
            return st.versions.versions.map { VersionJSON.exportLine(st, $0) + "\n" }.joined()
        }
        // Each article's records from both stores one after the other, as `cat` of two
        // one-article exports gives them.
        let dir = temporaryDirectory(self)
        write(dir + "/ab.jsonl", try ["k/1", "k/2"].map { try export(a, $0) + export(b, $0) }.joined())
        write(dir + "/ba.jsonl", try ["k/1", "k/2"].map { try export(b, $0) + export(a, $0) }.joined())
        var sets: [[Version]] = []
        for name in ["ab", "ba"] {
            let c = try makeStore(self)
            let r = try Importer(store: c).run(paths: [dir + "/\(name).jsonl"])
            XCTAssertEqual(r.rejected, [], name)
            XCTAssertEqual(try c.get("k/1")?.versions.versions.count, 2, name)
            XCTAssertEqual(try c.get("k/2")?.versions.versions.count, 1, name)
            XCTAssertEqual(try c.get("k/2")?.article?.title, "second", name)
            XCTAssertTrue(try c.verify().isClean, name)
            XCTAssertEqual(try c.search(SearchQuery(parsing: "words"), limit: 10).map(\.id), ["k/1"], name)
            XCTAssertEqual(try c.search(SearchQuery(parsing: "old"), limit: 10).map(\.id), [], name)
            sets.append(try XCTUnwrap(c.get("k/1")).versions.versions + XCTUnwrap(c.get("k/2")).versions.versions)
        }
        XCTAssertEqual(sets[0], sets[1])
    }
}
