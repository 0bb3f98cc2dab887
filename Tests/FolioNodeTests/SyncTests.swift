import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import FolioSync
import Foundation
import NIOConcurrencyHelpers
import XCTest

final class SyncTests: XCTestCase {
    /// Everything a replica shows: ids, sibling versions, winners, bodies.
    func snapshot(_ s: Store) throws -> [String] {
        var out: [String] = []
        try s.forEach { st in
            out.append("\(st.id) winner=\(st.winner!.dot) " + st.versions.versions.map { v in
                "\(v.dot)\(v.context)\(v.timestamp)\(v.isTombstone ? "x" : (st.article(v)?.jsonLine ?? "?"))"
            }.joined(separator: "|"))
        }
        return out
    }

    func sync(_ a: Store, _ b: Store, options: SyncOptions = SyncOptions()) async throws {
        _ = try await Replicator(store: a, options: options).pull(from: LocalPeer(b))
        _ = try await Replicator(store: a, options: options).push(to: LocalPeer(b))
    }

    /// A small body lives in its article's record, so a store holds it only for the articles
    /// that have it: `needs` lists it as held only when every article of the batch that lacks
    /// it holds it, and a sync then sends it to the others (a body in `bodies` is held for all).
    func testABodyHeldOnlyInAnotherArticlesRecordIsStillSent() async throws {
        let (a, b) = (try tempStore(), try tempStore())
        let large = String(repeating: "a report long enough to be kept outside records ", count: 400)
        try a.write { w in
            try w.put(Article(id: "x", title: "x", body: "shared"))
            try w.put(Article(id: "w", title: "w", body: large))
        }
        try await sync(b, a)
        try b.write { w in
            try w.put(Article(id: "x", title: "x edited", body: "shared"))
            try w.put(Article(id: "y", title: "y", body: "shared"))
            try w.put(Article(id: "z", title: "z", body: large))
        }
        let changes = try b.changes(since: 0, limit: 100).filter { $0.id != "w" }
        let needs = try a.needs(changes)
        XCTAssertEqual(Set(needs.ids), ["x", "y", "z"])
        XCTAssertEqual(needs.have, [BodyHash(of: large)], "\"shared\" is in x's record only, and y lacks it")
        // Without y, x's own record holds what it lacks.
        let onlyX = try a.needs(changes.filter { $0.id == "x" })
        XCTAssertEqual(onlyX.have, [BodyHash(of: "shared")])
        XCTAssertEqual(onlyX.haveIn, [BodyHash(of: "shared"): ["x"]])
        XCTAssertEqual(try a.heldBodies(onlyX.have, holders: onlyX.haveIn), onlyX.have)
        // Once x no longer holds it, a re-check drops it (the body is then sent).
        try a.write { try $0.put(Article(id: "x", title: "x", body: "other")) }
        XCTAssertEqual(try a.heldBodies(onlyX.have, holders: onlyX.haveIn), [])
        try await sync(a, b)
        XCTAssertEqual(try a.get("y")?.article?.body, "shared")
        XCTAssertEqual(try a.get("z")?.article?.body, large)
        XCTAssertEqual(try snapshot(a), try snapshot(b))
        XCTAssertEqual(try a.verify().problems, [])
        XCTAssertEqual(try b.verify().problems, [])
    }

    /// A pushed chunk whose body the peer named as held, but which a write on the peer took
    /// away before the chunk arrived (it lived in the rewritten article's record): the peer
    /// refuses the chunk, and the push offers the rest again and completes.
    func testAPushWhoseHeldBodyThePeerRewroteAwayIsOfferedAgain() async throws {
        let (node, client) = (try tempStore(), try tempStore())
        try node.write { try $0.put(Article(id: "k1", title: "k1", body: "shared small body")) }
        try await sync(client, node)
        try client.write { try $0.put(Article(id: "k1", title: "k1 retitled", body: "shared small body")) }
        // The first APPLY finds the article rewritten since the OFFER.
        let peer = ApplyHookPeer(inner: LocalPeer(node)) { n in
            if n == 0 { _ = try node.write { try $0.put(Article(id: "k1", title: "k1 on the node", body: "another body")) } }
        }
        let report = try await Replicator(store: client).push(to: peer)
        XCTAssertEqual(report.checkpoint, try client.lastSequence())
        XCTAssertEqual(try node.get("k1", bodies: .all)?.bodies.count, 2, "both edits kept, as a conflict")
        XCTAssertEqual(try node.verify().problems, [])
    }

    /// Refused again after the second offer (the peer changed under the push twice): the push
    /// ends with an error that says so and is worth retrying, and a later push completes.
    func testAPushRefusedTwiceSaysThePeerChangedAndTheNextPushCompletes() async throws {
        let (node, client) = (try tempStore(), try tempStore())
        try node.write { try $0.put(Article(id: "k1", title: "k1", body: "shared small body")) }
        try await sync(client, node)
        try client.write { try $0.put(Article(id: "k1", title: "k1 retitled", body: "shared small body")) }
        // Each OFFER finds the client's body held in k1's record; each APPLY finds it gone.
        let peer = ApplyHookPeer(inner: LocalPeer(node), beforeOffer: { n in
            if n == 1 { _ = try node.write { try $0.put(Article(id: "k1", title: "k1 on the node, again", body: "shared small body")) } }
        }, beforeApply: { n in
            if n < 2 { _ = try node.write { try $0.put(Article(id: "k1", title: "k1 on the node, edit \(n)", body: "small body \(n)")) } }
        })
        do {
            _ = try await Replicator(store: client).push(to: peer)
            XCTFail("the push should fail")
        } catch let e as PushRefusedAgain {
            XCTAssertEqual(e.kind, .busy)
            XCTAssertTrue("\(e)".contains("sync again"), "\(e)")
        }
        _ = try await Replicator(store: client).push(to: LocalPeer(node))
        XCTAssertEqual(try node.verify().problems, [])
        XCTAssertEqual(try node.get("k1")?.versions.versions.count, 2, "the client's edit arrived, in conflict with the node's")
    }

    /// Stores of every older format (the committed fixtures), opened by this binary, upgrade
    /// and then sync both ways with a store made in the current format: both end identical,
    /// bodies over and under the inline limit included, and both verify clean.
    func testUpgradedStoresOfEveryOlderFormatSyncWithANewOne() async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FolioStoreTests/Fixtures")
        for format in 1...4 {
            let dir = NSTemporaryDirectory() + "folio-test-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("format\(format)/data.mdb").path, toPath: dir + "/data.mdb")
            let old = try Store.open(at: dir)
            defer { old.close() }
            XCTAssertEqual(try old.statistics().storageFormat, Store.storageFormat)
            let new = try tempStore()
            let large = String(repeating: "new store, long text ", count: 1_500)
            try new.write { w in
                try w.put(Article(id: "fresh/small", title: "Small", body: "a short body"))
                try w.put(Article(id: "fresh/large", title: "Large", body: large))
            }
            try await sync(new, old)
            try await sync(old, new)
            XCTAssertEqual(try snapshot(old), try snapshot(new), "format \(format)")
            XCTAssertEqual(try old.get("fresh/large")?.article?.body, large)
            XCTAssertEqual(try old.verify().problems, [], "format \(format)")
            XCTAssertEqual(try new.verify().problems, [], "format \(format)")
        }
    }

    /// Seeded random puts, edits (fresh and stale contexts), deletes and resolves on 3–5
    /// embedded stores with random pairwise syncs: in the end every store is identical.
    func testRandomizedReplicasConverge() async throws {
        for seed in [1, 2, 3] as [UInt64] {
            var rng = SeededRandom(seed: seed)
            let stores = try (0..<Int.random(in: 3...5, using: &rng)).map { _ in try tempStore() }
            var contexts: [[String: VersionVector]] = stores.map { _ in [:] }
            var options = SyncOptions()
            options.batchCount = UInt32.random(in: 2...20, using: &rng)
            options.batchBytes = Int.random(in: 200...5000, using: &rng)
            for step in 0..<150 {
                let i = Int.random(in: 0..<stores.count, using: &rng)
                let s = stores[i]
                let id = "a\(Int.random(in: 0..<12, using: &rng))"
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...3:
                    let body = String(repeating: "word ", count: Int.random(in: 1...200, using: &rng)) + "\(step)"
                    let ctx: VersionVector? = Bool.random(using: &rng) ? contexts[i][id] : nil
                    try s.write { try $0.put(Article(id: id, title: "s\(step)", body: body), context: ctx) }
                case 4:
                    if let st = try s.get(id) { contexts[i][id] = st.context }  // a reader, writes later
                case 5:
                    if try s.get(id)?.isDeleted == false {
                        try s.write { try $0.delete(id, context: Bool.random(using: &rng) ? contexts[i][id] : nil) }
                    }
                case 6:
                    if let st = try s.get(id, bodies: .all), st.isInConflict {
                        let keep = st.versions.versions.randomElement(using: &rng)!
                        try s.write { try $0.resolve(id, keeping: keep.dot) }
                    }
                default:
                    let j = Int.random(in: 0..<stores.count, using: &rng)
                    if j != i { try await sync(s, stores[j], options: options) }
                }
            }
            // Anti-entropy: a few full rounds.
            for _ in 0..<2 {
                for a in stores { for b in stores where a !== b { try await sync(a, b, options: options) } }
            }
            let expected = try snapshot(stores[0])
            XCTAssertFalse(expected.isEmpty)
            for s in stores.dropFirst() { XCTAssertEqual(try snapshot(s), expected, "seed \(seed)") }
            for s in stores { XCTAssertTrue(try s.verify().isClean) }
        }
    }

    /// Merge is a join for arbitrary inputs: writers use arbitrary contexts — claiming dots
    /// they never saw, of nodes that exist or not, stale ones, contexts read from other
    /// articles — and random pairwise syncs still leave every store identical and valid.
    func testReplicasConvergeWhateverContextsWritersClaim() async throws {
        for seed in [11, 12, 13, 14] as [UInt64] {
            var rng = SeededRandom(seed: seed)
            let stores = try (0..<Int.random(in: 3...4, using: &rng)).map { _ in try tempStore() }
            let nodes = stores.map(\.nodeID) + [NodeID(77)]
            var seen: [VersionVector] = []
            var options = SyncOptions()
            options.batchCount = UInt32.random(in: 2...20, using: &rng)
            for step in 0..<200 {
                let s = stores[Int.random(in: 0..<stores.count, using: &rng)]
                let id = "f\(Int.random(in: 0..<6, using: &rng))"
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...4:
                    var ctx: VersionVector?
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: ctx = nil
                    case 1: ctx = seen.randomElement(using: &rng)  // possibly another article's
                    case 2:  // claims arbitrary dots
                        ctx = VersionVector(nodes.filter { _ in Bool.random(using: &rng) }.map { ($0, UInt64.random(in: 1...8, using: &rng)) })
                    default: ctx = VersionVector()
                    }
                    try s.write { try $0.put(Article(id: id, title: "s\(step)", body: "b\(step)"), context: ctx) }
                case 5:
                    if let st = try s.get(id) { seen.append(st.context) }
                case 6:
                    if try s.get(id)?.isDeleted == false {
                        try s.write { try $0.delete(id, context: seen.randomElement(using: &rng)) }
                    }
                default:
                    let other = stores[Int.random(in: 0..<stores.count, using: &rng)]
                    if other !== s { try await sync(s, other, options: options) }
                }
            }
            for _ in 0..<2 {
                for a in stores { for b in stores where a !== b { try await sync(a, b, options: options) } }
            }
            let expected = try snapshot(stores[0])
            for s in stores.dropFirst() { XCTAssertEqual(try snapshot(s), expected, "seed \(seed)") }
            for s in stores { XCTAssertTrue(try s.verify().isClean, "seed \(seed)") }
        }
    }

    /// The trace of issue 11, case 6: P holds P:1; Q's edit Q:1 (context {P:1}) supersedes it
    /// at Q; P writes P:2 with a context from elsewhere, {Q:3}, which does not cover P:1. The
    /// replicas used to stay split for ever (P kept {P:1, P:2}, Q kept {P:2}).
    func testAForeignContextNeverSplitsReplicasForEver() async throws {
        let p = try tempStore(), q = try tempStore()
        try p.write { try $0.put(Article(id: "art", title: "P1")) }
        try await sync(q, p)
        let read = try XCTUnwrap(q.get("art")).context
        try q.write { try $0.put(Article(id: "art", title: "Q1"), context: read) }
        let foreign = VersionVector([(q.nodeID, UInt64(3))])
        try p.write { try $0.put(Article(id: "art", title: "P2"), context: foreign) }
        for _ in 0..<3 {
            try await sync(p, q)
            try await sync(q, p)
        }
        XCTAssertEqual(try snapshot(p), try snapshot(q), "the replicas agree")
        let siblings = try XCTUnwrap(p.get("art", bodies: .all)).versions.versions.map { $0.dot.node }
        XCTAssertTrue(siblings.contains(q.nodeID), "Q's edit, which P:2's writer never saw, stays visible")
        XCTAssertTrue(try p.verify().isClean && q.verify().isClean)
    }

    /// Ids that are canonically equivalent but differ in bytes (é precomposed and e + U+0301,
    /// Å and the Ångström sign, a Hangul syllable and its jamo) are different articles, as the
    /// store keys them: a sync moves every one of them, in one batch, both ways (a Set of
    /// Strings once held each pair as one id, and the second of each never crossed).
    func testCanonicallyEquivalentIdsAreDifferentArticlesToSync() async throws {
        let ids = ["caf\u{E9}/1", "cafe\u{301}/1", "\u{C5}ngstr\u{F6}m", "\u{212B}ngstr\u{F6}m", "\u{D55C}", "\u{1112}\u{1161}\u{11AB}"]
        XCTAssertEqual(Set(ids).count, 3, "Swift's String equality holds each pair equal")
        func bytes(_ s: Store) throws -> [[UInt8]] { try s.list().map { Array($0.id.utf8) }.sorted { $0.lexicographicallyPrecedes($1) } }
        let expected = ids.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let node = try await TestNode(self)
        try node.store.write { w in for (i, id) in ids.enumerated() { try w.put(Article(id: id, title: "t", body: "word\(i)")) } }
        XCTAssertEqual(try bytes(node.store), expected)
        // Pulled from a node over the protocol.
        let local = try tempStore()
        var options = FolioClient.Options()
        options.nodeID = local.nodeID
        let client = try await FolioClient.connect(to: node.address, options: options)
        let pulled = try await Replicator(store: local).pull(from: client)
        XCTAssertEqual(pulled.articlesChanged, ids.count)
        XCTAssertEqual(try bytes(local), expected)
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(try local.search(SearchQuery(parsing: "word\(i)"), limit: 5).map { Array($0.id.utf8) }, [Array(id.utf8)])
        }
        // Pushed to an empty store, and synced between stores.
        let empty = try tempStore()
        let pushed = try await Replicator(store: local).push(to: LocalPeer(empty))
        XCTAssertEqual(pushed.articlesChanged, ids.count)
        XCTAssertEqual(try bytes(empty), expected)
        let third = try tempStore()
        try await sync(third, empty)
        XCTAssertEqual(try bytes(third), expected)
        XCTAssertEqual(try snapshot(third).map { Array($0.utf8) }, try snapshot(empty).map { Array($0.utf8) })
        try await client.close()
        await node.stop()
    }

    func testTwoNodesSyncOnlyWhatChanged() async throws {
        let node = try await TestNode(self)
        try node.store.write { w in for i in 0..<120 { try w.put(Article(id: "n/\(i)", title: "t\(i)", body: "body \(i)")) } }
        let local = try tempStore()
        var options = FolioClient.Options()
        options.nodeID = local.nodeID
        let client = try await FolioClient.connect(to: node.address, options: options)
        var so = SyncOptions()
        so.batchCount = 25
        let r = Replicator(store: local, options: so)
        let first = try await r.pull(from: client)
        XCTAssertEqual(first.articlesChanged, 120)
        XCTAssertEqual(first.checkpoint, 120)
        // A no-op re-sync transfers nothing.
        let before = client.bytesReceived
        let again = try await r.pull(from: client)
        XCTAssertEqual(again.articlesSent, 0)
        XCTAssertLessThan(client.bytesReceived - before, 200)
        // Ten changes: ten articles travel.
        try node.store.write { w in for i in 0..<10 { try w.put(Article(id: "n/\(i * 7)", title: "changed", body: "new \(i)")) } }
        let ten = try await r.pull(from: client)
        XCTAssertEqual(ten.articlesSent, 10)
        // Push goes the other way over the same connection.
        try local.write { try $0.put(Article(id: "from/local", title: "L")) }
        let pushed = try await r.push(to: client)
        XCTAssertEqual(pushed.articlesChanged, 1)
        XCTAssertEqual(try node.store.get("from/local")?.article?.title, "L")
        XCTAssertEqual(try snapshot(local), try snapshot(node.store))
        try await client.close()
        await node.stop()
    }

    /// Fails after a number of FETCH calls, like a connection cut mid-sync.
    struct CuttingPeer: SyncPeer {
        let inner: SyncPeer
        let fetches: Int
        let counter = Counter()
        final class Counter: @unchecked Sendable {
            var n = 0
        }
        struct Cut: Error {}
        func syncState() async throws -> (node: NodeID, epoch: Epoch, lastSequence: UInt64) { try await inner.syncState() }
        func changes(since: UInt64, limit: UInt32, waitMillis: UInt32) async throws -> (changes: [Change], lastSequence: UInt64) {
            try await inner.changes(since: since, limit: limit, waitMillis: waitMillis)
        }
        var maxFrame: UInt32 { inner.maxFrame }
        var filters: Bool { inner.filters }
        var peerNode: NodeID { inner.peerNode }
        func changes(since: UInt64, limit: UInt32, waitMillis: UInt32, filter: ReplicationFilter) async throws -> (changes: [Change], scanned: UInt64, lastSequence: UInt64) {
            try await inner.changes(since: since, limit: limit, waitMillis: waitMillis, filter: filter)
        }
        func fetch(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws -> FetchResult {
            counter.n += 1
            if counter.n > fetches { throw Cut() }
            return try await inner.fetch(ids, have: have, maxBytes: maxBytes)
        }
        func checkpoint(node: NodeID, epoch: Epoch) async throws -> UInt64 { try await inner.checkpoint(node: node, epoch: epoch) }
        func offer(_ changes: [Change]) async throws -> SyncNeeds { try await inner.offer(changes) }
        func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState]) async throws -> ApplyOutcome {
            try await inner.apply(node: node, epoch: epoch, upTo: upTo, articles: articles)
        }
    }

    func testACutSyncResumesFromTheLastCommittedBatch() async throws {
        let source = try tempStore()
        try source.write { w in for i in 0..<300 { try w.put(Article(id: String(format: "c/%03d", i), title: "t", body: String(repeating: "b", count: 500) + "\(i)")) } }
        let puller = try tempStore()
        var so = SyncOptions()
        so.batchCount = 100
        so.batchBytes = 20_000  // ~38 articles per fetch
        let r = Replicator(store: puller, options: so)
        do {
            _ = try await r.pull(from: CuttingPeer(inner: LocalPeer(source), fetches: 4))
            XCTFail("the cut should interrupt the sync")
        } catch is CuttingPeer.Cut {}
        let committed = try puller.statistics().liveArticles
        let checkpoint = try puller.checkpoint(node: source.nodeID, epoch: source.epoch)
        XCTAssertGreaterThan(committed, 0)
        XCTAssertLessThan(committed, 300)
        XCTAssertEqual(checkpoint, committed, "the checkpoint is exactly what was committed, never past it")
        XCTAssertTrue(try puller.verify().isClean)
        let resumed = try await r.pull(from: LocalPeer(source))
        XCTAssertEqual(UInt64(resumed.articlesSent), 300 - committed, "what was committed is not transferred again")
        XCTAssertEqual(try snapshot(puller), try snapshot(source))
        // Re-applying a batch changes nothing.
        let batch = try source.fetch(["c/000", "c/001"], have: [], maxBytes: 1 << 20).articles
        let o = try puller.write { try $0.applyBatch(from: source.nodeID, epoch: source.epoch, upTo: 2, articles: batch) }
        XCTAssertEqual(o.changed, 0)
        XCTAssertEqual(o.checkpoint, 300, "a checkpoint never moves back")
    }

    func testARecreatedSourceIsSyncedFromItsStart() async throws {
        let dir = NSTemporaryDirectory() + "folio-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var source = try Store.create(at: dir)
        try source.write { w in for i in 0..<5 { try w.put(Article(id: "old/\(i)", title: "t")) } }
        let puller = try tempStore()
        _ = try await Replicator(store: puller).pull(from: LocalPeer(source))
        source.close()
        try FileManager.default.removeItem(atPath: dir)
        source = try Store.create(at: dir)
        defer { source.close() }
        try source.write { w in for i in 0..<3 { try w.put(Article(id: "new/\(i)", title: "t")) } }
        let r = try await Replicator(store: puller).pull(from: LocalPeer(source))
        XCTAssertEqual(r.articlesChanged, 3, "a new epoch starts from sequence 0")
        XCTAssertEqual(try puller.statistics().liveArticles, 8)
    }

    func testAnArticleLargerThanTheBatchLimitStillSyncs() async throws {
        let a = try tempStore()
        let b = try tempStore()
        let big = String(repeating: "large ", count: 50_000)
        try a.write { w in
            try w.put(Article(id: "big", title: "big", body: big))
            try w.put(Article(id: "small", title: "small"))
        }
        var so = SyncOptions()
        so.batchBytes = 1024
        _ = try await Replicator(store: b, options: so).pull(from: LocalPeer(a))
        XCTAssertEqual(try b.get("big")?.article?.body, big)
        XCTAssertEqual(try snapshot(a), try snapshot(b))
    }

    /// Concurrent edits on two offline replicas: after sync both hold the same siblings and
    /// winner; resolving on either clears it everywhere; an edit concurrent with a delete
    /// keeps the article visible on both.
    func testConflictsAreTheSameOnBothReplicasAndResolutionPropagates() async throws {
        let node = try await TestNode(self)
        let laptop = try tempStore()
        var co = FolioClient.Options()
        co.nodeID = laptop.nodeID
        let client = try await FolioClient.connect(to: node.address, options: co)
        let r = Replicator(store: laptop)
        func sync() async throws {
            _ = try await r.pull(from: client)
            _ = try await r.push(to: client)
        }
        try node.store.write { w in
            try w.put(Article(id: "shared", title: "base", body: "b"))
            try w.put(Article(id: "doomed", title: "base", body: "d"))
        }
        try await sync()
        // Offline: both edit "shared"; the node deletes "doomed" while the laptop edits it.
        try node.store.write { try $0.put(Article(id: "shared", title: "node edit", body: "n")) }
        try laptop.write { try $0.put(Article(id: "shared", title: "laptop edit", body: "l")) }
        try node.store.write { try $0.delete("doomed") }
        try laptop.write { try $0.put(Article(id: "doomed", title: "still wanted", body: "w")) }
        try await sync()
        try await sync()
        for s in [laptop, node.store] {
            let st = try XCTUnwrap(s.get("shared", bodies: .all))
            XCTAssertEqual(st.versions.versions.count, 2)
            let d = try XCTUnwrap(s.get("doomed"))
            XCTAssertFalse(d.isDeleted, "an edit concurrent with a delete keeps the article visible")
            XCTAssertEqual(d.article?.title, "still wanted")
            XCTAssertEqual(try s.statistics().articlesInConflict, 2)
        }
        XCTAssertEqual(try laptop.get("shared")?.winner, try node.store.get("shared")?.winner)
        XCTAssertEqual(try snapshot(laptop), try snapshot(node.store))
        // Resolve on the laptop; it propagates and clears the conflict on the node.
        let keep = try XCTUnwrap(laptop.get("shared", bodies: .all)?.versions.versions.first { $0.content?.title == "node edit" })
        try laptop.write { try $0.resolve("shared", keeping: keep.dot) }
        try await sync()
        XCTAssertEqual(try node.store.get("shared")?.versions.versions.count, 1)
        XCTAssertEqual(try node.store.get("shared")?.article?.title, "node edit")
        XCTAssertEqual(try node.store.statistics().articlesInConflict, 1)
        XCTAssertEqual(try snapshot(laptop), try snapshot(node.store))
        try await client.close()
        await node.stop()
    }

    func testLiveReplicationInAStar() async throws {
        let hub = try await TestNode(self)
        var spokes: [TestNode] = []
        for _ in 0..<3 { spokes.append(try await TestNode(self) { $0.peers = [hub.address] }) }
        try spokes[0].store.write { try $0.put(Article(id: "from/spoke0", title: "S0")) }
        try hub.store.write { try $0.put(Article(id: "from/hub", title: "H")) }
        try await waitUntil([hub] + spokes) { s in try s.get("from/spoke0") != nil && s.get("from/hub") != nil }
        for n in spokes + [hub] { await n.stop() }
    }

    /// Real nodes following each other (`--peer`): writes anywhere reach everyone.
    func testLiveReplicationInALineAndATriangle() async throws {
        for shape in ["line", "triangle"] {
            let a = try await TestNode(self)
            let b = try await TestNode(self) { $0.peers = [a.address] }
            let c = try await TestNode(self) { $0.peers = [b.address] }
            var extra: TestNode?
            if shape == "triangle" {
                // Close the ring: a third link C→A, from a node that also follows A.
                extra = try await TestNode(self) { $0.peers = [a.address, c.address] }
            }
            let nodes = [a, b, c] + (extra.map { [$0] } ?? [])
            try a.store.write { try $0.put(Article(id: "from/a", title: "A")) }
            try c.store.write { try $0.put(Article(id: "from/c", title: "C")) }
            try await waitUntil(nodes) { s in try s.get("from/a") != nil && s.get("from/c") != nil }
            // A conflict made on two nodes converges everywhere to the same siblings.
            try a.store.write { try $0.put(Article(id: "from/a", title: "A2"), context: VersionVector()) }
            try c.store.write { try $0.put(Article(id: "from/a", title: "C2"), context: VersionVector()) }
            try await waitUntil(nodes) { s in try s.get("from/a")?.versions.versions.count == 3 }
            let reference = try snapshot(a.store)
            try await waitUntil(nodes) { s in try self.snapshot(s) == reference }
            let peers = try b.store.peerStatuses()
            XCTAssertEqual(peers.first?.address, a.address)
            XCTAssertEqual(peers.first?.connected, true)
            for n in nodes.reversed() { await n.stop() }
        }
    }

    func waitUntil(_ nodes: [TestNode], timeout: Double = 15, _ condition: (Store) throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try nodes.allSatisfy({ try condition($0.store) }) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("nodes did not converge within \(timeout)s")
    }
}

typealias SeededRandom = SplitMix64
