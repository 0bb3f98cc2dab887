import XCTest

@testable import FolioSync

/// `SequenceRanges` against a plain set, on arbitrary sequences (clustered and scattered,
/// 0 and 2^64 − 1 included): the same answers, and ranges always sorted, disjoint and apart.
final class SequenceRangesTests: XCTestCase {
    func testRangesAgreeWithASetUnderArbitraryInsertsAndRemoves() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<200 {
            var ranges = SequenceRanges()
            var model = Set<UInt64>()
            let base: UInt64 = [0, 1_000, UInt64.max - 64][round % 3]
            for _ in 0..<400 {
                let seq = Bool.random(using: &rng) ? base &+ UInt64.random(in: 0...63, using: &rng) : UInt64.random(in: 0...UInt64.max, using: &rng)
                if Bool.random(using: &rng) {
                    ranges.insert(seq)
                    model.insert(seq)
                } else {
                    XCTAssertEqual(ranges.remove(seq), model.remove(seq) != nil, "round \(round): remove \(seq)")
                }
                XCTAssertEqual(ranges.contains(seq), model.contains(seq))
            }
            XCTAssertEqual(ranges.ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 }, model.count, "round \(round)")
            for (a, b) in zip(ranges.ranges, ranges.ranges.dropFirst()) { XCTAssertLessThan(a.upperBound &+ 1, b.lowerBound, "sorted, disjoint, not adjacent") }
            for seq in model { XCTAssertTrue(ranges.contains(seq)) }
        }
        // A pull's million consecutive sequences are one range.
        var pull = SequenceRanges()
        for seq in UInt64(1)...1_000_000 { pull.insert(seq) }
        XCTAssertEqual(pull.ranges, [1...1_000_000])
    }
}
