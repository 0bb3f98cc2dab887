import FolioTestSupport
import Foundation
import LMDB
import XCTest

@testable import FolioModel
@testable import FolioStore

final class StoreTests: XCTestCase {
    func article(_ id: String, _ title: String, body: String? = nil) -> Article {
        Article(id: id, title: title, source: "Test Wire", url: "https://example.org/\(id)", published: "2026-11-29",
                body: body ?? "Body of \(title)", tags: ["t"])
    }

    func testPutGetRoundTripAndPersistence() throws {
        let dir = temporaryDirectory(self) + "/s"
        let node: NodeID
        do {
            let s = try makeStore(self, path: dir)
            node = s.nodeID
            var a = article("a/1", "Hello — ünïcode 🗞️")
            a.extra = [ExtraField(name: "authors", json: "[\"A. B.\"]")]
            let o = try s.write { try $0.put(a) }
            XCTAssertEqual(o.kind, .added)
            XCTAssertEqual(o.version?.dot, Dot(node: s.nodeID, counter: 1))
            XCTAssertEqual(try s.get("a/1")?.article, a)
            XCTAssertNil(try s.get("missing"))
            s.close()
        }
        let reopened = try Store.open(at: dir)
        defer { reopened.close() }
        XCTAssertEqual(reopened.nodeID, node, "the node id lives as long as the store")
        XCTAssertEqual(try reopened.get("a/1")?.article?.title, "Hello — ünïcode 🗞️")
        XCTAssertThrowsError(try Store.create(at: dir)) { XCTAssertEqual($0 as? StoreError, .alreadyExists(path: dir)) }
        XCTAssertThrowsError(try Store.open(at: dir + "-nope")) { XCTAssertEqual($0 as? StoreError, .noStore(path: dir + "-nope")) }
    }

    func testContextTokensGiveNoSilentLoss() throws {
        let s = try makeStore(self)
        try s.write { try $0.put(article("x", "v1")) }
        let read = try XCTUnwrap(s.get("x")).context
        // Two writers read the same version and both write with that context.
        try s.write { try $0.put(article("x", "writer A"), context: read) }
        let second = try s.write { try $0.put(article("x", "writer B"), context: read) }
        XCTAssertEqual(second.siblings, 2)
        let both = try XCTUnwrap(s.get("x", bodies: .all))
        XCTAssertEqual(Set(both.versions.versions.map { $0.content!.title }), ["writer A", "writer B"])
        XCTAssertEqual(try s.statistics().articlesInConflict, 1)
        // A write with the context of both supersedes them.
        let merged = try s.write { try $0.put(article("x", "merged"), context: both.context) }
        XCTAssertEqual(merged.superseded, 2)
        XCTAssertEqual(try s.get("x")?.versions.versions.map { $0.content!.title }, ["merged"])
        XCTAssertEqual(try s.statistics().articlesInConflict, 0)
        // A write with no context supersedes what the replica holds.
        try s.write { try $0.put(article("x", "stale"), context: read) }
        XCTAssertEqual(try s.get("x")?.versions.versions.count, 2)
        let plain = try s.write { try $0.put(article("x", "plain edit")) }
        XCTAssertEqual(plain.superseded, 2)
        XCTAssertEqual(plain.siblings, 1)
    }

    func testDeleteIsATombstoneAndAConcurrentEditKeepsTheArticleVisible() throws {
        let s = try makeStore(self)
        try s.write { try $0.put(article("d", "v1")) }
        let ctx = try XCTUnwrap(s.get("d")).context
        try s.write { try $0.delete("d") }
        let gone = try XCTUnwrap(s.get("d"))
        XCTAssertTrue(gone.isDeleted)
        XCTAssertNil(gone.article)
        XCTAssertThrowsError(try s.write { try $0.delete("d") }) { XCTAssertEqual($0 as? StoreError, .notFound(id: "d")) }
        XCTAssertThrowsError(try s.write { try $0.delete("never") }) { XCTAssertEqual($0 as? StoreError, .notFound(id: "never")) }
        var st = try s.statistics()
        XCTAssertEqual([st.liveArticles, st.tombstones], [0, 1])
        XCTAssertTrue(try s.list().isEmpty)
        XCTAssertEqual(try s.list(includeDeleted: true).map(\.id), ["d"])

        // An edit made with the pre-delete context is concurrent with the delete.
        try s.write { try $0.put(article("d", "edited meanwhile"), context: ctx) }
        let both = try XCTUnwrap(s.get("d"))
        XCTAssertFalse(both.isDeleted)
        XCTAssertEqual(both.article?.title, "edited meanwhile")
        XCTAssertEqual(both.versions.conflicts.map(\.isTombstone), [true], "the delete stays listed as a conflict")
        st = try s.statistics()
        XCTAssertEqual([st.liveArticles, st.tombstones, st.articlesInConflict], [1, 0, 1])
        XCTAssertTrue(try s.verify().isClean)
    }

    func testMergingRemoteVersionsByCausality() throws {
        let a = try makeStore(self)
        let b = try makeStore(self)
        try a.write { try $0.put(article("m", "from A")) }
        let va = try XCTUnwrap(a.get("m")?.winner)
        let body = try XCTUnwrap(a.get("m")?.article?.body)
        let o = try b.write { try $0.merge(id: "m", versions: [va], bodies: [va.content!.bodyHash: body]) }
        XCTAssertTrue(o.changed)
        XCTAssertEqual(try b.write { try $0.merge(id: "m", versions: [va], bodies: [va.content!.bodyHash: body]) }.result, .unchanged)
        // B edits on top, A's old version arrives again: obsolete.
        try b.write { try $0.put(article("m", "B's edit")) }
        XCTAssertEqual(try b.write { try $0.merge(id: "m", versions: [va], bodies: [:]) }.result, .unchanged)
        // A concurrent edit on A becomes a sibling on B.
        try a.write { try $0.put(article("m", "A's edit")) }
        let va2 = try XCTUnwrap(a.get("m")?.winner)
        let r = try b.write { try $0.merge(id: "m", versions: [va2], bodies: [va2.content!.bodyHash: "Body of A's edit"]) }
        XCTAssertEqual(r.siblings, 2)
        // A body that does not match its hash is refused; a missing body is reported.
        var forged = va2
        forged.dot = Dot(node: NodeID(99), counter: 1)
        XCTAssertThrowsError(try b.write { try $0.merge(id: "z", versions: [forged], bodies: [forged.content!.bodyHash: "something else"]) })
        var unknown = forged
        unknown.content?.bodyHash = BodyHash(of: "never stored")
        XCTAssertThrowsError(try b.write { try $0.merge(id: "z", versions: [unknown], bodies: [:]) }) {
            guard case .missingBody? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertNil(try b.get("z"), "a failed write leaves nothing behind")
        XCTAssertTrue(try b.verify().isClean)
    }

    func testChangeFeedHoldsEachArticleOnceAtItsLatestChange() throws {
        let s = try makeStore(self)
        try s.write { w in for i in 0..<50 { try w.put(article("c\(i)", "v1")) } }
        XCTAssertEqual(try s.lastSequence(), 50)
        try s.write { try $0.put(article("c3", "v2")) }
        try s.write { try $0.delete("c7") }
        let all = try s.changes(since: 0, limit: 1000)
        XCTAssertEqual(all.count, 50)
        XCTAssertEqual(all.map(\.seq), all.map(\.seq).sorted())
        XCTAssertEqual(all.suffix(2).map(\.id), ["c3", "c7"])
        XCTAssertEqual(all.last?.versions.first?.isTombstone, true)
        // Incremental reads: only what changed after a point, paged.
        XCTAssertEqual(try s.changes(since: 50).map(\.id), ["c3", "c7"])
        XCTAssertEqual(try s.changes(since: 52).count, 0)
        let page = try s.changes(since: 0, limit: 10)
        XCTAssertEqual(page.count, 10)
        XCTAssertEqual(try s.changes(since: page.last!.seq, limit: 100).count, 40)
        // Unchanged re-puts do not touch the feed.
        let o = try s.write { try $0.put(article("c1", "v1"), skipIfUnchanged: true) }
        XCTAssertEqual(o.kind, .unchanged)
        XCTAssertEqual(try s.lastSequence(), 52)
    }

    /// Small bodies live in their article's record; large ones (over the inline limit) once
    /// in `bodies`, counted, and gone with their last reference.
    func testSmallBodiesAreInlineAndLargeOnesSharedAndReferenceCounted() throws {
        let s = try makeStore(self)
        let large = String(repeating: "a long report ", count: 2_000)  // 28 000 bytes
        let other = String(repeating: "another long report ", count: 1_000)
        func bodies() throws -> [BodyHash: UInt64] {
            try s.env.read { txn in
                var out: [BodyHash: UInt64] = [:]
                try txn.scan(s.dbs.bodies) { k, v in
                    out[BodyHash(bytes: k)!] = try RecordCodec.bodyRecord(v).references
                    return true
                }
                return out
            }
        }
        try s.write { w in
            try w.put(article("b1", "one", body: "same body"))
            try w.put(article("b2", "two", body: "same body"))
            try w.put(article("l1", "one", body: large))
            try w.put(article("l2", "two", body: large))
        }
        XCTAssertEqual(try bodies(), [BodyHash(of: large): 2], "small bodies are in their records")
        XCTAssertEqual(try s.get("b2")?.article?.body, "same body")
        XCTAssertEqual(try s.get("l2")?.article?.body, large)
        // A retitling keeps the body: one reference less, one more.
        try s.write { try $0.put(article("l2", "two again", body: large)) }
        XCTAssertEqual(try bodies(), [BodyHash(of: large): 2])
        // A conflict keeps both siblings' bodies.
        let l1 = try XCTUnwrap(s.get("l1"))
        try s.write { try $0.put(article("l1", "edit A", body: other), context: l1.versions.clock) }
        try s.write { try $0.put(article("l1", "edit B", body: "short now"), context: l1.versions.clock) }
        XCTAssertEqual(try s.get("l1", bodies: .all)?.bodies.count, 2)
        XCTAssertEqual(try bodies(), [BodyHash(of: large): 1, BodyHash(of: other): 1])
        try s.write { try $0.put(article("b1", "one", body: "new body")) }
        try s.write { try $0.delete("b2") }
        try s.write { try $0.delete("l2") }
        try s.write { try $0.put(article("l1", "settled", body: "short")) }
        XCTAssertEqual(try bodies(), [:], "the unreferenced bodies are gone")
        XCTAssertEqual(try s.get("b1")?.article?.body, "new body")
        XCTAssertEqual(try s.verify().problems, [])
        // A large body dropped and written again in one transaction stays.
        try s.write { w in
            try w.put(article("l3", "x", body: large))
            try w.delete("l3")
            try w.put(article("l4", "y", body: large))
        }
        XCTAssertEqual(try bodies(), [BodyHash(of: large): 1])
        XCTAssertEqual(try s.get("l4")?.article?.body, large)
        XCTAssertEqual(try s.verify().problems, [])
    }

    func testValidationNamesTheField() throws {
        let s = try makeStore(self)
        func refuse(_ a: Article, field: String) {
            XCTAssertThrowsError(try s.write { try $0.put(a) }) { error in
                guard case let .invalidArticle(_, why)? = error as? StoreError else { return XCTFail("\(error)") }
                XCTAssertEqual(why.field, field, why.description)
            }
        }
        refuse(Article(id: ""), field: "id")
        refuse(Article(id: String(repeating: "x", count: 401)), field: "id")
        refuse(Article(id: "ok", published: "2026-02-30"), field: "published")
        refuse(Article(id: "ok", published: "yesterday"), field: "published")
        var o = Store.Options()
        o.limits = ArticleLimits(maxBodyBytes: 10)
        let small = try Store.create(at: temporaryDirectory(self) + "/small", options: o)
        defer { small.close() }
        XCTAssertThrowsError(try small.write { try $0.put(Article(id: "big", body: String(repeating: "é", count: 6))) })
        XCTAssertEqual(try s.statistics().lastSequence, 0)
    }

    func testResolveSupersedesEverySibling() throws {
        let s = try makeStore(self)
        try s.write { try $0.put(article("r", "base")) }
        let ctx = try XCTUnwrap(s.get("r")).context
        for t in ["left", "right", "middle"] { try s.write { try $0.put(article("r", t), context: ctx) } }
        let state = try XCTUnwrap(s.get("r", bodies: .all))
        XCTAssertEqual(state.versions.versions.count, 3)
        let keep = state.versions.versions.first { $0.content?.title == "right" }!
        let o = try s.write { try $0.resolve("r", keeping: keep.dot) }
        XCTAssertEqual(o.superseded, 3)
        XCTAssertEqual(try s.get("r")?.article?.title, "right")
        XCTAssertThrowsError(try s.write { try $0.resolve("r", keeping: Dot(node: NodeID(5), counter: 9)) })
        XCTAssertThrowsError(try s.write { try $0.resolve("nope", with: Article(id: "nope")) })
    }

    func testManySiblingsAreKeptAndFlagged() throws {
        let s = try makeStore(self)
        var last: WriteOutcome?
        for i in 0..<30 { last = try s.write { try $0.put(article("busy", "w\(i)"), context: VersionVector()) } }
        XCTAssertEqual(last?.siblings, 30)
        XCTAssertTrue(last?.exceedsSiblingThreshold ?? false)
        XCTAssertEqual(try s.get("busy")?.versions.versions.count, 30)
    }

    func testStoreGrowsFromATinyMap() throws {
        let s = try makeStore(self, mapSize: 64 << 10)
        let body = String(repeating: "lorem ipsum ", count: 300)
        for batch in 0..<10 {
            try s.write { w in for i in 0..<100 { try w.put(article("g\(batch)-\(i)", "t", body: body + "\(batch)-\(i)")) } }
        }
        let st = try s.statistics()
        XCTAssertEqual(st.liveArticles, 1000)
        XCTAssertGreaterThan(st.mapSize, 64 << 10)
        XCTAssertTrue(try s.verify().isClean)
    }

    func testNewerStorageFormatIsRefused() throws {
        let dir = temporaryDirectory(self) + "/future"
        try makeStore(self, path: dir).close()
        do {
            let env = try Environment(path: dir)
            let meta = try env.openDatabases([("meta", [])])[0]
            try env.write { try $0.put(meta, key: Array("format".utf8), value: [0, 0, 0, 9]) }
            env.close()
        }
        XCTAssertThrowsError(try Store.open(at: dir)) { error in
            XCTAssertEqual(error as? StoreError, .newerFormat(found: 9, supported: Store.storageFormat))
            XCTAssertTrue("\(error)".contains("upgrade folio"))
        }
    }

    func testVerifyFindsDamage() throws {
        let dir = temporaryDirectory(self) + "/damaged"
        let s = try makeStore(self, path: dir)
        try s.write { w in for i in 0..<5 { try w.put(article("v\(i)", "t\(i)")) } }
        XCTAssertTrue(try s.verify().isClean)
        // Damage the indexes behind the store's back, through raw LMDB in the same process.
        let dbs = try s.env.openDatabases([("changes", []), ("articles", []), ("bodies", [])])
        try s.env.write { txn in
            try txn.delete(dbs[0], key: UInt64(2).bigEndianBytes)
            try txn.put(dbs[1], key: Array("v4".utf8), value: [7, 0, 0])
            try txn.put(dbs[2], key: BodyHash(of: "Body of t0").bytes, value: [1] + Array("tampered".utf8))
        }
        let r = try s.verify()
        XCTAssertFalse(r.isClean)
        let text = r.problems.joined(separator: "\n")
        XCTAssertTrue(text.contains("v1") && text.contains("missing from the change feed"), text)
        XCTAssertTrue(text.contains("articles[v4]") && text.contains("format 7"), text)
        XCTAssertTrue(text.contains("does not match its hash"), text)
    }

    func testBackupIsAConsistentCompactedStore() throws {
        let root = temporaryDirectory(self)
        let s = try makeStore(self, path: root + "/live")
        try s.write { w in for i in 0..<200 { try w.put(article("k\(i)", "t", body: String(repeating: "x", count: 2000) + "\(i)")) } }
        try s.write { w in for i in 0..<150 { try w.delete("k\(i)") } }
        try s.backup(to: root + "/copy")
        XCTAssertThrowsError(try s.backup(to: root + "/copy"), "a non-empty destination is refused")
        let copy = try Store.open(at: root + "/copy")
        defer { copy.close() }
        XCTAssertNotEqual(copy.nodeID, s.nodeID, "a copy opened for writing takes its own node id")
        XCTAssertEqual(copy.identityChange?.previousNode, s.nodeID)
        XCTAssertEqual(try copy.statistics().liveArticles, 50)
        XCTAssertTrue(try copy.verify().isClean)
        XCTAssertLessThanOrEqual(try copy.statistics().fileSize, try s.statistics().fileSize)
    }

    func testListPagingPrefixAndSource() throws {
        let s = try makeStore(self)
        try s.write { w in
            for i in 0..<10 { try w.put(Article(id: "a/\(i)", title: "t", source: i % 2 == 0 ? "Even" : "Odd")) }
            try w.put(Article(id: "b/1", title: "t", source: "Even"))
        }
        XCTAssertEqual(try s.list(prefix: "a/").count, 10)
        XCTAssertEqual(try s.list(prefix: "a/", limit: 3).map(\.id), ["a/0", "a/1", "a/2"])
        XCTAssertEqual(try s.list(prefix: "a/", after: "a/2", limit: 3).map(\.id), ["a/3", "a/4", "a/5"])
        XCTAssertEqual(try s.list(after: "a/9").map(\.id), ["b/1"])
        XCTAssertEqual(try s.list(source: "Even").count, 6)
        XCTAssertEqual(try s.list(prefix: "c").count, 0)
    }

    func testConcurrentReadersWhileWriting() throws {
        let s = try makeStore(self, mapSize: 64 << 10)
        try s.write { try $0.put(article("stable", "fixed")) }
        let stop = ManagedFlag()
        let group = DispatchGroup()
        for _ in 0..<3 {
            DispatchQueue.global().async(group: group) {
                while !stop.isSet { XCTAssertEqual(try? s.get("stable")?.article?.title, "fixed") }
            }
        }
        for i in 0..<300 { try s.write { try $0.put(article("w\(i)", "t", body: String(repeating: "y", count: 3000) + "\(i)")) } }
        stop.set()
        group.wait()
        XCTAssertEqual(try s.statistics().liveArticles, 301)
    }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Remembered writes: bounded, persistent, and exact (STORAGE.md "Remembered writes").
final class RememberedWriteTests: XCTestCase {
    func testRememberedOutcomesSurviveReopenAreBoundedAndKeepLargeVersionsByDot() throws {
        let dir = NSTemporaryDirectory() + "folio-remember-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = Store.Options()
        options.rememberedWrites = 3
        var store = try Store.create(at: dir, options: options)
        let digest = Array(repeating: UInt8(1), count: 32)
        let ids = (0..<5).map { _ in WriteID.random() }
        var outcomes: [WriteOutcome] = []
        for (i, id) in ids.enumerated() {
            outcomes.append(try store.write { w in try w.idempotent(id, articleID: "a/\(i)", digest: digest) { try w.put(Article(id: "a/\(i)", title: "t\(i)")) } })
        }
        // A big version (title over 4 KiB) is remembered by its dot and read back from the article.
        let big = WriteID.random()
        let bigTitle = String(repeating: "T", count: 6000)
        let bigOutcome = try store.write { w in try w.idempotent(big, articleID: "big", digest: digest) { try w.put(Article(id: "big", title: bigTitle)) } }
        store.close()
        store = try Store.open(at: dir, options: options)
        defer { store.close() }
        XCTAssertTrue(try store.verify().isClean)
        let seq = try store.lastSequence()
        // The newest three are remembered across the reopen: their retries write nothing.
        for i in 3..<5 {
            let again = try store.write { w in try w.idempotent(ids[i], articleID: "a/\(i)", digest: digest) { try w.put(Article(id: "a/\(i)", title: "t\(i)")) } }
            XCTAssertEqual(again, outcomes[i])
        }
        let bigAgain = try store.write { w in try w.idempotent(big, articleID: "big", digest: digest) { try w.put(Article(id: "big", title: bigTitle)) } }
        XCTAssertEqual(bigAgain, bigOutcome)
        XCTAssertEqual(try store.lastSequence(), seq)
        // The oldest were forgotten: a retry that late is a new write.
        let late = try store.write { w in try w.idempotent(ids[0], articleID: "a/0", digest: digest) { try w.put(Article(id: "a/0", title: "t0")) } }
        XCTAssertNotEqual(late.version?.dot, outcomes[0].version?.dot)
        // A failing write is not remembered: nothing of it stays, and its retry runs again.
        let failing = WriteID.random()
        XCTAssertThrowsError(try store.write { w in try w.idempotent(failing, articleID: "gone", digest: digest) { try w.delete("gone") } })
        XCTAssertThrowsError(try store.write { w in try w.idempotent(failing, articleID: "gone", digest: digest) { try w.delete("gone") } }) {
            guard case StoreError.notFound = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAStoreMadeBeforeRememberedWritesOpensReadOnlyAndGainsThemOnWriteOpen() throws {
        // Simulate an older store: drop the database, as a store made before it existed lacks it.
        let dir = NSTemporaryDirectory() + "folio-remember-old-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.create(at: dir)
        try store.write { try $0.put(Article(id: "old", title: "before")) }
        try store.dropRememberedWritesForTesting()
        store.close()
        var ro = Store.Options()
        ro.readOnly = true
        let readOnly = try Store.open(at: dir, options: ro)
        XCTAssertEqual(try readOnly.get("old")?.versions.versions.count, 1)
        readOnly.close()
        let upgraded = try Store.open(at: dir)
        defer { upgraded.close() }
        let id = WriteID.random()
        let a = try upgraded.write { w in try w.idempotent(id, articleID: "new", digest: [UInt8](repeating: 0, count: 32)) { try w.put(Article(id: "new", title: "n")) } }
        let b = try upgraded.write { w in try w.idempotent(id, articleID: "new", digest: [UInt8](repeating: 0, count: 32)) { try w.put(Article(id: "new", title: "n")) } }
        XCTAssertEqual(a, b)
    }
}

/// Hybrid logical clocks (STORAGE.md "Clocks").
final class ClockTests: XCTestCase {
    final class Wall: @unchecked Sendable {
        var now: Int64 = 1_800_000_000_000
    }

    func testTimestampsNeverGoBackwardsAndAWriteAfterSeeingAVersionWinsOverIt() throws {
        let dir = NSTemporaryDirectory() + "folio-clock-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wall = Wall()
        var options = Store.Options()
        options.clock = { wall.now }
        var store = try Store.create(at: dir, options: options)
        let peer = NodeID(0x0102_0304_0506_0708)
        func remote(_ id: String, counter: UInt64, at t: Int64, title: String) throws {
            let v = Version(
                dot: Dot(node: peer, counter: counter), context: [:], timestamp: t,
                content: VersionContent(title: title, source: "", url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: ""), bodyLength: 0))
            _ = try store.write { try $0.merge(id: id, versions: [v], bodies: [BodyHash(of: ""): ""]) }
        }
        let a = try store.write { try $0.put(Article(id: "a", title: "first")) }
        XCTAssertEqual(a.version?.timestamp, wall.now)
        // A peer 30 s ahead (within the skew bound): the store's clock follows it, for every article.
        try remote("b", counter: 1, at: wall.now + 30_000, title: "from a fast clock")
        let c = try store.write { try $0.put(Article(id: "c", title: "later here")) }
        XCTAssertEqual(c.version?.timestamp, wall.now + 30_000)
        // A peer a year ahead: its version is kept as is, but the store's clock does not jump.
        let year: Int64 = 365 * 86_400_000
        try remote("d", counter: 2, at: wall.now + year, title: "from a year ahead")
        let e = try store.write { try $0.put(Article(id: "e", title: "unrelated")) }
        XCTAssertEqual(e.version?.timestamp, wall.now + 30_000, "one skewed peer does not drag every timestamp a year ahead")
        // A write to that very article, concurrent with the skewed version, is stamped after it,
        // so the write made later (having seen it) wins the conflict.
        let held = try XCTUnwrap(try store.get("d"))
        let f = try store.write { try $0.put(Article(id: "d", title: "edited here"), context: [:]) }
        XCTAssertEqual(f.version?.timestamp, wall.now + year + 1)
        let both = try XCTUnwrap(try store.get("d"))
        XCTAssertEqual(both.versions.versions.count, 2, "concurrent: both kept")
        XCTAssertEqual(both.versions.winner?.content?.title, "edited here")
        _ = held
        // The clock survives a restart with a wall clock that went backwards.
        store.close()
        wall.now -= 600_000
        store = try Store.open(at: dir, options: options)
        defer { store.close() }
        let g = try store.write { try $0.put(Article(id: "g", title: "after restart")) }
        XCTAssertEqual(g.version?.timestamp, wall.now + 600_000 + 30_000)
        XCTAssertTrue(try store.verify().isClean)
    }
}

/// One codec, one validation policy for stored records and wire values (VersionCodec).
final class RecordCodecPolicyTests: XCTestCase {
    func testAStoredContextOutOfOrderIsCorruptionNotSilentlySorted() throws {
        let store = try makeStore(self)
        try store.write { try $0.put(Article(id: "a", title: "t")) }
        // The same record, but with a context whose nodes are in descending order.
        var w = ByteWriter()
        w.u8(1)
        w.u64(1)  // seq
        w.u32(1)
        w.u64(store.nodeID.rawValue)
        w.u64(1)
        w.u32(2)
        for (node, counter) in [(UInt64(9), UInt64(1)), (UInt64(3), UInt64(1))] {
            w.u64(node)
            w.u64(counter)
        }
        w.i64(0)
        w.u8(0)
        try store.env.write { try $0.put(store.dbs.articles, key: Array("a".utf8), value: w.bytes) }
        XCTAssertThrowsError(try store.get("a")) { e in
            guard case let StoreError.corrupt(why)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("not sorted"), why)
        }
        XCTAssertFalse(try store.verify().isClean)
    }

    func testAMalformedCheckpointIsReportedNotReadAsZero() throws {
        let store = try makeStore(self)
        let source = NodeID(0x77)
        try store.write { try $0.applyBatch(from: source, epoch: "e", upTo: 5, articles: []) }
        XCTAssertEqual(try store.checkpoint(node: source, epoch: "e"), 5)
        try store.env.write { try $0.put(store.dbs.peers, key: Store.checkpointKey(source, "e"), value: [1, 0, 0]) }
        XCTAssertThrowsError(try store.checkpoint(node: source, epoch: "e"))
        XCTAssertThrowsError(try store.checkpoints())
        XCTAssertTrue(try store.verify().problems.contains { $0.hasPrefix("peers:") })
        XCTAssertThrowsError(try store.write { try $0.applyBatch(from: source, epoch: "e", upTo: 6, articles: []) }, "a damaged checkpoint is never silently restarted from 0")
    }
}
