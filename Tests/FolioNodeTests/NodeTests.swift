import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import Foundation
import XCTest

final class NodeTests: XCTestCase {
    func article(_ id: String, _ title: String, body: String = "body") -> Article {
        Article(id: id, title: title, source: "Wire", body: body, tags: ["t"])
    }

    func testEveryOperationThroughTheClient() async throws {
        let node = try await TestNode(self)
        let client = try await node.client()
        XCTAssertEqual(client.serverHello.nodeID, node.store.nodeID)
        _ = try await client.ping()

        let o = try await client.put(article("a/1", "One", body: "Grüße 📰"))
        XCTAssertEqual(o.kind, .added)
        let got = try await client.get("a/1")
        XCTAssertEqual(got.article?.body, "Grüße 📰")
        XCTAssertEqual(try node.store.get("a/1")?.article, got.article, "the write landed in the node's store")

        // Remote writers get the same no-silent-loss guarantee.
        let ctx = got.context
        try await client.put(article("a/1", "Edit A"), context: ctx)
        let second = try await client.put(article("a/1", "Edit B"), context: ctx)
        XCTAssertEqual(second.siblings, 2)
        let both = try await client.get("a/1", allVersions: true)
        XCTAssertEqual(Set(both.versions.versions.compactMap { both.article($0)?.title }), ["Edit A", "Edit B"])

        for i in 0..<5 { try await client.put(article("b/\(i)", "B\(i)")) }
        let page = try await client.list(ListQuery(prefix: "b/", limit: 3))
        XCTAssertEqual(page.articles.map(\.id), ["b/0", "b/1", "b/2"])
        XCTAssertTrue(page.more)
        let stats = try await client.statistics()
        XCTAssertEqual(stats.liveArticles, 6)
        XCTAssertEqual(stats.articlesInConflict, 1)
        let feed = try await client.changes(since: 0)
        XCTAssertEqual(feed.changes.count, 6)
        XCTAssertEqual(feed.lastSequence, 8)

        try await client.delete("b/0")
        let gone = try await client.get("b/0")
        XCTAssertTrue(gone.isDeleted)
        await XCTAssertThrowsAsync(try await client.delete("b/0")) { XCTAssertEqual($0 as? FolioClientError, .notFound("article \"b/0\" not found")) }
        await XCTAssertThrowsAsync(try await client.get("nope")) { guard case .notFound? = $0 as? FolioClientError else { return XCTFail("\($0)") } }
        await XCTAssertThrowsAsync(try await client.put(Article(id: "bad", published: "yesterday"))) {
            guard case let .invalidArticle(m)? = $0 as? FolioClientError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("published"), m)
        }
        try await client.close()
        await node.stop()
    }

    func testConcurrentPipelinedRequestsFromManyClients() async throws {
        let node = try await TestNode(self)
        let shared = try await node.client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await shared.put(Article(id: "p/\(i)", title: "t\(i)", body: String(repeating: "x", count: i))) }
            }
            for c in 0..<10 {
                group.addTask {
                    let client = try await node.client()
                    for j in 0..<20 { try await client.put(Article(id: "c\(c)/\(j)", title: "t")) }
                    try await client.close()
                }
            }
            try await group.waitForAll()
        }
        let reads = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 { group.addTask { try await shared.get("p/\(i)").article!.title } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        XCTAssertEqual(reads.count, 200)
        XCTAssertEqual(try node.store.statistics().liveArticles, 400)
        XCTAssertTrue(try node.store.verify().isClean)
        try await shared.close()
        await node.stop()
    }

    func testAuthenticationIsMutualAndFailuresAreLoggedWithTheAddress() async throws {
        let key = try SharedKey(bytes: Array(0..<32))
        let wrong = try SharedKey(bytes: Array(1..<33))
        let node = try await TestNode(self) { $0.key = key }
        let good = try await node.client(key: key)
        try await good.put(Article(id: "k", title: "secret"))
        await XCTAssertThrowsAsync(try await node.client()) { guard case .unauthorized? = $0 as? FolioClientError else { return XCTFail("\($0)") } }
        await XCTAssertThrowsAsync(try await node.client(key: wrong)) { guard case .unauthorized? = $0 as? FolioClientError else { return XCTFail("\($0)") } }
        // A raw peer that skips authentication gets an error frame and is closed.
        let raw = try RawSocket(port: Int(node.address.split(separator: ":")[1])!)
        raw.sendHello()
        raw.send(Envelope(1, .stats))
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.last?.errorCode, .unauthorized)
        XCTAssertTrue(node.logs.all.contains { $0.contains("authentication failed") && $0.contains("peer=") && $0.contains("127.0.0.1") }, "\(node.logs.all)")
        let still = try await good.get("k").article?.title
        XCTAssertEqual(still, "secret", "the authenticated client is unaffected")
        try await good.close()
        await node.stop()

        // A client holding a key refuses a node that cannot prove it has it.
        let open = try await TestNode(self)
        await XCTAssertThrowsAsync(try await open.client(key: key)) { guard case .unauthorized? = $0 as? FolioClientError else { return XCTFail("\($0)") } }
        await open.stop()
    }

    func testWithoutAKeyANodeRefusesNonLoopbackAddresses() async throws {
        let dir = NSTemporaryDirectory() + "folio-node-\(UUID().uuidString)"
        let store = try Store.create(at: dir)
        defer { store.close(); try? FileManager.default.removeItem(atPath: dir) }
        var config = NodeConfiguration()
        config.host = "0.0.0.0"
        config.port = 0
        let server = FolioServer(store: store, configuration: config)
        await XCTAssertThrowsAsync(try await server.start()) { XCTAssertTrue("\($0)".contains("--key-file") && "\($0)".contains("--tls-ca"), "\($0)") }
        await server.shutdown()
    }

    func testConnectionLimitAndNoCommonVersion() async throws {
        let node = try await TestNode(self) { $0.maxConnections = 2 }
        let a = try await node.client()
        let b = try await node.client()
        await XCTAssertThrowsAsync(try await node.client()) { guard case .busy? = $0 as? FolioClientError else { return XCTFail("\($0)") } }
        try await a.close()
        // The node frees a slot once it has seen the close; under load that takes a moment.
        var c: FolioClient?
        for _ in 0..<100 where c == nil {
            do { c = try await node.client() } catch FolioClientError.busy { try await Task.sleep(for: .milliseconds(50)) }
        }
        _ = try await XCTUnwrap(c).ping()
        try await b.close()
        try await c?.close()

        var frames: [Envelope] = []
        var closed = false
        for _ in 0..<100 {
            let raw = try RawSocket(port: Int(node.address.split(separator: ":")[1])!)
            raw.sendHello(versions: [7, 9])
            (frames, closed) = raw.readUntilClosed()
            if frames.last?.errorCode != .busy { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.last?.errorCode, .noCommonVersion)
        await node.stop()
    }

    func testGracefulShutdownFinishesInFlightWorkAndClosesCleanly() async throws {
        let node = try await TestNode(self)
        let client = try await node.client()
        let writes = Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        do {
                            try await client.put(Article(id: "s/\(i)", title: "t"))
                            return true
                        } catch { return false }
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        await node.server.shutdown()
        let acknowledged = try await writes.value
        // Writes in flight when shutdown began were finished and answered, not dropped…
        XCTAssertGreaterThan(acknowledged, 0, "no write was acknowledged: the test proved nothing")
        // …and every acknowledged write is in the store; nothing half-done.
        let stored = try node.store.list(prefix: "s/").count
        XCTAssertGreaterThanOrEqual(stored, acknowledged)
        XCTAssertTrue(try node.store.verify().isClean)
        await XCTAssertThrowsAsync(try await FolioClient.connect(to: node.address))
        await node.stop()
    }
}

func XCTAssertThrowsAsync<T>(
    _ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line,
    _ check: (Error) -> Void = { _ in }
) async {
    do {
        _ = try await expression()
        XCTFail("expected an error", file: file, line: line)
    } catch {
        check(error)
    }
}
