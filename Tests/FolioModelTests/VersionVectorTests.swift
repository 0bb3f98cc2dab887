import FolioModelTestSupport
import XCTest

@testable import FolioModel

/// Property-style tests: random vectors from a seeded generator, laws checked on each.
final class VersionVectorTests: XCTestCase {
    let nodes = (1...5).map { NodeID(UInt64($0) * 0x1111) }

    func randomVector(_ rng: inout SeededRandom) -> VersionVector {
        VersionVector(nodes.compactMap { n in Bool.random(using: &rng) ? (n, UInt64.random(in: 1...6, using: &rng)) : nil })
    }

    func testJoinIsCommutativeAssociativeIdempotentAndAnUpperBound() {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<2000 {
            let a = randomVector(&rng), b = randomVector(&rng), c = randomVector(&rng)
            XCTAssertEqual(a.merged(with: b), b.merged(with: a))
            XCTAssertEqual(a.merged(with: b).merged(with: c), a.merged(with: b.merged(with: c)))
            XCTAssertEqual(a.merged(with: a), a)
            XCTAssertTrue(a.isCovered(by: a.merged(with: b)))
            XCTAssertTrue(b.isCovered(by: a.merged(with: b)))
            // Least: any upper bound of a and b contains their join.
            if a.isCovered(by: c) && b.isCovered(by: c) { XCTAssertTrue(a.merged(with: b).isCovered(by: c)) }
        }
    }

    func testOrderIsAPartialOrderAndExactlyOneRelationHolds() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            let a = randomVector(&rng), b = randomVector(&rng), c = randomVector(&rng)
            let relations = [a == b, a.happenedBefore(b), b.happenedBefore(a), a.isConcurrent(with: b)]
            XCTAssertEqual(relations.filter { $0 }.count, 1, "\(a) vs \(b)")
            if a.isCovered(by: b) && b.isCovered(by: a) { XCTAssertEqual(a, b) }
            if a.isCovered(by: b) && b.isCovered(by: c) { XCTAssertTrue(a.isCovered(by: c)) }
            XCTAssertEqual(a.isConcurrent(with: b), b.isConcurrent(with: a))
        }
    }

    func testCanonicalFormIgnoresInsertionOrderAndZeroCounters() {
        let x = NodeID(1), y = NodeID(2)
        XCTAssertEqual(([y: 1, x: 2] as VersionVector), ([x: 2, y: 1, x: 1, y: 0] as VersionVector))
        XCTAssertEqual(([x: 0] as VersionVector), VersionVector())
        XCTAssertEqual(([x: 2, y: 1] as VersionVector).description, "[(0000000000000001,2),(0000000000000002,1)]")
    }

    func testCausalContextTokenRoundTrips() throws {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<200 {
            let v = randomVector(&rng)
            XCTAssertEqual(try CausalContext.vector(from: CausalContext.token(for: v, article: "a/1"), article: "a/1"), v)
        }
        XCTAssertThrowsError(try CausalContext.vector(from: "garbage", article: "a"))
        XCTAssertThrowsError(try CausalContext.vector(from: "c1.AAAA", article: "a"))
        XCTAssertThrowsError(try CausalContext.vector(from: "c2.AAAA", article: "a"))
    }

    func testAContextTokenBelongsToTheArticleItWasReadFrom() throws {
        let v: VersionVector = [NodeID(1): 3]
        let token = CausalContext.token(for: v, article: "art")
        XCTAssertThrowsError(try CausalContext.vector(from: token, article: "other")) { e in
            XCTAssertTrue("\(e)".contains("read from another article"), "\(e)")
        }
        let huge = CausalContext.token(for: [NodeID(1): UInt64.max], article: "art")
        XCTAssertThrowsError(try CausalContext.vector(from: huge, article: "art"), "a counter near 2^64 is refused at the door")
    }
}
