import FolioModel
import FolioStore
import FolioClient
import FolioProtocol
import FolioSync
import Foundation
import NIOCore
import XCTest

@testable import FolioNode

#if canImport(Glibc)
import Glibc
#endif

/// A node facing a hostile or unlucky network (issue 13): each numbered case of the report
/// that broke the node before has a test here, over real TCP on 127.0.0.1.
final class NodeSurvivalTests: XCTestCase {
    let key = try! SharedKey(bytes: Array(0..<32))
    let wrongKey = try! SharedKey(bytes: Array(1..<33))

    func port(_ node: TestNode) -> Int { Int(node.address.split(separator: ":")[1])! }

    /// The header of a frame announcing `length` bytes, of type `type`.
    func header(length: UInt32, type: UInt8, magic: Bool = true) -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(length)
        b.writeInteger(type)
        b.writeInteger(UInt32(0))
        if magic { b.writeInteger(Hello.magic) }
        return Array(b.readableBytesView)
    }

    // 1. Before authentication a connection can make the node buffer only a tiny frame.

    func testAHelloAnnouncingAHugeFrameIsRefusedBeforeAnythingIsBuffered() async throws {
        // (A plaintext node: on a keyed node the same frame would first have to cross TLS.)
        let node = try await TestNode(self)
        let good = try await node.client()
        var sockets: [RawSocket] = []
        for _ in 0..<20 {
            let raw = try RawSocket(port: port(node))
            raw.send(header(length: 17_825_792, type: 0x01))
            sockets.append(raw)
        }
        for raw in sockets {
            let (frames, closed) = raw.readUntilClosed()
            XCTAssertTrue(closed)
            XCTAssertEqual(frames.last?.errorCode, .tooLarge)
            if case let .error(_, message)? = frames.last?.message { XCTAssertTrue(message.contains("4096"), message) }
        }
        XCTAssertEqual(node.server.node.partialFrames.used, 0, "nothing is reserved for frames that were refused")
        _ = try await good.ping()
        try await good.close()
        await node.stop()
    }

    func testAfterAuthenticationTheFullFrameIsAllowed() async throws {
        let node = try await TestNode(self) { $0.key = self.key }
        let client = try await FolioClient.connect(to: node.address, key: key)
        let body = String(repeating: "x", count: 1 << 20)
        try await client.put(Article(id: "big", title: "one MiB", body: body))
        let back = try await client.get("big")
        XCTAssertEqual(back.article?.body.utf8.count, 1 << 20)
        try await client.close()
        await node.stop()
    }

    func testPartialFramesShareOneBudgetAndTheOldestHolderIsClosedFirst() async throws {
        let node = try await TestNode(self) { $0.partialFrameBudget = 1 << 20 }
        let good = try await node.client()
        // Three handshaken connections each start a 600 KB frame and stall.
        var stalled: [RawSocket] = []
        for _ in 0..<3 {
            let raw = try RawSocket(port: port(node))
            raw.sendHello()
            _ = raw.read(frames: 1)
            raw.send(header(length: 600_000, type: 0x12, magic: false))
            raw.send([UInt8](repeating: 0, count: 100_000))
            stalled.append(raw)
            try await Task.sleep(for: .milliseconds(50))
        }
        // Each newcomer pushed out the oldest: the budget never holds more than it allows.
        XCTAssertLessThanOrEqual(node.server.node.partialFrames.used, 1 << 20)
        let (frames, closed) = stalled[0].readUntilClosed()
        XCTAssertTrue(closed, "the oldest partial frame's connection is closed")
        XCTAssertEqual(frames.last?.errorCode, .busy)
        _ = try await good.ping()
        let stats = try await good.statistics()
        XCTAssertEqual(stats.liveArticles, 0)
        try await good.close()
        await node.stop()
    }

    /// While a connection's requests are all in flight, the first request after them waits
    /// decoded (inflated, if deflated) and the frames behind it wait undecoded, as bytes: a
    /// connection parks one inflated request, whatever it sends. What parked inflated requests
    /// hold is capped across the node: past it a connection is `busy` and closed, and
    /// everything it held is given back.
    func testParkedInflatedRequestsShareOneBudget() async throws {
        let node = try await TestNode(self) { $0.partialFrameBudget = 48 << 10 }
        let good = try await node.client()
        // 3000 tiny deflated PUTs behind 32 held requests: one parked, the rest held as bytes.
        let one = try parkingDeflatedPuts(node, count: 3000)
        for _ in 0..<50 where node.server.node.inflated.inUse == 0 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        let parkedByOne = node.server.node.inflated.inUse
        XCTAssertGreaterThan(parkedByOne, 0)
        XCTAssertLessThanOrEqual(parkedByOne, 4 << 10, "one parked request, not thousands")
        // Many such connections: those whose parked request does not fit are closed `busy`.
        var hogs = [one]
        for _ in 0..<40 { hogs.append(try parkingDeflatedPuts(node, count: 5)) }
        var refused = 0
        for hog in hogs.dropFirst() {
            let (frames, closed) = hog.readUntilClosed(within: 0.3)
            if closed, let last = frames.last, last.errorCode == .busy, "\(last.message)".contains("inflated") { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 0, "the budget is shared")
        XCTAssertLessThanOrEqual(node.server.node.inflated.inUse, 48 << 10)
        for hog in hogs { hog.reset() }
        // Nothing parked ran, and all of it was given back.
        for _ in 0..<100 where node.server.node.inflated.inUse > 0 { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(node.server.node.inflated.inUse, 0)
        let stats = try await good.statistics()
        XCTAssertEqual(stats.liveArticles, 0)
        _ = try await good.ping()
        try await good.close()
        await node.stop()
    }

    /// A node with a 600 ms idle timeout (heartbeats every 150 ms) and a raw connection that
    /// sent, in one write, 32 CHANGES waiting `waitMillis` (all its requests in flight) and
    /// then `pings` PINGs (ids 33…), which wait behind them.
    func longPolls(waitMillis: UInt32, pings: Int) async throws -> (TestNode, RawSocket) {
        let node = try await TestNode(self) {
            $0.idleTimeout = .milliseconds(600)
            $0.heartbeatInterval = .milliseconds(150)
        }
        let raw = try RawSocket(port: port(node), receiveTimeout: 5)
        raw.sendHello()
        _ = raw.read(frames: 1)
        var burst: [UInt8] = []
        for i in 1...32 { burst += Array(Envelope(UInt32(i), .changes(since: 0, limit: 10, waitMillis: waitMillis)).encoded().readableBytesView) }
        for i in 33..<33 + pings { burst += Array(Envelope(UInt32(i), .ping(UInt64(i))).encoded().readableBytesView) }
        raw.send(burst)
        return (node, raw)
    }

    /// A connection whose 32 requests are long polls is not idle, though the node stops
    /// reading it (the client's PONGs to its heartbeats wait unread): it stays open past the
    /// idle timeout, and every poll is answered when its wait ends.
    func testAConnectionWaitingForItsLongPollsIsNotClosedAsIdle() async throws {
        let (node, raw) = try await longPolls(waitMillis: 1500, pings: 1)
        // Answer the node's heartbeats (they wait unread while it holds the PING behind 32).
        var answered = Set<UInt32>()
        var closedEarly = false
        let started = Date()
        var pending = ByteBuffer()
        var decoder = FrameDecoder()
        var hello = Envelope(0, .hello(Hello(nodeID: .none, software: "t", features: [], nonce: Array(repeating: 0, count: 32), maxFrame: 1 << 20))).encoded()
        _ = try? decoder.decodeOne(&hello)
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while answered.count < 33 && Date().timeIntervalSince(started) < 5 {
            let n = recv(raw.fd, &buf, buf.count, 0)
            if n <= 0 {
                closedEarly = true
                break
            }
            pending.writeBytes(buf[0..<n])
            while let e = try decoder.decodeOne(&pending) {
                if case let .ping(t) = e.message, e.requestID & 0x8000_0000 != 0 {
                    raw.send(Envelope(e.requestID, .pong(t)))
                } else {
                    XCTAssertNil(e.errorCode, "\(e)")
                    answered.insert(e.requestID)
                }
            }
        }
        XCTAssertFalse(closedEarly, "closed as idle")
        XCTAssertEqual(answered, Set(1...33))
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 1.2, "the polls waited")
        await node.stop()
    }

    /// After frames the node held undecoded are decoded (its requests drained), heartbeats
    /// and the idle timeout go on as after any read: a client that then goes silent is
    /// pinged, and closed at its idle timeout.
    func testHeartbeatsAndTheIdleTimeoutGoOnAfterHeldFramesAreDecoded() async throws {
        let (node, raw) = try await longPolls(waitMillis: 300, pings: 8)
        // Never answers the node's heartbeats from here on.
        let started = Date()
        let (frames, closed) = raw.readUntilClosed(afterHandshake: true)
        XCTAssertTrue(closed, "closed at the idle timeout")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
        XCTAssertEqual(Set(frames.filter { $0.requestID <= 40 && $0.errorCode == nil }.map(\.requestID)), Set(1...40), "every request answered")
        XCTAssertTrue(frames.contains { $0.requestID & 0x8000_0000 != 0 }, "heartbeats went on")
        XCTAssertEqual(frames.last?.errorCode, .timeout)
        await node.stop()
    }

    /// A client that pipelines a long run of requests answered at once (PINGs) and reads none
    /// of the answers until it has sent them all: the node stops decoding and reading while
    /// its answers back up, and answers every one, in order, once the client reads. (Each
    /// request answered at once used to start the next from within its own completion, one
    /// stack frame deeper each time, until the node crashed.)
    func testALongPipelineOfRequestsAnsweredAtOnceIsAnsweredInOrder() async throws {
        let node = try await TestNode(self)
        let raw = try RawSocket(port: port(node), receiveTimeout: 30)
        raw.sendHello()
        _ = raw.read(frames: 1)
        let count = 100_000
        var burst: [UInt8] = []
        burst.reserveCapacity(count * 17)
        for i in 1...count { burst += Array(Envelope(UInt32(i), .ping(UInt64(i))).encoded().readableBytesView) }
        let sent = DispatchGroup()
        DispatchQueue.global().async(group: sent) { [burst] in raw.send(burst) }
        // The node backs up first: the sender blocks until answers are read.
        try await Task.sleep(for: .milliseconds(500))
        var answered = 0
        var inOrder = true
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while answered < count {
            let n = recv(raw.fd, &buf, buf.count, 0)
            if n <= 0 { break }
            pending += buf[0..<n]
            var at = 0
            while pending.count - at >= 9 {
                let length = Int(pending[at]) << 24 | Int(pending[at + 1]) << 16 | Int(pending[at + 2]) << 8 | Int(pending[at + 3])
                guard pending.count - at >= 4 + length else { break }
                let id = UInt32(pending[at + 5]) << 24 | UInt32(pending[at + 6]) << 16 | UInt32(pending[at + 7]) << 8 | UInt32(pending[at + 8])
                if pending[at + 4] != Message.Kind.pong.rawValue || id != UInt32(answered + 1) { inOrder = false }
                answered += 1
                at += 4 + length
            }
            pending.removeFirst(at)
        }
        sent.wait()
        XCTAssertEqual(answered, count)
        XCTAssertTrue(inOrder, "every answer a PONG, in request order")
        let fresh = try await node.client()
        _ = try await fresh.ping()
        try await fresh.close()
        await node.stop()
    }

    /// A raw connection that announces deflate and sends, in one write, 32 held CHANGES (its
    /// requests in flight) and then `count` tiny deflated PUTs — each ~50 bytes on the wire and
    /// ~2 KB inflated, within 32× + 1 KiB — which the node decodes and parks.
    func parkingDeflatedPuts(_ node: TestNode, count: Int) throws -> RawSocket {
        let raw = try RawSocket(port: port(node))
        raw.send(Envelope(0, .hello(Hello(nodeID: .none, software: "raw-test", features: [.deflate], nonce: Hello.freshNonce(), maxFrame: 1 << 20))))
        _ = raw.read(frames: 1)
        var burst: [UInt8] = []
        for i in 1...32 { burst += Array(Envelope(UInt32(i), .changes(since: 0, limit: 10, waitMillis: 60_000)).encoded().readableBytesView) }
        for i in 0..<count {
            let d = try DeflatedMessage(deflating: .put(Article(id: "p/\(i)", title: "t", body: String(repeating: "strike ", count: 270)), context: nil))
            XCTAssertLessThanOrEqual(Int(d.inflatedLength), d.data.readableBytes * 32 + 1024)
            burst += Array(Envelope(UInt32(100 + i), .deflated(d)).encoded().readableBytesView)
        }
        raw.send(burst)
        return raw
    }

    /// Only requests that wait are charged: while one connection holds most of the node's
    /// inflated budget, a client that waits for its answers still pushes deflated.
    func testAClientThatWaitsForAnswersIsNeverChargedForInflatedRequests() async throws {
        let node = try await TestNode(self) { $0.partialFrameBudget = 48 << 10 }
        // Hogs, each parking one inflated request (about 2 KB), hold most of the budget.
        var hogs: [RawSocket] = []
        for _ in 0..<18 { hogs.append(try parkingDeflatedPuts(node, count: 3)) }
        for _ in 0..<100 where node.server.node.inflated.inUse < 30 << 10 { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertGreaterThan(node.server.node.inflated.inUse, 30 << 10, "the hogs park most of the budget")
        // A laptop pushes 50 articles deflated (each APPLY far larger than what is left).
        let laptop = try tempStore()
        try laptop.write { w in for i in 0..<50 { try w.put(Article(id: "l/\(i)", title: "t", body: String(repeating: "harbour council \(i) ", count: 100))) } }
        var o = FolioClient.Options()
        o.nodeID = laptop.nodeID
        o.compression = .always
        let client = try await FolioClient.connect(to: node.address, options: o)
        XCTAssertTrue(client.deflates)
        let pushed = try await Replicator(store: laptop).push(to: client)
        XCTAssertEqual(pushed.articlesChanged, 50)
        try await client.close()
        for hog in hogs { hog.reset() }
        for _ in 0..<50 where node.server.node.inflated.inUse > 0 { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(node.server.node.inflated.inUse, 0)
        await node.stop()
    }

    // 2. Idle sockets cannot lock anyone out.

    func testIdleSocketsAreClosedAtTheHandshakeDeadline() async throws {
        let node = try await TestNode(self) { $0.handshakeTimeout = .milliseconds(300) }
        let raw = try RawSocket(port: port(node))
        let started = Date()
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.last?.errorCode, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        await node.stop()
    }

    func testAFloodOfIdleSocketsNeverLocksOutAClientWithTheKey() async throws {
        let node = try await TestNode(self) {
            $0.key = self.key
            $0.maxConnections = 40
            $0.maxPendingHandshakes = 10
        }
        let established = try await FolioClient.connect(to: node.address, key: key)
        var idle: [RawSocket] = []
        for _ in 0..<60 { idle.append(try RawSocket(port: port(node), receiveTimeout: 0.2)) }
        // A newcomer evicts the oldest idle socket and completes its handshake. (Each burst of
        // idle sockets is let in first: sockets accepted on another event loop at the same
        // instant race a newcomer's HELLO, as they would in any server.)
        for i in 0..<5 {
            try await Task.sleep(for: .milliseconds(100))
            let c = try await FolioClient.connect(to: node.address, key: key)
            try await c.put(Article(id: "during-flood/\(i)", title: "served"))
            try await c.close()
            for _ in 0..<20 { idle.append(try RawSocket(port: port(node), receiveTimeout: 0.2)) }
        }
        _ = try await established.ping()
        XCTAssertLessThanOrEqual(node.server.node.admission.pendingConnections, 10)
        XCTAssertEqual(try node.store.list(prefix: "during-flood/", limit: 10).count, 5)
        try await established.close()
        await node.stop()
    }

    func testOneAddressCannotTakeMoreThanItsShare() async throws {
        let node = try await TestNode(self) {
            $0.trustLoopback = false
            $0.maxConnectionsPerAddress = 3
        }
        let held = try await [node.client(), node.client(), node.client()]
        await XCTAssertThrowsAsync(try await node.client()) { e in
            guard case let .busy(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("limit per address"), m)
        }
        for c in held { try await c.close() }
        await node.stop()
    }

    // 3. Whatever a store accepts can be sent, and what cannot is skipped, not a wall.

    func testAnArticleLargerThanTheWholeArticleLimitIsRefusedNamingTheField() throws {
        let a = Article(id: "huge", title: String(repeating: "t", count: 5 << 20), body: String(repeating: "b", count: 4 << 20))
        XCTAssertThrowsError(try a.validate()) { e in
            let why = e as! InvalidArticle
            XCTAssertEqual(why.field, "title")
            XCTAssertTrue(why.reason.contains("over the 8388608-byte limit"), why.reason)
        }
        let fits = Article(id: "ok", title: "t", body: String(repeating: "b", count: 7 << 20))
        XCTAssertNoThrow(try fits.validate())
        XCTAssertLessThan(Int(FrameDecoder.defaultMaxFrame) - FrameDecoder.frameOverhead, Int.max)
        // Two full-size versions (a conflict) still fit one frame.
        XCTAssertLessThan(2 * ArticleLimits.defaultMaxArticleBytes + 4096, Int(FrameDecoder.defaultMaxFrame) - FrameDecoder.frameOverhead)
    }

    func testPullSkipsAnArticleTooLargeForTheFrameAndTheRestOfTheFeedFlows() async throws {
        let node = try await TestNode(self)
        try node.store.write { w in
            try w.put(Article(id: "a/1", title: "before"))
            try w.put(Article(id: "a/2", title: "too large", body: String(repeating: "x", count: 200_000)))
            for i in 3...6 { try w.put(Article(id: "a/\(i)", title: "after \(i)")) }
        }
        let local = try TempStore()
        var options = FolioClient.Options()
        options.maxFrame = 100_000  // a peer that takes small frames
        let client = try await FolioClient.connect(to: node.address, options: options)
        let report = try await Replicator(store: local.store).pull(from: client)
        XCTAssertEqual(report.untransferable.map(\.id), ["a/2"])
        XCTAssertGreaterThan(report.untransferable[0].bytes, 200_000)
        for i in [1, 3, 4, 5, 6] { XCTAssertNotNil(try local.store.get("a/\(i)"), "a/\(i) arrived") }
        XCTAssertNil(try local.store.get("a/2"))
        let checkpoint = try local.store.checkpoint(node: node.store.nodeID, epoch: node.store.epoch)
        XCTAssertEqual(checkpoint, 1, "held just before the skipped article's change")
        // GET of it answers tooLarge without closing the connection.
        await XCTAssertThrowsAsync(try await client.get("a/2")) { e in
            guard case .tooLarge? = e as? FolioClientError else { return XCTFail("\(e)") }
        }
        _ = try await client.ping()
        // Once it fits (a peer with the full frame), the held checkpoint makes the next sync bring it.
        let full = try await node.client()
        let again = try await Replicator(store: local.store).pull(from: full)
        XCTAssertTrue(again.untransferable.isEmpty)
        XCTAssertNotNil(try local.store.get("a/2"))
        XCTAssertEqual(try local.store.checkpoint(node: node.store.nodeID, epoch: node.store.epoch), 6)
        try await client.close()
        try await full.close()
        await node.stop()
    }

    func testPushSkipsAnArticleTheNodeCannotTakeInOneFrame() async throws {
        let node = try await TestNode(self) { $0.maxFrame = 100_000 }
        let local = try TempStore()
        try local.store.write { w in
            try w.put(Article(id: "p/1", title: "small"))
            try w.put(Article(id: "p/2", title: "large", body: String(repeating: "y", count: 150_000)))
            try w.put(Article(id: "p/3", title: "small"))
        }
        let client = try await node.client()
        let report = try await Replicator(store: local.store).push(to: client)
        XCTAssertEqual(report.untransferable.map(\.id), ["p/2"])
        XCTAssertNotNil(try node.store.get("p/1"))
        XCTAssertNotNil(try node.store.get("p/3"))
        XCTAssertNil(try node.store.get("p/2"))
        XCTAssertEqual(try node.store.checkpoint(node: local.store.nodeID, epoch: local.store.epoch), 1)
        try await client.close()
        await node.stop()
    }

    func testAPeerLinkNamesTheArticleItCannotTransferAndKeepsReplicating() async throws {
        let hub = try await TestNode(self)
        try hub.store.write { w in
            try w.put(Article(id: "l/1", title: "first"))
            try w.put(Article(id: "l/2", title: "huge", body: String(repeating: "z", count: 150_000)))
        }
        let edge = try await TestNode(self) {
            $0.maxFrame = 100_000
            $0.peers = [hub.address]
        }
        try await waitUntil { try edge.store.get("l/1") != nil }
        try hub.store.write { try $0.put(Article(id: "l/3", title: "later")) }
        try await waitUntil { try edge.store.get("l/3") != nil }
        try await waitUntil { try edge.store.peerStatuses().first?.untransferable.isEmpty == false }
        XCTAssertTrue(try edge.store.peerStatuses().first?.untransferable.first?.contains("l/2") == true)
        XCTAssertTrue(edge.logs.all.contains { $0.contains("too large for one frame") && $0.contains("l/2") }, "\(edge.logs.all)")
        await edge.stop()
        await hub.stop()
    }

    func testFolioPeersKeepsTheLastSuccessAfterTheLinkDrops() async throws {
        let hub = try await TestNode(self)
        try hub.store.write { try $0.put(Article(id: "s/1", title: "x")) }
        let edge = try await TestNode(self) { $0.peers = [hub.address] }
        try await waitUntil { try edge.store.peerStatuses().first?.lastSuccess != nil }
        await hub.stop()
        try await waitUntil { try edge.store.peerStatuses().first?.connected == false }
        let status = try XCTUnwrap(edge.store.peerStatuses().first)
        XCTAssertNotNil(status.lastSuccess, "a dropped link still says when it last succeeded")
        XCTAssertNotNil(status.lastError)
        await edge.stop()
    }

    func testAPeerLinkToItsOwnStoreIsRefusedWithAClearError() async throws {
        let node = try await TestNode(self)
        let selfLink = try await TestNode(self, store: node.store) { $0.peers = [node.address] }
        try await waitUntil { try node.store.peerStatuses().first?.lastError?.contains("is this node itself") == true }
        await selfLink.server.shutdown()
        await node.stop()
    }

    func testPeerLinkRetriesBackOffExponentiallyWithJitterUpToThirtySeconds() {
        for attempt in 1...12 {
            let ceiling = min(0.2 * pow(2, Double(attempt - 1)), 30)
            for _ in 0..<20 {
                let d = PeerLink.retryDelay(attempt: attempt)
                let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                XCTAssertLessThanOrEqual(s, ceiling + 0.001, "attempt \(attempt)")
                XCTAssertGreaterThanOrEqual(s, ceiling * 0.5 - 0.001, "attempt \(attempt)")
            }
        }
        let spread = Set((0..<20).map { _ in PeerLink.retryDelay(attempt: 6) })
        XCTAssertGreaterThan(spread.count, 1, "retries are jittered")
    }

    // 5. Logs stay readable and key guessing is slowed down.

    func testFailedAuthenticationsAreAggregatedDelayedAndConnectionsLogAtDebugOnly() async throws {
        let node = try await TestNode(self) {
            $0.key = self.key
            $0.authFailureMaxDelay = .milliseconds(400)
        }
        var durations: [Double] = []
        for _ in 0..<8 {
            let started = Date()
            await XCTAssertThrowsAsync(try await FolioClient.connect(to: node.address, key: self.wrongKey)) { e in
                guard case .unauthorized? = e as? FolioClientError else { return XCTFail("\(e)") }
            }
            durations.append(Date().timeIntervalSince(started))
        }
        XCTAssertGreaterThanOrEqual(durations[6], 0.35, "the 7th failure in a row is answered late: \(durations)")
        XCTAssertGreaterThan(durations[6], durations[0] + 0.2, "the first failures are not delayed: \(durations)")
        let warnings = node.logs.all.filter { $0.hasPrefix("warning") }
        XCTAssertEqual(warnings.filter { $0.contains("authentication failed") }.count, 1, "\(warnings)")
        XCTAssertFalse(node.logs.all.contains { !$0.hasPrefix("debug") && $0.contains("connection opened") })
        // The window's summary counts what was not logged one by one.
        node.server.node.abuse.flushEndedWindows()
        let good = try await FolioClient.connect(to: node.address, key: key)
        _ = try await good.ping()
        try await good.close()
        await node.stop()
    }

    func testAConnectionWaitingForItsDelayedRefusalIsClosedWhenEvicted() async throws {
        let node = try await TestNode(self) {
            $0.key = self.key
            $0.maxPendingHandshakes = 1
            $0.authFailureMaxDelay = .seconds(5)
        }
        // Earlier failures from this address: the next answer would be held back 5 s.
        for _ in 0..<12 { _ = node.server.node.abuse.authenticationFailed(address: "127.0.0.1", loopback: true, reason: "test") }
        let started = Date()
        let (address, wrong) = (node.address, wrongKey)
        async let guess: Bool = {
            do {
                _ = try await FolioClient.connect(to: address, key: wrong)
                return false
            } catch { return true }
        }()
        try await Task.sleep(for: .milliseconds(300))  // the guesser's AUTH is sent and being held back
        let newcomer = try RawSocket(port: port(node))  // takes the only pending slot
        let refused = await guess
        XCTAssertTrue(refused, "a wrong key authenticated")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "its socket went with its slot, not 5 s later")
        _ = newcomer
        await node.stop()
    }

    func testAnAddressThatKeepsFailingIsRefusedForAWhile() async throws {
        let node = try await TestNode(self) {
            $0.key = self.key
            $0.trustLoopback = false
            $0.authFailureBlockThreshold = 3
            $0.authFailureMaxDelay = .milliseconds(10)
        }
        for _ in 0..<3 {
            await XCTAssertThrowsAsync(try await FolioClient.connect(to: node.address, key: self.wrongKey)) { _ in }
        }
        await XCTAssertThrowsAsync(try await FolioClient.connect(to: node.address, key: self.key)) { e in
            guard case let .unauthorized(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("too many failed authentications"), m)
        }
        XCTAssertTrue(node.logs.all.contains { $0.contains("refused after repeated failed authentications") })
        await node.stop()
    }

    // 6. Ids are checked on every path.

    func testEmptyAndControlCharacterIdsAreRefusedNotPassedToLMDB() async throws {
        let store = try TempStore()
        for bad in ["", "a\u{1}b", "tab\there", "c1\u{85}", String(repeating: "x", count: 401)] {
            XCTAssertThrowsError(try store.store.get(bad)) { e in
                guard case .invalidArticle? = e as? StoreError else { return XCTFail("\(e)") }
            }
            XCTAssertThrowsError(try store.store.write { try $0.delete(bad) }) { e in
                guard case .invalidArticle? = e as? StoreError else { return XCTFail("\(e)") }
            }
        }
        let node = try await TestNode(self)
        let client = try await node.client()
        for bad in ["", "a\u{7F}"] {
            await XCTAssertThrowsAsync(try await client.get(bad)) { e in
                guard case .invalidArticle? = e as? FolioClientError else { return XCTFail("\(e)") }
            }
            await XCTAssertThrowsAsync(try await client.delete(bad)) { e in
                guard case .invalidArticle? = e as? FolioClientError else { return XCTFail("\(e)") }
            }
        }
        _ = try await client.ping()
        try await client.close()
        await node.stop()
    }
}

/// Polls `condition` until it holds (or fails the test after `timeout` seconds).
func waitUntil(timeout: Double = 15, file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    XCTFail("condition not met within \(timeout) s", file: file, line: line)
}

/// A store in a temporary folder, removed when released.
final class TempStore {
    let dir = NSTemporaryDirectory() + "folio-temp-\(UUID().uuidString)"
    let store: Store
    init() throws { store = try Store.create(at: dir) }
    deinit {
        store.close()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
