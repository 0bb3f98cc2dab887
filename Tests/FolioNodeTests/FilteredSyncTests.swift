import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import FolioSync
import Foundation
import XCTest

/// Filtered replication (SPEC §8.4) with real nodes on loopback.
final class FilteredSyncTests: XCTestCase {
    func ids(_ s: Store) throws -> [String] { try s.list(includeDeleted: true).map(\.id) }

    /// A hub with a mix of prefixes, sources, tags and dates.
    func seedHub(_ hub: Store) throws {
        try hub.write { w in
            for i in 0..<30 { try w.put(Article(id: "wire/\(i)", title: "w\(i)", source: "Reuters", published: "2026-11-\(10 + i % 10)")) }
            for i in 0..<20 { try w.put(Article(id: "desk/\(i)", title: "d\(i)", source: i % 2 == 0 ? "AP" : "AFP", tags: i % 5 == 0 ? ["port"] : [])) }
            for i in 0..<10 { try w.put(Article(id: "misc/\(i)", title: "m\(i)", source: "Nordic Wire", published: "2025-01-0\(1 + i % 9)")) }
        }
    }

    func filter(_ e: String...) throws -> ReplicationFilter { try ReplicationFilter(expressions: e) }

    func testAFilteredLaptopHoldsExactlyTheMatchingArticlesAndPushesItsOwn() async throws {
        let hub = try await TestNode(self)
        try seedHub(hub.store)
        let laptop = try tempStore()
        try laptop.write { try $0.put(Article(id: "notes/1", title: "mine")) }
        let client = try await hub.client()
        let r = Replicator(store: laptop)
        let f = try filter("prefix=wire/", "source=AP", "prefix=desk/")  // (wire/ or desk/) and AP
        let pulled = try await r.pull(from: client, filter: f)
        let expected = try hub.store.list().filter { f.matches(id: $0.id, versions: $0.versions) }.map(\.id)
        XCTAssertEqual(expected.count, 10)
        XCTAssertEqual(try ids(laptop), (expected + ["notes/1"]).sorted())
        XCTAssertEqual(pulled.articlesChanged, 10)
        // Only matching articles crossed: the pull transferred exactly them.
        XCTAssertEqual(pulled.articlesSent, 10)
        // The push sends the laptop's own writes (no push filter), not refused by the pull filter.
        let pushed = try await r.push(to: client)
        XCTAssertEqual(pushed.articlesChanged, 1)
        XCTAssertEqual(try hub.store.get("notes/1")?.article?.title, "mine")
        // A no-op filtered pull is one round trip that moves nothing.
        let again = try await r.pull(from: client, filter: f)
        XCTAssertEqual(again.articlesSent, 0)
        XCTAssertEqual(again.checkpoint, try hub.store.lastSequence())
        // New matching and non-matching writes on the hub: only the matching one comes.
        try hub.store.write { w in
            try w.put(Article(id: "desk/new", title: "n", source: "AP"))
            try w.put(Article(id: "desk/other", title: "o", source: "AFP"))
        }
        _ = try await r.pull(from: client, filter: f)
        XCTAssertNotNil(try laptop.get("desk/new"))
        XCTAssertNil(try laptop.get("desk/other"))
        try await client.close()
        await hub.stop()
    }

    func testWideningAFilterBringsTheRestAndNarrowingDeletesNothing() async throws {
        let hub = try await TestNode(self)
        try seedHub(hub.store)
        let laptop = try tempStore()
        let client = try await hub.client()
        let r = Replicator(store: laptop)
        _ = try await r.pull(from: client, filter: try filter("prefix=wire/"))
        XCTAssertEqual(try ids(laptop).count, 30)
        // Widen: wire/ or desk/ — the older desk/ articles now come, although the wire/-only
        // checkpoint is already at the end of the hub's feed.
        _ = try await r.pull(from: client, filter: try filter("prefix=wire/", "prefix=desk/"))
        XCTAssertEqual(try ids(laptop).count, 50)
        // A tag filter on top selects, by content.
        _ = try await r.pull(from: client, filter: try filter("tag=port"))
        XCTAssertEqual(try ids(laptop).count, 50)
        // Dates: misc/ articles were published in 2025.
        _ = try await r.pull(from: client, filter: try filter("until=2025-12-31"))
        XCTAssertEqual(try ids(laptop).filter { $0.hasPrefix("misc/") }.count, 10)
        // Narrow: nothing is deleted here.
        _ = try await r.pull(from: client, filter: try filter("prefix=nothing/"))
        XCTAssertEqual(try ids(laptop).count, 60)
        // Each filter has its own checkpoint, named by its canonical text.
        let scopes = try laptop.checkpoints().map { try $0.epoch.scope().filter.text }.sorted()
        XCTAssertEqual(scopes, ["prefix=desk/&prefix=wire/", "prefix=nothing/", "prefix=wire/", "tag=port", "until=2025-12-31"])
        try await client.close()
        await hub.stop()
    }

    func testDeletionsOfTakenArticlesReachAFilteredReplica() async throws {
        let hub = try await TestNode(self)
        try seedHub(hub.store)
        let laptop = try tempStore()
        let client = try await hub.client()
        let r = Replicator(store: laptop)
        let f = try filter("source=Reuters")
        _ = try await r.pull(from: client, filter: f)
        XCTAssertEqual(try laptop.get("wire/3")?.isDeleted, false)
        // A tombstone has no source; a deletion always passes, so the laptop learns of it.
        try hub.store.write { try $0.delete("wire/3") }
        _ = try await r.pull(from: client, filter: f)
        XCTAssertEqual(try laptop.get("wire/3")?.isDeleted, true)
        try await client.close()
        await hub.stop()
    }

    func testAPushFilterSendsOnlyMatchingArticlesUnderItsOwnCheckpoint() async throws {
        let hub = try await TestNode(self)
        let laptop = try tempStore()
        try laptop.write { w in
            for i in 0..<5 { try w.put(Article(id: "notes/\(i)", title: "n")) }
            for i in 0..<5 { try w.put(Article(id: "private/\(i)", title: "p")) }
        }
        let client = try await hub.client()
        let r = Replicator(store: laptop)
        let pushed = try await r.push(to: client, filter: try filter("prefix=notes/"))
        XCTAssertEqual(pushed.articlesChanged, 5)
        XCTAssertEqual(try ids(hub.store), (0..<5).map { "notes/\($0)" })
        // The hub keeps the laptop's checkpoint per filter: widening sends the rest.
        let widened = try await r.push(to: client)
        XCTAssertEqual(widened.articlesChanged, 5)
        XCTAssertEqual(try ids(hub.store).count, 10)
        let scopes = try hub.store.checkpoints().map(\.epoch.text).sorted()
        XCTAssertEqual(scopes, [laptop.epoch.text, laptop.epoch.text + "/prefix=notes/"])
        try await client.close()
        await hub.stop()
    }

    /// A live link (`serve --peer … --filter …`) takes only what matches and shows its filter.
    func testALivePeerLinkReplicatesOnlyItsFilter() async throws {
        let hub = try await TestNode(self)
        try seedHub(hub.store)
        let f = try filter("prefix=desk/", "source=AP")
        let edge = try await TestNode(self) {
            $0.peers = [hub.address]
            $0.peerFilters[hub.address] = PeerFilters(pull: f, push: try! ReplicationFilter(expressions: ["prefix=out/"]))
        }
        try edge.store.write { w in
            try w.put(Article(id: "out/1", title: "sent"))
            try w.put(Article(id: "local/1", title: "kept here"))
        }
        try await waitUntil([edge]) { s in try s.list().count == 12 }
        try await waitUntil([hub]) { s in try s.get("out/1") != nil }
        XCTAssertEqual(try edge.store.list().map(\.id).filter { $0.hasPrefix("desk/") }.count, 10)
        XCTAssertNil(try hub.store.get("local/1"))
        // Live: a new matching write on the hub arrives; a non-matching one does not.
        try hub.store.write { w in
            try w.put(Article(id: "desk/live", title: "l", source: "AP"))
            try w.put(Article(id: "wire/live", title: "l", source: "AP"))
        }
        try await waitUntil([edge]) { s in try s.get("desk/live") != nil }
        XCTAssertNil(try edge.store.get("wire/live"))
        let status = try edge.store.peerStatuses().first
        XCTAssertEqual(status?.filter, "prefix=desk/&source=AP")
        XCTAssertEqual(status?.pushFilter, "prefix=out/")
        await edge.stop()
        await hub.stop()
    }

    /// Change streams take a filter and can carry the articles, from a node and from a store.
    func testChangeStreamsTakeAFilterAndCarryArticles() async throws {
        let hub = try await TestNode(self)
        try seedHub(hub.store)
        try hub.store.write { try $0.delete("desk/0") }
        let f = try filter("prefix=desk/", "tag=port")
        var remote: [FeedChange] = []
        for try await c in FolioClient.changes(at: hub.address, filter: f, includeBodies: true, follow: false) { remote.append(c) }
        var local: [FeedChange] = []
        for try await c in hub.store.changeFeed(filter: f, includeBodies: true, follow: false) { local.append(c) }
        XCTAssertEqual(remote.map(\.id), local.map(\.id))
        // desk/5, 10, 15 carry the tag; desk/0 is deleted (a deletion always passes).
        XCTAssertEqual(remote.map(\.id), ["desk/5", "desk/10", "desk/15", "desk/0"])
        XCTAssertEqual(remote.first?.article?.article?.title, "d5")
        XCTAssertEqual(remote.last?.article?.isDeleted, true)
        XCTAssertEqual(remote.map(\.article), local.map(\.article))
        var plain: [FeedChange] = []
        for try await c in FolioClient.changes(at: hub.address, follow: false) { plain.append(c) }
        XCTAssertEqual(plain.count, 60)
        XCTAssertNil(plain.first?.article)
        await hub.stop()
    }

    /// Filters from outside are checked: a hostile canonical text or scope is refused without
    /// harm to the connection or the store.
    func testMalformedFiltersAndScopesAreRefused() async throws {
        for bad in ["prefix", "prefix=", "color=red", "tag=b&tag=a", "prefix=a%2", "prefix=%zz", "since=yesterday", "prefix=a&&tag=b", "prefix=a%c3"] {
            XCTAssertThrowsError(try ReplicationFilter(canonical: bad), bad)
        }
        XCTAssertThrowsError(try ReplicationFilter(canonical: "prefix=" + String(repeating: "x", count: 300)))
        XCTAssertThrowsError(try ReplicationFilter(expressions: (0..<17).map { "tag=t\($0)" }))
        let node = try await TestNode(self)
        let client = try await node.client()
        for scope in ["", String(repeating: "e", count: 65), "e/", "e/color=red", "e/tag=b&tag=a", "e p"] {
            do {
                _ = try await client.checkpoint(node: NodeID(7), epoch: Epoch(scope))
                XCTFail("scope \(scope) accepted")
            } catch FolioClientError.invalidArticle {}
            do {
                _ = try await client.apply(node: NodeID(7), epoch: Epoch(scope), upTo: 5, articles: [])
                XCTFail("scope \(scope) accepted")
            } catch FolioClientError.invalidArticle {}
        }
        // A pusher is a replica: not the purge marker, not the node itself.
        for bad in [NodeID.purgeMarker, node.store.nodeID] {
            do {
                _ = try await client.apply(node: bad, epoch: Epoch("e"), upTo: 1, articles: [])
                XCTFail("APPLY as \(bad) accepted")
            } catch FolioClientError.invalidArticle {}
        }
        XCTAssertEqual(try node.store.checkpoints().count, 0)
        // The connection still works.
        _ = try await client.apply(node: NodeID(7), epoch: Epoch("e/tag=a"), upTo: 5, articles: [])
        let cp = try await client.checkpoint(node: NodeID(7), epoch: Epoch("e/tag=a"))
        XCTAssertEqual(cp, 5)
        try await client.close()
        await node.stop()
    }

    /// Review findings: clauses compare bytes, not canonical equivalence; date bounds need a
    /// T and must leave something to match.
    func testClausesAreBytesAndDateBoundsAreChecked() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let f = try ReplicationFilter(expressions: ["prefix=\(nfc)", "prefix=\(nfd)"])
        XCTAssertEqual(f.clauses.count, 2)
        XCTAssertEqual(try ReplicationFilter(expressions: ["prefix=\(nfd)", "prefix=\(nfc)"]), f)
        let g = try ReplicationFilter(expressions: ["source=\(nfc)"])
        let version = { (source: String) in
            VersionSet(versions: [Version(dot: Dot(node: NodeID(1), counter: 1), context: VersionVector(), timestamp: 1,
                content: VersionContent(title: "t", source: source, url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: ""), bodyLength: 0))])
        }
        XCTAssertTrue(g.matches(id: "a", versions: version(nfc)))
        XCTAssertFalse(g.matches(id: "a", versions: version(nfd)))
        XCTAssertEqual(try ReplicationFilter(expressions: ["since=2026-01-01 10:00"]).text, "since=2026-01-01T10:00")
        XCTAssertThrowsError(try ReplicationFilter(canonical: "since=2026-01-01%2010:00"))
        XCTAssertNoThrow(try ReplicationFilter(expressions: ["since=2026-01-01T10:00"]))
        XCTAssertThrowsError(try ReplicationFilter(expressions: ["since=2026-12-01", "until=2026-01-01"]))
        XCTAssertNoThrow(try ReplicationFilter(expressions: ["since=2026-12-01", "until=2026-01-01", "until=2027-01-01"]))
        // `published` may separate date and time with a space; bounds compare it as a T.
        let dated = VersionSet(versions: [Version(dot: Dot(node: NodeID(1), counter: 1), context: VersionVector(), timestamp: 1,
            content: VersionContent(title: "t", source: "", url: "", published: "2026-01-05 10:00:00", tags: [], extra: [], bodyHash: BodyHash(of: ""), bodyLength: 0))])
        XCTAssertTrue(try ReplicationFilter(expressions: ["since=2026-01-05T00:00"]).matches(id: "a", versions: dated))
        XCTAssertFalse(try ReplicationFilter(expressions: ["until=2026-01-05T09:00"]).matches(id: "a", versions: dated))
    }

    /// Arbitrary clauses: the canonical text parses back to the same filter, and any text
    /// that parses is canonical.
    func testCanonicalTextRoundTripsForArbitraryClauses() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09-._~/:%&= é日\u{7f}\u{1}+#?")
        for _ in 0..<2000 {
            let n = Int.random(in: 0...5, using: &rng)
            let clauses = (0..<n).map { _ -> ReplicationFilter.Clause in
                let key = ReplicationFilter.Key.allCases.randomElement(using: &rng)!
                let value = String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
                return .init(key, key == .since || key == .until ? (Bool.random(using: &rng) ? "2026-11-2\(n)" : value) : value)
            }
            guard let f = try? ReplicationFilter(clauses) else { continue }
            XCTAssertEqual(try ReplicationFilter(canonical: f.text), f)
            // Random text either is refused or is the canonical text of what it parses to.
            let text = String((0..<Int.random(in: 0...20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            if let g = try? ReplicationFilter(canonical: text) { XCTAssertEqual(g.text, text) }
        }
    }

    func waitUntil(_ nodes: [TestNode], timeout: Double = 15, _ condition: (Store) throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try nodes.allSatisfy({ try condition($0.store) }) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("condition not reached in \(timeout) s")
    }
}
