import XCTest

@testable import FolioModel

final class FoldCacheTests: XCTestCase {
    /// The fold cache lends each word's fold as folding it would give it: found, added, after
    /// its table grows, and after it fills and starts again (more than `capacity` words).
    func testTheFoldCacheGivesWhatFoldingGives() {
        check(FoldCache(), words: FoldCache.capacity + 5_000)
        // Every word hashing alike: those beyond the probe limit are folded each time.
        check(FoldCache(collidingForTesting: true), words: 300)
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
