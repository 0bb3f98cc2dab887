import FolioTestSupport
import Foundation
import XCTest

@testable import FolioModel
@testable import FolioStore

/// What a peer sends can never harm a store (issue 11, "peer input can never harm a store").
final class ReceivedVersionsTests: XCTestCase {
    func tomb(_ node: UInt64, _ counter: UInt64, context: [(UInt64, UInt64)] = []) -> Version {
        Version(dot: Dot(node: NodeID(node), counter: counter), context: VersionVector(context.map { (NodeID($0.0), $0.1) }), timestamp: 1, content: nil)
    }

    func testATombstoneWithAnEmptyContextIsStoredAndReadBack() throws {
        let store = try makeStore(self)
        try store.write { try $0.merge(id: "t", versions: [tomb(7, 1)], bodies: [:]) }
        let state = try XCTUnwrap(store.get("t"))
        XCTAssertTrue(state.isDeleted)
        XCTAssertEqual(try store.list(prefix: "", includeDeleted: true).map(\.id), ["t"])
        XCTAssertTrue(try store.verify().isClean)
    }

    func testEveryInvariantIsCheckedBeforeAnythingIsMerged() throws {
        let store = try makeStore(self)
        let bad: [(String, [Version])] = [
            ("empty", []),
            ("node id 0", [tomb(0, 1)]),
            ("counter near 2^64", [tomb(1, UInt64.max)]),
            ("context counter near 2^64", [tomb(1, 1, context: [(2, UInt64.max - 1)])]),
            ("context node 0", [tomb(1, 1, context: [(0, 3)])]),
            ("self-covering context", [tomb(1, 2, context: [(1, 5)])]),
            ("duplicate dot", [tomb(1, 1), tomb(1, 1)]),
            ("unsorted", [tomb(2, 1), tomb(1, 1)]),
            ("obsoleted sibling", [tomb(1, 1), tomb(2, 1, context: [(1, 1)])]),
            ("too many siblings", (1...257).map { tomb(UInt64($0), 1) }),
        ]
        for (what, versions) in bad {
            XCTAssertThrowsError(try store.write { try $0.merge(id: "x", versions: versions, bodies: [:]) }, what) { e in
                guard case .invalidArticle? = e as? StoreError else { return XCTFail("\(what): \(e)") }
            }
        }
        XCTAssertNil(try store.get("x"))
        XCTAssertTrue(try store.verify().isClean)
    }

    func testAContextTokenNearTwoToTheSixtyFourIsRefusedNotTrappedOn() throws {
        let store = try makeStore(self)
        try store.write { try $0.put(Article(id: "a", title: "one")) }
        for ctx in [VersionVector([(store.nodeID, UInt64.max)]), VersionVector([(NodeID(99), UInt64.max)]), VersionVector([(NodeID(0), UInt64(1))])] {
            XCTAssertThrowsError(try store.write { try $0.put(Article(id: "a", title: "two"), context: ctx) }) { e in
                guard case .invalidContext? = e as? StoreError else { return XCTFail("\(e)") }
            }
            XCTAssertThrowsError(try store.write { try $0.delete("a", context: ctx) })
        }
        XCTAssertEqual(try store.get("a")?.article?.title, "one")
    }

    func testTheSameDotWithOtherContentIsRefusedLoudly() throws {
        let store = try makeStore(self)
        let w = try store.write { try $0.put(Article(id: "c", title: "here")) }
        var forged = try XCTUnwrap(w.version)
        forged.content?.title = "elsewhere"
        let body = ""
        XCTAssertThrowsError(try store.write { try $0.merge(id: "c", versions: [forged], bodies: [BodyHash(of: body): body]) }) { e in
            guard case .dotClash? = e as? StoreError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try store.get("c")?.article?.title, "here")
    }

    func testAFailingArticleInABatchCommitsNothingOfTheBatchButTheTransactionGoesOn() throws {
        let store = try makeStore(self)
        let good = tomb(5, 1)
        try store.write { w in
            XCTAssertThrowsError(try w.savepoint { w in
                try w.merge(id: "first", versions: [good], bodies: [:])
                try w.merge(id: "second", versions: [tomb(0, 1)], bodies: [:])
            })
            try w.put(Article(id: "after", title: "commits"))
        }
        XCTAssertNil(try store.get("first"), "the failed savepoint left nothing behind")
        XCTAssertNotNil(try store.get("after"))
        XCTAssertTrue(try store.verify().isClean)
    }

    /// 100 000 arbitrary (well-formed on the wire, otherwise anything) received sets, in
    /// batches like APPLY: after every one the property holds; `verify` runs every 100.
    func testOneHundredThousandArbitraryReceivedSetsNeverHarmTheStore() throws {
        let store = try makeStore(self, mapSize: 64 << 20)
        var gen = ArbitraryVersions(rng: ArbitraryRandom(seed: 0xF011_0AB1), ids: 8)
        var accepted = 0, sets = 0, step = 0
        while sets < 100_000 {
            let batch = (0..<Int.random(in: 1...3, using: &gen.rng)).map { _ in gen.next() }
            sets += batch.count
            step += 1
            let (problems, ok) = try ReceivedVersionsProperty.apply(batch, to: store, verify: step % 100 == 0)
            if ok { accepted += 1 }
            XCTAssertEqual(problems, [], "step \(step)")
            if !problems.isEmpty { break }
        }
        XCTAssertTrue(try store.verify().isClean)
        XCTAssertGreaterThan(accepted, step / 10, "a fair share of batches is valid and merged (\(accepted) of \(step))")
        XCTAssertLessThan(accepted, step, "some are refused")
    }
}

/// One identity per replica: the store's recorded home decides whether it is a copy.
final class StoreIdentityTests: XCTestCase {
    func testAStoreMovedToAnotherMachineTakesANewIdentityOnceAndKeepsItsHistory() throws {
        let path = temporaryDirectory(self) + "/s"
        let s = try Store.create(at: path)
        try s.write { try $0.put(Article(id: "kept", title: "history")) }
        let (node, epoch) = (s.nodeID, s.epoch)
        // As if the disk were attached to another machine: the recorded machine id differs.
        var elsewhere = try XCTUnwrap(StoreHome.current(dataFile: path + "/data.mdb"))
        elsewhere.machine = "another-machine"
        try s.env.write { try $0.put(s.dbs.meta, key: Meta.home, value: elsewhere.encoded) }
        s.close()

        let readOnly = try Store.open(at: path, options: { var o = Store.Options(); o.readOnly = true; return o }())
        XCTAssertEqual(readOnly.nodeID, node, "reading changes nothing")
        readOnly.close()

        let moved = try Store.open(at: path)
        XCTAssertNotEqual(moved.nodeID, node)
        XCTAssertNotEqual(moved.epoch, epoch)
        XCTAssertEqual(moved.identityChange?.previousNode, node)
        XCTAssertTrue(moved.identityChange?.reason.contains("another machine") == true)
        XCTAssertEqual(try moved.get("kept")?.winner?.dot.node, node, "history keeps its dots")
        let w = try moved.write { try $0.put(Article(id: "kept", title: "new")) }
        XCTAssertEqual(w.version?.dot.node, moved.nodeID)
        let newNode = moved.nodeID
        moved.close()
        let again = try Store.open(at: path)
        defer { again.close() }
        XCTAssertEqual(again.nodeID, newNode, "the new identity is stable")
        XCTAssertNil(again.identityChange)
        XCTAssertTrue(try again.verify().isClean)
    }
}
