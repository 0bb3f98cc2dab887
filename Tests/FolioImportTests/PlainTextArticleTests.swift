import FolioTestSupport
import XCTest

@testable import FolioModel
@testable import FolioStore
@testable import FolioImport

final class PlainTextArticleTests: XCTestCase {
    func testScrapedPageShape() throws {
        let path = samplesDirectory + "/pages/europe/harbour-ferry-returns.txt"
        let a = try PlainTextArticle.parse([UInt8](FileManager.default.contents(atPath: path)!))
        XCTAssertEqual(a.title, "Harbour ferry returns after two-year restoration")
        XCTAssertEqual(a.source, "Coastal Gazette")
        XCTAssertEqual(a.id, "coastal-gazette/harbour-ferry-returns-after-two-year-restoration")
        XCTAssertTrue(a.body.hasPrefix("The century-old harbour ferry \"Marit\" resumed service"))
        XCTAssertTrue(a.body.hasSuffix("with a reduced timetable at weekends."))
        XCTAssertEqual(a.body.components(separatedBy: "\n\n").count, 4, "paragraphs are kept")
        XCTAssertFalse(a.body.contains("Top stories"))
        XCTAssertFalse(a.body.contains("cycle lanes"), "furniture after the body is dropped")
    }

    func testVariants() throws {
        // CRLF line ends, BOM, no repeated title, no source prefix.
        let text = "\u{FEFF}Title here\r\n\r\nFirst para line one\r\nline two\r\n\r\nSecond para.\r\n"
        let a = try PlainTextArticle.parse(Array(text.utf8))
        XCTAssertEqual(a.title, "Title here")
        XCTAssertEqual(a.source, "")
        XCTAssertEqual(a.body, "First para line one\nline two\n\nSecond para.")
        XCTAssertEqual(a.id, "text/title-here")
        // Ids of non-Latin titles keep their letters; long titles are cut and hashed.
        XCTAssertEqual(PlainTextArticle.derivedID(source: "Агентство", title: "Новости дня"), "агентство/новости-дня")
        let long = PlainTextArticle.derivedID(source: "S", title: String(repeating: "word ", count: 100))
        XCTAssertLessThanOrEqual(long.utf8.count, 400)
        XCTAssertNotEqual(long, PlainTextArticle.derivedID(source: "S", title: String(repeating: "word ", count: 101)))
    }

    func testBadPagesAreRejectedWithALine() {
        XCTAssertThrowsError(try PlainTextArticle.parse(Array("\n\n  \n".utf8))) {
            XCTAssertEqual("\($0)", "line 1: the file is empty")
        }
        XCTAssertThrowsError(try PlainTextArticle.parse(Array("Only a title\n\nOnly a title\n".utf8))) {
            XCTAssertTrue("\($0)".contains("no body text"), "\($0)")
        }
        XCTAssertThrowsError(try PlainTextArticle.parse(Array("Title\n\nok line\nbad ".utf8) + [0xFF] + Array(" here\n".utf8))) {
            XCTAssertEqual("\($0)", "line 4: invalid UTF-8 (byte 0xff at column 5)")
        }
    }
}
