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

    /// since:today, since:3d, until:yesterday: days of the user's calendar (TZ), made dates
    /// before the query runs, locally and for a node (which never sees the words).
    func testRelativeDatesAreTheUsersCalendarDaysLocallyAndRemotely() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        // Days as UTC+14 (Kiritimati) and UTC−12 (Etc/GMT+12) see them: 26 hours apart.
        func day(_ daysAgo: Int, offsetHours: Int) -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(secondsFromGMT: offsetHours * 3600)
            f.dateFormat = "yyyy-MM-dd"
            return f.string(from: Date().addingTimeInterval(TimeInterval(-daysAgo * 86_400)))
        }
        let ahead = day(0, offsetHours: 14)
        for (id, published) in [("tide/ahead", ahead), ("tide/3", day(3, offsetHours: 14)), ("tide/20", day(20, offsetHours: 14))] {
            let r = try CLI.run(["put", id, "--title", "Tide tables", "--published", published, "--body-file", "-", "--data", data], stdin: "Spring tides")
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        let (kiritimati, behind) = (["TZ": "Pacific/Kiritimati"], ["TZ": "Etc/GMT+12"])
        func ids(_ query: String, _ env: [String: String], _ target: [String]) throws -> [String] {
            let r = try CLI.run(["search", "--json", query] + target, env: env)
            XCTAssertTrue(r.code == 0 || r.code == 1, "\(query): \(r.stderr)")
            return try r.stdout.split(separator: "\n").map { try XCTUnwrap((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String) }.sorted()
        }
        let (server, address, _) = try startServe(self, data)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        for target in [["--data", data], ["--remote", address]] {
            XCTAssertEqual(try ids("tide since:today", kiritimati, target), ["tide/ahead"], "\(target)")
            XCTAssertEqual(try ids("tide since:4d", kiritimati, target), ["tide/3", "tide/ahead"], "\(target)")
            XCTAssertEqual(try ids("tide Since:\"3D\" until:yesterday", kiritimati, target), ["tide/3"], "\(target)")
            XCTAssertEqual(try ids("tide until:2w", kiritimati, target), ["tide/20"], "\(target)")
            // A day behind (or two), today has not reached the newest article yet.
            XCTAssertEqual(try ids("tide until:today", behind, target), ["tide/20", "tide/3"], "\(target)")
            XCTAssertEqual(try ids("tide until:today", kiritimati, target), ["tide/20", "tide/3", "tide/ahead"], "\(target)")
        }
        // TZ as the C library reads it (date(1) agrees): a colon before a zone name, POSIX
        // rules, whose sign is west of Greenwich.
        for tz in [":Pacific/Kiritimati", "<+14>-14", "LINT-14"] {
            XCTAssertEqual(try ids("tide until:today", ["TZ": tz], ["--data", data]), ["tide/20", "tide/3", "tide/ahead"], tz)
        }
        for tz in ["UTC+12", ":Etc/GMT+12", "<-12>12"] {
            XCTAssertEqual(try ids("tide until:today", ["TZ": tz], ["--data", data]), ["tide/20", "tide/3"], tz)
        }
        // A weekday is the latest one, today included: the last seven days.
        let weekday = DateFormatter()
        weekday.locale = Locale(identifier: "en_US_POSIX")
        weekday.timeZone = TimeZone(secondsFromGMT: 14 * 3600)
        weekday.dateFormat = "EEEE"
        XCTAssertEqual(try ids("tide since:\(weekday.string(from: Date()))", kiritimati, ["--data", data]), ["tide/ahead"])
        XCTAssertEqual(try ids("tide since:\(weekday.string(from: Date().addingTimeInterval(-3 * 86_400)).prefix(3))", kiritimati, ["--data", data]), ["tide/3", "tide/ahead"])

        // Words that are not dates: a usage error naming them, locally and remotely.
        for target in [["--data", data], ["--remote", address]] {
            let typo = try CLI.run(["search", "tide since:tusday"] + target)
            XCTAssertEqual(typo.code, 2, typo.stderr)
            XCTAssertTrue(typo.stderr.contains("since: needs a date, not \"tusday\"") && typo.stderr.contains("a weekday"), typo.stderr)
            let far = try CLI.run(["search", "tide since:99999999999d"] + target)
            XCTAssertEqual(far.code, 2, far.stderr)
            XCTAssertTrue(far.stderr.contains("reaches back more than 36600 days"), far.stderr)
        }
        XCTAssertTrue(try CLI.run(["search", "--help"]).stdout.contains("yesterday"))
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
