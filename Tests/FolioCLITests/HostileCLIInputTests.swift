import Foundation
import XCTest

/// The CLI facing careless or hostile input (issue 13, cases 4, 6, 7 and 8): a precise
/// message, the documented exit code, nothing lost.
final class HostileCLIInputTests: XCTestCase {
    func testNonFiniteAndOutOfRangeNumbersAreUsageErrorsNotCrashes() throws {
        let dir = temporaryDirectory(self)
        try CLI.run(["init", "--data", dir])
        for value in ["nan", "inf", "-inf", "1e300", "-5", "0"] {
            let r = try CLI.run(["serve", "--data", dir, "--listen", "127.0.0.1:0", "--idle-timeout", value])
            XCTAssertEqual(r.code, 2, "--idle-timeout \(value): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--idle-timeout"), r.stderr)
        }
        let huge = try CLI.run(["serve", "--data", dir, "--handshake-timeout", "nan"])
        XCTAssertEqual(huge.code, 2, huge.stderr)
        let conns = try CLI.run(["serve", "--data", dir, "--max-connections", "99999999999999999999"])
        XCTAssertEqual(conns.code, 2, conns.stderr)
        let sync = try CLI.run(["sync", "127.0.0.1:1", "--data", dir, "--batch-bytes", "-1"])
        XCTAssertEqual(sync.code, 2, sync.stderr)
        let list = try CLI.run(["ls", "--data", dir, "--limit", "0"])
        XCTAssertEqual(list.code, 2, list.stderr)
    }

    func testEmptyAndControlCharacterIdsAreUsageErrorsOnEveryCommand() throws {
        let dir = temporaryDirectory(self)
        try CLI.run(["init", "--data", dir])
        for id in ["", "bad\u{1}id", "del\u{7F}"] {
            for args in [["get", id], ["put", id, "--title", "t"], ["rm", id], ["resolve", id, "--keep", "1"]] {
                let r = try CLI.run(args + ["--data", dir])
                XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("the article id must not"), "\(args): \(r.stderr)")
                XCTAssertFalse(r.stderr.contains("LMDB"), r.stderr)
            }
        }
    }

    /// Issue 11, case 6: a context token read from one article cannot be used on another.
    func testAContextTokenFromAnotherArticleIsRefused() throws {
        let dir = temporaryDirectory(self)
        try CLI.run(["init", "--data", dir])
        try CLI.run(["put", "--data", dir, "one", "--title", "first"])
        try CLI.run(["put", "--data", dir, "two", "--title", "second"])
        let read = try CLI.run(["get", "--data", dir, "one", "--json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: Any])
        let token = try XCTUnwrap(json["context"] as? String)
        let wrong = try CLI.run(["put", "--data", dir, "two", "--title", "claims what it never read", "--context", token])
        XCTAssertEqual(wrong.code, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("read from another article"), wrong.stderr)
        let rm = try CLI.run(["rm", "--data", dir, "two", "--context", token])
        XCTAssertEqual(rm.code, 2, rm.stderr)
        XCTAssertEqual(try CLI.run(["put", "--data", dir, "one", "--title", "edited", "--context", token]).code, 0)
        let old = try CLI.run(["put", "--data", dir, "one", "--title", "x", "--context", "c1.AAAAAAAAAAEAAAAAAAAAAQ"])
        XCTAssertEqual(old.code, 2, old.stderr)
        XCTAssertTrue(old.stderr.contains("older folio"), old.stderr)
    }

    func testDirectoryImportFollowsSymlinksDetectsLoopsAndReportsWhatItSkips() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        try CLI.run(["init", "--data", data])
        let outside = dir + "/outside"
        writeFile(outside + "/linked-dir/a.jsonl", #"{"id":"via/dir-link","title":"reached through a linked directory"}"# + "\n")
        writeFile(outside + "/b.jsonl", #"{"id":"via/file-link","title":"reached through a linked file"}"# + "\n")
        let tree = dir + "/tree"
        writeFile(tree + "/plain.jsonl", #"{"id":"plain","title":"a plain file"}"# + "\n")
        writeFile(tree + "/notes.md", "not importable")
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: tree + "/dirlink", withDestinationPath: outside + "/linked-dir")
        try fm.createSymbolicLink(atPath: tree + "/filelink.jsonl", withDestinationPath: outside + "/b.jsonl")
        try fm.createSymbolicLink(atPath: tree + "/loop", withDestinationPath: tree)
        try fm.createSymbolicLink(atPath: tree + "/broken.jsonl", withDestinationPath: dir + "/nowhere.jsonl")
        let r = try CLI.run(["import", "--data", data, "--json", tree])
        XCTAssertEqual(r.code, 0, r.stderr)
        for id in ["plain", "via/dir-link", "via/file-link"] {
            XCTAssertEqual(try CLI.run(["get", "--data", data, id]).code, 0, id)
        }
        XCTAssertTrue(r.stderr.contains("loop: skipped: directory already read"), r.stderr)
        XCTAssertTrue(r.stderr.contains("broken.jsonl: skipped: broken symbolic link"), r.stderr)
        XCTAssertTrue(r.stderr.contains("notes.md: skipped: not an importable type"), r.stderr)
        XCTAssertTrue(r.stdout.contains(#""skipped":3"#), r.stdout)
    }

    func testImportReadsStandardInputAndRefusesPipesAndDevicesNamedAsFiles() throws {
        let dir = temporaryDirectory(self)
        try CLI.run(["init", "--data", dir + "/s"])
        let lines = #"{"id":"in/1","title":"one"}"# + "\n" + #"{"id":"in/2","title":"two"}"# + "\n" + "{broken\n"
        let r = try CLI.run(["import", "--data", dir + "/s", "-"], stdin: lines)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("2 added"), r.stderr)
        XCTAssertTrue(r.stderr.contains("stdin:3:"), r.stderr)
        XCTAssertEqual(try CLI.run(["get", "--data", dir + "/s", "in/2"]).code, 0)
        XCTAssertEqual(mkfifo(dir + "/pipe.jsonl", 0o600), 0)
        try FileManager.default.createSymbolicLink(atPath: dir + "/zero.jsonl", withDestinationPath: "/dev/zero")
        for name in ["pipe.jsonl", "zero.jsonl"] {
            let p = try CLI.run(["import", "--data", dir + "/s", dir + "/" + name])
            XCTAssertEqual(p.code, 4, "\(name): \(p.stderr)")
            XCTAssertTrue(p.stderr.contains("not a regular file"), p.stderr)
        }
    }

    func testAnAddressWithoutAPortMeansSevenThousandSeventyAndABadOneIsAUsageError() throws {
        for args in [["serve", "--listen", "127.0.0.1:99999"], ["serve", "--peer", "host:x"], ["sync", "127.0.0.1:0x"], ["ls", "--remote", ":7070"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
        }
        // HOST alone: port 7070 (nothing listens there in the test: a connection failure, not a usage error).
        let r = try CLI.run(["stats", "--remote", "127.0.0.1"])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("7070"), r.stderr)
    }

    func testAnUnreadableOrMissingImportArgumentIsAnError() throws {
        let dir = temporaryDirectory(self)
        try CLI.run(["init", "--data", dir + "/s"])
        let missing = try CLI.run(["import", "--data", dir + "/s", dir + "/does-not-exist"])
        XCTAssertEqual(missing.code, 4, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no such file or directory"), missing.stderr)
        try FileManager.default.createSymbolicLink(atPath: dir + "/self", withDestinationPath: dir + "/self")
        let loop = try CLI.run(["import", "--data", dir + "/s", dir + "/self"])
        XCTAssertEqual(loop.code, 4, loop.stderr)
        XCTAssertTrue(loop.stderr.contains("symbolic-link loop"), loop.stderr)
        if getuid() != 0 {
            try FileManager.default.createDirectory(atPath: dir + "/closed", withIntermediateDirectories: true)
            chmod(dir + "/closed", 0)
            defer { chmod(dir + "/closed", 0o755) }
            let closed = try CLI.run(["import", "--data", dir + "/s", dir + "/closed"])
            XCTAssertEqual(closed.code, 4, closed.stderr)
            XCTAssertTrue(closed.stderr.contains("cannot read the directory"), closed.stderr)
        }
    }

    /// A store on a tiny tmpfs: the failure says "disk full", `--json` still prints a summary,
    /// the store stays intact, and after space is freed the same command resumes.
    func testAFullDiskIsNamedTheStoreStaysIntactAndTheImportResumes() throws {
        let mount = temporaryDirectory(self) + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount]
        mounted.standardError = FileHandle.nullDevice
        try mounted.run()
        mounted.waitUntilExit()
        guard mounted.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        addTeardownBlock {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = ["-l", mount]
            try? u.run()
            u.waitUntilExit()
        }
        let data = mount + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        // 600 articles of 8 KB: about 5 MB, more than the 4 MiB filesystem holds.
        var lines = ""
        for i in 0..<600 {
            lines += #"{"id":"full/\#(String(format: "%04d", i))","title":"t","body":"\#(String(repeating: "abcdefgh", count: 1000))\#(i)"}"# + "\n"
        }
        let input = temporaryDirectory(self) + "/many.jsonl"
        writeFile(input, lines)
        let r = try CLI.run(["import", "--data", data, "--json", "--batch-size", "50", input])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("disk full"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Input/output error (LMDB code 5)"), r.stderr)
        XCTAssertTrue(r.stdout.contains(#""failed":true"#) && r.stdout.contains("disk full"), r.stdout)
        XCTAssertEqual(try CLI.run(["verify", "--data", data]).code, 0, "the store is intact")
        // Move the store to a bigger filesystem (what an admin would do) and run the same import.
        let bigger = temporaryDirectory(self) + "/moved"
        let copy = try CLI.run(["backup", "--data", data, bigger])
        XCTAssertEqual(copy.code, 0, copy.stderr)
        let again = try CLI.run(["import", "--data", bigger, "--json", input])
        XCTAssertEqual(again.code, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains(#""failed":false"#), again.stdout)
        let count = try CLI.run(["ls", "--data", bigger, "--prefix", "full/"])
        XCTAssertEqual(count.stdout.split(separator: "\n").count, 600)
    }
}
