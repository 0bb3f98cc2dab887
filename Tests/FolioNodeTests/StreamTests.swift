import FolioClient
import FolioModel
import FolioNode
import FolioStore
import Foundation
import XCTest

/// The change feeds and article pages as `AsyncSequence`s: a node's (long-polled, reconnecting)
/// and an embedded store's.
final class StreamTests: XCTestCase {
    func testANodesFeedFollowsCommitsAndSurvivesARestartOnTheSamePort() async throws {
        let dir = NSTemporaryDirectory() + "folio-stream-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.create(at: dir)
        defer { store.close() }
        var config = NodeConfiguration()
        config.port = 0
        var server = FolioServer(store: store, configuration: config)
        let port = try await server.start().port!
        let address = "127.0.0.1:\(port)"
        let writer = try await FolioClient.connect(to: address)
        _ = try await writer.put(Article(id: "before", title: "one"))

        var feed = FolioClient.changes(at: address, since: 0).makeAsyncIterator()
        let first = try await feed.next()
        XCTAssertEqual(first?.id, "before")

        // Restart the node on the same port: the feed reconnects and goes on after "before".
        try? await writer.close()
        await server.shutdown()
        config.port = port
        server = FolioServer(store: store, configuration: config)
        _ = try await server.start()
        let writer2 = try await FolioClient.connect(to: address)
        _ = try await writer2.put(Article(id: "after", title: "two"))
        let started = ContinuousClock.now
        let second = try await feed.next()
        XCTAssertEqual(second?.id, "after")
        XCTAssertEqual(second?.seq, 2)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))

        // Without follow: what is there, then the end.
        var all: [String] = []
        for try await c in FolioClient.changes(at: address, since: 0, follow: false) { all.append(c.id) }
        XCTAssertEqual(all, ["before", "after"])

        // Pages of articles over one connection.
        for i in 0..<7 { _ = try await writer2.put(Article(id: "p/\(i)", title: "t")) }
        var ids: [String] = []
        for try await a in writer2.articles(prefix: "p/", pageSize: 3) { ids.append(a.id) }
        XCTAssertEqual(ids, (0..<7).map { "p/\($0)" })
        try? await writer2.close()
        await server.shutdown()
    }

    func testAnEmbeddedStoresFeedWakesOnItsCommits() async throws {
        let dir = NSTemporaryDirectory() + "folio-stream-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.create(at: dir)
        defer { store.close() }
        try store.write { w in _ = try w.put(Article(id: "a", title: "x")) }
        // A commit of this process wakes the feed at once, not at the next poll (10 s here).
        var feed = store.changeFeed(since: 0, interval: .seconds(10)).makeAsyncIterator()
        let a = try await feed.next()
        XCTAssertEqual(a?.id, "a")
        let writer = Task.detached {
            try await Task.sleep(for: .milliseconds(200))  // the feed is waiting by then
            try store.write { w in _ = try w.put(Article(id: "b", title: "y")) }
        }
        let started = ContinuousClock.now
        let b = try await feed.next()
        XCTAssertEqual(b?.id, "b")
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        try await writer.value
        var all: [String] = []
        for try await c in store.changeFeed(follow: false) { all.append(c.id) }
        XCTAssertEqual(all, ["a", "b"])
    }

    func testAFeedRefusesToResumeOnAnotherStoreBehindTheAddress() async throws {
        let dirs = (0..<2).map { _ in NSTemporaryDirectory() + "folio-stream-\(UUID().uuidString)" }
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let first = try Store.create(at: dirs[0]), second = try Store.create(at: dirs[1])
        defer { first.close(); second.close() }
        try first.write { w in _ = try w.put(Article(id: "a", title: "x")) }
        var config = NodeConfiguration()
        config.port = 0
        var server = FolioServer(store: first, configuration: config)
        let port = try await server.start().port!
        var feed = FolioClient.changes(at: "127.0.0.1:\(port)").makeAsyncIterator()
        let a = try await feed.next()
        XCTAssertEqual(a?.id, "a")
        await server.shutdown()
        config.port = port
        server = FolioServer(store: second, configuration: config)
        _ = try await server.start()
        do {
            _ = try await feed.next()
            XCTFail("resumed on another store")
        } catch let e as FolioClientError {
            XCTAssertTrue("\(e)".contains("another store"), "\(e)")
        }
        await server.shutdown()
    }
}
