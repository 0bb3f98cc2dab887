import Foundation
import XCTest

@testable import FolioModel

/// `SearchQuery.resolvingRelativeDates`: since:tuesday and friends become the dates the user's
/// calendar gives them, and nothing else of the query changes.
final class RelativeDateTests: XCTestCase {
    /// 2026-11-26T10:00:00Z, a Thursday.
    let thursday: Int64 = 1_795_687_200

    func resolve(_ text: String, offset: Int = 0, now: Int64? = nil) throws -> String {
        try SearchQuery.resolvingRelativeDates(in: text, now: now ?? thursday, utcOffset: offset)
    }

    func testDaysAndWeekdaysOnTheUsersCalendar() throws {
        XCTAssertEqual(PublishedTime.civil(fromDays: Int(thursday / 86_400)).0, 2026)
        XCTAssertEqual(try resolve("port since:today"), "port since:2026-11-26")
        XCTAssertEqual(try resolve("port until:yesterday"), "port until:2026-11-25")
        // The most recent such day, today included.
        let expected = ["monday": "2026-11-23", "tue": "2026-11-24", "wednesday": "2026-11-25", "thursday": "2026-11-26",
                        "fri": "2026-11-20", "saturday": "2026-11-21", "sun": "2026-11-22"]
        for (day, date) in expected { XCTAssertEqual(try resolve("since:\(day)"), "since:\(date)", day) }
        XCTAssertEqual(try resolve("since:0d until:3d"), "since:2026-11-26 until:2026-11-23")
        XCTAssertEqual(try resolve("since:2w"), "since:2026-11-12")
        XCTAssertEqual(try resolve("since:6h"), "since:2026-11-26T04:00:00Z")
        XCTAssertEqual(try resolve("since:11h"), "since:2026-11-25T23:00:00Z")
        XCTAssertEqual(try resolve("since:400d"), "since:2025-10-22")
        // Across a month, a year and a leap day.
        XCTAssertEqual(try resolve("since:27d"), "since:2026-10-30")
        XCTAssertEqual(try resolve("since:yesterday", now: 1_767_225_600), "since:2025-12-31")  // 2026-01-01T00:00Z
        XCTAssertEqual(try resolve("since:today", now: 1_709_208_000), "since:2024-02-29")  // 2024-02-29T12:00Z
    }

    func testTheUsersTimeZoneDecidesWhatTodayIs() throws {
        // 10:00 UTC is Friday 00:00 at UTC+14 and Wednesday 23:00 at UTC−11.
        XCTAssertEqual(try resolve("since:today", offset: 14 * 3600), "since:2026-11-27")
        XCTAssertEqual(try resolve("since:thursday", offset: 14 * 3600), "since:2026-11-26")
        XCTAssertEqual(try resolve("since:today", offset: -11 * 3600), "since:2026-11-25")
        XCTAssertEqual(try resolve("since:wed", offset: -11 * 3600), "since:2026-11-25")
        // Hours are an instant: the zone does not move them.
        XCTAssertEqual(try resolve("since:6h", offset: 14 * 3600), "since:2026-11-26T04:00:00Z")
        // Before 1970 (a clock far off) still counts whole days down, not toward zero.
        XCTAssertEqual(try resolve("since:today", now: -1), "since:1969-12-31")
        XCTAssertEqual(try resolve("since:thursday", now: -86_400 * 3), "since:1969-12-25")  // 1969-12-29 is a Monday
    }

    func testOnlyRelativeFilterValuesChangeAndTheRestStaysByteForByte() throws {
        // Case, quotes, other filters and the query's own words.
        XCTAssertEqual(try resolve("Since:Tuesday UNTIL:\"today\""), "Since:2026-11-24 UNTIL:\"2026-11-26\"")
        // A quoted value stays quoted: what follows its closing quote is another word.
        for (relative, iso) in [(#"since:"2w""three-day strike""#, #"since:"2026-11-12""three-day strike""#), (#"port since:"2w"-rail"#, #"port since:"2026-11-12"-rail"#)] {
            XCTAssertEqual(try resolve(relative), iso)
            XCTAssertEqual(try SearchQuery(parsing: try resolve(relative)), try SearchQuery(parsing: iso))
        }
        let kept = [
            "since:2026-11-20 until:2026-11-30T05:00Z port",
            "\"since:today\" strike",  // a phrase, not a filter
            "-since:today",  // refused by the parser, as written
            "tag:today source:yesterday id:3d today yesterday tuesday 3d",
            "since:today\"x\" \"until:today\"x",  // quotes that make words of text
            "\"unclosed since:today",
        ]
        for text in kept { XCTAssertEqual(Array(try resolve(text).utf8), Array(text.utf8), text) }
        // The parser too reads those quoted words as text, not as filters.
        XCTAssertEqual(try SearchQuery(parsing: #"since:today"x" "until:today"x"#).since + [], [])
        // Decomposed text and odd spacing around a resolved filter are kept as they are.
        let nfd = "cafe\u{301}\u{3000}since:today\t\"port  strike\"  -rail"
        XCTAssertEqual(Array(try resolve(nfd).utf8), Array("cafe\u{301}\u{3000}since:2026-11-26\t\"port  strike\"  -rail".utf8))
        // What comes out parses to what the dates say.
        let q = try SearchQuery(parsing: try resolve("port since:mon until:yesterday"))
        XCTAssertEqual(q.since, ["2026-11-23"])
        XCTAssertEqual(q.until, ["2026-11-25"])
    }

    func testAValueThatIsNoDateIsRefusedNamingWhatIs() throws {
        for value in ["tomorrow", "tusday", "3x", "d", "-3d", "3.5d", "３d", "\"next week\"", "2026-13-01", "2026-11-20t10:00"] {
            XCTAssertThrowsError(try resolve("port since:\(value)"), value) { error in
                let reason = "\(error)"
                XCTAssertTrue(reason.contains("since: needs a date") && reason.contains("today, yesterday, a weekday"), reason)
            }
        }
        XCTAssertThrowsError(try resolve("until:soon")) { XCTAssertTrue("\($0)".contains("until: needs a date, not \"soon\""), "\($0)") }
        for empty in ["since:", "since:\"\" port", "port until:"] {
            XCTAssertThrowsError(try resolve(empty), empty) { XCTAssertTrue("\($0)".contains("needs a date: ISO-8601") && "\($0)".contains("yesterday"), "\($0)") }
        }
    }

    func testHowFarBackIsBoundedWithoutOverflow() throws {
        XCTAssertNoThrow(try resolve("since:\(SearchQuery.maxRelativeDays)d"))
        XCTAssertNoThrow(try resolve("since:878400h"))
        for text in ["since:36601d", "until:5229w", "since:878401h", "since:99999999999999999999999999999d"] {
            XCTAssertThrowsError(try resolve(text), text) { error in
                XCTAssertTrue("\(error)".contains("reaches back more than"), "\(error)")
            }
        }
        // Arbitrary values never trap: each is resolved, kept, or refused with a reason.
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet = Array("0123456789dwhmonday\":- 　é\u{301}SINCEuntil".unicodeScalars)
        for _ in 0..<3000 {
            var text = String.UnicodeScalarView()
            text.append(contentsOf: "since:".unicodeScalars)
            for _ in 0..<(rng.next() % 12) { text.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let s = String(text)
            do {
                let r = try resolve(s, offset: Int(rng.next() % 100_000) - 50_000, now: Int64(bitPattern: rng.next() % 10_000_000_000))
                // Resolving again changes nothing, and every value it wrote is an ISO-8601 date.
                XCTAssertEqual(Array(try resolve(r).utf8), Array(r.utf8), r)
                func pieces(_ t: String) -> [String] { t.split(whereSeparator: { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) }).map(String.init) }
                let before = pieces(s)
                for p in pieces(r) where !before.contains(where: { Array($0.utf8) == Array(p.utf8) }) {
                    let value = p.drop(while: { $0 != ":" }).dropFirst()
                    XCTAssertNil(ISO8601Check.problem(with: String(value)), "\(s) → \(r)")
                }
            } catch {
                XCTAssertTrue("\(error)".contains("reaches back") || "\(error)".contains("needs a date"), "\(s): \(error)")
            }
        }
    }
}
