import FolioModel
import FolioTestSupport
import Foundation
import LMDB
import XCTest

@testable import FolioStore

/// The full-text index: folding, every query form, consistency with writes, merges and
/// deletes in the same transaction, reindex, verify, and the format-1 upgrade.
final class SearchTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func samples() throws -> [Article] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Samples/articles.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try Article(json: JSONParser.parse(Array($0.utf8))) }
    }

    func ids(_ s: Store, _ q: String, limit: Int = 50) throws -> [String] {
        try s.search(SearchQuery(parsing: q), limit: limit).map(\.id)
    }

    func testFoldingRulesForTheArchivesLanguages() {
        XCTAssertEqual(SearchText.terms("Stadtbibliothek öffnet SONNTAGS"), ["stadtbibliothek", "offnet", "sonntags"])
        XCTAssertEqual(SearchText.terms("Straße, español, Ångström, naïve café"), ["strasse", "espanol", "angstrom", "naive", "cafe"])
        XCTAssertEqual(SearchText.terms("ＦＵＬＬ　ｗｉｄｔｈ ﬁne"), ["full", "width", "fine"])
        XCTAssertEqual(SearchText.terms("東京で古地図展"), ["東京", "京で", "で古", "古地", "地図", "図展"])
        XCTAssertEqual(SearchText.terms("Tokyo東京2026年"), ["tokyo", "東京", "2026", "年"])
        // CJK width and composition: half-width katakana and its voicing marks, decomposed
        // kana, compatibility ideographs fold to the forms typed; 々 is part of its run.
        // Compared as bytes (String's == holds canonically equivalent text equal).
        func bytes(_ text: String) -> [[UInt8]] { SearchText.terms(text).map { Array($0.utf8) } }
        XCTAssertEqual(bytes("ｶﾞｲﾄﾞ"), bytes("ガイド"))
        XCTAssertEqual(bytes("か\u{3099}っこう"), bytes("がっこう"))
        XCTAssertEqual(bytes("\u{F91F}"), bytes("\u{862D}"))
        XCTAssertEqual(bytes("人々"), [Array("人々".utf8)])
        XCTAssertEqual(bytes("ﾊﾟﾝ"), [Array("パン".utf8)])
        XCTAssertEqual(bytes("ﾊﾟﾝ"), [[0xE3, 0x83, 0x91, 0xE3, 0x83, 0xB3]])
        // ・ separates the words of a name, in either width; a digraph is its two kana; extra
        // marks fold alike in any spelling; decomposed Hangul is its syllables.
        XCTAssertEqual(bytes("ジョン・スミス"), bytes("ｼﾞｮﾝ･ｽﾐｽ"))
        XCTAssertEqual(bytes("ジョン・スミス"), bytes("ジョン スミス"))
        XCTAssertEqual(bytes("事ヿ"), bytes("事コト"))
        XCTAssertEqual(bytes("ﾊﾞﾞﾞｲ"), bytes("バ\u{3099}\u{3099}イ"))
        XCTAssertEqual(bytes("한국어".decomposedStringWithCanonicalMapping), bytes("한국어"))
        XCTAssertEqual(bytes("か゛っこう"), bytes("がっこう"))
        XCTAssertEqual(bytes("ㄱㅏ"), bytes("가"))
        XCTAssertEqual(bytes("〸年"), bytes("十年"))
        // Thai, Lao, Myanmar and Khmer are paired too, a letter with its marks one character;
        // their punctuation separates, and marks typed in another order fold alike.
        XCTAssertEqual(SearchText.terms("ท่าเรือ"), ["ท่า", "าเ", "เรื", "รือ"])
        XCTAssertEqual(SearchText.terms("ท่าเรือ๚ทำงาน"), ["ท่า", "าเ", "เรื", "รือ", "ทำง", "งา", "าน"])
        XCTAssertEqual(bytes("ก\u{0E48}\u{0E38}"), bytes("ก\u{0E38}\u{0E48}"))
        XCTAssertEqual(bytes("ທ່າເຮືອ"), [Array("ທ່າ".utf8), Array("າເ".utf8), Array("ເຮື".utf8), Array("ຮືອ".utf8)])
        XCTAssertEqual(bytes("ໜ້າ"), bytes("ຫນ້າ"))
        // A variation selector stays with its ideograph (葛󠄀城 is 葛城 drawn another way).
        XCTAssertEqual(bytes("葛\u{E0100}城市"), bytes("葛城市"))
        XCTAssertEqual(bytes("辻\u{FE00}本"), bytes("辻本"))
        XCTAssertEqual(SearchText.terms("a\u{FE0F}b"), SearchText.terms("ab"))
        XCTAssertEqual(SearchText.terms("ភ្នំពេញ។"), ["ភ្នំ", "នំពេ", "ពេញ"])
        XCTAssertEqual(SearchText.terms("ရန်ကုန်၊ ဆိပ်ကမ်း"), ["ရန်", "န်ကု", "ကုန်", "ဆိပ်", "ပ်က", "ကမ်း"])
        XCTAssertEqual(SearchText.terms("ก"), ["ก"])
        // Sara am in each way it is typed (precomposed, nikhahit + sara aa on either side of
        // the tone mark, before the tone mark), and a tone typed before an upper vowel.
        for variant in ["น\u{0E49}\u{0E4D}\u{0E32}มัน", "น\u{0E4D}\u{0E49}\u{0E32}มัน", "น\u{0E33}\u{0E49}มัน"] {
            XCTAssertEqual(bytes(variant), bytes("น้ำมัน"), variant.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " "))
        }
        XCTAssertEqual(SearchText.terms("น้ำมัน"), ["น้ำมั", "มัน"])
        XCTAssertEqual(bytes("\u{0E4D}\u{0E32}"), bytes("\u{0E33}"))
        XCTAssertEqual(bytes("ก\u{0E48}\u{0E34}ง"), bytes("กิ่ง"))
        XCTAssertEqual(bytes("ກໍາລັງ"), bytes("ກຳລັງ"))
        // A Burmese syllable keeps its three or four marks: ပြေ is not the start of ပြော.
        XCTAssertEqual(SearchText.terms("ပြော"), ["ပြော"])
        XCTAssertEqual(SearchText.terms("ကျောင်း"), ["ကျောင်း"])
        XCTAssertEqual(SearchText.terms("e-mail: don't!"), ["e", "mail", "don", "t"])
        XCTAssertEqual(SearchText.terms(String(repeating: "a", count: 200)), [String(repeating: "a", count: 64)])
        XCTAssertEqual(SearchText.terms(""), [])
        XCTAssertEqual(SearchText.foldedValue("  Nordic   WIRE "), "nordic wire")
    }

    /// The index tokenizes with `forEachTermBytes` (no String per term), queries and snippets
    /// with `forEachTerm`: on arbitrary text, from every script the rules treat differently,
    /// both must give the same terms, or a query would miss what was indexed.
    func testTheIndexTokenizerAgreesWithTheQueryTokenizerOnArbitraryText() {
        var rng = SplitMix64(seed: 0x5EA2C4)
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0xC0...0x24F, 0x300...0x36F, 0x370...0x3FF, 0x400...0x4FF,
            0x900...0x97F, 0x660...0x669, 0x3040...0x30FF, 0x4E00...0x4E80, 0xAC00...0xAC40,
            0x1100...0x11FF, 0xFF01...0xFF9F, 0xFB00...0xFB06, 0x1E9E...0x1E9E, 0x1F300...0x1F64F,
            0x20000...0x20010, 0x2160...0x216F, 0x1D400...0x1D4FF, 0x0...0x10FFFF,
            // What CJK folding joins and maps: voicing marks after kana (decomposed, half-width),
            // half-width kana and Hangul, compatibility ideographs and jamo, 々〆〇.
            0x3099...0x309C, 0x3099...0x309A, 0xFF9E...0xFF9F, 0xFF66...0xFFDC, 0xF900...0xFA6D,
            0x3000...0x303F, 0x3100...0x318F, 0x2F800...0x2F810,
            // Thai, Lao, Myanmar, Khmer: letters, marks (several after one letter), punctuation.
            0x0E00...0x0E7F, 0x0E30...0x0E4E, 0x0E80...0x0EFF, 0x1000...0x109F, 0x102B...0x103E, 0x1780...0x17FF, 0x17B6...0x17D3,
            // Variation selectors (after ideographs they join them).
            0xFE00...0xFE0F, 0xE0100...0xE0110,
        ]
        // One fold cache shared by every text, as an import batch shares one.
        let shared = FoldCache()
        for round in 0..<3000 {
            var text = String.UnicodeScalarView()
            let length = Int(rng.next() % (round % 10 == 0 ? 400 : round % 3 == 1 ? 120 : 40))
            for _ in 0..<length {
                // A third of the texts are mostly ASCII (long runs of it, read eight bytes at
                // a time by `asciiWords`): letters of both cases, digits, separators.
                if round % 3 == 1 && rng.next() % 16 != 0 {
                    let ascii = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-'@[`{/:\u{7F}\u{0}\t\n".unicodeScalars)
                    text.append(ascii[Int(rng.next() % UInt64(ascii.count))])
                    continue
                }
                let r = ranges[Int(rng.next() % UInt64(ranges.count))]
                let v = r.lowerBound + UInt32(rng.next() % UInt64(r.upperBound - r.lowerBound + 1))
                if let u = Unicode.Scalar(v) { text.append(u) }
            }
            // Long words too: the 64-byte cap, ASCII and folded.
            if round % 7 == 0 { text.append(contentsOf: String(repeating: ["Ab", "é", "ﬁ", "東"][round % 4], count: 40).unicodeScalars) }
            let s = String(text)
            var bytes: [String] = []
            SearchText.forEachTermBytes(s) { bytes.append(String(decoding: $0, as: UTF8.self)) }
            // As bytes: String's == would hold canonically equivalent terms equal.
            func utf8(_ terms: [String]) -> [[UInt8]] { terms.map { Array($0.utf8) } }
            XCTAssertEqual(utf8(bytes), utf8(SearchText.terms(s)), "text: \(s.unicodeScalars.map { String($0.value, radix: 16) })")
            var cached: [String] = []
            SearchText.forEachTermBytes(s, foldCache: shared) { cached.append(String(decoding: $0, as: UTF8.self)) }
            XCTAssertEqual(utf8(cached), utf8(bytes), "with a shared fold cache")
            // The ranges too (snippets mark words by them).
            var ranged: [String] = [], expected: [String] = []
            SearchText.forEachTermBytes(s, singles: false) { t, r, _ in ranged.append("\(String(decoding: t, as: UTF8.self))@\(r)") }
            SearchText.forEachTerm(s) { expected.append("\($0)@\($1)") }
            XCTAssertEqual(utf8(ranged), utf8(expected))
            // With singles: the same terms, and each character of a CJK run of two or more
            // once as a single (one scalar, its own range), in order.
            var withSingles: [String] = [], singles: [String] = []
            SearchText.forEachTermBytes(s, singles: true) { term, range, single in
                let text = "\(String(decoding: term, as: UTF8.self))@\(range)"
                if single { singles.append(text) } else { withSingles.append(text) }
            }
            XCTAssertEqual(utf8(withSingles), utf8(expected))
            let problem = Self.singlesProblem(s)
            XCTAssertNil(problem, "text: \(s.unicodeScalars.map { String($0.value, radix: 16) })")
            if utf8(bytes) != utf8(SearchText.terms(s)) || utf8(ranged) != utf8(expected) || utf8(withSingles) != utf8(expected) || problem != nil { return }
        }
    }

    /// What is wrong with the singles `forEachTermBytes(singles: true)` gives for `text`, if
    /// anything. A run of characters c1…cn (n ≥ 2) must give pair(c1 c2), single(c1),
    /// pair(c2 c3), single(c2), …, single(cn): each pair its two singles' bytes joined, each
    /// single from where its pair starts; a word or a lone character no single.
    static func singlesProblem(_ text: String) -> String? {
        var stream: [(bytes: [UInt8], range: Range<Int>, single: Bool)] = []
        SearchText.forEachTermBytes(text, singles: true) { stream.append((Array($0), $1, $2)) }
        func show(_ i: Int) -> String { "\(String(decoding: stream[i].bytes, as: UTF8.self))@\(stream[i].range)\(stream[i].single ? " single" : "")" }
        // The character the last pair ended with, until the run's last single.
        var carried: (bytes: [UInt8], upper: Int)?
        var i = 0
        while i < stream.count {
            let t = stream[i]
            if !t.single && i + 1 < stream.count && stream[i + 1].single {
                // A pair, then the single of its first character.
                let first = stream[i + 1]
                guard t.bytes.starts(with: first.bytes), first.bytes.count < t.bytes.count, first.range.lowerBound == t.range.lowerBound,
                    first.range.upperBound <= t.range.upperBound
                else { return "\(show(i + 1)) is not the first character of \(show(i))" }
                if let c = carried, c.bytes != first.bytes { return "\(show(i)) does not start with the character the pair before ended with" }
                carried = (Array(t.bytes.dropFirst(first.bytes.count)), t.range.upperBound)
                i += 2
            } else if t.single {
                // The run's last character.
                guard let c = carried, c.bytes == t.bytes, c.upper == t.range.upperBound else { return "\(show(i)) follows no pair ending with it" }
                carried = nil
                i += 1
            } else {
                guard carried == nil else { return "a run ends without its last single before \(show(i))" }
                // A word or a lone character: a term of two CJK characters is a pair, which a
                // single must follow.
                let scalars = String(decoding: t.bytes, as: UTF8.self).unicodeScalars
                // (A Thai, Lao, Myanmar or Khmer character is a letter and the marks after it.)
                let characters = scalars.enumerated().filter { $0.offset == 0 || !SearchText.isUnspacedMark($0.element) }.count
                if characters > 1 && scalars.allSatisfy(SearchText.isCJK) { return "pair \(show(i)) without its singles" }
                i += 1
            }
        }
        return carried == nil ? nil : "the last run has no last single"
    }

    /// Where a snippet marks phrases (`PhraseMatcher`, one term at a time) agrees with trying
    /// every start, on arbitrary texts and phrases of few, repeating words, lone characters
    /// (CJK and Thai, one a stray mark) among them.
    func testSnippetPhraseMatchesAgreeWithTryingEveryStart() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let words = ["ab", "c", "ab", "東京", "d", "港", "神戸港", "港湾", "ab港", "ปี", "ในปี", "\u{0E35}", "2567", "港港港", "ก\u{0E48}", "ปี2567", "2026港湾", "港2026"]
        for _ in 0..<5000 {
            // Words glued together at times: runs then meet digits and letters.
            var text = ""
            for _ in 0..<Int(rng.next() % 30) { text += words[Int(rng.next() % UInt64(words.count))] + (rng.next() % 3 == 0 ? "" : " ") }
            // Each phrase term one of a word's terms (a pair, a lone character, a word).
            let phrases = (0..<Int(1 + rng.next() % 3)).map { _ in
                (0..<Int(1 + rng.next() % 4)).map { _ -> [UInt8] in
                    let t = SearchText.terms(words[Int(rng.next() % UInt64(words.count))])
                    return Array(t[Int(rng.next() % UInt64(t.count))].utf8)
                }
            }
            var stream: [([UInt8], Range<Int>)] = []
            SearchText.forEachTermBytes(text, singles: false) { t, r, _ in stream.append((Array(t), r)) }
            var expected: [Range<Int>] = []
            // A lone character first in a phrase may be the last character of a run of the
            // text (its last pair, which the next term does not overlap), last in a phrase the
            // first of one (its first pair, not overlapping the term before).
            func startsCharacter(_ b: [UInt8]) -> Bool {
                guard let u = String(decoding: b, as: UTF8.self).unicodeScalars.first else { return true }
                return !SearchText.isUnspacedMark(u)
            }
            func stands(_ p: [[UInt8]], _ j: Int, _ i: Int) -> Bool {
                let (t, r) = stream[i + j]
                if t == p[j] { return true }
                guard p.count > 1, SearchText.isLoneCharacter(p[j]), t.count > p[j].count else { return false }
                if j == 0 {
                    let tail = Array(t.suffix(p[j].count))
                    return tail == p[j] && startsCharacter(tail) && stream[i + 1].1.lowerBound >= r.upperBound
                }
                if j == p.count - 1 {
                    return Array(t.prefix(p[j].count)) == p[j] && startsCharacter(Array(t.dropFirst(p[j].count))) && r.lowerBound >= stream[i + j - 1].1.upperBound
                }
                return false
            }
            func narrowed(_ r: Range<Int>, _ c: [UInt8], atEnd: Bool) -> Range<Int> {
                guard r.count > c.count, SearchText.isLoneCharacter(c) else { return r }
                return atEnd ? (r.upperBound - c.count)..<r.upperBound : r.lowerBound..<(r.lowerBound + c.count)
            }
            for p in phrases where p.count <= stream.count {
                for i in 0...(stream.count - p.count) where (0..<p.count).allSatisfy({ stands(p, $0, i) }) {
                    let first = p.count > 1 ? narrowed(stream[i].1, p[0], atEnd: true) : stream[i].1
                    let last = p.count > 1 ? narrowed(stream[i + p.count - 1].1, p[p.count - 1], atEnd: false) : stream[i].1
                    expected.append(first.lowerBound..<last.upperBound)
                }
            }
            let got = Snippet.matchedRanges(text, terms: [], prefixes: [], phrases: phrases)
            XCTAssertEqual(got, expected.sorted { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) }, "\(text) \(phrases.map { $0.map { String(decoding: $0, as: UTF8.self) } })")
        }
    }

    /// Thai, Lao, Myanmar and Khmer have no spaces between words: a word inside a run is found
    /// (before version 7 only a whole run between spaces was), with its vowel and tone marks
    /// (they tell words apart: ใกล้ is not ไกล), marked in the snippet; phrases hold.
    func testWordsInsideThaiLaoMyanmarAndKhmerRunsAreFound() throws {
        let s = try makeStore(self)
        try s.write { w in
            try w.put(Article(id: "th/port", title: "คนงานท่าเรือหยุดงานประท้วง", body: "คนงานท่าเรือกรุงเทพกลับมาทำงานหลังตกลงค่าจ้างได้ รถไฟไม่ได้รับผลกระทบ"))
            try w.put(Article(id: "th/near", title: "บ้านใกล้โรงเรียน", body: "ครอบครัวย้ายมาอยู่ใกล้เมือง"))
            try w.put(Article(id: "th/far", title: "บ้านไกลโรงเรียน", body: "ครอบครัวย้ายไปอยู่ไกลเมือง"))
            try w.put(Article(id: "lo/port", title: "ທ່າເຮືອວຽງຈັນ", body: "ກຳມະກອນທ່າເຮືອກັບມາເຮັດວຽກ"))
            try w.put(Article(id: "my/port", title: "ရန်ကုန်ဆိပ်ကမ်းအလုပ်သမားများ", body: "ဆိပ်ကမ်းအလုပ်သမားများ အလုပ်ပြန်ဝင်ကြသည်။"))
            try w.put(Article(id: "km/port", title: "កំពង់ផែភ្នំពេញ", body: "កម្មករកំពង់ផែបានត្រឡប់ទៅធ្វើការវិញ។"))
            try w.put(Article(id: "my/school", title: "ကျောင်းသားများ", body: "မြို့တော်ရှိ ကျောင်းများ ပြန်ဖွင့်သည်။"))
            try w.put(Article(id: "th/oil", title: "ราคาน้ำมันดิบ", body: "ตลาดปิดบวก"))
            try w.put(Article(id: "th/year", title: "งบประมาณ", body: "รัฐบาลเสนองบประมาณในปี2567 ตามกฎหมาย พ.ศ.2567"))
            try w.put(Article(id: "ja/year", title: "神戸港2026", body: "2026港湾整備"))
            try w.put(Article(id: "ja/bay2", title: "神戸港湾", body: "港湾"))
            try w.put(Article(id: "ja/vs", title: "葛\u{E0100}城市の市長が会見", body: "市長"))
            try w.put(Article(id: "th/oil-nfd", title: "ราคาน\u{0E49}\u{0E4D}\u{0E32}มันเบนซิน", body: "ตลาดปิดลบ"))
        }
        XCTAssertEqual(try ids(s, "ท่าเรือ"), ["th/port"])
        XCTAssertEqual(try ids(s, "ค่าจ้าง"), ["th/port"])
        XCTAssertEqual(try ids(s, "รถไฟ"), ["th/port"])
        XCTAssertEqual(try ids(s, "ท่าเรือ -รถไฟ"), [])
        XCTAssertEqual(try ids(s, "เรือบิน"), [])
        XCTAssertEqual(try ids(s, "ใกล้"), ["th/near"])
        XCTAssertEqual(try ids(s, "ไกล"), ["th/far"])
        XCTAssertEqual(Set(try ids(s, "โรงเรียน")), ["th/near", "th/far"])
        XCTAssertEqual(try ids(s, #""ท่าเรือกรุงเทพ""#), ["th/port"])
        XCTAssertEqual(try ids(s, #""กรุงเทพท่าเรือ""#), [])
        XCTAssertEqual(try ids(s, "ท่าเรือ"), try ids(s, "ท" + "\u{0E48}" + "าเรือ"))
        XCTAssertEqual(try ids(s, "ທ່າເຮືອ"), ["lo/port"])
        XCTAssertEqual(try ids(s, "ວຽງຈັນ"), ["lo/port"])
        XCTAssertEqual(try ids(s, "ဆိပ်ကမ်း"), ["my/port"])
        XCTAssertEqual(try ids(s, "ရန်ကုန်"), ["my/port"])
        XCTAssertEqual(try ids(s, "កំពង់ផែ"), ["km/port"])
        XCTAssertEqual(try ids(s, "ភ្នំពេញ"), ["km/port"])
        // Burmese syllables of three or four marks are whole characters: ပြေ is not ပြော.
        XCTAssertEqual(try ids(s, "အလုပ်"), ["my/port"])
        XCTAssertEqual(try ids(s, "ပြေ"), [])
        XCTAssertEqual(try ids(s, "ကျောင်း"), ["my/school"])
        XCTAssertEqual(try ids(s, "ကျေ"), [])
        // Sara am typed any way finds it typed any other way.
        for typed in ["น้ำมัน", "น\u{0E49}\u{0E4D}\u{0E32}มัน", "น\u{0E4D}\u{0E49}\u{0E32}มัน", "น\u{0E33}\u{0E49}มัน"] {
            XCTAssertEqual(Set(try ids(s, typed)), ["th/oil", "th/oil-nfd"], typed.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " "))
        }
        // A lone character typed against digits or letters stands at the end of a run of the
        // text (held there only inside a pair): ปี2567 finds ในปี2567, 2026港 finds 2026港湾.
        XCTAssertEqual(try ids(s, "ปี2567"), ["th/year"])
        XCTAssertEqual(try ids(s, "พ.ศ.2567"), ["th/year"])
        XCTAssertEqual(try ids(s, "港2026"), ["ja/year"])
        XCTAssertEqual(try ids(s, "2026港"), ["ja/year"])
        XCTAssertEqual(try ids(s, #""港 2026""#), ["ja/year"])
        XCTAssertEqual(try ids(s, "ปี2568"), [])
        XCTAssertEqual(try ids(s, "2026湾"), [])  // 湾 is not where a run begins
        XCTAssertEqual(try ids(s, "戸2026"), [])  // nor 戸 where one ends
        XCTAssertEqual(try ids(s, "港・港湾"), [])  // 戸港 and 港湾 of 神戸港湾 are one run
        XCTAssertEqual(try ids(s, "\u{0E35}2567"), [])  // a stray mark is not the end of ปี
        // As a phrase it stays one atom: OR adds to it, an exclusion takes away what it finds.
        XCTAssertEqual(Set(try ids(s, "ปี2567 OR ท่าเรือ")), ["th/year", "th/port"])
        XCTAssertEqual(try ids(s, "งบประมาณ -ปี2567"), [])
        XCTAssertEqual(try ids(s, "ปี2567 , OR ท่าเรือ").count, 2)
        let year = try XCTUnwrap(try s.search(SearchQuery(parsing: "ปี2567"), limit: 1).first)
        XCTAssertTrue(year.snippet.contains("ใน«ปี2567»") && year.snippet.contains("พ.ศ.2567"), year.snippet)
        let port = try XCTUnwrap(try s.search(SearchQuery(parsing: "2026港"), limit: 1).first)
        XCTAssertEqual(port.snippet, "«2026港»湾整備")
        XCTAssertEqual(try ids(s, "葛城市"), ["ja/vs"])
        XCTAssertEqual(try ids(s, "葛城"), ["ja/vs"])
        XCTAssertEqual(try s.search(SearchQuery(parsing: "葛"), limit: 1).first?.snippet, "«葛\u{E0100}»城市の市長が会見")
        // A * after such text adds nothing: its pairs already match inside longer words.
        XCTAssertEqual(try ids(s, "ท่าเรือ*"), ["th/port"])
        XCTAssertEqual(Set(try ids(s, "บ้าน*")), ["th/near", "th/far"])
        // The title counts double; the snippet marks the word within its run.
        let hits = try s.search(SearchQuery(parsing: "ท่าเรือ"), limit: 5)
        XCTAssertTrue(hits[0].snippet.contains("«ท่าเรือ»"), hits[0].snippet)
        let khmer = try s.search(SearchQuery(parsing: "កំពង់ផែ"), limit: 5)
        XCTAssertTrue(khmer[0].snippet.contains("«កំពង់ផែ»"), khmer[0].snippet)
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// One CJK character typed alone finds the articles holding it inside longer runs (港 in
    /// 神戸港 and 港湾), in titles and bodies, marked in the snippet; pairs and phrases rank
    /// and match as without singles (they add to no length and take no position).
    func testASingleCJKCharacterFindsTheWordsHoldingIt() throws {
        let s = try makeStore(self)
        try s.write { w in
            for a in try samples() { try w.put(a) }
            try w.put(Article(id: "ja/kobe", title: "神戸港のストライキ", body: "労働者が港を離れた。"))
            try w.put(Article(id: "ja/bay", title: "湾岸", body: "港湾労働者の集会"))
            try w.put(Article(id: "ja/lone", title: "港", body: "港 湾"))
            try w.put(Article(id: "ja/none", title: "空港", body: "", tags: ["空"]))
            // Half-width katakana, decomposed kana: found as they are typed.
            try w.put(Article(id: "ja/half", title: "ｶﾞｲﾄﾞ", body: "ﾊﾟﾝを食べた"))
            try w.put(Article(id: "ja/nfd", title: "T", body: "か\u{3099}っこうへ行った"))
            try w.put(Article(id: "ja/name", title: "T", body: "ｼﾞｮﾝ･ｽﾐｽ来日"))
            try w.put(Article(id: "ko/nfd", title: "T", body: "한국어 뉴스".decomposedStringWithCanonicalMapping))
        }
        XCTAssertEqual(try ids(s, "ジョン・スミス"), ["ja/name"])
        XCTAssertEqual(try ids(s, #""ジョン スミス""#), ["ja/name"])
        XCTAssertEqual(try ids(s, "한국어"), ["ko/nfd"])
        XCTAssertEqual(try ids(s, "국"), ["ko/nfd"])
        XCTAssertEqual(try ids(s, "ガイド"), ["ja/half"])
        XCTAssertEqual(try ids(s, "パン"), ["ja/half"])
        XCTAssertEqual(try ids(s, "ド"), ["ja/half"])
        XCTAssertEqual(try ids(s, "がっこう"), ["ja/nfd"])
        XCTAssertTrue(try ids(s, "が").contains("ja/nfd"))
        XCTAssertEqual(try ids(s, "か"), [])
        let nfd = try XCTUnwrap(try s.search(SearchQuery(parsing: "が"), limit: 1).first)
        XCTAssertTrue(nfd.snippet.contains("«か\u{3099}»"), nfd.snippet)
        XCTAssertEqual(Set(try ids(s, "港")), ["ja/kobe", "ja/bay", "ja/lone", "ja/none"])
        XCTAssertEqual(try ids(s, "図"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(try ids(s, "江"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(Set(try ids(s, "港 -湾")), ["ja/kobe", "ja/none"])
        XCTAssertEqual(Set(try ids(s, "神戸 港")), ["ja/kobe"])
        XCTAssertEqual(Set(try ids(s, "港 OR 図")), ["ja/kobe", "ja/bay", "ja/lone", "ja/none", "world/2026-11-23-tokyo-exhibit"])
        // Pairs and phrases are as before: 港湾 is one pair; "港 湾" (two words) only where they
        // stand apart, as the text's own terms have them.
        XCTAssertEqual(try ids(s, "港湾"), ["ja/bay"])
        XCTAssertEqual(try ids(s, #""港 湾""#), ["ja/lone"])
        XCTAssertEqual(try ids(s, "古地図"), ["world/2026-11-23-tokyo-exhibit"])
        // A single in the title counts double; the lone 港 of ja/lone's title is a term anyway.
        let hits = try s.search(SearchQuery(parsing: "港"), limit: 10)
        XCTAssertEqual(hits.first?.id, "ja/lone")
        let kobe = try XCTUnwrap(hits.first { $0.id == "ja/kobe" })
        XCTAssertTrue(kobe.snippet.contains("«港»"), kobe.snippet)
        XCTAssertFalse(kobe.snippet.contains("«港を»"), kobe.snippet)
        // Singles take no position of their own and add no length: the document's length
        // counts pairs. A run's first and last character mark the position of its first and
        // last pair, shifted by 16 and 8 (a phrase may end or start with it: 2026年, 港2026);
        // the others none.
        let doc = IndexedDocument(title: "", body: "東京で 2026年月日", source: "", tags: [], published: "")
        XCTAssertEqual(doc.length, 5)
        var held: [String: IndexedDocument.TermStats] = [:]
        doc.forEachTerm { term, _, stats in held[String(decoding: term, as: UTF8.self)] = stats }
        XCTAssertEqual(held["東"], IndexedDocument.TermStats(tf: 1, mask: 1 << (2 + 16)))
        XCTAssertEqual(held["京"], IndexedDocument.TermStats(tf: 1, mask: 0))
        XCTAssertEqual(held["で"], IndexedDocument.TermStats(tf: 1, mask: 1 << (3 + 8)))
        XCTAssertEqual(held["年"], IndexedDocument.TermStats(tf: 1, mask: 1 << (5 + 16)))
        XCTAssertEqual(held["月"], IndexedDocument.TermStats(tf: 1, mask: 0))
        XCTAssertEqual(held["日"], IndexedDocument.TermStats(tf: 1, mask: 1 << (6 + 8)))
        // Body positions start at 2 (after the empty title's gap).
        XCTAssertEqual(held["東京"], IndexedDocument.TermStats(tf: 1, mask: 1 << 2))
        XCTAssertEqual(held["京で"], IndexedDocument.TermStats(tf: 1, mask: 1 << 3))
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// Another folio process (a newer one an admin runs while a node keeps the store open)
    /// rebuilds the index under its term rules, upgrades the format, or writes keeping no
    /// index — what it leaves in `meta` is written here as it would: every write of this
    /// process then refuses, writing nothing, rather than index under rules the index no
    /// longer has; a process keeping no index marks any index there stale.
    func testWritesRefuseAStoreAnotherFolioChangedSinceItWasOpened() throws {
        let dir = try temporaryDirectory(self) + "/store"
        let s = try makeStore(self, path: dir)
        try s.write { try $0.put(Article(id: "a", title: "港湾", body: "port")) }
        let meta = s.dbs.meta
        func refuses(_ what: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try s.write { try $0.put(Article(id: "b", title: "T", body: "x")) }, file: file, line: line) { e in
                guard case let StoreError.changedSinceOpen(why) = e else { return XCTFail("\(e)", file: file, line: line) }
                XCTAssertTrue(why.contains(what), why, file: file, line: line)
                XCTAssertTrue("\(e)".contains("restart that process"), "\(e)", file: file, line: line)
            }
            XCTAssertNil(try s.get("b"), file: file, line: line)
        }
        let ours = try s.env.read { try Meta.u64(Meta.searchVersion, meta, $0) }
        XCTAssertEqual(ours, SearchText.fingerprint)
        for (version, what) in [(UInt64(SearchText.version + 1) << 32 | 7, "under term rules \(SearchText.version + 1)"),
                                (UInt64(SearchText.version) << 32 | (ours &+ 1) & 0xFFFF_FFFF, "other Unicode tables"),
                                (0, "keeping no search index")] {
            try s.env.write { try $0.put(meta, key: Meta.searchVersion, value: version.bigEndianBytes) }
            refuses(what)
            try s.env.write { try $0.put(meta, key: Meta.searchVersion, value: ours.bigEndianBytes) }
        }
        try s.env.write { try $0.put(meta, key: Meta.format, value: withUnsafeBytes(of: (Store.storageFormat + 1).bigEndian) { Array($0) }) }
        refuses("storage format \(Store.storageFormat + 1)")
        try s.env.write { try $0.put(meta, key: Meta.format, value: withUnsafeBytes(of: Store.storageFormat.bigEndian) { Array($0) }) }
        try s.write { try $0.put(Article(id: "b", title: "T", body: "x")) }
        XCTAssertEqual(try s.verify().problems, [])
        s.close()

        // A process keeping no index, while the index is current: its first write marks it stale.
        var o = Store.Options()
        o.maintainSearchIndex = false
        let bare = try Store.open(at: dir, options: o)
        try bare.env.write { try $0.put(bare.dbs.meta, key: Meta.searchVersion, value: ours.bigEndianBytes) }
        try bare.write { try $0.put(Article(id: "c", title: "港", body: "y")) }
        XCTAssertEqual(try bare.env.read { try Meta.u64(Meta.searchVersion, bare.dbs.meta, $0) }, 0)
        bare.close()
        // The next process keeping one rebuilds it at its write-open: "c" is found.
        let again = try Store.open(at: dir)
        defer { again.close() }
        XCTAssertEqual(Set(try ids(again, "港")), ["a", "c"])
        XCTAssertEqual(try again.verify().problems, [])
    }

    /// Phrases are checked on a candidate's text in place, as bytes, when its words are ASCII;
    /// on arbitrary text (punctuation and letters beyond ASCII, marks, CJK, long words) the
    /// byte scan either answers as the terms of the text do, or declines (nil) so they decide.
    func testTheInPlacePhraseScanAgreesWithTheTermsOfTheText() {
        var rng = SplitMix64(seed: 0xF4A5E)
        let words = ["port", "Strike", "PORT", "strikes", "night", "trains", "a", "e", "mail", String(repeating: "x", count: 70)]
        let separators = [" ", "  ", ", ", "-", "'", "\n", " \u{201C}", "\u{201D} ", " \u{2014} ", "\u{00A0}", "é", "\u{0301}", "東", " 京 ", "ß", "«", "»", "…"]
        var answered = 0
        for _ in 0..<4000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 30) {
                text += words[Int(rng.next() % UInt64(words.count))]
                text += rng.next() % 3 == 0 ? separators[Int(rng.next() % UInt64(separators.count))] : " "
            }
            let phrase = (0..<Int(1 + rng.next() % 3)).map { _ in SearchText.terms(words[Int(rng.next() % UInt64(words.count))])[0] }
            // Trying every start of the text's terms (as bytes).
            let textTerms = SearchText.terms(text).map { Array($0.utf8) }
            let wanted = phrase.map { Array($0.utf8) }
            let expected = textTerms.count >= wanted.count && (0...(textTerms.count - wanted.count)).contains { i in Array(textTerms[i..<i + wanted.count]) == wanted }
            var t = text
            var end = -1
            let scanned = t.withUTF8 { CandidateText.scanASCII(UnsafeRawBufferPointer($0), phrase.map { Array($0.utf8) }, end: &end) }
            if let scanned {
                answered += 1
                XCTAssertEqual(scanned, expected, "\(phrase) in \(text.debugDescription)")
                if scanned != expected { return }
                // A match found ends where the text's words up to it hold the phrase last.
                if scanned {
                    let upTo = String(decoding: text.utf8.prefix(end), as: UTF8.self)
                    let upToTerms = SearchText.terms(upTo).map { Array($0.utf8) }
                    XCTAssertEqual(Array(upToTerms.suffix(wanted.count)), wanted, "\(phrase) in \(text.debugDescription) ends at \(end)")
                }
            }
            var read = 0
            XCTAssertEqual(try CandidateText(fields: [text]) { _ in false }.holds(phrase, read: &read), expected)
            // The text read: to the match's end, whole, or (the scan stopped) up to there and whole.
            XCTAssertEqual(read, scanned == nil ? end + text.utf8.count : scanned! ? end : text.utf8.count)
            if scanned == false { XCTAssertEqual(end, text.utf8.count) }
        }
        // Texts whose only characters beyond ASCII are punctuation are answered in place.
        XCTAssertGreaterThan(answered, 1500)
    }

    /// Words an unkeyed FNV-1a sends to one slot (a Joux multicollision on its low 16 bits:
    /// 2^12 words of 12 three-letter blocks, each block one of a colliding pair) must spread
    /// over the term table like any others: one crafted article must not turn indexing
    /// quadratic (with FNV-1a, 4 096 such words took 4 096 probes each).
    func testTermsCraftedToCollideUnderAnUnkeyedHashSpreadOverTheTable() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        func step(_ h: UInt32, _ b: [UInt8]) -> UInt32 { b.reduce(h) { ($0 ^ UInt32($1)) &* 0x0100_0193 } }
        var h: UInt32 = 0x811C_9DC5
        var pairs: [([UInt8], [UInt8])] = []
        for _ in 0..<12 {
            var seen = [Int32](repeating: -1, count: 1 << 16)
            search: for v in 0..<(36 * 36 * 36) {
                let b = [alphabet[v % 36], alphabet[v / 36 % 36], alphabet[v / 1296]]
                let slot = Int(step(h, b) & 0xFFFF)
                if seen[slot] >= 0 {
                    let w = Int(seen[slot])
                    pairs.append((b, [alphabet[w % 36], alphabet[w / 36 % 36], alphabet[w / 1296]]))
                    h = step(h, b)
                    break search
                }
                seen[slot] = Int32(v)
            }
        }
        XCTAssertEqual(pairs.count, 12)
        let words = (0..<(1 << 12)).map { m in String(decoding: pairs.indices.flatMap { r in m >> r & 1 == 0 ? pairs[r].0 : pairs[r].1 }, as: UTF8.self) }
        // They do collide under FNV-1a: all 4 096 share the low 16 bits.
        XCTAssertEqual(Set(words.map { step(0x811C_9DC5, Array($0.utf8)) & 0xFFFF }).count, 1)
        let document = IndexedDocument(title: "", body: words.joined(separator: " "), source: "", tags: [], published: "")
        XCTAssertEqual(document.termCount, 4096 + 1)  // and the document term
        XCTAssertLessThan(document.lexicon.longestProbe, 64)
    }

    /// Terms that collide under the table's fast hash (here all of them, as a test hash makes
    /// them) turn its probes long only until it notices: it rehashes every term with SipHash
    /// and goes on, each term keeping its number. A document's hashes are reused by another
    /// table only when both hash the same way.
    func testATableWhoseTermsCollideRehashesWithSipHash() {
        var table = TermTable<Int>(capacity: 16, hashing: .collidingForTesting)
        let words = (0..<5_000).map { "w\($0)-\(String(repeating: "x", count: $0 % 13))" }
        for (i, w) in words.enumerated() { XCTAssertEqual(table.number(of: w, initial: i), i) }
        XCTAssertEqual(table.hashing, .sip)
        XCTAssertLessThan(table.longestProbe, TermHash.probeLimit)
        for (i, w) in words.enumerated() {
            XCTAssertEqual(table.number(of: w, initial: -1), i)
            XCTAssertEqual(table[i], i)
            XCTAssertEqual(table.string(i), w)
        }
        XCTAssertEqual(table.count, words.count)
        // The fast hash spreads real words: the generated corpus's vocabulary never trips it.
        var fast = TermTable<Void>(capacity: 16)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200_000 {
            let n = 1 + Int(rng.next() % 12)
            let w = String(decoding: (0..<n).map { _ in UInt8(0x61 + rng.next() % 26) }, as: UTF8.self)
            _ = fast.number(of: w, initial: ())
        }
        XCTAssertEqual(fast.hashing, .fast)
        XCTAssertLessThan(fast.longestProbe, TermHash.probeLimit)
        // A journal fed a document of a lexicon hashing with SipHash finds its terms under its
        // own hash.
        var journal = PostingJournal()
        let document = IndexedDocument(title: "port strike", body: "night trains port", source: "", tags: [], published: "")
        journal.record(document, doc: 0)
        let sipDocument = IndexedDocument(title: "port strike", body: "night trains port", source: "", tags: [], published: "", lexicon: TermLexicon(capacity: 16, hashing: .sip))
        journal.record(sipDocument, doc: 1)
        XCTAssertEqual(journal.distinctTerms, document.termCount)
        XCTAssertEqual(journal.postings.map(\.term), journal.postings.prefix(document.termCount).map(\.term) + journal.postings.prefix(document.termCount).map(\.term))
    }

    /// A document's terms and statistics are the same whether its terms are numbered in a
    /// lexicon of its own, one shared by hundreds of others (as an import batch shares one), or
    /// one whose table hashes with SipHash; and a journal fed documents from several lexicons at
    /// once (the first one's table adopted, the others mapped term by term) holds exactly their
    /// postings. Arbitrary texts: repeated words, scripts, long words, empty fields, tags.
    func testDocumentsOfASharedLexiconEqualDocumentsOfTheirOwn() {
        var rng = SplitMix64(seed: 0x1E81C0)
        let vocabulary = ["port", "Strike", "öffnet", "Straße", "東京で古地図展", "naïve", "e-mail", "ＦＵＬＬ", "w", String(repeating: "long", count: 20), "\u{1}", "2026", "Ὀδυσσεύς"]
        func text(_ n: Int) -> String {
            (0..<Int(rng.next() % UInt64(n + 1))).map { _ -> String in
                rng.next() % 4 == 0 ? "u\(rng.next() % 5_000)" : vocabulary[Int(rng.next() % UInt64(vocabulary.count))]
            }.joined(separator: rng.next() % 3 == 0 ? ", " : " ")
        }
        func terms(_ d: IndexedDocument) -> [String: IndexedDocument.TermStats] {
            var out: [String: IndexedDocument.TermStats] = [:]
            d.forEachTerm { term, _, stats in
                XCTAssertNil(out[String(decoding: term, as: UTF8.self)], "a term twice in one document")
                out[String(decoding: term, as: UTF8.self)] = stats
            }
            return out
        }
        let shared = TermLexicon()
        let sip = TermLexicon(capacity: 16, hashing: .sip)
        var journal = PostingJournal()
        var expected: [String: [String]] = [:]
        for doc in 0..<600 {
            let (title, body, source) = (text(6), text(doc % 50 == 0 ? 3_000 : 120), text(2))
            let tags = (0..<Int(rng.next() % 3)).map { _ in text(2) }
            let own = IndexedDocument(title: title, body: body, source: source, tags: tags, published: "")
            let lexicon = [shared, sip][doc % 3 == 0 ? 1 : 0]
            let inShared = IndexedDocument(title: title, body: body, source: source, tags: tags, published: "", lexicon: lexicon)
            XCTAssertEqual(terms(inShared), terms(own), "document \(doc)")
            XCTAssertEqual(inShared.length, own.length)
            XCTAssertEqual(inShared.termCount, own.termCount)
            // The journal sees documents of three kinds of lexicon, interleaved.
            journal.record(doc % 5 == 4 ? own : inShared, doc: UInt32(doc))
            for (term, stats) in terms(own) { expected[term, default: []].append("\(doc):\(stats.tf):\(stats.mask)") }
        }
        XCTAssertGreaterThan(sip.count, 1_000)
        XCTAssertGreaterThan(shared.count, 4_000)
        var recorded: [String: [String]] = [:]
        for p in journal.postings { recorded[journal.term(Int(p.term)), default: []].append("\(p.doc):\(p.tf):\(p.mask)") }
        XCTAssertEqual(recorded.count, expected.count)
        XCTAssertEqual(recorded, expected)
        XCTAssertEqual(journal.distinctTerms, expected.count)
    }

    /// One transaction indexing documents prepared in two lexicons (two import batches' worth),
    /// documents it tokenizes itself, a prepared document whose article is then written again
    /// (so the prepared one dies within the transaction) and one prepared for content that is
    /// not what is written: the index holds exactly the live articles' terms (`verify`
    /// re-derives each and compares postings), and each is found by its own words.
    func testATransactionMixingLexiconsIndexesEachArticleOnce() throws {
        let s = try makeStore(self)
        func article(_ i: Int, _ word: String = "") -> Article {
            Article(id: "a\(i)", title: "Title \(i) \(word)", source: "Wire \(i % 3)", body: "body\(i) shared words port strike \(word) u\(i * 7)", tags: ["t\(i % 4)"])
        }
        let first = TermLexicon(), second = TermLexicon()
        var prepared: [String: PreparedSearchDocument] = [:]
        for i in 0..<40 {
            let a = article(i)
            // 30–34 prepared for other content than is written: tokenized again in the write.
            let content = (30..<35).contains(i) ? article(i, "stale") : a
            prepared[a.id] = PreparedSearchDocument(title: content.title, body: content.body, source: content.source, tags: content.tags, published: content.published, lexicon: i < 20 ? first : second)
        }
        try s.write { w in
            w.prepare(prepared)
            for i in 0..<50 { try w.put(article(i)) }  // 40–49 not prepared
            try w.put(article(5, "rewritten"))  // a5's prepared document dies here
        }
        XCTAssertEqual(try s.verify().problems, [])
        for i in 0..<50 { XCTAssertEqual(try ids(s, "body\(i)"), ["a\(i)"], "a\(i)") }
        XCTAssertEqual(try ids(s, "rewritten"), ["a5"])
        XCTAssertEqual(try ids(s, "stale"), [])
        XCTAssertEqual(try ids(s, "port strike").count, 50)
        XCTAssertEqual(try ids(s, "tag:t1").count, 13)
    }

    /// A transaction that takes a prepared batch's lexicon as its journal's and then tokenizes
    /// an article itself: that article's words, which the batch's documents hold too, are its
    /// own (each counted once, for it), not taken for another document's entries. (Its serial
    /// once started where the batch's did: the first prepared document's words looked held by
    /// it, crashing the write or crediting a word's counts to another.)
    func testAnArticleTokenizedAfterAPreparedBatchKeepsItsOwnTerms() throws {
        let s = try makeStore(self)
        let words = (0..<120).map { "w\($0)" }
        let lexicon = TermLexicon()
        let first = Article(id: "first", title: "Docks", body: words.joined(separator: " ") + " docks")
        let second = Article(id: "second", title: "Other", body: "other words entirely")
        var prepared: [String: PreparedSearchDocument] = [:]
        for a in [first, second] { prepared[a.id] = PreparedSearchDocument(title: a.title, body: a.body, source: a.source, tags: a.tags, published: a.published, lexicon: lexicon) }
        // Tokenized in the write: short (a word held by the first at a later entry than it has)
        // and long (one inside its own entries).
        let short = Article(id: "short", title: "", body: "docks")
        let long = Article(id: "long", title: "Long", body: (words[60...] + ["docks", "own", "w3"]).joined(separator: " "))
        try s.write { w in
            w.prepare(prepared)
            for a in [first, second, short, long] { try w.put(a) }
        }
        XCTAssertEqual(try s.verify().problems, [])
        XCTAssertEqual(Set(try ids(s, "docks")), ["first", "short", "long"])
        XCTAssertEqual(Set(try ids(s, "w70")), ["first", "long"])
        XCTAssertEqual(Set(try ids(s, "w3")), ["first", "long"])
        XCTAssertEqual(try ids(s, "own"), ["long"])
        XCTAssertEqual(Set(try ids(s, "\"w118 w119 docks\"")), ["first", "long"])
    }

    /// The per-article cap in a shared lexicon: terms the lexicon holds from another document
    /// but that this one first meets past the cap are not its terms, as with a lexicon of its
    /// own.
    func testTheTermCapHoldsInASharedLexicon() {
        let cap = SearchText.maxDocumentTerms
        let lexicon = TermLexicon()
        let before = IndexedDocument(title: "", body: (cap..<(cap + 500)).map { "w\($0)" }.joined(separator: " "), source: "", tags: [], published: "", lexicon: lexicon)
        XCTAssertEqual(before.termCount, 501)
        let body = (0..<(cap + 400)).map { "w\($0)" }.joined(separator: " ") + " w7"
        let shared = IndexedDocument(title: "", body: body, source: "", tags: ["t"], published: "", lexicon: lexicon)
        let own = IndexedDocument(title: "", body: body, source: "", tags: ["t"], published: "")
        var a: [String: IndexedDocument.TermStats] = [:], b: [String: IndexedDocument.TermStats] = [:]
        shared.forEachTerm { a[String(decoding: $0, as: UTF8.self)] = $2 }
        own.forEachTerm { b[String(decoding: $0, as: UTF8.self)] = $2 }
        XCTAssertEqual(a.count, cap + 2)  // the cap, the tag and the document term
        XCTAssertNil(a["w\(cap + 10)"])
        XCTAssertEqual(a["w7"]?.tf, 2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(shared.length, own.length)
    }

    func testQueryParsingAndItsErrors() throws {
        let q = try SearchQuery(parsing: #"port "night trains" strike OR walkout -rail tele* source:"Nordic Wire" tag:Labour since:2026-11-20 until:2026-11-30 id:wire/"#)
        XCTAssertEqual(q.groups, [[.term("port")], [.phrase(["night", "trains"])], [.term("strike"), .term("walkout")], [.prefix("tele")]])
        XCTAssertEqual(q.excluded, [.term("rail")])
        XCTAssertEqual(q.sources, ["nordic wire"])
        XCTAssertEqual(q.tags, ["labour"])
        XCTAssertEqual(q.since, ["2026-11-20"])
        XCTAssertEqual(q.until, ["2026-11-30"])
        XCTAssertEqual(q.idPrefix, "wire/")
        XCTAssertEqual(try SearchQuery(parsing: #"-"port strike" harbour"#).excluded, [.phrase(["port", "strike"])])
        for bad in ["", "   ", "-port", "OR port", "port OR", "\"open", "*", "since:soon", "colour:red", "-source:x port", "a OR -b", String(repeating: "x ", count: 100)] {
            XCTAssertThrowsError(try SearchQuery(parsing: bad), bad)
        }
        // OR joins two things to find, nothing else: not across an excluded word or a filter.
        for bad in ["tokyo -maps OR port", #"tokyo source:"asia desk" OR port"#, "tokyo OR OR port", "port OR -strike", "port OR since:2026-11-20"] {
            XCTAssertThrowsError(try SearchQuery(parsing: bad), bad) { XCTAssertTrue("\($0)".contains("OR"), "\($0)") }
        }
        XCTAssertEqual(try SearchQuery(parsing: #"tokyo OR "port strike" -maps"#).groups, [[.term("tokyo"), .phrase(["port", "strike"])]])
        // A filter given twice: both hold (dates are kept, each checked: see the samples test).
        let twice = try SearchQuery(parsing: "since:2026-11-23 port since:2026-11-20 until:2026-11-30 until:2026-11-25T10:00 id:wire id:wire/2026")
        XCTAssertEqual(twice.since, ["2026-11-23", "2026-11-20"])
        XCTAssertEqual(twice.until, ["2026-11-30", "2026-11-25T10:00"])
        XCTAssertEqual(twice.idPrefix, "wire/2026")
        XCTAssertEqual(try SearchQuery(parsing: "id:wire/2026 id:wire").idPrefix, "wire/2026")
        XCTAssertThrowsError(try SearchQuery(parsing: "id:wire id:world")) { XCTAssertTrue("\($0)".contains("cannot both hold"), "\($0)") }
        // A date's problem is named.
        XCTAssertThrowsError(try SearchQuery(parsing: "since:2024-02-30")) { XCTAssertTrue("\($0)".contains("day 30 does not exist in month 2"), "\($0)") }
        XCTAssertThrowsError(try SearchQuery(parsing: "until:2024-02-03T25:00")) { XCTAssertTrue("\($0)".contains("time 25:00 is out of range"), "\($0)") }
        // A quote is a quote even when a combining mark follows it.
        XCTAssertEqual(try SearchQuery(parsing: "lead \"\u{301}f\"").groups.count, 2)
        // Any whitespace separates words (no-break space, ideographic space).
        XCTAssertEqual(try SearchQuery(parsing: "port\u{A0}strike\u{3000}rail").groups, [[.term("port")], [.term("strike")], [.term("rail")]])

        // Arbitrary input never traps: it parses or is refused.
        var rng = SplitMix64(seed: 7)
        let alphabet = Array("ab \"-*:OR()東é\t\u{0}")
        for _ in 0..<2000 {
            let text = String((0..<Int(rng.next() % 24)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            _ = try? SearchQuery(parsing: text)
        }
    }

    func testEveryQueryFormOnTheSamples() throws {
        let s = try makeStore(self)
        try s.write { w in for a in try samples() { try w.put(a) } }
        XCTAssertEqual(try ids(s, "port strike"), ["wire/2026-11-20-port-strike"])
        XCTAssertEqual(try ids(s, "stadtbibliothek offnet"), ["kultur/2026-11-22-bibliothek"])
        XCTAssertEqual(try ids(s, "ÖFFNET"), ["kultur/2026-11-22-bibliothek"])
        XCTAssertEqual(try ids(s, "telescopio"), ["world/2026-11-24-andes-telescope"])
        XCTAssertEqual(try ids(s, "古地図"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(try ids(s, "東京"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(try ids(s, #""port workers""#), ["wire/2026-11-20-port-strike"])
        XCTAssertEqual(try ids(s, #""workers port""#), [])
        XCTAssertEqual(Set(try ids(s, "strike OR telescopio")), ["wire/2026-11-20-port-strike", "world/2026-11-24-andes-telescope"])
        XCTAssertEqual(try ids(s, "teles*"), ["world/2026-11-24-andes-telescope"])
        XCTAssertEqual(Set(try ids(s, #"source:"nordic wire""#)), ["wire/2026-11-20-port-strike", "wire/2026-11-21-rail-timetable"])
        XCTAssertEqual(try ids(s, #"source:"Nordic Wire" -port"#), ["wire/2026-11-21-rail-timetable"])
        XCTAssertEqual(try ids(s, "tag:shipping"), ["wire/2026-11-20-port-strike"])
        XCTAssertEqual(try ids(s, "tag:labour port"), ["wire/2026-11-20-port-strike"])
        XCTAssertEqual(try ids(s, "id:wire/ since:2026-11-21"), ["wire/2026-11-21-rail-timetable"])
        XCTAssertEqual(try ids(s, "id:wire/ until:2026-11-20"), ["wire/2026-11-20-port-strike"])
        // Timed bounds compare instants when both name a zone (Tokyo's 09:00+09:00 is 00:00Z).
        XCTAssertEqual(try ids(s, "tokyo until:2026-11-23T04:00:00Z"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(try ids(s, "tokyo since:2026-11-23T05:00:00Z"), [])
        XCTAssertEqual(try ids(s, "tokyo since:2026-11-23"), ["world/2026-11-23-tokyo-exhibit"])
        XCTAssertEqual(try ids(s, "port since:2026-11-20T15:00:00+02:00"), ["wire/2026-11-20-port-strike"])
        XCTAssertEqual(try ids(s, "port until:2026-11-20T15:00:00+02:00"), [])
        // Bounds given twice all hold, a date bound and a timed one of the same day included.
        try s.write { w in
            try w.put(Article(id: "t/a", title: "alpha", published: "2026-11-21T02:00:00Z"))
            try w.put(Article(id: "t/b", title: "alpha", published: "2026-11-21T10:00:00"))
        }
        XCTAssertEqual(try ids(s, "alpha until:2026-11-21T01:00Z"), [])
        XCTAssertEqual(try ids(s, "alpha until:2026-11-21 until:2026-11-21T01:00Z"), [])
        XCTAssertEqual(try ids(s, "alpha until:2026-11-21T01:00Z until:2026-11-21"), [])
        XCTAssertEqual(try ids(s, "alpha since:2026-11-20T23:00-05:00"), ["t/b"])  // t/a is 02:00Z, before 04:00Z
        XCTAssertEqual(try ids(s, "alpha since:2026-11-21 since:2026-11-20T23:00-05:00"), ["t/b"])
        XCTAssertEqual(try ids(s, "alpha since:2026-11-20T23:00-05:00 since:2026-11-21"), ["t/b"])
        XCTAssertEqual(Set(try ids(s, "alpha since:2026-11-21 until:2026-11-21")), ["t/a", "t/b"])
        XCTAssertEqual(try ids(s, "nothingmatchesthis"), [])
        // Ranking: the title counts double, so an article about telescopes in its title wins.
        let hits = try s.search(SearchQuery(parsing: "port"), limit: 5)
        XCTAssertEqual(hits.first?.id, "wire/2026-11-20-port-strike")
        XCTAssertTrue(hits.first!.snippet.contains("«port»"), hits.first!.snippet)
        XCTAssertEqual(hits.first?.title, "Port workers end three-day strike")
        XCTAssertEqual(try s.search(SearchQuery(parsing: "port"), limit: 0), [])
    }

    func testIdPrefixesCompareBytesOnEveryPath() throws {
        let s = try makeStore(self)
        try s.write { w in
            try w.put(Article(id: "cafe\u{301}/1", title: "T", body: "bread"))
            try w.put(Article(id: "caf\u{E9}/2", title: "T", body: "bread"))
        }
        // "e" + combining acute starts with "cafe" as bytes (as `folio ls --prefix` sees it).
        for q in ["id:cafe", "bread id:cafe"] { XCTAssertEqual(try ids(s, q), ["cafe\u{301}/1"], q) }
        for q in ["id:cafe\u{301}", "bread id:cafe\u{301}"] { XCTAssertEqual(try ids(s, q), ["cafe\u{301}/1"], q) }
        for q in ["id:caf\u{E9}", "bread id:caf\u{E9}"] { XCTAssertEqual(try ids(s, q), ["caf\u{E9}/2"], q) }
    }

    /// A snippet shows a match whatever the text around it: long runs without spaces (CJK,
    /// URLs, compounds), other scripts' spaces, characters of several scalars; its marks are
    /// whole and balanced, its text the body's, and it stays within `Snippet.maxBytes`.
    func testSnippetsShowTheMatchMarkedWholeAndWithinBounds() throws {
        func snippet(_ body: String, _ query: String, title: String = "A title") throws -> String {
            Snippet.make(body: body, title: title, Snippet.Marked(try SearchQuery(parsing: query)))
        }
        // A phrase (a quoted one, or a CJK or Thai word: its pairs) is marked where it stands
        // whole, never its words apart: the passage shown is where it stands.
        let thai = try snippet("ประธานาธิบดีกลับมาเปิดประชุม", "ประชุม")
        XCTAssertTrue(thai.hasSuffix("กลับมาเปิด«ประชุม»") && thai.components(separatedBy: "«").count == 2, thai)
        let national = String(repeating: "ต่างชาติ ", count: 6) + String(repeating: "ข่าว ", count: 60) + "ยุทธศาสตร์ชาติ"
        let strategy = try snippet(national, "ยุทธศาสตร์ชาติ")
        XCTAssertTrue(strategy.hasSuffix("«ยุทธศาสตร์ชาติ»") && !strategy.contains("ต่าง«"), strategy)
        XCTAssertEqual(try snippet("東京都の地図と京都の寺", "京都"), "東«京都»の地図と«京都»の寺")  // a pair: inside 東京都 too
        XCTAssertEqual(try snippet("東京都の地図と京都の寺", "東京都"), "«東京都»の地図と京都の寺")
        XCTAssertEqual(try snippet("a port, a strike, then the port strike ended", #""port strike""#), "a port, a strike, then the «port strike» ended")
        XCTAssertEqual(try snippet("a port, a strike, then the port strike ended", #"port "port strike""#), "a «port», a strike, then the «port strike» ended")
        // Not whole in the body: the title shows it.
        XCTAssertEqual(try snippet("The port reopened after the strike", #""port strike""#, title: "Port strike over"), "«Port strike» over")
        // Many partial matches at once (a phrase of 63 words, 62 alike, over 64 KiB of them):
        // each is a count and a start, never a copy of the ranges matched.
        let repeated = String(repeating: "ab ", count: 30_000)
        let crafted = "\"" + String(repeating: "ab ", count: 62) + "c\""
        let started = Date()
        XCTAssertEqual(try snippet(repeated, crafted).count, try snippet(repeated, "zz").count)
        print("snippet with 62 partial matches per word over 64 KiB: \(Date().timeIntervalSince(started)) s")
        // A phrase across a line break is marked on one line, as the rest of the snippet.
        XCTAssertEqual(try snippet("the port\n\n\tstrike went on\nline two", #""port strike""#), "the «port strike» went on line two")
        XCTAssertEqual(try snippet("東京\u{3000}タワー", #""東京 タワー""#), "«東京 タワー»")
        // A word longer than a mark may be: its start is marked, not the passage lost.
        let malayalam = "സ്വാതന്ത്ര്യസമരസേനാനികളുടെയുമായിരുന്നു"
        let filler = (0..<60).map { "പദം\($0)" }.joined(separator: " ")
        let longWord = try snippet(filler + " " + malayalam + " അവസാനം", malayalam)
        XCTAssertTrue(longWord.contains("«സ്വാതന്ത്ര്യ") && longWord.contains("അവസാനം"), longWord)
        let letters = String(repeating: "a", count: 100)
        XCTAssertTrue(try snippet("x " + letters + " y", letters).hasPrefix("x «" + String(repeating: "a", count: 96) + "»aaaa y"))
        // A phrase longer than a mark may be is marked term by term.
        let words = (1...30).map { "word\($0)" }.joined(separator: " ")
        let long = try snippet("before " + words + " after", "\"\(words)\"")
        XCTAssertTrue(long.hasPrefix("before «word1» «word2» «word3»") && long.hasSuffix("«word30» after"), long)
        let cjk = String(repeating: "あ", count: 500) + "東京タワー" + String(repeating: "い", count: 500)
        let tower = try snippet(cjk, "タワー")
        XCTAssertTrue(tower.contains("«タワー»"), tower)
        let urls = "Die Verhandlungen " + (0..<12).map { "https://example.org/a/very/long/path/segment/number/\($0)" }.joined(separator: " ") + " endeten mit einem Hafenstreik in Hamburg."
        let strike = try snippet(urls, "hafenstreik")
        XCTAssertTrue(strike.contains("«Hafenstreik»"), strike)
        let compounds = String(repeating: "Donaudampfschifffahrtsgesellschaftskapitän ", count: 23) + "und der Hafenstreik"
        XCTAssertTrue(try snippet(compounds, "hafenstreik").contains("«Hafenstreik»"))
        let nbsp = String(repeating: "word\u{A0}", count: 200) + "harbour" + String(repeating: "\u{3000}語", count: 200)
        XCTAssertTrue(try snippet(nbsp, "harbour").contains("«harbour»"))
        XCTAssertTrue(try snippet("Send an e-mail today", "e-mail").contains("«e-mail»"))
        XCTAssertEqual(try snippet("The port workers'\n\n strike", "port strike"), "The «port» workers' «strike»")
        XCTAssertEqual(try snippet("port\u{0B}\u{0B}\u{0C} strike\u{2028}\u{2028}line\u{85}next\u{A0}\u{3000}end", "port strike"), "«port» «strike» line next end")
        // The title is looked at as far as the body is: a match past that is not shown.
        let longTitle = "a" + String(repeating: "\u{301}", count: 40_000) + " 港港"
        XCTAssertEqual(Snippet.make(body: "x", title: longTitle, terms: [Array("港港".utf8)], prefixes: []), "x")
        XCTAssertEqual(Snippet.make(body: "x", title: "Tokyo 港港", terms: [Array("港港".utf8)], prefixes: []), "Tokyo «港港»")
        // A long grapheme before the match costs nothing much and hides nothing.
        let cluster = "a" + String(repeating: "\u{301}", count: 30_000) + "港港 end"
        XCTAssertTrue(try snippet(cluster, "港港").contains("«港港»"))
        // Overlapping pairs past the longest mark are marked in parts, the text never repeated.
        for (body, query) in [(String(repeating: "タワー", count: 20), "タワー"), (String(repeating: "東京東", count: 40), "東京東")] {
            let s = try snippet(body, query)
            let text = s.replacing("«", with: "").replacing("»", with: "").replacing("…", with: "")
            XCTAssertTrue(body.contains(text), "\(s) repeats text of \(body)")
        }

        // A cut never parts a kana from its voicing mark (decomposed or half-width), at either
        // end of the snippet.
        for unit in ["か\u{3099}き", "ｶﾞｲ", "漢\u{3099}\u{3099}"] {
            let body = String(repeating: unit, count: 40) + "港湾" + String(repeating: unit, count: 100)
            let s = try snippet(body, "港湾")
            XCTAssertTrue(s.contains("«港湾»"), s)
            let scalars = Array(s.unicodeScalars)
            for (k, u) in scalars.enumerated() where SearchText.isCJKMark(u) {
                XCTAssertTrue(k > 0 && (SearchText.isCJKMark(scalars[k - 1]) || !"…«»".unicodeScalars.contains(scalars[k - 1])), "a mark cut from its kana: \(s.debugDescription)")
            }
            for (k, u) in scalars.enumerated() where u == "か" || u == "ｶ" || u == "漢" {
                XCTAssertTrue(k + 1 < scalars.count && SearchText.isCJKMark(scalars[k + 1]), "a kana cut from its mark: \(s.debugDescription)")
            }
        }

        // Arbitrary bodies: whole marks, the body's own text, whole characters, the limit.
        var rng = SplitMix64(seed: 0x5A1F)
        let pieces = ["port", "Port", " ", "  ", "\n", "-", "東京", "タワー", "👨‍👩‍👧", "e\u{301}", "\u{A0}", "https://x.example/", "Donaudampfschifffahrt", "strike", "ß", "\u{2028}", "\u{0B}"]
        // Bodies holding the marks' own characters: only the size is checked.
        for _ in 0..<300 {
            let body = (0..<Int(rng.next() % 400)).map { _ in (pieces + ["«", "»", "…"])[Int(rng.next() % UInt64(pieces.count + 3))] }.joined()
            XCTAssertLessThanOrEqual(try snippet(body, "port").utf8.count, Snippet.maxBytes)
        }
        for i in 0..<1500 {
            let body = (0..<Int(rng.next() % 400)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            let query = ["port", "タワー", "strike OR 東京", "donau*", "e\u{301}", "ワ", "京 OR port"][i % 7]
            let s = try snippet(body, query)
            XCTAssertLessThanOrEqual(s.utf8.count, Snippet.maxBytes, s)
            // Marks come in pairs, none inside another; without them and the ellipses the
            // snippet is pieces of the body (or title) with whitespace runs as one space, cut
            // between scalars (so compared scalar by scalar).
            var open = false
            var parts = [String.UnicodeScalarView()]
            for u in s.unicodeScalars {
                if u == "«" {
                    XCTAssertFalse(open, s)
                    open = true
                } else if u == "»" {
                    XCTAssertTrue(open, s)
                    open = false
                } else if u == "…" {
                    parts.append(String.UnicodeScalarView())
                } else {
                    parts[parts.count - 1].append(u)
                }
            }
            XCTAssertFalse(open, "unclosed mark: \(s)")
            let oneLine = String(String.UnicodeScalarView(body.unicodeScalars.map { $0.properties.isWhitespace || $0 == "\u{0B}" ? " " : $0 })).replacing(/[ ]+/, with: " ")
            for part in parts.map(String.init) where !part.isEmpty {
                XCTAssertTrue(oneLine.range(of: part, options: .literal) != nil || "A title".range(of: part, options: .literal) != nil, "\(part.debugDescription) is not the body's: \(s.debugDescription)")
            }
            if query == "port", SearchText.terms(body).contains("port") {
                XCTAssertTrue(s.contains("«"), "no match shown: \(s.debugDescription) of \(body.debugDescription)")
            }
            // A CJK character alone is marked inside the runs holding it, and only itself.
            if query == "ワ", body.contains("ワ") {
                XCTAssertTrue(s.contains("«ワ»"), "no single shown: \(s.debugDescription) of \(body.debugDescription)")
                XCTAssertFalse(s.contains("«ワー") || s.contains("タワ»"), s)
            }
        }
    }

    func testResultsFollowWritesDeletesAndMergesInTheSameTransaction() throws {
        let s = try makeStore(self)
        try s.write { w in try w.put(Article(id: "a", title: "Harbour strike", body: "The dockers walk out.")) }
        XCTAssertEqual(try ids(s, "dockers"), ["a"])
        // An edit replaces what the index holds: the old words stop matching.
        try s.write { w in try w.put(Article(id: "a", title: "Harbour reopens", body: "Ships sail again.")) }
        XCTAssertEqual(try ids(s, "dockers"), [])
        XCTAssertEqual(try ids(s, "ships reopens"), ["a"])
        // A transaction that fails leaves the index as it was.
        XCTAssertThrowsError(try s.write { w -> Void in
            try w.put(Article(id: "b", title: "Never written", body: "phantom"))
            throw StoreError.corrupt("rolled back")
        })
        XCTAssertEqual(try ids(s, "phantom"), [])
        // A savepoint that fails inside a committed transaction leaves nothing either.
        try s.write { w in
            _ = try? w.savepoint { w -> Void in
                try w.put(Article(id: "c", title: "Savepoint ghost"))
                throw StoreError.corrupt("undone")
            }
            try w.put(Article(id: "d", title: "Kept"))
        }
        XCTAssertEqual(try ids(s, "ghost"), [])
        XCTAssertEqual(try ids(s, "kept"), ["d"])
        // A delete removes it; a merge from a peer whose version wins brings its words.
        try s.write { w in try w.delete("a") }
        XCTAssertEqual(try ids(s, "ships"), [])
        let peer = try makeStore(self)
        try peer.write { w in try w.put(Article(id: "e", title: "From the peer", body: "Remote avalanche warning")) }
        let state = try XCTUnwrap(try peer.get("e", bodies: .all))
        let hash = try XCTUnwrap(state.versions.versions[0].content?.bodyHash)
        try s.write { w in _ = try w.merge(id: "e", versions: state.versions.versions, bodies: [hash: state.bodies[hash]!]) }
        XCTAssertEqual(try ids(s, "avalanche"), ["e"])
        // Concurrent versions: the index follows the winner only.
        try s.write { w in try w.put(Article(id: "e", title: "Local edit", body: "Local words"), context: VersionVector()) }
        let state2 = try XCTUnwrap(try s.get("e", bodies: .winner))
        XCTAssertTrue(state2.isInConflict)
        let winnerWords = state2.article!.title == "Local edit" ? "local" : "avalanche"
        let loserWords = winnerWords == "local" ? "avalanche" : "local"
        XCTAssertEqual(try ids(s, winnerWords), ["e"])
        XCTAssertEqual(try ids(s, loserWords), [])
        XCTAssertEqual(try s.verify().problems, [])
        XCTAssertEqual(try s.searchStatus().documents, 2)
    }

    /// Imports and pulls prepare search documents before the write transaction
    /// (`StoreWriter.prepare`): one is used only for exactly the content it was made from, so a
    /// stale one, or one for versions that do not win the merge, never reaches the index.
    func testPreparedDocumentsIndexOnlyTheContentTheyWereMadeFrom() throws {
        let clock = TestClock()
        let s = try makeStore(self, clock: clock)
        let t = try makeStore(self, path: temporaryDirectory(self) + "/other", clock: clock)
        try s.write { w in try w.put(Article(id: "a", title: "Harbour strike", body: "The dockers walk out.")) }
        // Prepared for other content than what is written: not used.
        try s.write { w in
            w.prepare(["a": PreparedSearchDocument(title: "Decoy", body: "zebra", source: "", tags: [], published: "")])
            try w.put(Article(id: "a", title: "Harbour reopens", body: "Ships sail again."))
            // Prepared for exactly what is written (one tag more than the text shows): used, and right.
            let b = Article(id: "b", title: "Night trains", source: "Nordic Wire", body: "Sleepers return.", tags: ["rail"])
            w.prepare(["b": PreparedSearchDocument(title: b.title, body: b.body, source: b.source, tags: b.tags, published: b.published)])
            try w.put(b)
            // Prepared from a body of the same length but other bytes: neither its terms nor
            // the body hash it carries are used.
            w.prepare(["c": PreparedSearchDocument(title: "Ferries", body: "Ships sail again!", source: "", tags: [], published: "")])
            try w.put(Article(id: "c", title: "Ferries", body: "Ships sail again?"))
        }
        for (id, body) in [("a", "Ships sail again."), ("b", "Sleepers return."), ("c", "Ships sail again?")] {
            XCTAssertEqual(try s.get(id)?.versions.winner?.content?.bodyHash, BodyHash(of: body), id)
        }
        XCTAssertEqual(try ids(s, "reopens"), ["a"])
        XCTAssertEqual(try ids(s, "zebra OR decoy OR dockers"), [])
        XCTAssertEqual(try ids(s, "sleepers tag:rail source:\"nordic wire\""), ["b"])
        XCTAssertEqual(try s.verify().problems, [])

        // A merge whose incoming winner loses to a later local edit: the prepared document
        // (made from the incoming set's winner) is not used; the index holds the local one.
        let remote = try XCTUnwrap(try s.get("a", bodies: .all))
        try t.write { w in try w.put(Article(id: "a", title: "Local edit", body: "Written here later.")) }
        try t.write { w in
            let c = try XCTUnwrap(remote.versions.winner?.content)
            let body = try XCTUnwrap(remote.bodies[c.bodyHash])
            w.prepare(["a": PreparedSearchDocument(title: c.title, body: body, source: c.source, tags: c.tags, published: c.published)])
            try w.merge(id: "a", versions: remote.versions.versions, bodies: [c.bodyHash: body])
        }
        XCTAssertEqual(try t.get("a")?.versions.versions.count, 2)
        XCTAssertEqual(try ids(t, "later"), ["a"])
        XCTAssertEqual(try ids(t, "reopens"), [])
        XCTAssertEqual(try t.verify().problems, [])
    }

    /// An article indexes its first `maxDocumentTerms` distinct terms: one that first appears
    /// later is not found in it, while every later occurrence of an indexed one still counts;
    /// its source and tags stay filters. `verify` agrees and a reindex keeps it the same.
    func testAnArticleIndexesAtMostMaxDocumentTermsDistinctTerms() throws {
        let s = try makeStore(self)
        let cap = SearchText.maxDocumentTerms
        // "w0" … "w(cap + 99)" once each, then "w5" again and a word seen nowhere before.
        let words = (0..<(cap + 100)).map { "w\($0)" }
        let body = words.joined(separator: " ") + " w5 w5 latecomer"
        try s.write { w in
            try w.put(Article(id: "big", title: "Census", source: "Stats Office", body: body, tags: ["data"]))
            try w.put(Article(id: "small", title: "Census", body: "w5 \(words[cap + 50]) latecomer"))
        }
        let document = IndexedDocument(title: "Census", body: body, source: "Stats Office", tags: ["data"], published: "")
        XCTAssertEqual(document.termCount, cap + 3, "the cap, then the source, tag and document filter terms")
        var w5 = IndexedDocument.TermStats()
        document.forEachTerm { term, _, stats in if Array(term) == Array("w5".utf8) { w5 = stats } }
        XCTAssertEqual(w5.tf, 3, "an indexed term counts every occurrence, also past the cap")
        XCTAssertEqual(try ids(s, "w0"), ["big"])
        XCTAssertEqual(try ids(s, words[cap - 2]), ["big"])
        XCTAssertEqual(try ids(s, words[cap + 50]), ["small"], "first seen past the cap: not indexed for the big one")
        XCTAssertEqual(try ids(s, "latecomer"), ["small"])
        XCTAssertEqual(try ids(s, "census source:\"stats office\" tag:data"), ["big"])
        XCTAssertEqual(try s.verify().problems, [])
        try s.reindex()
        XCTAssertEqual(try ids(s, words[cap + 50]), ["small"])
        XCTAssertEqual(try ids(s, "w0"), ["big"])
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// The build (`reindex`, a rebuild at an upgrade) commits about `searchBuildBytes` of text
    /// at a time, however few articles that is: large articles take several transactions, and
    /// every one of them is indexed once.
    func testARebuildOfLargeArticlesSpansTransactionsAndIndexesEachOnce() throws {
        let s = try makeStore(self)
        let n = 3 * Store.searchBuildBytes / 200_000 + 1
        try s.write { w in
            for i in 0..<n {
                let body = (0..<25_000).map { "p\(i)x\($0 % 97)" }.joined(separator: " ") + " only\(i)"
                try w.put(Article(id: "long/\(i)", title: "Long read \(i)", body: body))
            }
        }
        XCTAssertGreaterThanOrEqual(try s.rebuildSearchIndex(), 3, "about \(n * 200) KB of text, at most \(Store.searchBuildBytes >> 10) KiB per transaction")
        XCTAssertEqual(try s.searchStatus().documents, UInt64(n))
        for i in [0, n / 2, n - 1] { XCTAssertEqual(try ids(s, "only\(i)"), ["long/\(i)"]) }
        XCTAssertEqual(try ids(s, "long read", limit: 1000).count, n)
        XCTAssertEqual(try s.verify().problems, [])
    }

    func testVerifyFindsADamagedIndexAndReindexRepairsIt() throws {
        let s = try makeStore(self)
        try s.write { w in for a in try samples() { try w.put(a) } }
        XCTAssertTrue(try s.verify().isClean)
        let search = try XCTUnwrap(s.dbs.search)
        // Damage: a term's postings lost; a frequency altered (same count, other content); a
        // block that does not decode; postings of a segment nobody lists; a document record removed.
        let segment = try XCTUnwrap(try s.env.read { try SegmentRecord.all($0, search.segments) }.last)
        // The segment's entries, and a way to write them back (as pages) changed.
        var entries: [(term: [UInt8], block: [UInt8])] = []
        try s.env.read { txn in
            try SegmentLookup.forEachTerm(txn, search.postings, segment, after: nil) { t, b in
                entries.append((Array(t), Array(b)))
                return true
            }
        }
        func rewrite(_ e: [(term: [UInt8], block: [UInt8])], number: UInt32? = nil) throws {
            try s.env.write { txn in
                try txn.deletePrefix(search.postings, (number ?? segment.number).bigEndianBytes)
                var builder = SegmentBuilder(txn, search.postings, number: number ?? segment.number)
                for (t, b) in e { try t.withUnsafeBytes { t in try b.withUnsafeBytes { try builder.add(t, block: $0, count: 0) } } }
                try builder.finish()
            }
        }
        let port = try XCTUnwrap(entries.firstIndex { $0.term == Array("port".utf8) })
        try rewrite(entries.filter { $0.term != Array("port".utf8) })
        var problems = try s.verify().problems
        XCTAssertTrue(problems.contains { $0.contains("live postings, the live articles explain") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("segment \(segment.number) records") }, "\(problems)")
        // The same postings with one frequency raised.
        var postings: [(doc: UInt32, tf: UInt32, mask: UInt32)] = []
        try entries[port].block.withUnsafeBytes { b in
            var r = try PostingBlock.Reader(b, base: segment.firstDoc, last: segment.lastDoc)
            while let p = try r.next() { postings.append(p) }
        }
        var writer = PostingBlock.Writer()
        var altered = entries
        writer.encode(base: segment.firstDoc, room: postings.count * PostingBlock.maxPostingBytes, { sink in
            for (k, p) in postings.enumerated() { sink.append(doc: p.doc, tf: k == 0 ? p.tf + 1 : p.tf, mask: p.mask) }
        }, then: { block, _ in altered[port].block = Array(block) })
        try rewrite(altered)
        problems = try s.verify().problems
        XCTAssertTrue(problems.contains { $0.contains("postings differ from what the live articles explain") }, "\(problems)")
        altered[port].block = [200, 1, 2]
        try rewrite(altered)
        problems = try s.verify().problems
        XCTAssertTrue(problems.contains { $0.contains("search_postings: segment \(segment.number), term port:") }, "\(problems)")
        // Entries out of order within a page, and a page under a key that is not its first term.
        altered = entries
        altered.swapAt(port, port + 1)
        try rewrite(altered)
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("terms do not ascend") })
        try rewrite(entries)
        let firstKey = try XCTUnwrap(try s.env.read { txn in try txn.withFloor(search.postings, key: segment.prefix + [0xFF]) { k, v in (Array(k), Array(v)) } })
        try s.env.write { txn in
            try txn.delete(search.postings, key: firstKey.0)
            try txn.put(search.postings, key: firstKey.0 + [0x7A], value: firstKey.1)
        }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("the page's key is not its first term") })
        try rewrite(entries)
        XCTAssertEqual(try s.verify().problems, [])
        try rewrite(Array(entries.prefix(3)), number: 9_999)
        problems = try s.verify().problems
        XCTAssertEqual(problems, ["search_postings: postings of segment 9999, which search_segments does not list"])
        try s.env.write { txn in try txn.deletePrefix(search.postings, UInt32(9_999).bigEndianBytes) }
        XCTAssertEqual(try s.verify().problems, [])
        try s.env.write { txn in try txn.delete(search.docs, key: UInt32(1).bigEndianBytes) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("search_docs[1]: missing") })
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
        XCTAssertEqual(try ids(s, "port strike"), ["wire/2026-11-20-port-strike"])
        // An id indexed for no article is named; a live article left out is counted as live.
        let lost = "wire/2026-11-20-port-strike"
        try s.env.write { txn in
            try txn.put(search.ids, key: Array("ghost/1".utf8), value: UInt32(77).bigEndianBytes)
            try txn.delete(search.ids, key: Array(lost.utf8))
            try txn.put(search.ids, key: Array("kultur/2026-11-22-bibliothek".utf8), value: [1, 2])
        }
        problems = try s.verify().problems
        let live = try samples().count
        XCTAssertTrue(problems.contains("search: \(live) indexed ids and \(live) document records for \(live) live articles, \(live - 2) of them indexed"), "\(problems)")
        XCTAssertTrue(problems.contains("search_ids[kultur/2026-11-22-bibliothek]: a 2-byte record (a 4-byte document number expected)"), "\(problems)")
        XCTAssertTrue(problems.contains("search_ids[ghost/1]: indexed, but there is no such article"), "\(problems)")
        XCTAssertTrue(problems.contains("search_ids[\(lost)]: the live article is not in the search index"), "\(problems)")
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
    }

    func testAnInterruptedBuildResumesAndMatchesTheIncrementalIndex() throws {
        let s = try makeStore(self, mapSize: 64 << 20)
        var rng = SplitMix64(seed: 42)
        let words = ["harbour", "strike", "glacier", "orchid", "ferry", "archive", "night", "train", "budget", "vote"]
        try s.write { w in
            for i in 0..<2500 {
                let body = (0..<20).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
                try w.put(Article(id: "n/\(i)", title: "Note \(i) \(words[i % words.count])", body: body))
            }
        }
        let before = try s.search(SearchQuery(parsing: "harbour strike"), limit: 50)
        // Interrupted build: a cursor halfway through, then the next write-open finishes it.
        try s.reindex()
        XCTAssertEqual(try s.search(SearchQuery(parsing: "harbour strike"), limit: 50), before)
        try s.env.write { txn in try txn.put(s.dbs.meta, key: Meta.searchBuild, value: Array("n/1500".utf8)) }
        XCTAssertThrowsError(try s.search(SearchQuery(parsing: "harbour"), limit: 5)) { XCTAssertTrue($0 is SearchUnavailable) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("the index is incomplete") })
        let path = s.path
        s.close()
        let reopened = try Store.open(at: path)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.search(SearchQuery(parsing: "harbour strike"), limit: 50), before)
        XCTAssertEqual(try reopened.verify().problems, [])
    }

    func testAFormatOneStoreUpgradesInPlaceKeepingEverything() throws {
        let (dir, expected) = try copyFixture(self, "format1")

        // Read-only: readable as before, search explains itself.
        var ro = Store.Options()
        ro.readOnly = true
        let old = try Store.open(at: dir, options: ro)
        XCTAssertEqual(try old.statistics().liveArticles, 8)
        XCTAssertThrowsError(try old.search(SearchQuery(parsing: "glacier"))) { XCTAssertTrue("\($0)".contains("storage format 1")) }
        let checkpointsBefore = try old.checkpoints()
        let changesBefore = try old.changes(since: 0, limit: 100)
        old.close()

        let s = try Store.open(at: dir)
        defer { s.close() }
        XCTAssertEqual(try s.statistics().storageFormat, Store.storageFormat)
        XCTAssertEqual(try exportAllVersions(s), expected)
        XCTAssertEqual(try s.checkpoints(), checkpointsBefore)
        XCTAssertEqual(try s.changes(since: 0, limit: 100), changesBefore)
        XCTAssertEqual(try ids(s, "glacier"), ["alpine-science-desk/glacier-survey-finds-faster-retreat-on-southern-slopes"])
        XCTAssertEqual(try s.verify().problems, [])
    }
}

/// What the review of the search code found, pinned down.
final class SearchReviewTests: XCTestCase {
    func ids(_ s: Store, _ q: String) throws -> [String] {
        try s.search(SearchQuery(parsing: q), limit: 50).map(\.id)
    }

    func testTextThatMakesLongGraphemesOrLongFilterValuesIsStillWritable() throws {
        // 22 Hangul Jamo Extended-A letters form one grapheme of 66 bytes: never an empty term.
        let jamo = String(repeating: "\u{A960}", count: 22)
        XCTAssertFalse(SearchText.terms(jamo).contains(""))
        XCTAssertFalse(SearchText.terms(jamo).isEmpty)
        let s = try makeStore(self)
        let longSource = String(repeating: "x ", count: 300)
        try s.write { w in
            try w.put(Article(id: "j", title: jamo, body: String(repeating: "\u{0D4E}", count: 40)))
            try w.put(Article(id: "l", title: "Long source", source: longSource, tags: [String(repeating: "tag ", count: 200)]))
        }
        XCTAssertEqual(try ids(s, "long source:\"\(longSource)\""), ["l"])
        XCTAssertEqual(try s.verify().problems, [])
        // A * after CJK text adds nothing (its characters match inside longer runs anyway).
        XCTAssertEqual(try SearchQuery(parsing: "\(jamo.prefix(1))*"), try SearchQuery(parsing: String(jamo.prefix(1))))
    }

    /// A lone character against digits (ปี2567) is checked on the text only where the position
    /// masks put it at the end of a run right before them: thousands of articles holding both
    /// apart are never read (the work limit would answer the search "too broad").
    func testALoneCharacterPhraseIsNarrowedByPositionsNotReadEverywhere() throws {
        let s = try makeStore(self)
        try s.write { w in
            for i in 0..<(SearchExecution.maxChecked + 100) {
                try w.put(Article(id: "d/\(i)", title: "ปีนี้", body: "งบประมาณ 2567 ปีใหม่ ปีนี้ 2567 x\(i)"))
            }
            try w.put(Article(id: "t/1", title: "งบประมาณ", body: "รายงานในปี2567"))
            try w.put(Article(id: "t/2", title: "港", body: "神戸港2026 2026港湾"))
            for i in 0..<(SearchExecution.maxChecked + 100) { try w.put(Article(id: "e/\(i)", title: "港", body: "港湾 2026 空港 x\(i)")) }
        }
        XCTAssertEqual(try ids(s, "ปี2567"), ["t/1"])
        XCTAssertEqual(try ids(s, "港2026"), ["t/2"])
        XCTAssertEqual(try ids(s, "2026港"), ["t/2"])
        XCTAssertEqual(try ids(s, "ปี2568"), [])
    }

    /// Checking phrases reads the candidates' text: a search that would read more of it than
    /// the limit is answered "too broad" (5 000 articles of 8 MiB would take minutes). What
    /// counts is the text looked at: a body read to its end, or to the end of the match.
    func testPhraseChecksStopAtTheLimitOnTextRead() throws {
        let s = try makeStore(self)
        var rng = SplitMix64(seed: 0x7E47)
        let filler = (0..<20_000).map { _ in "w\(rng.next() % 5000)" }.joined(separator: " ")
        try s.write { w in
            // The phrase at the end: each check reads the whole body.
            for i in 0..<10 { try w.put(Article(id: "end/\(i)", title: "Long \(i)", body: filler + " alpha beta")) }
            // At the start: a check stops right after it.
            for i in 0..<10 { try w.put(Article(id: "start/\(i)", title: "Long \(i)", body: "gamma delta " + filler)) }
        }
        let bodyBytes = filler.utf8.count
        func run(_ text: String, limit: Int) throws -> [String] {
            try s.search(SearchQuery(parsing: text), limit: 20, snippets: false, maxCheckedBytes: limit).map(\.id)
        }
        // Ten bodies read: within a limit of eleven, not of nine.
        XCTAssertEqual(try run(#""alpha beta""#, limit: 11 * bodyBytes).count, 10)
        XCTAssertThrowsError(try run(#""alpha beta""#, limit: 9 * bodyBytes)) { error in
            XCTAssertTrue(error is SearchTooBroad, "\(error)")
            XCTAssertTrue("\(error)".contains("bytes of article text"), "\(error)")
        }
        // A phrase and an excluded phrase, which reads each body to its end again.
        XCTAssertEqual(try run(#""alpha beta" -"beta alpha""#, limit: 21 * bodyBytes).count, 10)
        XCTAssertThrowsError(try run(#""alpha beta" -"beta alpha""#, limit: 15 * bodyBytes)) { XCTAssertTrue($0 is SearchTooBroad) }
        // Found at the start of ten bodies: a few bytes each (the titles too), not the bodies.
        XCTAssertEqual(try run(#""gamma delta""#, limit: 10 * 64).count, 10)
        // Words alone read no text.
        XCTAssertEqual(try run("alpha beta", limit: 1).count, 10)
        // The default limit holds far more than this.
        XCTAssertEqual(try s.search(SearchQuery(parsing: #""alpha beta""#), limit: 20, snippets: false).count, 10)
        // Words folded through Unicode's tables, each new to the search's fold cache, count 16
        // times over (Latin, Greek or Cyrillic ones, folded from a table, twice).
        let folding = (0..<3000).map { "wש\($0)" }.joined(separator: " ") + " omega zeta"
        try s.write { w in try w.put(Article(id: "fold/1", title: "Folding", body: folding)) }
        let foldingBytes = folding.utf8.count
        XCTAssertThrowsError(try run(#""omega zeta""#, limit: 4 * foldingBytes)) { XCTAssertTrue($0 is SearchTooBroad) }
        XCTAssertEqual(try run(#""omega zeta""#, limit: 18 * foldingBytes), ["fold/1"])
    }

    func testOverlappingPhrasesMixedGroupsAndExclusions() throws {
        let s = try makeStore(self)
        try s.write { w in
            try w.put(Article(id: "a", title: "Songs", body: "new york new york new jersey"))
            try w.put(Article(id: "b", title: "Musical", body: "bye bye bye birdie"))
            try w.put(Article(id: "c", title: "Harbour", body: "a strike at the port"))
            try w.put(Article(id: "d", title: "Dock", body: "the port strike ended"))
        }
        XCTAssertEqual(try ids(s, #""new york new jersey""#), ["a"])
        XCTAssertEqual(try ids(s, #""bye bye birdie""#), ["b"])
        XCTAssertEqual(try ids(s, #"songs OR musical -"bye bye birdie""#), ["a"])
        // A phrase in a mixed OR group must hold; the plain word alone is enough.
        XCTAssertEqual(try ids(s, #""port strike" OR walkout"#), ["d"])
        XCTAssertEqual(Set(try ids(s, #""port strike" OR harbour"#)), ["c", "d"])
    }

    func testFoldingLowercasesBeforeDroppingMarks() {
        XCTAssertEqual(SearchText.terms("İSTANBUL"), ["istanbul"])
        XCTAssertEqual(SearchText.terms("ΣΊΣΥΦΟΣ σίσυφος"), SearchText.terms("σισυφοσ σισυφοσ"))
    }

    func testBroadQueriesAreRefusedOrBoundedAndOrderFollowsTheSentScore() throws {
        let s = try makeStore(self, mapSize: 64 << 20)
        try s.write { w in
            for i in 0..<300 { try w.put(Article(id: String(format: "n/%03d", i), title: "note", published: "2026-11-20", body: "same words here")) }
        }
        // Filters only: the first `limit` in id order, without reading every article.
        let hits = try s.search(SearchQuery(parsing: "since:2026-11-01"), limit: 3)
        XCTAssertEqual(hits.map(\.id), ["n/000", "n/001", "n/002"])
        XCTAssertEqual(try s.search(SearchQuery(parsing: "id:n/29 since:2026-01-01"), limit: 50).map(\.id), (290..<300).map { String(format: "n/%03d", $0) })
        // Equal scores: by id.
        XCTAssertEqual(try s.search(SearchQuery(parsing: "same"), limit: 4).map(\.id), ["n/000", "n/001", "n/002", "n/003"])
        // Phrase words count toward the limit.
        XCTAssertThrowsError(try SearchQuery(parsing: "\"" + String(repeating: "the ", count: 65) + "\""))
        // A phrase whose words are everywhere but never adjacent: checks are bounded.
        XCTAssertEqual(try ids(s, #""here same""#), [])
    }
}

/// A copy of a committed store fixture (never opened in place) in a temporary directory, and
/// the `export --all-versions` it was committed with.
func copyFixture(_ test: XCTestCase, _ name: String) throws -> (dir: String, expectedExport: String) {
    let dir = temporaryDirectory(test)
    let fixture = SearchTests.root.appendingPathComponent("Tests/FolioStoreTests/Fixtures/\(name)")
    try FileManager.default.copyItem(atPath: fixture.appendingPathComponent("data.mdb").path, toPath: dir + "/data.mdb")
    return (dir, try String(contentsOf: fixture.appendingPathComponent("export-all-versions.jsonl"), encoding: .utf8))
}

/// Format 2 (search index, before tombstone collection) → 3.
final class FormatThreeUpgradeTests: XCTestCase {
    func testAFormatTwoStoreUpgradesInPlaceKeepingEverything() throws {
        let (dir, expected) = try copyFixture(self, "format2")

        var ro = Store.Options()
        ro.readOnly = true
        let old = try Store.open(at: dir, options: ro)
        XCTAssertEqual(try old.statistics().storageFormat, 2)
        XCTAssertEqual(try old.tombstones(horizon: 0).held, 1)
        let checkpointsBefore = try old.checkpoints()
        XCTAssertEqual(checkpointsBefore.count, 1)
        let changesBefore = try old.changes(since: 0, limit: 100)
        // Its index has format 2's layout (and term rules version 3): a read-only open does
        // not search it, the write-open below rebuilds it.
        XCTAssertThrowsError(try old.search(SearchQuery(parsing: "slopes"), limit: 10)) { e in
            XCTAssertTrue("\(e)".contains("older layout (storage format 2)"), "\(e)")
        }
        old.close()

        let s = try Store.open(at: dir)
        defer { s.close() }
        XCTAssertEqual(try s.statistics().storageFormat, Store.storageFormat)
        XCTAssertEqual(try exportAllVersions(s), expected)
        XCTAssertEqual(try s.checkpoints(), checkpointsBefore)
        XCTAssertEqual(try s.changes(since: 0, limit: 100), changesBefore)
        XCTAssertEqual(try s.search(SearchQuery(parsing: "slopes"), limit: 10).map(\.id), ["alpine-science-desk/glacier-survey-finds-faster-retreat-on-southern-slopes"])
        XCTAssertEqual(try s.verify().problems, [])
        // The new databases work: the source it synced from is a known peer, not yet acknowledged.
        XCTAssertEqual(Set(try s.acknowledgements().values), [0])
        XCTAssertEqual(try s.tombstones(horizon: 0).collectable, 0)
        try s.write { try $0.purge("alpine-science-desk/glacier-survey-finds-faster-retreat-on-southern-slopes") }
        XCTAssertEqual(try s.tombstones(horizon: 0).purges, 1)
    }
}

/// Format 3 (postings as one duplicate-sorted B-tree per term) → 4 (postings in segments).
final class FormatFourUpgradeTests: XCTestCase {
    func testAFormatThreeStoreUpgradesInPlaceKeepingEverythingAndRebuildsItsIndex() throws {
        let (dir, expected) = try copyFixture(self, "format3")

        var ro = Store.Options()
        ro.readOnly = true
        let old = try Store.open(at: dir, options: ro)
        XCTAssertEqual(try old.statistics().storageFormat, 3)
        XCTAssertEqual(try exportAllVersions(old), expected)
        let tombstonesBefore = try old.tombstones(horizon: 0)
        XCTAssertEqual(tombstonesBefore.held, 1)
        let changesBefore = try old.changes(since: 0, limit: 100)
        let checkpointsBefore = try old.checkpoints()
        XCTAssertThrowsError(try old.search(SearchQuery(parsing: "hafen"), limit: 10)) { e in
            XCTAssertTrue("\(e)".contains("older layout (storage format 3)"), "\(e)")
        }
        old.close()

        let s = try Store.open(at: dir)
        defer { s.close() }
        XCTAssertEqual(try s.statistics().storageFormat, Store.storageFormat)
        XCTAssertEqual(try exportAllVersions(s), expected)
        XCTAssertEqual(try s.changes(since: 0, limit: 100), changesBefore)
        XCTAssertEqual(try s.checkpoints(), checkpointsBefore)
        XCTAssertEqual(try s.tombstones(horizon: 0), tombstonesBefore)
        XCTAssertEqual(try s.search(SearchQuery(parsing: "hafen tag:streik"), limit: 10).map(\.id), ["notes/2026-11-30-hafen"])
        XCTAssertEqual(try s.search(SearchQuery(parsing: "öffnet"), limit: 10).map(\.id), ["kultur/2026-11-22-bibliothek"])
        // The deleted and the purged articles are not found.
        XCTAssertEqual(try s.search(SearchQuery(parsing: "port strike"), limit: 10).map(\.id), [])
        XCTAssertEqual(try s.search(SearchQuery(parsing: "timetable"), limit: 10).map(\.id), [])
        XCTAssertEqual(try s.verify().problems, [])
        // Format 3's postings are gone from the file, not left behind.
        XCTAssertNil(try s.env.write { try $0.openExistingDatabase(SearchDatabases.legacyTerms, flags: [.dupSort, .dupFixed]) })
        // The collected purge still refuses what it covered; writes index as usual.
        try s.write { try $0.put(Article(id: "notes/2", title: "Hafen später", body: "Der Hafen öffnet wieder.")) }
        XCTAssertEqual(try s.search(SearchQuery(parsing: "hafen"), limit: 10).map(\.id).sorted(), ["notes/2", "notes/2026-11-30-hafen"])
        XCTAssertEqual(try s.verify().problems, [])
    }
}

/// The postings' segments: appended per transaction, merged, dead documents dropped.
final class SearchSegmentTests: XCTestCase {
    /// Hundreds of small transactions of puts, replacements, deletes and savepoints that fail,
    /// each followed by searches compared with a model (the words of each article's winner);
    /// `verify` holds the segments, their counts and the norms to the articles as it goes.
    func testSegmentsMergeAndDropDeadDocumentsWhileResultsFollowAModel() throws {
        struct Undo: Error {}
        let s = try makeStore(self, mapSize: 64 << 20)
        var rng = SplitMix64(seed: 7)
        let words = (0..<2_000).map { "w\($0)" }
        var model: [String: Set<String>] = [:]
        let search = try XCTUnwrap(s.dbs.search)
        var mostSegments = 0
        for round in 0..<300 {
            try s.write { w in
                for _ in 0..<(1 + rng.next() % 6) {
                    let id = "a/\(rng.next() % 60)"
                    if rng.next() % 6 == 0 {
                        if model[id] != nil { try w.delete(id) }
                        model[id] = nil
                        continue
                    }
                    // A few words, or (now and then) a long text.
                    let n = rng.next() % 20 == 0 ? 2_000 : 1 + rng.next() % 25
                    let text = (0..<n).map { _ in words[Int(rng.next() % (1 + rng.next() % 2_000))] }
                    try w.put(Article(id: id, title: "t", body: text.joined(separator: " ")))
                    model[id] = Set(text)
                }
                // A savepoint that fails leaves no postings behind.
                _ = try? w.savepoint { w in
                    try w.put(Article(id: "a/\(rng.next() % 60)", title: "undone", body: "undone words"))
                    throw Undo()
                }
            }
            let segments = try s.env.read { try SegmentRecord.all($0, search.segments) }
            mostSegments = max(mostSegments, segments.count)
            for _ in 0..<3 {
                let word = words[Int(rng.next() % (1 + rng.next() % 50))]
                let found = Set(try s.search(SearchQuery(parsing: word), limit: 1_000, snippets: false).map(\.id))
                XCTAssertEqual(found, Set(model.filter { $0.value.contains(word) }.keys), "round \(round), \(word)")
            }
            XCTAssertEqual(try s.search(SearchQuery(parsing: "undone"), limit: 10), [])
            if round % 25 == 24 { XCTAssertEqual(try s.verify().problems, [], "round \(round)") }
        }
        // Merges kept the segments few (300 transactions wrote one each), and dead documents'
        // postings went with them.
        let segments = try s.env.read { try SegmentRecord.all($0, search.segments) }
        XCTAssertLessThan(mostSegments, 20)
        XCTAssertGreaterThan(try s.env.read { try $0.statistics(search.postings).entries }, 2 * segments.count, "segments span several pages")
        let written = segments.reduce(0) { $0 + Int($1.docs) }
        let dead = segments.reduce(0) { $0 + Int($1.dead) }
        XCTAssertEqual(written - dead, model.count)
        XCTAssertLessThan(dead, written, "segments mostly of dead documents are rewritten")
        XCTAssertEqual(try s.statistics().liveArticles, UInt64(model.count))
    }

    /// The term table against a dictionary, on arbitrary byte strings (empty, zero bytes, up
    /// to 400 bytes, sharing prefixes, across growths): every term keeps its number, bytes,
    /// hash and value; a copy is unchanged by changes to the other (copy on write), also when
    /// one of them grows or switches to SipHash.
    func testTheTermTableAgreesWithADictionaryOnArbitraryTerms() {
        var rng = SplitMix64(seed: 2026_11_30)
        for round in 0..<40 {
            let hashing: TermHash = round % 4 == 3 ? .collidingForTesting : .fast
            var table = TermTable<Int>(capacity: Int(rng.next() % 40), hashing: hashing)
            var model: [[UInt8]: Int] = [:]
            var order: [[UInt8]] = []
            var snapshot: (TermTable<Int>, [[UInt8]: Int], [[UInt8]])?
            let stems: [[UInt8]] = (0..<8).map { _ in (0..<Int(rng.next() % 30)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            for step in 0..<Int(200 + rng.next() % 2_000) {
                var term = stems[Int(rng.next() % 8)]
                switch rng.next() % 4 {
                case 0: term += (0..<Int(rng.next() % 400)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1: term += (0..<Int(rng.next() % 12)).map { _ in [0, 1, 0x61, 0xFF][Int(rng.next() % 4)] }
                case 2: term = Array(term.prefix(Int(rng.next() % 10)))
                default: term += [UInt8(truncatingIfNeeded: rng.next())]
                }
                let value = Int(rng.next() % 1000)
                let n = term.withUnsafeBufferPointer { table.number(of: $0, initial: value) }
                if let known = model[term] {
                    XCTAssertEqual(order[n], term)
                    XCTAssertEqual(table[n], known)
                    table[n] += 1
                    model[term] = known + 1
                } else {
                    XCTAssertEqual(n, order.count)
                    model[term] = value
                    order.append(term)
                }
                if step == 100 {
                    snapshot = (table, model, order)
                    // A change of a value right after the copy, before any term is added.
                    table[0] += 1_000
                    model[order[0]]! += 1_000
                }
            }
            XCTAssertEqual(table.count, order.count)
            XCTAssertLessThanOrEqual(table.longestProbe, TermHash.probeLimit)
            func check(_ t: TermTable<Int>, _ m: [[UInt8]: Int], _ o: [[UInt8]], _ label: String) {
                XCTAssertEqual(t.count, o.count, label)
                var i = 0
                t.forEach { bytes, hash, value in
                    XCTAssertEqual(Array(bytes), o[i], label)
                    XCTAssertEqual(value, m[o[i]], label)
                    XCTAssertEqual(hash, t.hash(of: i), label)
                    i += 1
                }
                XCTAssertEqual(i, o.count, label)
                XCTAssertEqual(t.sorted(Array(0..<t.count)).map { t.withBytes($0) { Array($0) } }, o.sorted { $0.lexicographicallyPrecedes($1) }, label)
            }
            check(table, model, order, "round \(round)")
            if let (t, m, o) = snapshot { check(t, m, o, "round \(round), the copy taken at step 100") }
        }
    }

    /// A term's first bytes as one integer (what slots compare and sorting orders by): the
    /// loads that overlap give exactly the bytes, zero-padded, at every offset and length.
    func testAWordOfATermIsItsBytesZeroPadded() {
        var rng = SplitMix64(seed: 0x3D)
        let bytes = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes.withUnsafeBytes { p in
            for from in 0..<24 {
                for to in from...(from + 12) {
                    var expected: UInt64 = 0
                    for (k, b) in bytes[from..<min(to, from + 8)].enumerated() { expected |= UInt64(b) << UInt64(8 * k) }
                    XCTAssertEqual(TermHash.word(p.baseAddress!, from: from, to: to), expected, "\(from)..<\(to)")
                }
            }
        }
    }

    /// Posting blocks give back what was encoded — any frequency, documents, and masks of no
    /// bit (filter terms, CJK singles: one byte), one bit (one byte) or several (four bytes) —
    /// and a mask byte beyond 32 is damage, not a crash.
    func testPostingBlocksRoundTripEveryKindOfMask() throws {
        var rng = SplitMix64(seed: 0xB10C)
        var writer = PostingBlock.Writer()
        for _ in 0..<2000 {
            let base = UInt32(truncatingIfNeeded: rng.next() % 1_000_000)
            var doc = base
            var postings: [(doc: UInt32, tf: UInt32, mask: UInt32)] = []
            for k in 0..<Int(1 + rng.next() % 40) {
                doc += k == 0 ? UInt32(rng.next() % 3) : UInt32(1 + rng.next() % 5000)
                let mask: UInt32 = switch rng.next() % 3 {
                case 0: 0
                case 1: 1 << UInt32(rng.next() % 32)
                default: UInt32(truncatingIfNeeded: rng.next())
                }
                postings.append((doc, UInt32(1 + rng.next() % (rng.next() % 2 == 0 ? 10 : UInt64(UInt32.max))), mask))
            }
            var decoded: [(doc: UInt32, tf: UInt32, mask: UInt32)] = []
            var size = 0
            try writer.encode(base: base, room: postings.count * PostingBlock.maxPostingBytes, { sink in
                for p in postings { sink.append(doc: p.doc, tf: p.tf, mask: p.mask) }
            }, then: { block, _ in
                size = block.count
                var r = try PostingBlock.Reader(block, base: base, last: doc)
                while let p = try r.next() { decoded.append(p) }
            })
            XCTAssertEqual(decoded.map { [$0.doc, $0.tf, $0.mask] }, postings.map { [$0.doc, $0.tf, $0.mask] })
            // A mask of at most one bit takes one byte.
            if postings.count == 1, postings[0].mask & (postings[0].mask &- 1) == 0, postings[0].tf < 64, postings[0].doc - base < 128 {
                XCTAssertEqual(size, 4)
            }
        }
        // count 1, delta 0, frequency 1 with s = 1, then a mask byte of 33.
        try [UInt8]([1, 0, 3, 33]).withUnsafeBytes { b in
            var r = try PostingBlock.Reader(b, base: 0, last: 10)
            XCTAssertThrowsError(try r.next())
        }
    }

    /// Terms are written in LMDB's key order (bytes, a prefix first): the table's sort agrees
    /// with it, for terms sharing 8-byte prefixes, prefixes of each other and zero bytes.
    func testTermsSortInLMDBKeyOrder() {
        var rng = SplitMix64(seed: 99)
        var table = TermTable<Void>(capacity: 16)
        var terms = Set<[UInt8]>()
        for _ in 0..<3_000 {
            let stem: [UInt8] = Array("abcdefgh".utf8.prefix(Int(rng.next() % 9)))
            let term = stem + (0..<Int(rng.next() % 6)).map { _ in [0, 1, 0x61, 0x62, 0xC3, 0xFF][Int(rng.next() % 6)] }
            guard !term.isEmpty else { continue }
            terms.insert(term)
            term.withUnsafeBufferPointer { _ = table.number(of: $0, initial: ()) }
        }
        let sorted = table.sorted(Array(0..<table.count)).map { t in table.withBytes(t) { Array($0) } }
        XCTAssertEqual(sorted, terms.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Damage a write could trip over is refused as corruption (with the way out), never
    /// trapped on; `verify` names it precisely; a reindex repairs it.
    func testDamagedSegmentsAndNumbersAreCorruptionNotCrashes() throws {
        let s = try makeStore(self)
        for i in 0..<6 { try s.write { try $0.put(Article(id: "a\(i)", title: "t", body: "word\(i) common")) } }
        let search = try XCTUnwrap(s.dbs.search)
        func segments() throws -> [SegmentRecord] { try s.env.read { try SegmentRecord.all($0, search.segments) } }
        XCTAssertEqual(try segments().count, 6)
        // A segment claiming its neighbours' documents: a write that would merge refuses.
        var widened = try segments()[5]
        widened.firstDoc = 0
        try s.env.write { try $0.put(search.segments, key: widened.key, value: widened.encoded) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("overlaps the one before it") })
        XCTAssertThrowsError(try s.write { try $0.put(Article(id: "a7", title: "t", body: "more")) }) { e in
            XCTAssertTrue("\(e)".contains("overlap") && "\(e)".contains("folio reindex"), "\(e)")
        }
        XCTAssertThrowsError(try s.search(SearchQuery(parsing: "common"), limit: 10)) { XCTAssertTrue("\($0)".contains("overlap")) }
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
        // A norms chunk of the wrong size: reported once, not as a flood of dead documents.
        let chunk = try XCTUnwrap(try s.env.read { try $0.get(search.norms, key: UInt32(0).bigEndianBytes) })
        try s.env.write { try $0.put(search.norms, key: UInt32(0).bigEndianBytes, value: Array(chunk.dropLast(2))) }
        let problems = try s.verify().problems
        XCTAssertTrue(problems.contains { $0.contains("search_norms: a chunk of 1022 bytes") }, "\(problems)")
        XCTAssertFalse(problems.contains { $0.contains("not live") || $0.contains("search_docs[") }, "\(problems)")
        XCTAssertLessThanOrEqual(problems.count, 4, "\(problems)")
        try s.env.write { try $0.put(search.norms, key: UInt32(0).bigEndianBytes, value: chunk) }
        XCTAssertEqual(try s.verify().problems, [])
        // Numbers behind what is stored: refused with the way out, not a bare LMDB error.
        try s.env.write { try $0.put(s.dbs.meta, key: Meta.searchSegment, value: UInt64(0).bigEndianBytes) }
        XCTAssertThrowsError(try s.write { try $0.put(Article(id: "a8", title: "t", body: "more")) }) { e in
            XCTAssertTrue("\(e)".contains("meta/search.segment is behind") && "\(e)".contains("folio reindex"), "\(e)")
        }
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// Pages of a segment whose terms do not ascend from one page to the next: verify names
    /// it, and the merge that would read them refuses (corruption), never traps or loops.
    func testPagesOutOfOrderAreCorruptionForVerifyAndMerges() throws {
        let s = try makeStore(self)
        for i in 0..<7 { try s.write { try $0.put(Article(id: "a\(i)", title: "t", body: "word\(i) common")) } }
        let search = try XCTUnwrap(s.dbs.search)
        let segment = try XCTUnwrap(try s.env.read { try SegmentRecord.all($0, search.segments) }.first)
        var entries: [(term: [UInt8], block: [UInt8])] = []
        try s.env.read { txn in
            try SegmentLookup.forEachTerm(txn, search.postings, segment, after: nil) { t, b in
                entries.append((Array(t), Array(b)))
                return true
            }
        }
        func page(_ e: ArraySlice<(term: [UInt8], block: [UInt8])>) -> [UInt8] {
            e.flatMap { [UInt8(truncatingIfNeeded: $0.term.count)] + $0.term + [UInt8(truncatingIfNeeded: $0.block.count)] + $0.block }
        }
        // The first page holds the first and the last term; the second starts in between.
        XCTAssertGreaterThan(entries.count, 3)
        try s.env.write { txn in
            try txn.deletePrefix(search.postings, segment.prefix)
            try txn.put(search.postings, key: segment.prefix + entries[0].term, value: page([entries[0], entries[entries.count - 1]]))
            try txn.put(search.postings, key: segment.prefix + entries[1].term, value: page(entries[1..<entries.count - 1]))
        }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("do not come after the previous page's") })
        XCTAssertThrowsError(try s.write { try $0.put(Article(id: "a8", title: "t", body: "more")) }) { e in
            XCTAssertTrue("\(e)".contains("out of order"), "\(e)")
        }
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// A merge reads every posting its sources' records promise: a page gone, or a key a
    /// lookup cannot use, is corruption it refuses — never postings dropped without a word —
    /// and sizes on disk beyond reason never trap the merge policy's sums.
    func testAMergeRefusesSourcesThatDoNotHoldWhatTheirRecordsSay() throws {
        let s = try makeStore(self)
        for i in 0..<7 { try s.write { try $0.put(Article(id: "a\(i)", title: "t", body: "word\(i) common")) } }
        let search = try XCTUnwrap(s.dbs.search)
        let segments = try s.env.read { try SegmentRecord.all($0, search.segments) }
        // A key of the segment number alone.
        try s.env.write { try $0.put(search.postings, key: segments[0].prefix, value: [1]) }
        XCTAssertThrowsError(try s.write { try $0.put(Article(id: "a8", title: "t", body: "more")) }) { e in
            XCTAssertTrue("\(e)".contains("page key without a term"), "\(e)")
        }
        try s.env.write { try $0.delete(search.postings, key: segments[0].prefix) }
        // A page gone.
        let page = try XCTUnwrap(try s.env.read { txn in try txn.withFloor(search.postings, key: segments[1].prefix + [0xFF]) { k, _ in Array(k) } })
        try s.env.write { try $0.delete(search.postings, key: page) }
        XCTAssertThrowsError(try s.write { try $0.put(Article(id: "a8", title: "t", body: "more")) }) { e in
            XCTAssertTrue("\(e)".contains("its pages hold") && "\(e)".contains("folio reindex"), "\(e)")
        }
        try s.reindex()
        // Sizes that would overflow a sum: the policy saturates instead of trapping.
        for i in 0..<7 { try s.write { try $0.put(Article(id: "b\(i)", title: "t", body: "word\(i) other")) } }
        try s.env.write { txn in
            for var r in try SegmentRecord.all(txn, search.segments) {
                r.bytes = .max - 1
                try txn.put(search.segments, key: r.key, value: r.encoded)
            }
        }
        XCTAssertNoThrow(try s.write { w in
            try w.put(Article(id: "b9", title: "t", body: "more"))
            try w.delete("b0")
        })
        try s.reindex()
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// A transaction that only deletes still runs the merge policy: a segment all of whose
    /// documents died goes at once.
    func testASegmentWhoseDocumentsAllDieGoesInTheDeletingTransaction() throws {
        let s = try makeStore(self)
        try s.write { w in for i in 0..<20 { try w.put(Article(id: "old/\(i)", title: "t", body: "harbour \(i)")) } }
        try s.write { try $0.put(Article(id: "keep", title: "t", body: "harbour kept")) }
        let search = try XCTUnwrap(s.dbs.search)
        XCTAssertEqual(try s.env.read { try SegmentRecord.all($0, search.segments) }.count, 2)
        try s.write { w in for i in 0..<20 { try w.delete("old/\(i)") } }
        let left = try s.env.read { try SegmentRecord.all($0, search.segments) }
        XCTAssertEqual(left.count, 1)
        XCTAssertEqual(left.first?.docs, 1)
        XCTAssertEqual(try s.search(SearchQuery(parsing: "harbour"), limit: 10).map(\.id), ["keep"])
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// Document numbers grow with every indexed version: past three quarters of their range a
    /// write-open renumbers them (a rebuild), long before a write could run out.
    func testAWriteOpenRenumbersAnIndexNearTheEndOfItsNumbers() throws {
        let dir = temporaryDirectory(self) + "/store"
        var s: Store? = try makeStore(self, path: dir)
        try s!.write { w in for i in 0..<5 { try w.put(Article(id: "n/\(i)", title: "t", body: "night train \(i)")) } }
        let before = try s!.search(SearchQuery(parsing: "night"), limit: 10)
        try s!.env.write { try $0.put(s!.dbs.meta, key: Meta.searchNext, value: Store.renumberAt.bigEndianBytes) }
        s!.close()
        s = nil
        let reopened = try Store.open(at: dir)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.env.read { try Meta.u64(Meta.searchNext, reopened.dbs.meta, $0) }, 5)
        XCTAssertEqual(try reopened.search(SearchQuery(parsing: "night"), limit: 10), before)
        XCTAssertEqual(try reopened.verify().problems, [])
    }
}

/// The records of format 3 that `verify` checks.
final class TombstoneRecordTests: XCTestCase {
    func testVerifyFindsADamagedTombstoneListAcksAndPurgeRecords() throws {
        let s = try makeStore(self)
        try s.write { w in for i in 0..<4 { try w.put(Article(id: "t/\(i)", title: "t")) } }
        try s.write { w in
            try w.delete("t/0")
            try w.purge("t/1")
        }
        XCTAssertEqual(try s.verify().problems, [])
        let tombstones = try XCTUnwrap(s.dbs.tombstones)
        let seq0 = try XCTUnwrap(s.get("t/0")).seq
        try s.env.write { txn in try txn.delete(tombstones, key: seq0.bigEndianBytes) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("tombstones: 1 listed, 2 articles hold only tombstones") })
        try s.env.write { txn in try txn.put(tombstones, key: seq0.bigEndianBytes, value: Array("t/2".utf8)) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("does not name a tombstone at that sequence") })
        try s.env.write { txn in try txn.put(tombstones, key: seq0.bigEndianBytes, value: Array("t/0".utf8)) }
        XCTAssertEqual(try s.verify().problems, [])
        let acks = try XCTUnwrap(s.dbs.acks)
        try s.env.write { txn in try txn.put(acks, key: NodeID(9).rawValue.bigEndianBytes, value: [1] + UInt64(999).bigEndianBytes + UInt64(0).bigEndianBytes) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("acknowledges past the last sequence") })
        try s.env.write { txn in try txn.put(acks, key: NodeID(9).rawValue.bigEndianBytes, value: [2]) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("acks: malformed") })
        try s.env.write { txn in try txn.delete(acks, key: NodeID(9).rawValue.bigEndianBytes) }
        XCTAssertEqual(try s.collectTombstones(horizon: 0).purges, 1)
        XCTAssertEqual(try s.verify().problems, [])
        let purged = try XCTUnwrap(s.dbs.purged)
        try s.env.write { txn in try txn.put(purged, key: Store.purgeKey("t/1"), value: RecordCodec.encodePurge([NodeID(5): 1], at: 0)) }
        XCTAssertTrue(try s.verify().problems.contains { $0.contains("lacks the purge marker") })
    }
}

/// What `folio export --all-versions` writes for `s`.
func exportAllVersions(_ s: Store) throws -> String {
    var lines: [String] = []
    try s.forEach(includeDeleted: true) { state in
        for v in state.versions.versions { lines.append(VersionJSON.exportLine(state, v)) }
    }
    return lines.joined(separator: "\n") + "\n"
}
