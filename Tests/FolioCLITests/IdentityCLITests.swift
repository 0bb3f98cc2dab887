import Foundation
import XCTest

/// One identity per replica (issue 11, case 1): a copied store never writes under its
/// original's node id, so the same article edited in both shows up as a conflict.
final class IdentityCLITests: XCTestCase {
    /// The node id in `folio put`'s stdout: "added<TAB>id<TAB>node:counter".
    func node(of stdout: String) -> String? {
        let fields = stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t")
        guard fields.count == 3, let node = fields[2].split(separator: ":").first, node.count == 16 else { return nil }
        return String(node)
    }

    /// Several writers opening a fresh copy at once: one of them settles the copy's new
    /// identity, and every other must write under that one — never under the original's id
    /// it read before the first committed (a fork nobody would ever see).
    func testConcurrentFirstWritesToACopyAllTakeTheCopysNewId() throws {
        let dir = temporaryDirectory(self)
        let a = dir + "/a"
        XCTAssertEqual(try CLI.run(["init", "--data", a]).code, 0)
        let original = try XCTUnwrap(node(of: try CLI.run(["put", "--data", a, "before/1", "--title", "history"]).stdout))
        for round in 0..<10 {
            let copy = dir + "/copy\(round)"
            let cp = Process()
            cp.executableURL = URL(fileURLWithPath: "/bin/cp")
            cp.arguments = ["-a", a, copy]
            try cp.run()
            cp.waitUntilExit()
            let results = try (0..<4).map { i -> (Process, Pipe) in
                let p = Process()
                p.executableURL = CLI.binary
                p.arguments = ["put", "--data", copy, "conc/\(i)", "--title", "c\(i)"]
                let out = Pipe()
                p.standardOutput = out
                p.standardError = FileHandle.nullDevice
                try p.run()
                return (p, out)
            }.map { p, out -> String in
                p.waitUntilExit()
                return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            }
            let nodes = Set(results.compactMap(node(of:)))
            XCTAssertEqual(results.compactMap(node(of:)).count, 4, "round \(round): \(results)")
            XCTAssertEqual(nodes.count, 1, "round \(round): every writer of the copy uses one id: \(results)")
            XCTAssertFalse(nodes.contains(original), "round \(round): a writer kept the original's id")
        }
    }

    func testACopyMadeAnyWayTakesANewNodeIdAndTheForkShowsAsAConflict() throws {
        let dir = temporaryDirectory(self)
        let a = dir + "/a"
        XCTAssertEqual(try CLI.run(["init", "--data", a]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "--data", a, "before/1", "--title", "shared history"]).code, 0)
        // Three ways of copying: folio backup, cp -a, rsync -a (when installed).
        XCTAssertEqual(try CLI.run(["backup", "--data", a, dir + "/b"]).code, 0)
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", a, dir + "/c"]
        try cp.run()
        cp.waitUntilExit()
        var copies = [dir + "/b", dir + "/c"]
        if let rsync = CLI.tool("rsync") {
            let r = Process()
            r.executableURL = URL(fileURLWithPath: rsync)
            r.arguments = ["-a", a + "/", dir + "/d/"]
            try r.run()
            r.waitUntilExit()
            copies.append(dir + "/d")
        }
        let original = try CLI.run(["put", "--data", a, "clone/1", "--title", "site A"])
        let nodeA = try XCTUnwrap(node(of: original.stdout), original.stdout)
        for copy in copies {
            let r = try CLI.run(["put", "--data", copy, "clone/1", "--title", "site \(copy)"])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("this store is a copy"), r.stderr)
            let nodeCopy = try XCTUnwrap(node(of: r.stdout), r.stdout)
            XCTAssertTrue(r.stderr.contains("instead of \(nodeA)"), r.stderr)
            XCTAssertNotEqual(nodeCopy, nodeA, "\(copy) writes under its own node id")
            // History is kept.
            XCTAssertEqual(try CLI.run(["get", "--data", copy, "before/1"]).code, 0)
            // A second write-open changes nothing more.
            let again = try CLI.run(["put", "--data", copy, "clone/2", "--title", "x"])
            XCTAssertFalse(again.stderr.contains("this store is a copy"), again.stderr)
        }
        // Sync the first copy with the original: the two edits are a visible conflict.
        let (_, address, _) = try startServe(self, a)
        let sync = try CLI.run(["sync", address, "--data", copies[0]])
        XCTAssertEqual(sync.code, 0, sync.stderr)
        XCTAssertTrue(sync.stderr.contains("new conflicts: 1 here"), sync.stderr)
        let conflicts = try CLI.run(["conflicts", "--data", copies[0]])
        XCTAssertTrue(conflicts.stdout.contains("clone/1"), conflicts.stdout)
        // A sync with the store's own node is refused.
        let own = try CLI.run(["sync", address, "--data", a])
        XCTAssertEqual(own.code, 3, own.stderr)
        XCTAssertTrue(own.stderr.contains("serves this very store"), own.stderr)
    }
}
