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
        // Excluded words are query words, never options: not even one holding an h.
        let excluded = try CLI.run(["search", "--data", data, "--json", "port -telescope"])
        XCTAssertEqual(excluded.code, 0, excluded.stderr)
        for words in [["port", "-telescope"], ["-telescope port"], ["-telescope", "port"], ["--", "-telescope", "port"]] {
            let r = try CLI.run(["search", "--data", data, "--json"] + words)
            XCTAssertEqual(r.code, 0, "\(words): \(r.stderr)")
            XCTAssertEqual(r.stdout, excluded.stdout, "\(words)")
        }
        let shipping = try CLI.run(["search", "-shipping port", "--data", data])
        XCTAssertFalse(shipping.stdout.contains("USAGE") || shipping.stdout.contains("OVERVIEW"), shipping.stdout)
        XCTAssertEqual(shipping.code, 1, shipping.stderr)  // the one article on the port mentions shipping
        XCTAssertTrue(shipping.stderr.contains("no article matches -shipping port"), shipping.stderr)
        let limit = try CLI.run(["search", "port", "--limit", "-1", "--data", data])
        XCTAssertEqual(limit.code, 2)
        XCTAssertTrue(limit.stderr.contains("--limit must be"), limit.stderr)
        let empty = try CLI.run(["search", "port", "--data", ""])
        XCTAssertNotEqual(empty.code, 0)
        XCTAssertFalse(empty.stderr.contains("Missing value"), empty.stderr)
        XCTAssertTrue(try CLI.run(["search", "-h"]).stdout.contains("Query syntax"))

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
