import FolioModelTestSupport
import XCTest

@testable import FolioModel

final class ArticleJSONTests: XCTestCase {
    func testRoundTripKeepsFieldOrderExtrasNumbersAndUnicode() throws {
        let line = #"{"id":"w/1","title":"Grüße 👋","source":"S","url":"u","published":"2026-11-29T10:00:00+01:00","body":"a\nb\t\"c\" \\ é\u0001","tags":["x","y"],"authors":[{"name":"Ä"}],"score":4.50,"flag":true,"none":null}"#
        let a = try Article(json: JSONParser.parse(line))
        XCTAssertEqual(a.title, "Grüße 👋")
        XCTAssertEqual(a.body, "a\nb\t\"c\" \\ é\u{01}")
        XCTAssertEqual(a.extra.map(\.name), ["authors", "score", "flag", "none"])
        XCTAssertEqual(a.extra[1].json, "4.50", "numbers keep their exact text")
        XCTAssertEqual(a.jsonLine, line)
        // Escaped input comes back in canonical form, and that form is a fixed point.
        let escaped = #"{"tags":[],"id":"w\/2","title":"\u00e9\ud83d\udcf0"}"#
        let b = try Article(json: JSONParser.parse(escaped))
        XCTAssertEqual(b.title, "é📰")
        XCTAssertEqual(try Article(json: JSONParser.parse(b.jsonLine)).jsonLine, b.jsonLine)
        XCTAssertTrue(b.jsonLine.hasPrefix(#"{"id":"w/2","title":"é📰","source":"""#))
    }

    func testInvalidInputNamesTheFieldOrPosition() {
        func reason(_ text: String) -> String {
            do {
                _ = try Article(json: JSONParser.parse(text))
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(reason(#"{"title":"x"}"#), #"field "id": is missing"#)
        XCTAssertEqual(reason(#"{"id":""}"#), #"field "id": must not be empty"#)
        XCTAssertEqual(reason(#"{"id":"a","title":5}"#), #"field "title": expected a string, found a number"#)
        XCTAssertEqual(reason(#"{"id":"a","tags":["x",1]}"#), #"field "tags": item 1 is a number, expected a string"#)
        XCTAssertTrue(reason(#"{"id":"a","published":"2026-13-01"}"#).contains("month 13"))
        XCTAssertEqual(reason(#"{"id":"a","id":"b"}"#), #"field "id": appears twice"#)
        XCTAssertEqual(reason("[1]"), "expected a JSON object, found an array")
        XCTAssertTrue(reason(#"{"id":"a","body":"trunc"#).contains("unterminated string"))
        XCTAssertTrue(reason(#"{"id":"a","#).contains("truncated"))
        XCTAssertTrue(reason(#"{"id":"a"} x"#).contains("after the JSON value"))
        XCTAssertTrue(reason(#"{"id":"\ud800"}"#).contains("surrogate"))
        XCTAssertTrue(reason(#"{"id":01}"#).contains("after the JSON value") || reason(#"{"id":01}"#).contains("expected"))
    }

    func testInvalidUTF8IsRejectedWithItsColumn() {
        let bytes: [UInt8] = Array(#"{"id":"ok","title":"ab"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        XCTAssertThrowsError(try JSONParser.parse(bytes)) { error in
            let e = error as? JSONParser.Error
            XCTAssertEqual(e?.reason, "invalid UTF-8 in a string")
            XCTAssertEqual(e?.column, 23)
        }
    }

    func testDeepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { XCTAssertTrue("\($0)".contains("nesting")) }
    }

    func testPublishedDates() {
        for ok in ["", "2024-02-29", "2026-11-29T10:00", "2026-11-29T10:00:59Z", "2026-11-29T10:00:00.123+05:30", "2026-11-29 10:00:00-0800"] {
            XCTAssertNil(ISO8601Check.problem(with: ok), ok)
        }
        for bad in ["2023-02-29", "2026-1-01", "2026-11-29T25:00", "29/11/2026", "2026-11-29Tnoon", "2026-11-29Z"] {
            XCTAssertNotNil(ISO8601Check.problem(with: bad), bad)
        }
    }
}
