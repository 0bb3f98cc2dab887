import XCTest

@testable import FolioModel

final class FoldCacheTests: XCTestCase {
    /// The fold cache lends each word's fold as folding it would give it: found, added, after
    /// its table grows, and after it fills and starts again (more than `capacity` words).
    func testTheFoldCacheGivesWhatFoldingGives() {
        let cache = FoldCache()
        check(cache, words: FoldCache.capacity + 5_000)
        // Full, it started again: it keeps what came since.
        XCTAssertGreaterThan(cache.kept, 0)
        XCTAssertLessThan(cache.kept, FoldCache.capacity / 2)
        // Every word hashing alike: those beyond the probe limit are folded each time, not kept.
        let colliding = FoldCache(collidingForTesting: true)
        check(colliding, words: 300)
        XCTAssertEqual(colliding.kept, FoldCache.Table.maxProbe + 1)
        // Each word folded afresh is counted (by its bytes), apart those folded through
        // Unicode's tables; a word found kept is not.
        let counted = FoldCache()
        for w in ["Straße", "Ωμέγα", "Ωμέγα", "Straße", "größer", "ﬁnal", "שלום"] {
            var raw = w
            raw.withUTF8 { r in counted.withFolded(r) { _ in } }
        }
        XCTAssertEqual(counted.foldedBytes.all, "Straße".utf8.count + "Ωμέγα".utf8.count + "größer".utf8.count + "ﬁnal".utf8.count + "שלום".utf8.count)
        XCTAssertEqual(counted.foldedBytes.slowly, "ﬁnal".utf8.count + "שלום".utf8.count)
    }

    /// Words of scalars below U+0500 (Latin, Greek, Cyrillic, marks) are folded from a table,
    /// scalar by scalar: that must be what folding the whole word gives, cut to 64 bytes, for
    /// any such word (and nothing for a word holding another scalar).
    func testWordsFoldFromTheTableAsFoldingGives() {
        var rng = SplitMix64(seed: 0x1A71)
        for round in 0..<30_000 {
            var w = String.UnicodeScalarView()
            let length = 1 + Int(rng.next() % (round % 10 == 0 ? 70 : 12))
            for _ in 0..<length { w.append(Unicode.Scalar(UInt32(0x20 + rng.next() % UInt64(SearchText.tableFoldEnd - 0x20)))!) }
            let word = String(w)
            let expected = Array(SearchText.cut(SearchText.fold(word), to: SearchText.maxTermBytes).utf8)
            var raw = word
            raw.withUTF8 { XCTAssertEqual(SearchText.foldedFromTable($0), expected, "\(word.unicodeScalars.map { String($0.value, radix: 16) })") }
        }
        for other in ["straßeա", "café\u{5D0}", "東京", "ﬁ", "\u{500}"] {
            var word = other
            word.withUTF8 { XCTAssertNil(SearchText.foldedFromTable($0), other) }
        }
    }

    private func check(_ cache: FoldCache, words count: Int) {
        var rng = SplitMix64(seed: 0xF01D)
        let letters = Array("äöüßÉçñİıŞﬁΣςЖ".unicodeScalars)
        func word(_ i: Int) -> String {
            var w = String.UnicodeScalarView()
            for _ in 0..<(1 + Int(rng.next() % 6)) { w.append(letters[Int(rng.next() % UInt64(letters.count))]) }
            w.append(contentsOf: "\(i)".unicodeScalars)
            return String(w)
        }
        let words = (0..<count).map(word) + [String(repeating: "Ä", count: 200)]
        for round in 0..<2 {
            for (i, w) in words.enumerated() where round == 0 || i % 7 == 0 {
                var raw = w
                let expected = Array(SearchText.cut(SearchText.fold(w), to: SearchText.maxTermBytes).utf8)
                raw.withUTF8 { r in cache.withFolded(r) { XCTAssertEqual(Array($0), expected, w) } }
            }
        }
    }
}
