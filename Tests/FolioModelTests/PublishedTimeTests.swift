import Foundation
import XCTest

@testable import FolioModel

/// `PublishedTime`: date-times with zones moved to UTC, as search compares them.
final class PublishedTimeTests: XCTestCase {
    /// Arbitrary valid date-times with arbitrary offsets agree with Foundation's own reading.
    func testUTCAgreesWithFoundationOnArbitraryDateTimes() throws {
        var rng = SplitMix64(seed: 0xDA7E)
        let utc = DateFormatter()
        utc.locale = Locale(identifier: "en_US_POSIX")
        utc.timeZone = TimeZone(identifier: "UTC")
        utc.dateFormat = "yyyy-MM-dd'T'HH:mm"
        for _ in 0..<5000 {
            let day = Int(rng.next() % 3_000_000) - 700_000  // 0053…10128-ish; out of range ones are nil
            let (y, m, d) = PublishedTime.civil(fromDays: day)
            guard (1...9999).contains(y) else { continue }
            let (h, min, s) = (Int(rng.next() % 24), Int(rng.next() % 60), Int(rng.next() % 60))
            let oh = Int(rng.next() % 15), om = [0, 30, 45][Int(rng.next() % 3)]
            let sign = rng.next() % 2 == 0 ? "+" : "-"
            let zone = rng.next() % 5 == 0 ? "Z" : String(format: "%@%02d%@%02d", sign, oh, rng.next() % 2 == 0 ? ":" : "", om)
            let sep = rng.next() % 4 == 0 ? " " : "T"
            let seconds = rng.next() % 3 == 0 ? "" : String(format: ":%02d", s) + (rng.next() % 2 == 0 ? ".25" : "")
            let text = String(format: "%04d-%02d-%02d%@%02d:%02d", y, m, d, sep, h, min) + seconds + zone
            XCTAssertNil(ISO8601Check.problem(with: text), text)
            let offset = zone == "Z" ? 0 : (oh * 60 + om) * (sign == "-" ? -1 : 1)
            var c = DateComponents()
            (c.year, c.month, c.day, c.hour, c.minute) = (y, m, d, h, min)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(secondsFromGMT: 0)!
            let instant = calendar.date(from: c)!.addingTimeInterval(TimeInterval(-offset * 60))
            let got = PublishedTime.utc(text).map { String(decoding: $0, as: UTF8.self) }
            // Foundation's years are 1…; ours are shifted by one into five digits.
            let year = calendar.component(.era, from: instant) == 0 ? 1 - calendar.component(.year, from: instant) : calendar.component(.year, from: instant)
            guard year >= 1 else { continue }
            let expected = String(format: "%05d", year + 1) + utc.string(from: instant).dropFirst(utc.string(from: instant).count - 12) + seconds
            XCTAssertEqual(got, expected, text)
        }
    }

    func testWhatIsComparedAsWritten() {
        // No time, or no zone: nothing to move.
        for text in ["2026-11-23", "2026-11-23T09:00", "2026-11-23T09:00:00.5", "", "soon", "2026-11-23T09:00:00+0"] {
            XCTAssertNil(PublishedTime.utc(text), text)
        }
        XCTAssertEqual(PublishedTime.utc("2026-01-01T01:30+02:00").map { String(decoding: $0, as: UTF8.self) }, "02026-12-31T23:30")
        XCTAssertEqual(PublishedTime.utc("2024-02-28T23:00:05-01:00").map { String(decoding: $0, as: UTF8.self) }, "02025-02-29T00:00:05")
        // Across the ends of the years ISO-8601 text can hold.
        XCTAssertTrue(PublishedTime.onOrAfter("9999-12-31T20:00:00-05:00", "9999-12-31T23:00Z"))
        XCTAssertTrue(PublishedTime.onOrBefore("0000-01-01T00:30:00+01:00", "0000-01-01T00:00Z"))
        XCTAssertFalse(PublishedTime.onOrAfter("0000-01-01T00:30:00+01:00", "0000-01-01T00:00Z"))
        // A date bound compares the article's own calendar date; a timed bound, instants.
        let tokyo = "2026-11-23T09:00:00+09:00"  // 00:00 UTC
        XCTAssertTrue(PublishedTime.onOrAfter(tokyo, "2026-11-23"))
        XCTAssertTrue(PublishedTime.onOrBefore(tokyo, "2026-11-23T04:00:00Z"))
        XCTAssertFalse(PublishedTime.onOrAfter(tokyo, "2026-11-23T05:00:00Z"))
        XCTAssertTrue(PublishedTime.onOrAfter("2026-11-20T14:05:00Z", "2026-11-20T15:00:00+02:00"))
        XCTAssertTrue(PublishedTime.onOrBefore("2026-11-20T14:05:00Z", "2026-11-20T14:05"))  // floating bound: as written
        XCTAssertTrue(PublishedTime.onOrAfter("2026-11-20", "2026-11-20T23:00+01:00"))  // a date holds every time of it
        // A published time to fewer digits than the bound is the instant it names (its missing
        // seconds and fraction zeros), so since: and until: stay monotonic in the instant.
        let bound = "2026-11-20T14:05:00.7Z"
        for (published, since, until) in [("2026-11-20T14:05Z", false, true), ("2026-11-20T14:05:00Z", false, true), ("2026-11-20T14:05:00.500Z", false, true),
                                          ("2026-11-20T14:05:00.7Z", true, true), ("2026-11-20T14:05:00.71Z", true, true), ("2026-11-20T14:05:01Z", true, false)] {
            XCTAssertEqual(PublishedTime.onOrAfter(published, bound), since, published)
            XCTAssertEqual(PublishedTime.onOrBefore(published, bound), until, published)
        }
        // A bound to fewer digits names its whole minute or second.
        XCTAssertTrue(PublishedTime.onOrBefore("2026-11-20T14:05:00.500Z", "2026-11-20T14:05:00Z"))
        XCTAssertTrue(PublishedTime.onOrBefore("2026-11-20T14:05:59Z", "2026-11-20T14:05Z"))
        XCTAssertFalse(PublishedTime.onOrBefore("2026-11-20T14:06:00Z", "2026-11-20T14:05Z"))
    }
}
