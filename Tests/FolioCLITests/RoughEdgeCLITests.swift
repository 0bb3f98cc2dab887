import Foundation
import XCTest

/// The CLI's rough edges seen when trying it as a new user (issue 12), each pinned down.
final class RoughEdgeCLITests: XCTestCase {
    func store() throws -> (String, String) {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        return (dir, data)
    }

    func json(_ line: Substring) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    func testJSONMeansOutputAndInputComesWithFile() throws {
        let (dir, data) = try store()
        writeFile(dir + "/a.json", #"[{"id":"j/1","title":"one"},{"id":"j/2","title":"two"}]"#)
        // `put --json FILE` used to read FILE: now it is refused, and nothing named FILE is written.
        let old = try CLI.run(["put", "--data", data, "--json", dir + "/a.json"])
        XCTAssertEqual(old.code, 2, old.stderr)
        XCTAssertTrue(old.stderr.contains("--file FILE"), old.stderr)
        XCTAssertEqual(try CLI.run(["ls", "--data", data]).stdout, "")

        let put = try CLI.run(["put", "--data", data, "--file", dir + "/a.json", "--json"])
        XCTAssertEqual(put.code, 0, put.stderr)
        let rows = try put.stdout.split(separator: "\n").map(json)
        XCTAssertEqual(rows.map { $0["id"] as? String }, ["j/1", "j/2"])
        XCTAssertEqual(rows.map { $0["outcome"] as? String }, ["added", "added"])
        XCTAssertTrue((rows[0]["version"] as? String)?.contains(":1") == true)
        let piped = try CLI.run(["put", "--data", data, "--file", "-", "--json"], stdin: #"{"id":"j/3","title":"three"}"#)
        XCTAssertEqual(try json(piped.stdout.split(separator: "\n")[0])["outcome"] as? String, "added")

        let rm = try CLI.run(["rm", "--data", data, "j/1", "nope", "--json"])
        XCTAssertEqual(rm.code, 1)
        let removed = try rm.stdout.split(separator: "\n").map(json)
        XCTAssertEqual(removed.map { $0["outcome"] as? String }, ["deleted", "not_found"])

        // resolve: input with --file, output with --json.
        let (_, other) = try store()
        XCTAssertEqual(try CLI.run(["put", "--data", other, "--file", dir + "/a.json"]).code, 0)
        writeFile(dir + "/edit.json", #"{"id":"j/2","title":"edited here"}"#)
        XCTAssertEqual(try CLI.run(["put", "--data", data, "--file", dir + "/edit.json"]).code, 0)
        writeFile(dir + "/edit2.json", #"{"id":"j/2","title":"edited there"}"#)
        XCTAssertEqual(try CLI.run(["put", "--data", other, "--file", dir + "/edit2.json"]).code, 0)
        let exported = try CLI.run(["export", "--data", other, "--all-versions", "--prefix", "j/2"]).stdout
        writeFile(dir + "/siblings.jsonl", exported)
        XCTAssertEqual(try CLI.run(["import", "--data", data, dir + "/siblings.jsonl"]).code, 0)
        writeFile(dir + "/merged.json", #"{"id":"j/2","title":"merged"}"#)
        let resolved = try CLI.run(["resolve", "j/2", "--data", data, "--file", dir + "/merged.json", "--json"])
        XCTAssertEqual(resolved.code, 0, resolved.stderr)
        let r = try json(resolved.stdout.split(separator: "\n")[0])
        XCTAssertEqual(r["id"] as? String, "j/2")
        XCTAssertEqual(r["superseded"] as? Int, 2)
        XCTAssertEqual(try CLI.run(["resolve", "j/2", "--data", data, "--keep", "1"]).code, 1)

        let backup = try CLI.run(["backup", "--data", data, dir + "/copy", "--json"])
        XCTAssertEqual(backup.code, 0, backup.stderr)
        XCTAssertEqual(try json(backup.stdout.split(separator: "\n")[0])["articles"] as? Int, 2)
        let peers = try CLI.run(["peers", "--data", data, "--json"])
        XCTAssertEqual(peers.code, 0)
        for line in peers.stdout.split(separator: "\n") { _ = try json(line) }
    }

    func testImportReadsStdinGzipAndBOMAndRefusesUnknownTypesByName() throws {
        let (dir, data) = try store()
        let lines = #"{"id":"g/1","title":"one"}"# + "\n" + #"{"id":"g/2","title":"two"}"# + "\n"
        writeFile(dir + "/plain.jsonl", lines)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(dir)/plain.jsonl' > '\(dir)/dump.jsonl.gz' && head -c 20 '\(dir)/dump.jsonl.gz' > '\(dir)/cut.jsonl.gz'"]
        try gzip.run()
        gzip.waitUntilExit()
        let gz = try CLI.run(["import", "--data", data, dir + "/dump.jsonl.gz", "--json"])
        XCTAssertEqual(gz.code, 0, gz.stderr)
        XCTAssertTrue(gz.stdout.contains(#""added":2"#), gz.stdout)
        let cut = try CLI.run(["import", "--data", data, dir + "/cut.jsonl.gz"])
        XCTAssertEqual(cut.code, 4)
        XCTAssertTrue(cut.stderr.contains("ends early"), cut.stderr)

        let stdin = try CLI.run(["import", "--data", data, "-", "--json"], stdin: #"{"id":"s/1","title":"from stdin"}"#)
        XCTAssertEqual(stdin.code, 0, stdin.stderr)
        XCTAssertTrue(stdin.stdout.contains(#""added":1"#), stdin.stdout)

        writeFile(dir + "/bom.jsonl", "\u{FEFF}" + #"{"id":"b/1","title":"after a BOM"}"# + "\n")
        let bom = try CLI.run(["import", "--data", data, dir + "/bom.jsonl"])
        XCTAssertEqual(bom.code, 0, bom.stderr)
        XCTAssertEqual(try CLI.run(["get", "b/1", "--data", data]).code, 0)

        writeFile(dir + "/table.csv", "id,title\nx,y\n")
        let csv = try CLI.run(["import", "--data", data, dir + "/table.csv", "--json"])
        XCTAssertEqual(csv.code, 4)
        XCTAssertTrue(csv.stderr.contains("table.csv: not an importable type"), csv.stderr)
        XCTAssertTrue(csv.stdout.contains(#""added":0"#), csv.stdout)
    }

    func testScrapedPagesWithTheSameSourceAndTitleStayApart() throws {
        let (dir, data) = try store()
        writeFile(dir + "/pages/2024/a.txt", "Budget passes\n\nAgency - The first story.\n")
        writeFile(dir + "/pages/2025/b.txt", "Budget passes\n\nAgency - Another story, a year later.\n")
        let first = try CLI.run(["import", "--data", data, dir + "/pages", "--json"])
        XCTAssertTrue(first.stdout.contains(#""added":2"#), first.stdout)
        let again = try CLI.run(["import", "--data", data, dir + "/pages", "--json"])
        XCTAssertTrue(again.stdout.contains(#""added":0,"updated":0,"unchanged":2"#), again.stdout)
        let ids = try CLI.run(["ls", "--data", data]).stdout.split(separator: "\n").map { $0.split(separator: "\t")[0] }
        XCTAssertEqual(ids.count, 2)
        XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("agency/budget-passes") }, "\(ids)")
        let (_, byPath) = try store()
        XCTAssertEqual(try CLI.run(["import", "--data", byPath, "--id-from", "path", dir + "/pages"]).code, 0)
        XCTAssertEqual(try CLI.run(["ls", "--data", byPath]).stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }, ["2024/a", "2025/b"])
    }

    func testExportSelectsByPrefixAndTime() throws {
        let (dir, data) = try store()
        writeFile(dir + "/a.jsonl", #"{"id":"world/1","title":"w"}"# + "\n" + #"{"id":"local/1","title":"l"}"# + "\n")
        XCTAssertEqual(try CLI.run(["import", "--data", data, dir + "/a.jsonl"]).code, 0)
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--prefix", "world/"]).stdout.split(separator: "\n").count, 1)
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", "2001-01-01"]).stdout.split(separator: "\n").count, 2)
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", "2999-01-01T00:00:00Z"]).stdout, "")
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", "last week"]).code, 2)
    }

    /// Output that cannot be written (a full disk, a closed standard output) is a failure
    /// with the reason, never a silent exit 0; a closed standard output never lets the
    /// command's output land in a file it opens (the store's).
    func testOutputThatCannotBeWrittenFailsWithTheReason() throws {
        let (dir, data) = try store()
        writeFile(dir + "/a.jsonl", #"{"id":"p/1","title":"port strike","body":"the port"}"# + "\n")
        XCTAssertEqual(try CLI.run(["import", "--data", data, dir + "/a.jsonl"]).code, 0)
        func shell(_ script: String) throws -> CLIResult {
            try CLI.run(["-c", script, CLI.binary.path], env: [:], through: "/bin/sh")
        }
        for args in ["search --data '\(data)' port", "search --data '\(data)' --json port", "ls --data '\(data)'", "export --data '\(data)'"] {
            let full = try shell("exec \"$0\" \(args) > /dev/full")
            XCTAssertEqual(full.code, 3, "\(args): \(full.stderr)")
            XCTAssertTrue(full.stderr.contains("cannot write to standard output: No space left on device"), "\(args): \(full.stderr)")
            let closed = try shell("exec \"$0\" \(args) >&-")
            XCTAssertEqual(closed.code, 3, "\(args): \(closed.stderr)")
            XCTAssertTrue(closed.stderr.contains("cannot write to standard output: Bad file descriptor"), "\(args): \(closed.stderr)")
        }
        XCTAssertEqual(try CLI.run(["verify", "--data", data]).code, 0)
    }

    /// With neither --data, FOLIO_DATA nor XDG_DATA_HOME, the store is ~/.local/share/folio
    /// with ~ as the shell has it: $HOME.
    func testTheDefaultStoreFollowsHOME() throws {
        let home = temporaryDirectory(self)
        let r = try CLI.run(["init"], env: ["HOME": home, "XDG_DATA_HOME": ""])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.local/share/folio/data.mdb"), r.stderr)
    }

    func testBodyFromAPipeAndFlagMistakesAreUsageErrors() throws {
        let (_, data) = try store()
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/bash")
        sh.arguments = ["-c", "'\(CLI.binary.path)' put p/1 --data '\(data)' --title piped --body-file <(printf 'body through a pipe')"]
        try sh.run()
        sh.waitUntilExit()
        XCTAssertEqual(sh.terminationStatus, 0)
        XCTAssertTrue(try CLI.run(["get", "p/1", "--data", data]).stdout.contains("body through a pipe"))

        XCTAssertEqual(try CLI.run(["put", "p/1", "--data", data, "--title", "x", "--context", "garbage"]).code, 2)
        XCTAssertEqual(try CLI.run(["rm", "p/1", "--data", data, "--context", "c2.AAAA"]).code, 2)
        let tags = try CLI.run(["put", "p/1", "--data", data, "--tag", "a", "--clear-tags"])
        XCTAssertEqual(tags.code, 2)
        XCTAssertTrue(tags.stderr.contains("contradict"), tags.stderr)
        XCTAssertEqual(try CLI.run(["serve", "--data", data, "--listen", "nowhere:x"]).code, 2)

        // A long id is shortened in messages.
        let long = String(repeating: "x", count: 390)
        let missing = try CLI.run(["get", long, "--data", data])
        XCTAssertEqual(missing.code, 1)
        XCTAssertLessThan(missing.stderr.count, 250, missing.stderr)
        XCTAssertTrue(missing.stderr.contains(" bytes]…xxx"), missing.stderr)

        let archive = try CLI.run(["backup", "--data", data, NSTemporaryDirectory() + "folio-\(UUID().uuidString).tar.gz"])
        XCTAssertEqual(archive.code, 2)
        XCTAssertTrue(archive.stderr.contains("looks like an archive"), archive.stderr)
    }

    func testAStoreTheUserMayNotReadSaysPermissionDenied() throws {
        let (dir, data) = try store()
        XCTAssertEqual(chmod(dir, 0o755), 0)
        XCTAssertEqual(chmod(data, 0o700), 0)
        // Root reads everything: run as nobody then (CI may run as root).
        var args = [CLI.binary.path, "ls", "--data", data]
        if getuid() == 0 {
            guard let setpriv = CLI.tool("setpriv") else { throw XCTSkip("running as root without setpriv") }
            args = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + args
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if text.contains("Permission denied") && text.contains("folio") == false { throw XCTSkip("the test binary is not reachable for nobody: \(text)") }
        XCTAssertEqual(p.terminationStatus, 3, text)
        XCTAssertTrue(text.contains("permission denied"), text)
        XCTAssertFalse(text.contains("no Folio store"), text)
    }
}

/// What the hostile review of the operations work found, pinned down.
final class OperationsReviewTests: XCTestCase {
    func testExportSinceComparesInstantsAndRefusesImpossibleTimes() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "t/1", "--title", "now", "--data", data]).code, 0)
        let f = ISO8601DateFormatter()
        let hourAgo = f.string(from: Date().addingTimeInterval(-3600)), inAnHour = f.string(from: Date().addingTimeInterval(3600))
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", hourAgo]).stdout.split(separator: "\n").count, 1)
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", inAnHour]).stdout, "")
        // The same instant an hour ahead, written with a +14:00 offset: still excluded.
        f.timeZone = TimeZone(secondsFromGMT: 14 * 3600)
        f.formatOptions = [.withInternetDateTime]
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", f.string(from: Date().addingTimeInterval(3600))]).stdout, "")
        XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", f.string(from: Date().addingTimeInterval(-3600))]).stdout.split(separator: "\n").count, 1)
        for bad in ["2026-02-30", "2026-11-31", "2026-11-29T25:00:00Z", "2026-11-29T18:00:00+25:00", "2026-11-29T18:61Z"] {
            XCTAssertEqual(try CLI.run(["export", "--data", data, "--since", bad]).code, 2, bad)
        }
    }

    func testCheckRefusesWhatRealStartWouldAndFatalErrorsAreJSON() throws {
        let dir = temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        func check(_ yaml: String) throws -> CLIResult {
            writeFile(dir + "/c.yaml", yaml)
            return try CLI.run(["serve", "--config", dir + "/c.yaml", "--check"])
        }
        let empty = try check("data: empty\n")
        XCTAssertEqual(empty.code, 2)
        XCTAssertTrue(empty.stderr.contains("c.yaml:1: data") && empty.stderr.contains("no Folio store"), empty.stderr)
        XCTAssertEqual(try CLI.run(["init", "--data", dir + "/store"]).code, 0)
        let unresolvable = try check("data: store\nadmin-listen: notahost.invalid:9070\n")
        XCTAssertEqual(unresolvable.code, 2)
        XCTAssertTrue(unresolvable.stderr.contains("c.yaml:2: admin-listen") && unresolvable.stderr.contains("does not resolve"), unresolvable.stderr)
        let samePort = try check("data: store\nlisten: 127.0.0.1:18011\nadmin-listen: 18011\n")
        XCTAssertEqual(samePort.code, 2)
        XCTAssertTrue(samePort.stderr.contains("which the node itself listens on"), samePort.stderr)
        for (yaml, expected) in [("peer: ~\ndata: store\n", 0), ("data: ~\n", 2), ("data:\n", 2), ("data: store\npeer: [127.0.0.1:5, 127.0.0.1:5]\n", 2)] {
            XCTAssertEqual(try check(yaml).code, Int32(expected), yaml)
        }
        XCTAssertTrue(try check("data: store\npeer:\n  - 127.0.0.1:5\n  - 127.0.0.1:05\n").stderr.contains("c.yaml:4: peer 127.0.0.1:5 is listed twice (first on line 3)"))
        XCTAssertTrue(try check("data: store\nlisten: x\u{7}\n").stderr.contains("c.yaml:2: not valid YAML"))
        writeFile(dir + "/c.yaml", "data: store\n")
        FileHandle(forUpdatingAtPath: dir + "/c.yaml")!.seekToEndOfFile()
        let bytes = Data("data: store\nlisten: a\u{FF}b\n".utf8).map { $0 == 0xC3 ? 0xFF : $0 }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
        let notUTF8 = try CLI.run(["serve", "--config", dir + "/c.yaml", "--check"])
        XCTAssertTrue(notUTF8.stderr.contains("c.yaml:2: not UTF-8"), notUTF8.stderr)

        // Real start: a missing store, with JSON logs, is reported as one JSON line.
        let missing = try CLI.run(["serve", "--data", dir + "/empty", "--listen", "127.0.0.1:0", "--log-format", "json"])
        XCTAssertEqual(missing.code, 3)
        let lines = missing.stderr.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        for line in lines { XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), String(line)) }
        XCTAssertTrue(missing.stderr.contains("no Folio store"), missing.stderr)

        // init --if-missing: makes it once, then leaves it.
        let first = try CLI.run(["init", "--data", dir + "/svc", "--if-missing"])
        let second = try CLI.run(["init", "--data", dir + "/svc", "--if-missing"])
        XCTAssertEqual([first.code, second.code], [0, 0])
        XCTAssertTrue(second.stderr.contains("left as it is"), second.stderr)
        XCTAssertEqual(try CLI.run(["init", "--data", dir + "/svc"]).code, 3)
    }

    func testImportListsHiddenEntriesAndRefusesAFakeGzip() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        writeFile(dir + "/in/.hidden.jsonl", #"{"id":"h/1"}"# + "\n")
        writeFile(dir + "/in/seen.jsonl", #"{"id":"s/1"}"# + "\n")
        let r = try CLI.run(["import", "--data", data, dir + "/in", "--json"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""skipped":1"#) && r.stderr.contains(".hidden.jsonl") && r.stderr.contains("hidden"), r.stdout + r.stderr)
        writeFile(dir + "/fake.jsonl.gz", #"{"id":"f/1"}"# + "\n")
        let fake = try CLI.run(["import", "--data", data, dir + "/fake.jsonl.gz"])
        XCTAssertEqual(fake.code, 4)
        XCTAssertTrue(fake.stderr.contains("not gzip data"), fake.stderr)
    }
}
