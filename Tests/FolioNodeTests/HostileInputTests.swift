import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import Foundation
import NIOCore
import XCTest

/// Raw sockets against a real node on 127.0.0.1: each hostile input gets the specified ERROR
/// frame and a close, while a well-behaved client keeps being served and no committed write
/// is lost.
final class HostileInputTests: XCTestCase {
    var node: TestNode!
    var good: FolioClient!
    var port: Int { Int(node.address.split(separator: ":")[1])! }

    override func setUp() async throws {
        node = try await TestNode(self) {
            $0.idleTimeout = .milliseconds(600)
            $0.heartbeatInterval = .milliseconds(150)
        }
        good = try await node.client()
        try await good.put(Article(id: "committed", title: "must survive", body: "safe"))
    }

    override func tearDown() async throws {
        // The good client was served throughout, and the committed write is intact.
        let state = try await good.get("committed")
        XCTAssertEqual(state.article?.body, "safe")
        try await good.close()
        XCTAssertTrue(try node.store.verify().isClean)
        await node.stop()
    }

    /// Sends `bytes` (after a HELLO when `handshake`), expects an ERROR with `code`, then EOF.
    func expect(_ code: ErrorCode, handshake: Bool = true, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) async throws {
        let raw = try RawSocket(port: port)
        if handshake { raw.sendHello() }
        raw.send(bytes)
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed, "the node closes the connection", file: file, line: line)
        XCTAssertEqual(frames.last?.errorCode, code, "\(frames.map(\.message.kind))", file: file, line: line)
        _ = try await good.ping()
    }

    func testDeclaredLengthOfFFFFFFFF() async throws {
        try await expect(.tooLarge, [0xFF, 0xFF, 0xFF, 0xFF, 0x11, 0, 0, 0, 1])
    }

    func testUnknownMessageType() async throws {
        try await expect(.unknownType, [0, 0, 0, 5, 0x6E, 0, 0, 0, 1])
    }

    func testInnerLengthsOverrunTheFrame() async throws {
        // GET whose id claims 1000 bytes in a 10-byte frame.
        try await expect(.badFrame, [0, 0, 0, 10, 0x11, 0, 0, 0, 1, 0, 0, 0x03, 0xE8, 0x61])
    }

    func testInvalidUTF8() async throws {
        try await expect(.invalidUTF8, [0, 0, 0, 12, 0x11, 0, 0, 0, 1, 0, 0, 0, 2, 0xC3, 0x28, 0])
    }

    func testRequestBeforeHandshake() async throws {
        try await expect(.handshakeRequired, handshake: false, Array(Envelope(1, .stats).encoded().readableBytesView))
    }

    func testHTTPRequestLine() async throws {
        try await expect(.badMagic, handshake: false, Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
    }

    func testTruncatedFrameThenClose() async throws {
        let raw = try RawSocket(port: port)
        raw.sendHello()
        let put = Array(Envelope(1, .put(Article(id: "half", title: "never"), context: nil)).encoded().readableBytesView)
        raw.send(Array(put.prefix(put.count / 2)))
        _ = raw.read(frames: 1)  // the node's HELLO
        shutdown(raw.fd, Int32(SHUT_RDWR))
        try await Task.sleep(for: .milliseconds(100))
        _ = try await good.ping()
        XCTAssertNil(try node.store.get("half"), "half a frame is never applied")
    }

    func testFrameStalledHalfWayIsFreedByTheIdleTimeout() async throws {
        let raw = try RawSocket(port: port)
        raw.sendHello()
        let put = Array(Envelope(1, .put(Article(id: "stalled", title: "t"), context: nil)).encoded().readableBytesView)
        raw.send(Array(put.prefix(20)))
        let start = Date()
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.last?.errorCode, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(start), 4)
        XCTAssertNil(try node.store.get("stalled"))
    }

    func testAnIdleButHealthyClientIsKeptAliveByHeartbeats() async throws {
        try await Task.sleep(for: .milliseconds(1500))  // longer than the idle timeout
        _ = try await good.ping()
    }

    func testRandomGarbageNeverTakesTheNodeDown() async throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<30 {
            let raw = try RawSocket(port: port, receiveTimeout: 2)
            if Bool.random(using: &rng) { raw.sendHello() }
            raw.send((0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            shutdown(raw.fd, Int32(SHUT_WR))
            _ = raw.readUntilClosed()
        }
        _ = try await good.ping()
    }
}

/// A client that pipelines requests but never reads: the node must stop reading from it
/// (backpressure through TCP) instead of buffering answers without bound.
final class BackpressureTests: XCTestCase {
    func testASlowReaderIsThrottledNotBuffered() async throws {
        let node = try await TestNode(self)
        let good = try await node.client()
        try await good.put(Article(id: "big", title: "big", body: String(repeating: "b", count: 200_000)))
        let raw = try RawSocket(port: Int(node.address.split(separator: ":")[1])!)
        raw.sendHello()
        _ = raw.read(frames: 1)
        // Non-blocking: count how much the node accepts before the connection stalls.
        let flags = fcntl(raw.fd, F_GETFL, 0)
        _ = fcntl(raw.fd, F_SETFL, flags | O_NONBLOCK)
        var request = Array(Envelope(1, .get(id: "big", allVersions: false)).encoded().readableBytesView)
        var chunk: [UInt8] = []
        for i in 0..<1000 {
            request[5..<9] = ArraySlice(withUnsafeBytes(of: UInt32(i + 1).bigEndian, Array.init))
            chunk += request
        }
        var accepted = 0
        var stalledAt: Date?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let n = chunk.withUnsafeBytes { send(raw.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                accepted += n
                stalledAt = nil
            } else {
                if stalledAt == nil { stalledAt = Date() }
                if Date().timeIntervalSince(stalledAt!) > 1 { break }  // stalled for a second: backpressure
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let requestsAccepted = accepted / request.count
        // Without backpressure the node would read every request and queue 200 KB per answer.
        XCTAssertNotNil(stalledAt, "the node kept reading from a client that never reads")
        // What the client got to send is at most what the kernel buffers on both sides hold,
        // plus what the node read before it stopped (its in-flight cap, a few reads' worth).
        func maxBuffer(_ path: String) -> Int {
            (try? String(contentsOfFile: path, encoding: .utf8))?.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? (8 << 20)
        }
        let kernel = maxBuffer("/proc/sys/net/ipv4/tcp_rmem") + maxBuffer("/proc/sys/net/ipv4/tcp_wmem")
        let nodeSide = 2 << 20
        XCTAssertLessThan(accepted, kernel + nodeSide, "the node read \(requestsAccepted) requests from a client that reads nothing")
        // Meanwhile other clients are served promptly.
        let start = Date()
        _ = try await good.get("big")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        raw.reset()
        try await good.close()
        await node.stop()
    }
}

/// A node that answers one connection's SEARCH with `hits`, whatever was asked (plaintext, on
/// loopback, keyless): what a client gets from a buggy or lying node.
final class LyingSearchNode: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchGroup()

    init(hits: [SearchHit]) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &len) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let fd = listener
        DispatchQueue.global().async(group: done) {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            defer { close(c) }
            var decoder = FrameDecoder()
            var pending = ByteBuffer()
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            func send(_ e: Envelope) { _ = Array(e.encoded().readableBytesView).withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            while true {
                let n = recv(c, &buf, buf.count, 0)
                if n <= 0 { return }
                pending.writeBytes(buf[0..<n])
                while let e = try? decoder.decodeOne(&pending) {
                    switch e.message {
                    case .hello:
                        send(Envelope(0, .hello(Hello(nodeID: NodeID(0x1234), software: "liar", features: [.search], nonce: Hello.freshNonce(), maxFrame: 1 << 24))))
                    case .search:
                        send(Envelope(e.requestID, .searchResults(hits)))
                    case let .ping(t):
                        send(Envelope(e.requestID, .pong(t)))
                    default:
                        return
                    }
                }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

final class LyingNodeTests: XCTestCase {
    func hit(_ id: String, _ score: Double) -> SearchHit {
        SearchHit(id: id, score: score, title: "t", source: "s", published: "", snippet: "x")
    }

    /// The client checks what SPEC §6.2 promises of SEARCH_RESULTS: no more hits than asked
    /// for, best first, ties by id as bytes, none twice. A node that breaks it is a protocol
    /// error, not a result.
    func testAClientRefusesSearchResultsTheSpecForbids() async throws {
        let cases: [(String, [SearchHit], UInt32, String?)] = [
            ("more than the limit", (0..<6).map { hit("a\($0)", 1) }, 5, "over the 5 asked for"),
            ("worse first", [hit("a", 1), hit("b", 2)], 5, "out of order"),
            ("one id twice", [hit("a", 1), hit("b", 1), hit("a", 1)], 5, "twice"),
            ("ties in another order", [hit("b", 1), hit("a", 1)], 5, nil),
            ("as the spec says", [hit("z", 3), hit("a", 1), hit("b", 1), hit("é", 1)], 5, nil),
        ]
        for (what, hits, limit, refusal) in cases {
            let liar = try LyingSearchNode(hits: hits)
            let client = try await FolioClient.connect(to: "127.0.0.1:\(liar.port)")
            do {
                let got = try await client.search("port", limit: limit)
                XCTAssertNil(refusal, what)
                XCTAssertEqual(got.map(\.id), hits.map(\.id), what)
            } catch {
                guard let refusal else {
                    XCTFail("\(what): \(error)")
                    continue
                }
                guard case let .protocolError(why) = error else {
                    XCTFail("\(what): \(error)")
                    continue
                }
                XCTAssertTrue(why.contains(refusal), "\(what): \(why)")
            }
            try? await client.close()
        }
    }
}
