import Foundation
import XCTest

/// `folio search` and `folio reindex`, locally and against nodes.
final class SearchCLITests: XCTestCase {
    func testSearchLocallyAndRemotelyGivesTheSameHits() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", data]).code, 0)

        let human = try CLI.run(["search", "port", "strike", "--data", data])
        XCTAssertEqual(human.code, 0, human.stderr)
        let lines = human.stdout.split(separator: "\n")
        XCTAssertTrue(lines[0].hasPrefix("wire/2026-11-20-port-strike\t"), human.stdout)
        XCTAssertTrue(lines[0].hasSuffix("\t2026-11-20T14:05:00Z\tNordic Wire\tPort workers end three-day strike"), human.stdout)
        XCTAssertTrue(lines[1].hasPrefix("    ") && lines[1].contains("«port»"), human.stdout)

        let json = try CLI.run(["search", "--data", data, "--json", "öffnet OR telescopio"])
        XCTAssertEqual(json.code, 0, json.stderr)
        let hits = try json.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(Set(hits.map { $0["id"] as? String }), ["kultur/2026-11-22-bibliothek", "world/2026-11-24-andes-telescope"])
        XCTAssertTrue(hits.allSatisfy { ($0["score"] as? Double ?? 0) > 0 && $0["snippet"] is String && $0["published"] is String })

        let none = try CLI.run(["search", "--data", data, "zebra"])
        XCTAssertEqual(none.code, 1)
        XCTAssertEqual(none.stdout, "")
        let bad = try CLI.run(["search", "--data", data, "\"unclosed"])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.stderr.contains("a quote is not closed"), bad.stderr)
        XCTAssertEqual(try CLI.run(["search", "--data", data, "-port"]).code, 2)

        let (server, address, _) = try startServe(self, data)
        for query in [["port", "strike"], ["古地図"], ["source:\"nordic wire\"", "-port"], ["teles*", "--json"]] {
            let local = try CLI.run(["search", "--data", data] + query)
            let remote = try CLI.run(["search", "--remote", address] + query)
            XCTAssertEqual(remote.code, local.code, remote.stderr)
            XCTAssertEqual(remote.stdout, local.stdout, "\(query)")
        }
        XCTAssertEqual(try CLI.run(["search", "--remote", address, "zebra"]).code, 1)
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(try CLI.run(["verify", "--data", data]).code, 0)
    }

    func testAWriteOnOneNodeIsFoundOnItsPeerAndADeleteLeavesBoth() throws {
        let dir = temporaryDirectory(self)
        let (a, b) = (dir + "/a", dir + "/b")
        for d in [a, b] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        let (nodeA, addressA, _) = try startServe(self, a)
        let (nodeB, addressB, _) = try startServe(self, b, ["--peer", addressA])
        XCTAssertEqual(try CLI.run(["put", "field/1", "--title", "Avalanche warning", "--body-file", "-", "--remote", addressA], stdin: "Snow on the pass").code, 0)
        func found(_ q: String, on address: String) throws -> Bool { try CLI.run(["search", q, "--remote", address]).code == 0 }
        var deadline = Date().addingTimeInterval(15)
        while Date() < deadline, try !found("avalanche", on: addressB) { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertTrue(try found("avalanche", on: addressB))
        XCTAssertEqual(try CLI.run(["rm", "field/1", "--remote", addressB]).code, 0)
        deadline = Date().addingTimeInterval(15)
        while Date() < deadline, try found("avalanche", on: addressA) { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(try found("avalanche", on: addressA))
        XCTAssertFalse(try found("avalanche", on: addressB))
        for n in [nodeA, nodeB] { n.terminate(); n.waitUntilExit() }
        for d in [a, b] { XCTAssertEqual(try CLI.run(["verify", "--data", d]).code, 0) }
    }

    func testReindexAndAFormatOneStore() throws {
        let dir = temporaryDirectory(self)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FolioStoreTests/Fixtures/format1/data.mdb").path
        try FileManager.default.createDirectory(atPath: dir + "/old", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture, toPath: dir + "/old/data.mdb")
        // Read-only commands leave a format-1 store as it is; search says what to do.
        let before = try CLI.run(["search", "glacier", "--data", dir + "/old"])
        XCTAssertEqual(before.code, 3)
        XCTAssertTrue(before.stderr.contains("open it once for writing"), before.stderr)
        XCTAssertEqual(try CLI.run(["stats", "--data", dir + "/old", "--json"]).stdout.contains(#""format":1"#), true)
        let reindex = try CLI.run(["reindex", "--data", dir + "/old"])
        XCTAssertEqual(reindex.code, 0, reindex.stderr)
        XCTAssertTrue(reindex.stderr.contains("indexed 8 articles"), reindex.stderr)
        XCTAssertTrue(try CLI.run(["stats", "--data", dir + "/old", "--json"]).stdout.contains(#""format":5"#))
        XCTAssertEqual(try CLI.run(["search", "glacier", "--data", dir + "/old"]).code, 0)
        XCTAssertEqual(try CLI.run(["verify", "--data", dir + "/old"]).code, 0)
    }
}
