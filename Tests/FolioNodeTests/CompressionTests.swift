import FolioClient
import FolioModel
import FolioNode
import FolioProtocol
import FolioStore
@testable import FolioSync
import Foundation
import NIOConcurrencyHelpers
import XCTest

/// Deflated frames between real nodes and clients over loopback TCP (SPEC §2.1), and the
/// pipelined pull's and push's recovery from a body released by the chunk ahead.
final class CompressionTests: XCTestCase {
    /// Prose-like articles: words drawn from a small vocabulary, as news text repeats itself.
    func fill(_ s: Store, prefix: String, count: Int) throws {
        let words = "the port strike council harbour ferry minister union wage deal talks container night trains timetable winter city".split(separator: " ")
        var rng = SeededRandom(seed: UInt64(prefix.utf8.reduce(7) { $0 &* 31 &+ Int($1) }.magnitude))
        try s.write { w in
            for i in 0..<count {
                let body = (0..<450).map { _ in String(words[Int.random(in: 0..<words.count, using: &rng)]) }.joined(separator: " ")
                try w.put(Article(id: "\(prefix)/\(i)", title: "Report \(i)", source: "Nordic Wire", body: body, tags: ["port"]))
            }
        }
    }

    func export(_ s: Store) throws -> [String] {
        var out: [String] = []
        try s.forEach { out.append($0.id + ($0.article($0.winner!)?.jsonLine ?? "")) }
        return out
    }

    func connect(_ node: TestNode, _ store: Store, _ compression: FolioClient.Compression) async throws -> FolioClient {
        var o = FolioClient.Options()
        o.nodeID = store.nodeID
        o.compression = compression
        return try await FolioClient.connect(to: node.address, options: o)
    }

    func testDeflateIsNegotiatedAndCutsTheBytesOfPullsAndPushes() async throws {
        let node = try await TestNode(self)
        defer { Task { await node.stop() } }
        try fill(node.store, prefix: "hub", count: 150)
        var bytes: [FolioClient.Compression: (pulled: UInt64, pushed: UInt64)] = [:]
        var exports: [[String]] = []
        for mode in [FolioClient.Compression.never, .always] {
            let laptop = try tempStore()
            try fill(laptop, prefix: "laptop-\(mode)", count: 150)
            let client = try await connect(node, laptop, mode)
            XCTAssertEqual(client.deflates, mode == .always)
            let r = Replicator(store: laptop)
            let before = client.bytesReceived
            let pulled = try await r.pull(from: client)
            let received = client.bytesReceived - before
            let sentBefore = client.bytesSent
            let pushed = try await r.push(to: client)
            let sent = client.bytesSent - sentBefore
            try await client.close()
            XCTAssertEqual(pulled.articlesChanged, mode == .never ? 150 : 300, "the hub's, and the first laptop's once pushed")
            XCTAssertEqual(pushed.articlesChanged, 150)
            bytes[mode] = (received, sent)
            exports.append(try export(laptop).filter { $0.hasPrefix("hub/") })
            XCTAssertTrue(try laptop.verify().isClean)
        }
        XCTAssertEqual(exports[0], exports[1], "the same articles arrive either way")
        XCTAssertEqual(exports[0].count, 150)
        let plain = bytes[.never]!, deflated = bytes[.always]!
        XCTAssertLessThan(deflated.pulled, plain.pulled, "a deflated pull of twice the articles moves fewer bytes (\(deflated.pulled) vs \(plain.pulled))")
        XCTAssertLessThan(deflated.pushed * 2, plain.pushed, "a deflated push too (\(deflated.pushed) vs \(plain.pushed))")
        XCTAssertTrue(try node.store.verify().isClean)
        XCTAssertEqual(try node.store.statistics().liveArticles, 450, "both laptops' pushes arrived whole")
    }

    /// A node that does not speak deflate (as an older one, or one run with --compress never)
    /// gets and sends plain frames, even to a client that asks for deflate always.
    func testAPeerThatDoesNotSpeakDeflateGetsPlainFrames() async throws {
        let node = try await TestNode(self) { $0.compression = .never }
        defer { Task { await node.stop() } }
        let probe = try await connect(node, try tempStore(), .never)
        XCTAssertFalse(probe.serverHello.features.contains(.deflate))
        try await probe.close()
        try fill(node.store, prefix: "hub", count: 60)
        let laptop = try tempStore()
        try fill(laptop, prefix: "laptop", count: 60)
        let client = try await connect(node, laptop, .always)
        XCTAssertFalse(client.serverHello.features.contains(.deflate))
        XCTAssertFalse(client.deflates)
        let r = Replicator(store: laptop)
        _ = try await r.pull(from: client)
        _ = try await r.push(to: client)
        let (received, sent) = (client.bytesReceived, client.bytesSent)
        try await client.close()
        XCTAssertGreaterThan(received, 60 * 2000, "article bodies came plain")
        XCTAssertGreaterThan(sent, 60 * 2000, "and went plain")
        XCTAssertEqual(try node.store.statistics().liveArticles, 120)
        XCTAssertEqual(try laptop.statistics().liveArticles, 120)
        // A plain client of a deflating node gets plain answers: it did not ask.
        let other = try await TestNode(self)
        defer { Task { await other.stop() } }
        try fill(other.store, prefix: "o", count: 20)
        let plainClient = try await connect(other, try tempStore(), .never)
        let article = try await plainClient.get("o/3")
        XCTAssertEqual(article.id, "o/3")
        XCTAssertGreaterThan(plainClient.bytesReceived, 2000, "the body came plain")
        try await plainClient.close()
    }

    /// A pull fetches the next chunk saying which bodies it holds before the chunk ahead
    /// commits; when that chunk released one of them, the next chunk cannot commit, and the
    /// pull carries on from the committed checkpoint instead of failing.
    func testAPipelinedPullRecoversWhenTheChunkAheadReleasedABody() async throws {
        let source = try tempStore()
        let puller = try tempStore()
        let shared = try await bodyRace(source) { _ = try await Replicator(store: puller).pull(from: LocalPeer(source)) }
        var so = SyncOptions()
        so.batchCount = 1  // a and b in separate batches
        // Commits that take a while: b's fetch (holding the shared body, so it is left out)
        // goes out before a's commit releases that body.
        let r = Replicator(store: puller, options: so, applyLocally: { node, epoch, upTo, articles, prepared in
            try await Task.sleep(for: .milliseconds(300))
            return try await offPool { try puller.write { try $0.applyBatch(from: node, epoch: epoch, upTo: upTo, articles: articles, prepared: prepared) } }
        })
        let report = try await r.pull(from: LocalPeer(source))
        XCTAssertEqual(try puller.get("b")?.article?.body, shared)
        XCTAssertEqual(try puller.get("a")?.article?.title, "second")
        XCTAssertEqual(report.checkpoint, try source.lastSequence())
        XCTAssertTrue(try puller.verify().isClean)
    }
}

/// An embedded store as a peer, with `beforeOffer` and `beforeApply` run before each OFFER
/// and APPLY (given how many came before): a peer whose APPLYs take a while, or whose store changes under a push.
struct ApplyHookPeer: SyncPeer {
    let inner: LocalPeer
    var beforeOffer: @Sendable (Int) async throws -> Void = { _ in }
    let beforeApply: @Sendable (Int) async throws -> Void
    let applied = NIOLockedValueBox(0)
    let offered = NIOLockedValueBox(0)
    var peerNode: NodeID { inner.peerNode }
    var maxFrame: UInt32 { inner.maxFrame }
    var filters: Bool { inner.filters }
    func syncState() async throws -> (node: NodeID, epoch: Epoch, lastSequence: UInt64) { try await inner.syncState() }
    func changes(since: UInt64, limit: UInt32, waitMillis: UInt32) async throws -> (changes: [Change], lastSequence: UInt64) {
        try await inner.changes(since: since, limit: limit, waitMillis: waitMillis)
    }
    func changes(since: UInt64, limit: UInt32, waitMillis: UInt32, filter: ReplicationFilter) async throws -> (changes: [Change], scanned: UInt64, lastSequence: UInt64) {
        try await inner.changes(since: since, limit: limit, waitMillis: waitMillis, filter: filter)
    }
    func fetch(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws -> FetchResult { try await inner.fetch(ids, have: have, maxBytes: maxBytes) }
    func checkpoint(node: NodeID, epoch: Epoch) async throws -> UInt64 { try await inner.checkpoint(node: node, epoch: epoch) }
    func offer(_ changes: [Change]) async throws -> SyncNeeds {
        try await beforeOffer(offered.withLockedValue { n in
            defer { n += 1 }
            return n
        })
        return try await inner.offer(changes)
    }
    func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState]) async throws -> ApplyOutcome {
        try await beforeApply(applied.withLockedValue { n in
            defer { n += 1 }
            return n
        })
        return try await inner.apply(node: node, epoch: epoch, upTo: upTo, articles: articles)
    }

    /// A peer whose APPLYs take a while to commit, so the push's next OFFER is answered before.
    static func slow(_ inner: LocalPeer) -> ApplyHookPeer {
        ApplyHookPeer(inner: inner) { _ in try await Task.sleep(for: .milliseconds(300)) }
    }
}

extension CompressionTests {
    /// Article a (with a shared body) written on `store` and copied by `replicate`; then a's
    /// body changes and a new article b takes a's old body: replicating a's change releases
    /// the body b needs. Returns the shared body.
    func bodyRace(_ store: Store, replicate: () async throws -> Void) async throws -> String {
        let shared = String(repeating: "shared body ", count: 50)
        try store.write { try $0.put(Article(id: "a", title: "first", body: shared)) }
        try await replicate()
        try store.write { w in
            try w.put(Article(id: "a", title: "second", body: "new body"), context: try store.get("a")!.context)
            try w.put(Article(id: "b", title: "b", body: shared))
        }
        return shared
    }

    /// The push offers the next batch while the APPLY before it commits: when that commit
    /// released on the peer a body the answer named as held, the batch is offered again and
    /// sent whole instead of failing the push.
    func testAPipelinedPushRecoversWhenTheApplyAheadReleasedABody() async throws {
        let laptop = try tempStore()
        let hub = try tempStore()
        let shared = try await bodyRace(laptop) { _ = try await Replicator(store: laptop).push(to: LocalPeer(hub)) }
        var so = SyncOptions()
        so.batchCount = 1
        let report = try await Replicator(store: laptop, options: so).push(to: ApplyHookPeer.slow(LocalPeer(hub)))
        XCTAssertEqual(try hub.get("b")?.article?.body, shared)
        XCTAssertEqual(try hub.get("a")?.article?.title, "second")
        XCTAssertEqual(report.checkpoint, try laptop.lastSequence())
        XCTAssertTrue(try hub.verify().isClean)
    }
}
