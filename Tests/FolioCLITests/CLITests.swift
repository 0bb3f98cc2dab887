import Foundation
import XCTest

final class CLITests: XCTestCase {
    var data: String!

    override func setUpWithError() throws {
        data = temporaryDirectory(self) + "/store"
        let r = try CLI.run(["init", "--data", data])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .newlines).count, 16, "init prints the node id")
    }

    func folio(_ args: String..., stdin: String? = nil) throws -> CLIResult {
        try CLI.run(args + ["--data", data], stdin: stdin)
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testInitRefusesToOverwriteAndUsageErrorsExit2() throws {
        let again = try folio("init")
        XCTAssertEqual(again.code, 3)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
        XCTAssertEqual(try folio("ls", "--limit", "0").code, 2)
        XCTAssertEqual(try CLI.run(["frobnicate"]).code, 2)
        XCTAssertEqual(try folio("put").code, 2)
        XCTAssertEqual(try folio("resolve", "x").code, 2)
        let help = try CLI.run(["import", "--help"])
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.stdout.contains("Examples:"), help.stdout)
        // Every command's help reads as prose: no line ends in a stray backslash (a doubled
        // line continuation in the source prints one).
        let commands = try CLI.run(["--help"]).stdout.components(separatedBy: "SUBCOMMANDS:").last!
            .split(separator: "\n").compactMap { line in line.hasPrefix("  ") && !line.hasPrefix("   ") ? line.split(separator: " ").first.map(String.init) : nil }
        XCTAssertGreaterThan(commands.count, 15, "\(commands)")
        for c in commands {
            let h = try CLI.run([c, "--help"])
            XCTAssertEqual(h.code, 0, c)
            XCTAssertFalse(h.stdout.split(separator: "\n").contains { $0.hasSuffix("\\") }, "\(c) --help:\n\(h.stdout)")
        }
        let noStore = try CLI.run(["ls", "--data", data + "-missing"])
        XCTAssertEqual(noStore.code, 3)
        XCTAssertTrue(noStore.stderr.contains("no Folio store"), noStore.stderr)
    }

    func testImportListGetAndTheDataEnvironmentVariable() throws {
        let imp = try folio("import", CLI.samples)
        XCTAssertEqual(imp.code, 0, imp.stderr)
        XCTAssertTrue(imp.stderr.contains("9 added, 0 updated, 0 unchanged"), imp.stderr)
        XCTAssertTrue(try folio("import", CLI.samples).stderr.contains("0 added, 0 updated, 9 unchanged"))

        let ls = try CLI.run(["ls", "--prefix", "world/"], env: ["FOLIO_DATA": data])
        XCTAssertEqual(ls.code, 0)
        XCTAssertEqual(ls.stdout.split(separator: "\n").map { $0.split(separator: "\t")[0] }, ["world/2026-11-23-tokyo-exhibit", "world/2026-11-24-andes-telescope"])
        let page = try folio("ls", "--limit", "2", "--json")
        XCTAssertEqual(page.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(page.stderr.contains("--after"), page.stderr)

        let get = try folio("get", "coastal-gazette/harbour-ferry-returns-after-two-year-restoration")
        XCTAssertEqual(get.code, 0)
        XCTAssertTrue(get.stdout.contains("source:    Coastal Gazette"))
        let g = try json(folio("get", "world/2026-11-23-tokyo-exhibit", "--json").stdout)
        XCTAssertEqual((g["article"] as? [String: Any])?["title"] as? String, "東京で古地図展が開幕")
        XCTAssertNotNil(g["version"] as? [String: Any])
        XCTAssertEqual((g["conflicts"] as? [Any])?.count, 0)
        XCTAssertTrue((g["context"] as? String)?.hasPrefix("c2.") ?? false)

        let missing = try folio("get", "no/such")
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.stderr.contains("not found"))
    }

    func testReadModifyWriteWithContextsConflictsAndResolve() throws {
        XCTAssertEqual(try folio("put", "notes/1", "--title", "First", "--tag", "draft", "--body-file", "-", stdin: "Body one").code, 0)
        let context = try XCTUnwrap(json(folio("get", "notes/1", "--json").stdout)["context"] as? String)
        // Two scripts read the same context and both write: two siblings, nothing lost.
        XCTAssertEqual(try folio("put", "notes/1", "--title", "Edit A", "--context", context).code, 0)
        let second = try folio("put", "notes/1", "--title", "Edit B", "--context", context)
        XCTAssertEqual(second.code, 0)
        XCTAssertTrue(second.stderr.contains("2 sibling versions"), second.stderr)
        let conflicts = try folio("conflicts")
        XCTAssertEqual(conflicts.code, 1)
        XCTAssertTrue(conflicts.stdout.hasPrefix("notes/1\t2 versions"), conflicts.stdout)
        let all = try folio("get", "notes/1", "--all")
        XCTAssertTrue(all.stdout.contains("version 1 of 2") && all.stdout.contains("version 2 of 2"), all.stdout)
        let g = try json(folio("get", "notes/1", "--json").stdout)
        XCTAssertEqual((g["conflicts"] as? [Any])?.count, 1)
        XCTAssertEqual(((g["article"] as? [String: Any])?["tags"] as? [String]), ["draft"], "unspecified fields keep their values")
        XCTAssertEqual(((g["article"] as? [String: Any])?["body"] as? String), "Body one")

        // Keep version 1 (by number, as `get --all` shows it).
        let firstTitle = all.stdout.components(separatedBy: "\n").first { $0.hasPrefix("title:") }!
        XCTAssertEqual(try folio("resolve", "notes/1", "--keep", "1").code, 0)
        XCTAssertEqual(try folio("conflicts").code, 0)
        XCTAssertTrue(try folio("get", "notes/1").stdout.contains(firstTitle))
        XCTAssertEqual(try folio("resolve", "notes/1", "--keep", "9").code, 1)

        // A write with the context of both supersedes them.
        let c2 = try XCTUnwrap(json(folio("get", "notes/1", "--json").stdout)["context"] as? String)
        XCTAssertEqual(try folio("put", "notes/1", "--title", "Final", "--context", c2).code, 0)
        XCTAssertEqual((try json(folio("get", "notes/1", "--json").stdout)["conflicts"] as? [Any])?.count, 0)
        XCTAssertEqual(try folio("put", "notes/1", "--title", "x", "--context", "bogus").code, 2)  // a malformed flag value is a usage error

        XCTAssertEqual(try folio("rm", "notes/1").code, 0)
        XCTAssertEqual(try folio("get", "notes/1").code, 1)
        XCTAssertEqual(try folio("rm", "notes/1").code, 1)
    }

    func testPutJSONIsAllOrNothing() throws {
        let bad = try folio("put", "--file", "-", stdin: #"{"id":"p1","title":"ok"}"# + "\n" + #"{"id":"p2","published":"soon"}"# + "\n")
        XCTAssertEqual(bad.code, 4)
        XCTAssertTrue(bad.stderr.contains("stdin:2: field \"published\""), bad.stderr)
        XCTAssertEqual(try folio("get", "p1").code, 1, "nothing was written")
        let good = try folio("put", "--file", "-", stdin: #"[{"id":"p1"},{"id":"p2","title":"two"}]"#)
        XCTAssertEqual(good.code, 0, good.stderr)
        XCTAssertEqual(good.stdout.split(separator: "\n").count, 2)
    }

    func testABrokenFileGetsAPreciseErrorWhileTheRestLands() throws {
        let dir = temporaryDirectory(self) + "/incoming"
        try FileManager.default.copyItem(atPath: CLI.samples, toPath: dir)
        // Break one file on purpose: cut the last record of the JSON Lines file in half.
        let jsonl = dir + "/articles.jsonl"
        let text = try String(contentsOfFile: jsonl, encoding: .utf8)
        writeFile(jsonl, String(text.dropLast(80)))
        writeFile(dir + "/pages/broken.txt", "Just a title\n")
        let r = try folio("import", dir)
        XCTAssertEqual(r.code, 4)
        XCTAssertTrue(r.stderr.contains("\(jsonl):5: invalid JSON"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\(dir)/pages/broken.txt:1: no body text"), r.stderr)
        XCTAssertTrue(r.stderr.contains("8 added") && r.stderr.contains("2 rejected"), r.stderr)
        XCTAssertEqual(try folio("ls").stdout.split(separator: "\n").count, 8)
        let strict = try CLI.run(["import", "--strict", dir, "--data", temporaryDirectory(self) + "/none"])
        XCTAssertEqual(strict.code, 3, "no store there")
    }

    func testExportImportIsByteForByteAndStockLMDBToolsReadTheStore() throws {
        XCTAssertEqual(try folio("import", CLI.samples).code, 0)
        let dir = temporaryDirectory(self)
        let export = try folio("export", "--out", dir + "/out.jsonl")
        XCTAssertEqual(export.code, 0, export.stderr)
        let other = dir + "/other"
        XCTAssertEqual(try CLI.run(["init", "--data", other]).code, 0)
        XCTAssertEqual(try CLI.run(["import", dir + "/out.jsonl", "--data", other]).code, 0)
        let again = try CLI.run(["export", "--data", other])
        XCTAssertEqual(again.stdout, try String(contentsOfFile: dir + "/out.jsonl", encoding: .utf8))
        XCTAssertTrue(again.stdout.contains("東京で古地図展が開幕") && again.stdout.contains("\"score\":4.50"))

        XCTAssertEqual(try folio("verify").code, 0)
        let stats = try json(folio("stats", "--json").stdout)
        XCTAssertEqual(stats["live"] as? Int, 9)
        XCTAssertEqual((stats["databases"] as? [String: Any])?.count, 16, "the six record databases, remembered writes, the five of the search index, acks, purged, tombstones and collected")
        XCTAssertEqual(try folio("backup", dir + "/bk").code, 0)
        XCTAssertEqual(try CLI.run(["verify", "--data", dir + "/bk"]).code, 0)

        guard let mdbStat = CLI.tool("mdb_stat"), let mdbDump = CLI.tool("mdb_dump") else {
            throw XCTSkip("lmdb-utils not installed")
        }
        let stat = try run(mdbStat, ["-a", data])
        XCTAssertEqual(stat.code, 0)
        for db in ["articles", "bodies", "changes", "meta", "peers", "peerstatus"] { XCTAssertTrue(stat.stdout.contains("Status of \(db)"), stat.stdout) }
        let dump = try run(mdbDump, ["-s", "articles", data])
        XCTAssertEqual(dump.code, 0)
        XCTAssertTrue(dump.stdout.contains("VERSION=3"), "\(dump.code) \(dump.stdout.prefix(200))")
    }

    func testStatsReadsWhileAnotherProcessWrites() throws {
        let dir = temporaryDirectory(self)
        var lines = ""
        for i in 0..<40000 { lines += #"{"id":"bulk/\#(i)","title":"t\#(i)","body":"\#(String(repeating: "b", count: 200))"}"# + "\n" }
        writeFile(dir + "/bulk.jsonl", lines)
        let writer = Process()
        writer.executableURL = CLI.binary
        writer.arguments = ["import", dir + "/bulk.jsonl", "--batch-size", "200", "--data", data]
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        var seen: [Int] = []
        while writer.isRunning {
            let r = try folio("stats", "--json")
            XCTAssertEqual(r.code, 0, r.stderr)
            if let live = try? json(r.stdout)["live"] as? Int { seen.append(live) }
        }
        writer.waitUntilExit()
        XCTAssertEqual(writer.terminationStatus, 0)
        XCTAssertEqual(seen, seen.sorted(), "readers see committed batches only, in order")
        // The property means something only if reads landed while the import was committing.
        XCTAssertGreaterThanOrEqual(seen.count, 2, "too few reads during the import: \(seen)")
        XCTAssertTrue(seen.contains { $0 > 0 && $0 < 40000 }, "no read landed mid-import: \(seen)")
        XCTAssertTrue(seen.allSatisfy { $0 % 200 == 0 || $0 == 40000 }, "a read saw part of a batch: \(seen)")
        XCTAssertEqual(try json(folio("stats", "--json").stdout)["live"] as? Int, 40000)
    }

    func testHumanOutputIsTerminalSafeAndResolvingWithoutAConflictWritesNothing() throws {
        let dir = temporaryDirectory(self)
        writeFile(dir + "/evil.json", #"{"id":"evil/1","title":"\u001b[31mred\u0007 bell \u202Egnp.exe","source":"S\u009b","body":"line one\nline\u001b[2J two"}"#)
        XCTAssertEqual(try folio("put", "--file", dir + "/evil.json").code, 0)
        for args in [["get", "evil/1"], ["ls"]] {
            let r = try CLI.run(args + ["--data", data])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertFalse(r.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B || $0.value == 0x202E }, "\(args) printed raw control characters")
            XCTAssertTrue(r.stdout.contains("\\u{1b}[31mred"), r.stdout)
        }
        XCTAssertTrue(try folio("get", "evil/1").stdout.contains("line one\nline"), "newlines of a body stay")
        // JSON output keeps the exact text (escaped by JSON itself).
        XCTAssertTrue(try folio("get", "evil/1", "--json").stdout.contains(#"\u001b[31mred"#))

        let before = try json(folio("stats", "--json").stdout)["last_seq"] as? Int
        let r = try folio("resolve", "evil/1", "--keep", "1")
        XCTAssertEqual(r.code, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("not in conflict"), r.stderr)
        XCTAssertEqual(try json(folio("stats", "--json").stdout)["last_seq"] as? Int, before, "nothing written")
    }

    func testTheNextPageHintRepeatsTheListing() throws {
        for i in 0..<5 { XCTAssertEqual(try folio("put", "pg/\(i)", "--title", "t\(i)").code, 0) }
        let r = try folio("ls", "--prefix", "pg/", "--limit", "2", "--json")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(r.stderr.contains("--prefix 'pg/'") && r.stderr.contains("--json") && r.stderr.contains("--after 'pg/1'"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--data '"), r.stderr)
    }

    func testRmTakesManyIdsStdinOrAPrefixAndReportsTheMissingOnes() throws {
        for i in 0..<6 { XCTAssertEqual(try folio("put", "rm/\(i)", "--title", "t").code, 0) }
        let many = try folio("rm", "rm/0", "rm/1", "rm/none")
        XCTAssertEqual(many.code, 1, "one id was missing")
        XCTAssertTrue(many.stderr.contains("deleted 2 of 3") && many.stderr.contains("rm/none"), many.stderr)
        let piped = try folio("rm", "-", stdin: "rm/2\n\nrm/3\n")
        XCTAssertEqual(piped.code, 0, piped.stderr)
        let prefixed = try folio("rm", "--prefix", "rm/")
        XCTAssertEqual(prefixed.code, 0, prefixed.stderr)
        XCTAssertTrue(prefixed.stderr.contains("deleted 2 of 2"), prefixed.stderr)
        XCTAssertEqual(try folio("ls", "--prefix", "rm/").stdout, "")
        XCTAssertEqual(try folio("rm", "--prefix", "").code, 2)
        XCTAssertEqual(try folio("rm").code, 2)
    }

    func run(_ path: String, _ args: [String]) throws -> CLIResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(code: p.terminationStatus, stdout: String(decoding: d, as: UTF8.self), stderr: "")
    }

    /// A program that uses only FolioClient does not link liblmdb (the `folio` binary, which
    /// opens stores, does: the control).
    func testAClientProgramDoesNotLinkLMDB() throws {
        guard let ldd = CLI.tool("ldd") else { throw XCTSkip("ldd not installed") }
        let example = CLI.binary.deletingLastPathComponent().appendingPathComponent("folio-client-example").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: example), "build the example first (swift build)")
        func libraries(_ binary: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ldd)
            p.arguments = [binary]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        XCTAssertTrue(try libraries(CLI.binary.path).contains("liblmdb"), "the control links liblmdb")
        XCTAssertFalse(try libraries(example).contains("liblmdb"), "a FolioClient program links liblmdb")
    }
}
