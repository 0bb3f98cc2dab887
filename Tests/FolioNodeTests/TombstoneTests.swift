import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import FolioSync
import Foundation
import NIOConcurrencyHelpers
import XCTest

/// Purges and tombstone collection (SPEC §5.2): what is gone stays gone.
final class TombstoneTests: XCTestCase {
    /// A settable wall clock shared by the stores of a test.
    final class Wall: Sendable {
        let ms = NIOLockedValueBox<Int64>(1_800_000_000_000)
        var now: Int64 { ms.withLockedValue { $0 } }
        func advance(days: Int64) { ms.withLockedValue { $0 += days * 86_400_000 } }
    }

    func store(_ wall: Wall? = nil) throws -> Store {
        let dir = NSTemporaryDirectory() + "folio-tomb-\(UUID().uuidString)"
        var o = Store.Options()
        if let wall { o.clock = { wall.now } }
        let s = try Store.create(at: dir, options: o)
        addTeardownBlock {
            s.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        return s
    }

    /// `a` pulls from and pushes to `b`.
    func sync(_ a: Store, _ b: Store) async throws -> (pulled: SyncDirectionReport, pushed: SyncDirectionReport) {
        let r = Replicator(store: a)
        return (try await r.pull(from: LocalPeer(b, pulledBy: a.nodeID)), try await r.push(to: LocalPeer(b)))
    }

    let day: Int64 = 86_400_000

    func testAPurgeRemovesEveryVersionEverywhereAndAStaleReplicaCannotBringItBack() async throws {
        let (a, b, c) = (try store(), try store(), try store())
        try a.write { try $0.put(Article(id: "x", title: "secret", body: "the body to remove")) }
        _ = try await sync(b, a)
        _ = try await sync(c, a)
        // A conflict: b's concurrent edit reaches a. The purge covers both siblings.
        try b.write { try $0.put(Article(id: "x", title: "b's edit", body: "b's body"), context: VersionVector()) }
        _ = try await sync(b, a)
        XCTAssertEqual(try a.get("x")?.versions.versions.count, 2)
        let bodyHash = BodyHash(of: "the body to remove")
        try a.write { try $0.purge("x") }
        XCTAssertEqual(try a.get("x")?.versions.isPurged, true)
        XCTAssertFalse(try a.hasBody(bodyHash, in: "x"))
        _ = try await sync(b, a)
        XCTAssertEqual(try b.get("x")?.versions.isPurged, true)
        XCTAssertFalse(try b.hasBody(bodyHash, in: "x"))
        XCTAssertFalse(try b.hasBody(BodyHash(of: "b's body"), in: "x"))
        // c still holds the old version: pushing it changes nothing, pulling purges it.
        XCTAssertEqual(try c.get("x")?.article?.title, "secret")
        let pushed = try await Replicator(store: c).push(to: LocalPeer(a))
        XCTAssertEqual(pushed.articlesChanged, 0)
        XCTAssertEqual(try a.get("x")?.versions.isPurged, true)
        _ = try await sync(c, a)
        XCTAssertEqual(try c.get("x")?.versions.isPurged, true)
        // A version written without seeing the purge survives beside it: a conflict, shown.
        try c.write { try $0.put(Article(id: "x", title: "rewritten on c"), context: VersionVector()) }
        _ = try await sync(c, a)
        let x = try XCTUnwrap(a.get("x"))
        XCTAssertEqual(x.versions.versions.count, 2)
        XCTAssertEqual(x.article?.title, "rewritten on c")
        XCTAssertEqual(try a.verify().problems, [])
    }

    func testACollectedPurgeLeavesADigestThatRefusesItsVersionsForEver() async throws {
        let (a, b, stale) = (try store(), try store(), try store())
        try a.write { try $0.put(Article(id: "wire/retracted", title: "gone", body: "body")) }
        try a.write { try $0.put(Article(id: "wire/kept", title: "kept")) }
        _ = try await sync(stale, a)  // stale takes a copy, then is never heard of again by a…
        XCTAssertTrue(try a.forgetPeer(stale.nodeID))  // …a forgets it
        _ = try await sync(b, a)
        try a.write { try $0.purge("wire/retracted") }
        // Not collectable while b (known) has not got the purge.
        let held = try a.tombstones(horizon: 30 * day)
        XCTAssertEqual(held.purges, 1)
        XCTAssertEqual(held.collectable, 0)
        XCTAssertEqual(held.heldBackBy[b.nodeID], try a.acknowledgements()[b.nodeID])
        XCTAssertEqual(try a.collectTombstones(horizon: 30 * day).collected, 0)
        _ = try await sync(b, a)  // b pulls the purge: a learns b holds its feed (b's push acks)
        // A purge needs no horizon: collected at once, a digest kept.
        let r = try a.collectTombstones(horizon: 30 * day)
        XCTAssertEqual(r.collected, 1)
        XCTAssertEqual(r.purges, 1)
        XCTAssertNil(try a.get("wire/retracted"))
        XCTAssertFalse(try a.changes(since: 0).contains { $0.id == "wire/retracted" })
        // The stale replica comes back: its old copy is not merged.
        let back = try await sync(stale, a)
        XCTAssertEqual(back.pushed.articlesChanged, 0)
        XCTAssertNil(try a.get("wire/retracted"))
        // A version written where the purge never arrived is new, not purged: it survives.
        try stale.write { try $0.put(Article(id: "wire/retracted", title: "rewritten offline")) }
        _ = try await sync(stale, a)
        XCTAssertEqual(try a.get("wire/retracted")?.article?.title, "rewritten offline")
        XCTAssertEqual(try a.get("wire/retracted")?.versions.versions.count, 1)
        XCTAssertEqual(try a.verify().problems, [])
    }

    func testACollectedTombstoneIsRefusedFromAStaleReplicaAfterTheHorizon() async throws {
        let wall = Wall()
        let (a, b, stale, stale2) = (try store(wall), try store(wall), try store(wall), try store(wall))
        try a.write { try $0.put(Article(id: "x", title: "deleted later")) }
        try stale.write { try $0.put(Article(id: "stale/own", title: "written on the stale replica")) }
        _ = try await sync(stale, a)
        _ = try await sync(stale2, a)
        _ = try await sync(b, a)
        // Two replicas go quiet for good; a forgets them.
        XCTAssertTrue(try a.forgetPeer(stale.nodeID))
        XCTAssertTrue(try a.forgetPeer(stale2.nodeID))
        try a.write { try $0.delete("x") }
        _ = try await sync(b, a)
        // Too young for the 30-day horizon…
        XCTAssertEqual(try a.collectTombstones(horizon: 30 * day).collected, 0)
        XCTAssertEqual(try a.tombstones(horizon: 30 * day).collectable, 0)
        // …until 31 days have passed.
        wall.advance(days: 31)
        XCTAssertEqual(try a.tombstones(horizon: 30 * day).collectable, 1)
        XCTAssertEqual(try a.collectTombstones(horizon: 30 * day).collected, 1)
        XCTAssertNil(try a.get("x"))
        XCTAssertEqual(try a.statistics().storageFormat, Store.storageFormat)

        // Back after the horizon, both still hold x: neither a pull from one nor a push from
        // the other brings it back.
        let pulled = try await Replicator(store: a).pull(from: LocalPeer(stale, pulledBy: a.nodeID))
        XCTAssertEqual(pulled.refusedAsStale, ["x"])
        XCTAssertNil(try a.get("x"))
        let pushed = try await Replicator(store: stale2).push(to: LocalPeer(a))
        XCTAssertEqual(pushed.articlesChanged, 0)
        XCTAssertNil(try a.get("x"))
        XCTAssertEqual(try a.tombstones(horizon: 30 * day).refusedAsStale, 2)
        // Its own old article (a writer whose versions no collected tombstone covered) and
        // anything new still arrive.
        XCTAssertNotNil(try a.get("stale/own"))
        try stale.write { try $0.put(Article(id: "stale/new", title: "fresh")) }
        _ = try await Replicator(store: stale).push(to: LocalPeer(a))
        XCTAssertEqual(try a.get("stale/new")?.article?.title, "fresh")
        // An edit of x made now on a stale replica is a fresh version: shown, not lost.
        try stale2.write { try $0.put(Article(id: "x", title: "edited after the horizon")) }
        _ = try await Replicator(store: stale2).push(to: LocalPeer(a))
        XCTAssertEqual(try a.get("x")?.article?.title, "edited after the horizon")
        XCTAssertEqual(try a.verify().problems, [])
    }

    func testAKnownPeerHoldsCollectionBackUntilItSyncsOrIsForgotten() async throws {
        let wall = Wall()
        let (a, b, c) = (try store(wall), try store(wall), try store(wall))
        for i in 0..<5 { try a.write { try $0.put(Article(id: "n/\(i)", title: "t")) } }
        _ = try await sync(b, a)
        _ = try await sync(c, a)
        try a.write { w in for i in 0..<5 { try w.delete("n/\(i)") } }
        wall.advance(days: 40)
        _ = try await sync(b, a)
        let report = try a.tombstones(horizon: 30 * day)
        XCTAssertEqual(report.held, 5)
        XCTAssertEqual(report.collectable, 0)
        XCTAssertEqual(Set(report.heldBackBy.keys), [c.nodeID])
        // A push acknowledges too: c syncs (pull, then push — a's feed through its end).
        _ = try await sync(c, a)
        XCTAssertEqual(try a.tombstones(horizon: 30 * day).collectable, 5)
        // Collection resumes across batches.
        var total = 0
        var after: UInt64 = 0
        while true {
            let from = after
            let r = try a.write { try $0.collectTombstones(horizon: 30 * day, after: from, limit: 2) }
            total += r.collected
            guard let next = r.resumeAfter else { break }
            after = next
        }
        XCTAssertEqual(total, 5)
        XCTAssertEqual(try a.statistics().tombstones, 0)
        // Forgetting: a peer that never syncs again stops holding collection.
        try a.write { try $0.put(Article(id: "late", title: "t")) }
        _ = try await sync(b, a)
        try a.write { try $0.delete("late") }
        wall.advance(days: 40)
        XCTAssertEqual(try a.tombstones(horizon: 30 * day).collectable, 0)
        XCTAssertTrue(try a.forgetPeer(b.nodeID))
        XCTAssertTrue(try a.forgetPeer(c.nodeID))
        XCTAssertFalse(try a.forgetPeer(c.nodeID))
        XCTAssertEqual(try a.collectTombstones(horizon: 30 * day).collected, 1)
        XCTAssertEqual(try a.verify().problems, [])
    }

    /// A node records how far replicating peers hold its feed, and collects by itself.
    func testANodeRecordsAcknowledgementsAndCollectsOnItsOwn() async throws {
        let hub = try await TestNode(self) {
            $0.tombstoneHorizon = .zero
            $0.tombstoneCollectionInterval = .milliseconds(200)
        }
        for i in 0..<3 { try hub.store.write { try $0.put(Article(id: "h/\(i)", title: "t")) } }
        let laptop = try store()
        var options = FolioClient.Options()
        options.nodeID = laptop.nodeID
        let client = try await FolioClient.connect(to: hub.address, options: options)
        _ = try await Replicator(store: laptop).pull(from: client)
        try hub.store.write { try $0.delete("h/1") }
        try hub.store.write { try $0.purge("h/2") }
        // The laptop pulls the deletions: its CHANGES after them acknowledge them.
        _ = try await Replicator(store: laptop).pull(from: client)
        XCTAssertEqual(try laptop.get("h/1")?.isDeleted, true)
        let last = try hub.store.lastSequence()
        var acked: UInt64 = 0
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            acked = try hub.store.acknowledgements()[laptop.nodeID] ?? 0
            if acked == last, try hub.store.get("h/1") == nil, try hub.store.get("h/2") == nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertEqual(acked, last)
        XCTAssertNil(try hub.store.get("h/1"))
        XCTAssertNil(try hub.store.get("h/2"))
        XCTAssertNotNil(try hub.store.get("h/0"))
        // A plain client (node id 0) following the feed acknowledges nothing.
        let plain = try await hub.client()
        _ = try await plain.changes(since: 2)
        XCTAssertNil(try hub.store.acknowledgements()[.none])
        try await plain.close()
        try await client.close()
        await hub.stop()
    }

    /// Review finding: an article written anew after its tombstone or purge was collected
    /// must replicate, not be taken for the deleted one (its first dot is above the old life's).
    func testAnArticleWrittenAnewAfterCollectionReplicates() async throws {
        let (a, b) = (try store(), try store())
        for id in ["x", "story"] { try a.write { try $0.put(Article(id: id, title: "first life")) } }
        _ = try await sync(b, a)
        _ = try await sync(a, b)
        try a.write { try $0.delete("x") }
        try a.write { try $0.purge("story") }
        _ = try await sync(b, a)
        _ = try await sync(a, b)
        // a collects both (b has them); b keeps its tombstone of x (not collected there yet).
        XCTAssertEqual(try a.collectTombstones(horizon: 0).collected, 2)
        XCTAssertNil(try a.get("x"))
        try a.write { try $0.put(Article(id: "x", title: "second life")) }
        try a.write { try $0.put(Article(id: "story", title: "corrected")) }
        // The new life's context covers the deletion: where the tombstone is still held, it
        // is superseded (no conflict with it), and no dot of the old life is reused.
        XCTAssertTrue(try XCTUnwrap(a.get("x")?.versions.versions.first).context[a.nodeID] >= 2)
        _ = try await sync(a, b)
        XCTAssertEqual(try b.get("x")?.article?.title, "second life")
        XCTAssertEqual(try b.get("x")?.versions.versions.count, 1)
        XCTAssertEqual(try b.get("story")?.article?.title, "corrected")
        XCTAssertEqual(try b.get("story")?.versions.versions.count, 1, "the corrected story supersedes the purge")
        // And the other way: b collects too, then a third life written on b reaches a.
        _ = try await sync(b, a)
        XCTAssertEqual(try a.get("x")?.article?.title, "second life")
        try b.write { try $0.delete("x") }
        _ = try await sync(a, b)
        _ = try await sync(b, a)
        XCTAssertGreaterThan(try b.collectTombstones(horizon: 0).collected, 0)
        try b.write { try $0.put(Article(id: "x", title: "third life")) }
        _ = try await sync(a, b)
        XCTAssertEqual(try a.get("x")?.article?.title, "third life")
        XCTAssertEqual(try a.verify().problems, [])
        XCTAssertEqual(try b.verify().problems, [])
    }

    /// Review finding: after a collection, widening a filter still brings old articles that
    /// were never deleted (the guard is per article, not per time).
    func testWideningAFilterAfterACollectionBringsOldArticles() async throws {
        let (hub, laptop) = (try store(), try store())
        try hub.write { w in
            try w.put(Article(id: "notes/n1", title: "old note"))
            try w.put(Article(id: "wire/w1", title: "w1"))
            try w.put(Article(id: "wire/w2", title: "w2"))
        }
        let f = try ReplicationFilter(expressions: ["prefix=wire/"])
        let r = Replicator(store: laptop)
        _ = try await r.pull(from: LocalPeer(hub, pulledBy: laptop.nodeID), filter: f)
        try hub.write { try $0.delete("wire/w2") }
        _ = try await r.pull(from: LocalPeer(hub, pulledBy: laptop.nodeID), filter: f)
        _ = try await r.push(to: LocalPeer(hub))
        XCTAssertEqual(try laptop.collectTombstones(horizon: 0).collected, 1)
        let wider = try await r.pull(from: LocalPeer(hub, pulledBy: laptop.nodeID), filter: try ReplicationFilter(expressions: ["prefix=wire/", "prefix=notes/"]))
        XCTAssertEqual(wider.refusedAsStale, [])
        XCTAssertEqual(try laptop.get("notes/n1")?.article?.title, "old note")
        // The wider scope brings w2's deletion again: held as a tombstone (collected again
        // later), never live.
        XCTAssertEqual(try laptop.get("wire/w2")?.isDeleted ?? true, true)
    }

    /// Review finding: a replica that took an article under a wider filter and then narrowed
    /// it still learns of its deletion (deletions pass every pull filter), so acknowledging a
    /// filtered pull is safe.
    func testADeletionReachesAReplicaThatNarrowedItsFilter() async throws {
        let (hub, laptop) = (try store(), try store())
        try hub.write { w in
            try w.put(Article(id: "notes/n1", title: "n"))
            try w.put(Article(id: "wire/w1", title: "w"))
            try w.put(Article(id: "other/o1", title: "o"))
        }
        let r = Replicator(store: laptop)
        _ = try await r.pull(from: LocalPeer(hub, pulledBy: laptop.nodeID), filter: try ReplicationFilter(expressions: ["prefix=notes/", "prefix=wire/"]))
        try hub.write { try $0.purge("notes/n1") }
        try hub.write { try $0.delete("other/o1") }
        let narrowed = try await r.pull(from: LocalPeer(hub, pulledBy: laptop.nodeID), filter: try ReplicationFilter(expressions: ["prefix=wire/"]))
        XCTAssertEqual(try laptop.get("notes/n1")?.versions.isPurged, true)
        // A deletion of an article the laptop never held comes too: were the article to reach
        // it later from another replica, the tombstone supersedes it.
        XCTAssertEqual(try laptop.get("other/o1")?.isDeleted, true)
        XCTAssertEqual(narrowed.articlesSent, 2)
        XCTAssertEqual(try hub.acknowledgements()[laptop.nodeID], try hub.lastSequence())
    }

    /// Review finding: a conflict made only of deletions can be settled by a reader's context.
    func testAConflictOfDeletionsIsSettledWithAContext() async throws {
        let (a, b) = (try store(), try store())
        try a.write { try $0.put(Article(id: "k", title: "t")) }
        _ = try await sync(b, a)
        try a.write { try $0.delete("k") }
        try b.write { try $0.delete("k") }
        _ = try await sync(b, a)
        let state = try XCTUnwrap(a.get("k"))
        XCTAssertEqual(state.versions.versions.count, 2)
        XCTAssertThrowsError(try a.write { try $0.delete("k") })  // no context: already deleted
        try a.write { try $0.delete("k", context: state.context) }
        XCTAssertEqual(try a.get("k")?.versions.versions.count, 1)
    }

    /// Second review: an edit concurrent with a deletion survives the deletion's collection
    /// (the record keeps what the deletion covered, not a time); after a re-creation, the old
    /// life's versions do not come back as siblings; a plain deletion after a purge and a
    /// re-creation is not a purge.
    func testCollectionKeepsWhatTheDeletionNeverSaw() async throws {
        let wall = Wall()
        let (a, b) = (try store(wall), try store(wall))
        try a.write { try $0.put(Article(id: "x", title: "first")) }
        _ = try await sync(b, a)
        try b.write { try $0.put(Article(id: "x", title: "b's concurrent edit")) }  // b has not seen…
        try a.write { try $0.delete("x") }  // …a's deletion, made a moment later
        _ = try await Replicator(store: b).pull(from: LocalPeer(a, pulledBy: b.nodeID))
        wall.advance(days: 1)
        XCTAssertEqual(try a.collectTombstones(horizon: 0).collected, 1)
        let pushed = try await Replicator(store: b).push(to: LocalPeer(a))
        XCTAssertEqual(pushed.articlesChanged, 1)
        XCTAssertEqual(try a.get("x")?.article?.title, "b's concurrent edit")
        XCTAssertEqual(try a.tombstones(horizon: 0).refusedAsStale, 0)

        // Re-created on a after a collection; a stale copy of the first life is dropped.
        let (c, stale) = (try store(wall), try store(wall))
        try c.write { try $0.put(Article(id: "y", title: "old life")) }
        _ = try await sync(stale, c)
        XCTAssertTrue(try c.forgetPeer(stale.nodeID))
        try c.write { try $0.delete("y") }
        wall.advance(days: 1)
        XCTAssertEqual(try c.collectTombstones(horizon: 0).collected, 1)
        try c.write { try $0.put(Article(id: "y", title: "new life")) }
        let back = try await Replicator(store: stale).push(to: LocalPeer(c))
        XCTAssertEqual(back.articlesChanged, 0)
        XCTAssertEqual(try c.get("y")?.versions.versions.count, 1)
        XCTAssertEqual(try c.get("y")?.article?.title, "new life")

        // purge, put, rm: the rm is a deletion, not a purge (the horizon applies to it).
        try c.write { try $0.put(Article(id: "z", title: "t")) }
        try c.write { try $0.purge("z") }
        try c.write { try $0.put(Article(id: "z", title: "again")) }
        try c.write { try $0.delete("z") }
        XCTAssertEqual(try c.get("z")?.versions.isPurged, false)
        XCTAssertEqual(try c.tombstones(horizon: 30 * day).purges, 0)
        try c.write { try $0.purge("z") }
        XCTAssertEqual(try c.get("z")?.versions.isPurged, true)
        XCTAssertEqual(try c.verify().problems, [])
    }

    /// Third review: a store holding the article again (through a concurrent edit) still
    /// writes above what its collected deletion covered; a later tombstone record is not
    /// hidden by an earlier purge record of the same id; marker entries are checked.
    func testWritesAboveCollectedHistoryWhetherHeldOrNot() async throws {
        let wall = Wall()
        let (a, b) = (try store(wall), try store(wall))
        try a.write { try $0.put(Article(id: "x", title: "first")) }
        _ = try await sync(b, a)
        try b.write { try $0.put(Article(id: "x", title: "B-edit")) }
        try a.write { try $0.delete("x") }
        _ = try await Replicator(store: b).pull(from: LocalPeer(a, pulledBy: b.nodeID))
        wall.advance(days: 1)
        XCTAssertEqual(try a.collectTombstones(horizon: 0).collected, 1)
        _ = try await Replicator(store: b).push(to: LocalPeer(a))
        XCTAssertEqual(try a.get("x")?.article?.title, "B-edit")
        try a.write { try $0.put(Article(id: "x", title: "A-edit-after")) }
        let written = try XCTUnwrap(a.get("x")?.versions.versions.first { $0.dot.node == a.nodeID })
        XCTAssertGreaterThan(written.dot.counter, 2, "the collected tombstone was (a, 2)")
        _ = try await sync(b, a)
        XCTAssertEqual(try b.get("x")?.article?.title, "A-edit-after")
        XCTAssertEqual(try b.get("x")?.versions.versions.count, 1)
        XCTAssertEqual(try a.verify().problems, [])
        XCTAssertEqual(try b.verify().problems, [])

        // purge → re-create → (stale copy taken) → rm → collect: the stale copy is refused.
        let (c, stale) = (try store(wall), try store(wall))
        try c.write { try $0.put(Article(id: "y", title: "t1")) }
        try c.write { try $0.purge("y") }
        wall.advance(days: 1)
        XCTAssertEqual(try c.collectTombstones(horizon: 0).purges, 1)
        try c.write { try $0.put(Article(id: "y", title: "t2")) }
        _ = try await Replicator(store: stale).pull(from: LocalPeer(c))  // c does not learn of it
        try c.write { try $0.delete("y") }
        wall.advance(days: 1)
        XCTAssertEqual(try c.collectTombstones(horizon: 0).collected, 1)
        let back = try await Replicator(store: stale).push(to: LocalPeer(c))
        XCTAssertEqual(back.articlesChanged, 0)
        XCTAssertNil(try c.get("y"))
        try c.write { try $0.put(Article(id: "y", title: "t3")) }
        let t3 = try XCTUnwrap(c.get("y")?.versions.versions.first)
        let staleDot = try XCTUnwrap(stale.get("y")?.versions.versions.first).dot
        XCTAssertTrue(t3.context.covers(staleDot), "\(t3) does not cover \(staleDot)")
        XCTAssertEqual(try c.verify().problems, [])

        // A context may not claim a purge the article does not have; a received version may
        // not carry a marker later than itself.
        try c.write { try $0.put(Article(id: "m", title: "t")) }
        XCTAssertThrowsError(try c.write { try $0.put(Article(id: "m", title: "t2"), context: [NodeID.purgeMarker: Dot.maxCounter]) }) {
            XCTAssertEqual(($0 as? StoreError)?.kind, .invalidInput)
        }
        let hostile = Version(dot: Dot(node: NodeID(3), counter: 1), context: [NodeID.purgeMarker: Dot.maxCounter], timestamp: 5, content: nil)
        XCTAssertThrowsError(try VersionSet.validate(received: [hostile], bodies: [:]))
        try c.write { try $0.purge("m") }
        XCTAssertEqual(try c.get("m")?.versions.isPurged, true)
    }

    /// Fourth review: a write over a collected purge made by a clock running ahead is timed
    /// after that purge (peers accept it); a purge collected early does not leave replicas
    /// disagreeing about a concurrent edit's conflict.
    func testWritesAfterAFastPurgeAndEarlyCollectionConverge() async throws {
        let fast = Wall()
        fast.advance(days: 1)  // the purger's clock runs a day ahead
        let wall = Wall()
        let (purger, a) = (try store(fast), try store(wall))
        try purger.write { try $0.put(Article(id: "x", title: "v1")) }
        try purger.write { try $0.purge("x") }
        _ = try await sync(a, purger)
        _ = try await sync(a, purger)
        XCTAssertEqual(try a.collectTombstones(horizon: 0).purges, 1)
        try a.write { try $0.put(Article(id: "x", title: "again")) }
        let again = try XCTUnwrap(a.get("x")?.versions.versions.first)
        XCTAssertGreaterThan(UInt64(again.timestamp), again.context[.purgeMarker])
        let pushed = try await Replicator(store: a).push(to: LocalPeer(purger))
        XCTAssertEqual(pushed.articlesChanged, 1)
        XCTAssertEqual(try purger.get("x")?.article?.title, "again")
        XCTAssertEqual(try a.verify().problems, [])

        // B purges while C edits concurrently; A collects the purge before C's edit reaches it.
        let (hub, c, early) = (try store(wall), try store(wall), try store(wall))
        try hub.write { try $0.put(Article(id: "y", title: "v1")) }
        _ = try await sync(c, hub)
        _ = try await sync(early, hub)
        try c.write { try $0.put(Article(id: "y", title: "edit by C")) }
        try hub.write { try $0.purge("y") }
        _ = try await sync(early, hub)
        _ = try await sync(early, hub)
        XCTAssertEqual(try early.collectTombstones(horizon: 0).purges, 1)
        for _ in 0..<2 {
            _ = try await sync(c, hub)
            _ = try await sync(early, hub)
        }
        let shapes = try [hub, c, early].map { s in try XCTUnwrap(s.get("y")).versions.versions.map(\.dot) }
        XCTAssertEqual(shapes[0], shapes[1])
        XCTAssertEqual(shapes[0], shapes[2], "every replica holds the edit and the purge, as a conflict")
        XCTAssertEqual(try early.get("y")?.article?.title, "edit by C")
        for s in [hub, c, early] { XCTAssertEqual(try s.verify().problems, []) }
    }

    func testPurgeMarkerRulesForReceivedVersions() throws {
        // No replica writes as the marker: a dot of it is refused.
        let bad = Version(dot: Dot(node: .purgeMarker, counter: 1), context: VersionVector(), timestamp: 1, content: nil)
        XCTAssertThrowsError(try VersionSet.validate(received: [bad], bodies: [:], limits: .default))
        XCTAssertNotEqual(NodeID.random(), .purgeMarker)
        let s = try store()
        try s.write { try $0.put(Article(id: "p", title: "t")) }
        try s.write { try $0.purge("p") }
        XCTAssertThrowsError(try s.write { try $0.purge("p") }) { XCTAssertEqual(($0 as? StoreError)?.kind, .notFound) }
        XCTAssertThrowsError(try s.write { try $0.purge("absent") }) { XCTAssertEqual(($0 as? StoreError)?.kind, .notFound) }
        // A deleted article can be purged; a DELETE carrying the marker is a purge.
        try s.write { try $0.put(Article(id: "d", title: "t")) }
        try s.write { try $0.delete("d") }
        var ctx = try XCTUnwrap(s.get("d")).context
        ctx.advance(.purgeMarker, to: 1)
        try s.write { try $0.delete("d", context: ctx) }
        XCTAssertEqual(try s.get("d")?.versions.isPurged, true)
    }
}
