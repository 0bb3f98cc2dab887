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
