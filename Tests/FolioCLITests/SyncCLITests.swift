import Foundation
import XCTest

/// `folio sync` as a user runs it, including a kill -9 in the middle.
final class SyncCLITests: XCTestCase {
    func testSyncKilledMidwayLeavesAVerifiableStoreAndResumes() throws {
        let dir = temporaryDirectory(self)
        let a = dir + "/a", b = dir + "/b"
        XCTAssertEqual(try CLI.run(["init", "--data", a]).code, 0)
        XCTAssertEqual(try CLI.run(["init", "--data", b]).code, 0)
        var lines = ""
        for i in 0..<4000 { lines += #"{"id":"bulk/\#(i)","title":"t\#(i)","body":"\#(String(repeating: "z", count: 1500))\#(i)"}"# + "\n" }
        writeFile(dir + "/bulk.jsonl", lines)
        XCTAssertEqual(try CLI.run(["import", dir + "/bulk.jsonl", "--data", a]).code, 0)

        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["serve", "--data", a, "--listen", "127.0.0.1:0"]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        var line = Data()
        while !line.contains(0x0A) { line.append(out.fileHandleForReading.availableData) }
        let address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)

        // Start a sync in small batches and kill it with SIGKILL partway.
        let sync = Process()
        sync.executableURL = CLI.binary
        sync.arguments = ["sync", address, "--data", b, "--batch-size", "100", "--batch-bytes", "65536"]
        sync.standardError = FileHandle.nullDevice
        sync.standardOutput = FileHandle.nullDevice
        try sync.run()
        var live = 0
        let deadline = Date().addingTimeInterval(20)
        while sync.isRunning && Date() < deadline {
            if let r = try? CLI.run(["stats", "--json", "--data", b]),
               let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               let n = json["live"] as? Int { live = n }
            if live > 300 { break }
            usleep(20_000)
        }
        kill(sync.processIdentifier, SIGKILL)
        sync.waitUntilExit()

        // The store is sound before the sync completes.
        let verify = try CLI.run(["verify", "--data", b])
        XCTAssertEqual(verify.code, 0, verify.stdout + verify.stderr)
        let partial = try CLI.run(["stats", "--json", "--data", b]).stdout
        let committed = (try JSONSerialization.jsonObject(with: Data(partial.utf8)) as? [String: Any])?["live"] as? Int ?? -1

        XCTAssertGreaterThan(committed, 0)
        XCTAssertLessThan(committed, 4000, "the kill landed mid-sync")

        // Resuming transfers only the rest.
        let resumed = try CLI.run(["sync", address, "--data", b, "--json"])
        XCTAssertEqual(resumed.code, 0, resumed.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["received"] as? Int, 4000 - committed, resumed.stdout)
        XCTAssertEqual(try CLI.run(["export", "--data", b]).stdout, try CLI.run(["export", "--data", a]).stdout)
        let peers = try CLI.run(["peers", "--data", b])
        XCTAssertTrue(peers.stdout.contains("checkpoint 4000"), peers.stdout)
    }
}

/// Leaner syncs: what a pull brought is not offered back; one-way syncs.
final class LeanSyncCLITests: XCTestCase {
    func testAFreshPullIsNotOfferedBackAndOneWaySyncsGoOneWay() throws {
        let dir = temporaryDirectory(self)
        let (a, b) = (dir + "/a", dir + "/b")
        for d in [a, b] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        var lines = ""
        for i in 0..<1200 { lines += #"{"id":"n/\#(i)","title":"t\#(i)"}"# + "\n" }
        writeFile(dir + "/in.jsonl", lines)
        XCTAssertEqual(try CLI.run(["import", dir + "/in.jsonl", "--data", a]).code, 0)
        let (node, address, _) = try startServe(self, a)

        func sync(_ extra: [String] = []) throws -> [String: Any] {
            let r = try CLI.run(["sync", address, "--data", b, "--json"] + extra)
            XCTAssertEqual(r.code, 0, r.stderr)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let first = try sync()
        XCTAssertEqual(first["received"] as? Int, 1200)
        XCTAssertEqual(first["pushed_changes_offered"] as? Int, 0, "\(first)")
        XCTAssertEqual(first["sent"] as? Int, 0)
        // A write here is offered (alone); the peer's checkpoint moved past the pulled ones.
        XCTAssertEqual(try CLI.run(["put", "mine/1", "--title", "from b", "--data", b]).code, 0)
        let second = try sync()
        XCTAssertEqual(second["pushed_changes_offered"] as? Int, 1, "\(second)")
        XCTAssertEqual(second["sent"] as? Int, 1)
        XCTAssertEqual(try CLI.run(["get", "mine/1", "--remote", address]).code, 0)

        // One way only.
        XCTAssertEqual(try CLI.run(["put", "mine/2", "--title", "later", "--data", b]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "theirs/1", "--title", "on a", "--remote", address]).code, 0)
        let pull = try sync(["--pull-only"])
        XCTAssertEqual(pull["received"] as? Int, 1)
        XCTAssertEqual(pull["sent"] as? Int, 0)
        XCTAssertEqual(try CLI.run(["get", "mine/2", "--remote", address]).code, 1)
        let push = try sync(["--push-only"])
        XCTAssertEqual(push["sent"] as? Int, 1)
        XCTAssertEqual(try CLI.run(["get", "mine/2", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["sync", address, "--data", b, "--pull-only", "--push-only"]).code, 2)
        node.terminate()
        node.waitUntilExit()
        for d in [a, b] { XCTAssertEqual(try CLI.run(["verify", "--data", d]).code, 0) }
    }
}

/// `folio changes`: the feed, and following it live on a node and locally.
final class ChangesCLITests: XCTestCase {
    /// `folio changes --follow ARGS` running, its stdout readable.
    func startFollower(_ args: [String]) throws -> (Process, Pipe) {
        let follow = Process()
        follow.executableURL = CLI.binary
        follow.arguments = ["changes", "--follow"] + args
        let out = Pipe()
        follow.standardOutput = out
        follow.standardError = FileHandle.nullDevice
        try follow.run()
        return (follow, out)
    }

    func testTheFeedAndFollowingItLive() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["rm", "wire/2026-11-20-port-strike", "--data", data]).code, 0)
        let all = try CLI.run(["changes", "--data", data])
        XCTAssertEqual(all.code, 0, all.stderr)
        let lines = all.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 9)
        XCTAssertTrue(lines.last!.hasPrefix("10\twire/2026-11-20-port-strike\tdeleted\t"), all.stdout)
        XCTAssertEqual(try CLI.run(["changes", "--data", data, "--since", "9"]).stdout.split(separator: "\n").count, 1)

        let (node, address, _) = try startServe(self, data)
        for target in [["--remote", address], ["--data", data]] {
            let stats = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try CLI.run(["stats", "--json", "--remote", address]).stdout.utf8)) as? [String: Any])
            let since = try XCTUnwrap(stats["last_seq"] as? Int)
            let (follow, out) = try startFollower(["--json", "--since", String(since)] + target)
            defer { if follow.isRunning { follow.terminate(); follow.waitUntilExit() } }
            Thread.sleep(forTimeInterval: 0.5)
            let id = "live/\(target[0].dropFirst(2))"
            let wrote = Date()
            XCTAssertEqual(try CLI.run(["put", id, "--title", "now", "--remote", address]).code, 0)
            var text = ""
            while !text.contains("\n"), Date().timeIntervalSince(wrote) < 5 {
                text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            }
            XCTAssertLessThan(Date().timeIntervalSince(wrote), 2, "printed within about a second of the put (2 s: CI machines are busy)")
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as? [String: Any])
            XCTAssertEqual(object["id"] as? String, id)
            XCTAssertEqual(object["deleted"] as? Bool, false)
        }
        node.terminate()
        node.waitUntilExit()
    }

    func testFollowingANodeSurvivesItsRestart() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        let (first, address, _) = try startServe(self, data)
        let (follow, out) = try startFollower(["--remote", address])
        defer { if follow.isRunning { follow.terminate(); follow.waitUntilExit() } }
        Thread.sleep(forTimeInterval: 0.3)
        first.terminate()
        first.waitUntilExit()
        // The same port again; the follower reconnects and resumes after what it printed.
        let port = String(address.split(separator: ":").last!)
        let (second, again, _) = try startServeOn(self, data, listen: "127.0.0.1:\(port)")
        XCTAssertEqual(again, address)
        XCTAssertEqual(try CLI.run(["put", "after/restart", "--title", "t", "--remote", address]).code, 0)
        var text = ""
        let deadline = Date().addingTimeInterval(15)
        while !text.contains("after/restart"), Date() < deadline {
            text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        XCTAssertTrue(text.contains("1\tafter/restart\tlive\t"), text)
        second.terminate()
        second.waitUntilExit()
    }

    func testAClosedPipeEndsTheFeedQuietlyAndTheLastSequenceHasNothingAfterIt() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["changes", "--data", data, "--since", "18446744073709551615"]).stdout, "")
        let (node, address, _) = try startServe(self, data)
        let (follow, out) = try startFollower(["--remote", address])
        defer { if follow.isRunning { follow.terminate(); follow.waitUntilExit() } }
        _ = out.fileHandleForReading.availableData
        try out.fileHandleForReading.close()  // the reader goes away, as `| head -c 10` does
        XCTAssertEqual(try CLI.run(["put", "more/1", "--title", "t", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "more/2", "--title", "t", "--remote", address]).code, 0)
        let deadline = Date().addingTimeInterval(10)
        while follow.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(follow.isRunning)
        XCTAssertEqual(follow.terminationStatus, 0)
        XCTAssertEqual(follow.terminationReason, .exit)
        node.terminate()
        node.waitUntilExit()
    }
}
