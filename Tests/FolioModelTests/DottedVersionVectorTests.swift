import FolioModelTestSupport
import XCTest

@testable import FolioModel

final class DottedVersionVectorTests: XCTestCase {
    let sx = NodeID(0x5A), sy = NodeID(0x5B), sz = NodeID(0x5C)

    /// Dynamo (DeCandia et al. 2007), Figure 3.
    func testDynamoFigure3() {
        var onX = VersionSet()
        let d1 = onX.write(content("D1"), context: nil, node: sx, timestamp: 1).written
        XCTAssertEqual(d1.vector, ([sx: 1] as VersionVector))
        let d2 = onX.write(content("D2"), context: onX.clock, node: sx, timestamp: 2).written
        XCTAssertEqual(d2.vector, ([sx: 2] as VersionVector))
        XCTAssertTrue(d1.isObsoleted(by: d2))
        XCTAssertEqual(onX.versions, [d2])

        // D2 replicates to Sy and Sz; each handles a write concurrently.
        var onY = VersionSet()
        var onZ = VersionSet()
        XCTAssertEqual(onY.merge([d2]), .changed(added: [d2], superseded: []))
        XCTAssertEqual(onZ.merge([d2]), .changed(added: [d2], superseded: []))
        let d3 = onY.write(content("D3"), context: onY.clock, node: sy, timestamp: 3).written
        let d4 = onZ.write(content("D4"), context: onZ.clock, node: sz, timestamp: 4).written
        XCTAssertEqual(d3.vector, ([sx: 2, sy: 1] as VersionVector))
        XCTAssertEqual(d4.vector, ([sx: 2, sz: 1] as VersionVector))
        XCTAssertTrue(d3.vector.isConcurrent(with: d4.vector))

        // A client reads both siblings (their merge) and Sx coordinates the reconciling write.
        var reader = VersionSet()
        _ = reader.merge([d3])
        _ = reader.merge([d4])
        XCTAssertEqual(reader.versions.count, 2)
        XCTAssertEqual(reader.clock, ([sx: 2, sy: 1, sz: 1] as VersionVector))
        _ = onX.merge([d3])
        _ = onX.merge([d4])
        XCTAssertEqual(onX.versions.count, 2, "D3 and D4 are kept as siblings")
        let d5 = onX.write(content("D5"), context: reader.clock, node: sx, timestamp: 5).written
        XCTAssertEqual(d5.vector, ([sx: 3, sy: 1, sz: 1] as VersionVector))
        for old in [d1, d2, d3, d4] { XCTAssertTrue(old.isObsoleted(by: d5), "\(old.dot) should be dominated") }
        XCTAssertEqual(onX.versions, [d5])

        // Every replica converges to D5 whatever it held.
        XCTAssertEqual(onY.merge([d5]), .changed(added: [d5], superseded: [d3]))
        XCTAssertEqual(onZ.merge([d5]), .changed(added: [d5], superseded: [d4]))
        XCTAssertEqual(onY.merge([d4]), .unchanged)
        XCTAssertEqual(onY, onX)
        XCTAssertEqual(onZ, onX)
    }

    /// DVVSet paper: two clients write through one node with the same stale context.
    func testTwoWritersWithStaleContextsKeepBothValues() {
        var node = VersionSet()
        let v1 = node.write(content("v1"), context: nil, node: sx, timestamp: 1).written
        let ctx = node.clock  // both clients read v1
        let a = node.write(content("A"), context: ctx, node: sx, timestamp: 2)
        XCTAssertEqual(a.superseded, [v1])
        let b = node.write(content("B"), context: ctx, node: sx, timestamp: 3)
        XCTAssertEqual(b.superseded, [], "B's writer never saw A")
        XCTAssertEqual(Set(node.versions.map { $0.content!.title }), ["A", "B"])
        // Same node, different dots; neither covers the other.
        XCTAssertFalse(a.written.isObsoleted(by: b.written))
        XCTAssertFalse(b.written.isObsoleted(by: a.written))
        // A client that read both supersedes both.
        let c = node.write(content("C"), context: node.clock, node: sx, timestamp: 4)
        XCTAssertEqual(c.superseded.count, 2)
        XCTAssertEqual(node.versions.map { $0.content!.title }, ["C"])
    }

    /// DVVSet paper: a context that covers v1 but not v2 supersedes only v1.
    func testContextCoveringOnlyOneSiblingSupersedesOnlyIt() {
        var node = VersionSet()
        _ = node.write(content("v0"), context: nil, node: sx, timestamp: 1)
        let ctx0 = node.clock
        let v1 = node.write(content("v1"), context: ctx0, node: sx, timestamp: 2).written
        let readV1 = node.clock
        let v2 = node.write(content("v2"), context: ctx0, node: sx, timestamp: 3).written
        XCTAssertEqual(node.versions.count, 2)
        let v3 = node.write(content("v3"), context: readV1, node: sx, timestamp: 4)
        XCTAssertEqual(v3.superseded, [v1])
        XCTAssertEqual(node.versions.map(\.dot), [v2.dot, v3.written.dot].sorted { $0.counter < $1.counter })
    }

    func testEmptyContextWriteNeverSupersedesAnything() {
        var node = VersionSet()
        _ = node.write(content("a"), context: nil, node: sx, timestamp: 1)
        let r = node.write(content("b"), context: VersionVector(), node: sy, timestamp: 2)
        XCTAssertEqual(r.superseded, [])
        XCTAssertEqual(node.versions.count, 2)
    }

    func testWinnerLiveBeatsTombstoneThenTimestampThenNode() {
        var set = VersionSet()
        _ = set.merge([Version(dot: Dot(node: sz, counter: 1), context: VersionVector(), timestamp: 900, content: nil)])
        _ = set.merge([Version(dot: Dot(node: sx, counter: 1), context: VersionVector(), timestamp: 100, content: content("old"))])
        XCTAssertEqual(set.winner?.content?.title, "old", "an edit concurrent with a delete stays visible")
        XCTAssertTrue(set.isLive)
        _ = set.merge([Version(dot: Dot(node: sy, counter: 1), context: VersionVector(), timestamp: 200, content: content("newer"))])
        XCTAssertEqual(set.winner?.content?.title, "newer")
        _ = set.merge([Version(dot: Dot(node: sx, counter: 2), context: ([sz: 1] as VersionVector), timestamp: 200, content: content("tie, lower node"))])
        XCTAssertEqual(set.winner?.content?.title, "newer", "equal timestamps: the higher node id wins")
        XCTAssertEqual(set.conflicts.count, set.versions.count - 1)
    }

    /// Replicas write (plain edits, stale-context edits, deletes) and sync whole sibling
    /// sets pairwise at random; afterwards every replica holds the same siblings and winner
    /// whatever the sync order, and no version is lost unless a version that saw it
    /// supersedes it.
    func testReplicasConvergeWhateverTheSyncOrder() {
        var rng = SeededRandom(seed: 2026)
        let nodes = [sx, sy, sz]
        for round in 0..<300 {
            var replicas = nodes.map { _ in VersionSet() }
            var stale = nodes.map { _ in VersionVector() }
            var written: [Version] = []
            for step in 0..<Int.random(in: 2...14, using: &rng) {
                let r = Int.random(in: 0..<3, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0, 1:
                    let other = Int.random(in: 0..<3, using: &rng)
                    _ = replicas[r].merge(replicas[other].versions)
                case 2:
                    stale[r] = replicas[r].clock  // a client reads now, writes later
                default:
                    let ctx: VersionVector? = Bool.random(using: &rng) ? stale[r] : nil
                    let isDelete = replicas[r].isLive && Int.random(in: 0..<4, using: &rng) == 0
                    let w = replicas[r].write(isDelete ? nil : content("r\(round)s\(step)"), context: ctx, node: nodes[r], timestamp: Int64(step))
                    written.append(w.written)
                }
            }
            var finals: [VersionSet] = []
            for _ in 0..<4 {
                var s = VersionSet()
                for rep in replicas.shuffled(using: &rng) { _ = s.merge(rep.versions) }
                finals.append(s)
            }
            for s in finals.dropFirst() {
                XCTAssertEqual(s, finals[0], "round \(round)")
                XCTAssertEqual(s.winner, finals[0].winner)
            }
            // Pairwise anti-entropy reaches the same state as a full merge.
            var mesh = replicas
            for _ in 0..<2 { for i in 0..<3 { for j in 0..<3 where i != j { _ = mesh[i].merge(mesh[j].versions) } } }
            for m in mesh { XCTAssertEqual(m, finals[0], "round \(round)") }
            let kept = finals[0].versions
            for v in written {
                XCTAssertTrue(kept.contains(v) || kept.contains { v.isObsoleted(by: $0) }, "lost \(v.dot)")
            }
            for a in kept { for b in kept { XCTAssertFalse(a.isObsoleted(by: b)) } }
        }
    }
}
