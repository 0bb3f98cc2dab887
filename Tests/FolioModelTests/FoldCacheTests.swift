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
        // Each word folded afresh is counted (by its bytes), a word found kept is not.
        let counted = FoldCache()
        for w in ["Straße", "Straße", "größer"] {
            var raw = w
            raw.withUTF8 { r in counted.withFolded(r) { _ in } }
        }
        XCTAssertEqual(counted.foldedBytes, "Straße".utf8.count + "größer".utf8.count)
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
