import CompressNIO
import FolioModel
import NIOCore
import XCTest

@testable import FolioProtocol

/// DEFLATED frames (SPEC §2.1): accepted only when announced, inflated never past the max
/// frame, and every malformed one refused with a precise violation, never a trap.
final class DeflatedFrameTests: XCTestCase {
    /// A decoder past the handshake; `accepts` says whether this side announced `deflate`.
    func decoder(accepts: Bool = true, maxFrame: UInt32 = FrameDecoder.defaultMaxFrame) throws -> FrameDecoder {
        let limits = FrameLimits(inbound: maxFrame)
        limits.acceptsDeflated = accepts
        var d = FrameDecoder(limits: limits)
        var hello = Envelope(0, GoldenVectors.all[0].3).encoded()
        _ = try d.decodeOne(&hello)
        return d
    }

    func decode(_ frame: ByteBuffer, accepts: Bool = true, maxFrame: UInt32 = FrameDecoder.defaultMaxFrame) throws -> Envelope? {
        var d = try decoder(accepts: accepts, maxFrame: maxFrame)
        var b = frame
        return try d.decodeOne(&b)
    }

    func violation(_ frame: ByteBuffer, accepts: Bool = true, maxFrame: UInt32 = FrameDecoder.defaultMaxFrame) -> ProtocolViolation? {
        do {
            _ = try decode(frame, accepts: accepts, maxFrame: maxFrame)
            return nil
        } catch {
            return error as? ProtocolViolation
        }
    }

    /// A FETCHED of `n` prose-like articles (what compression is for).
    func fetched(_ n: Int) -> Message {
        let words = ["harbour", "strike", "council", "ferry", "tuesday", "wage", "union", "container", "port", "minister"]
        var rng = SystemRandomNumberGenerator()
        let states = (0..<n).map { i -> ArticleState in
            let body = (0..<400).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            let a = Article(id: "wire/\(i)", title: "Report \(i)", source: "Nordic Wire", body: body)
            let v = Version(
                dot: Dot(node: NodeID(7), counter: UInt64(i + 1)), context: [:], timestamp: 1_795_925_309_062,
                content: VersionContent(title: a.title, source: a.source, url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: body), bodyLength: body.utf8.count))
            return ArticleState(id: a.id, seq: UInt64(i + 1), versions: VersionSet(versions: [v]), bodies: [BodyHash(of: body): body])
        }
        return .fetched(states)
    }

    /// A DEFLATED frame with the given fields, whatever they are.
    func frame(inner: UInt8, length: UInt32, data: [UInt8], requestID: UInt32 = 5) -> ByteBuffer {
        Envelope(requestID, .deflated(DeflatedMessage(innerType: inner, inflatedLength: length, data: ByteBuffer(bytes: data)))).encoded()
    }

    func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var b = ByteBuffer(bytes: bytes)
        return Array(try b.compress(with: .deflate()).readableBytesView)
    }

    /// `bytes` deflated and flushed (every byte out) but never finished: no final block.
    func syncFlushed(_ bytes: [UInt8]) throws -> [UInt8] {
        let c = try ZlibCompressor(algorithm: .deflate)
        var input = ByteBuffer(bytes: bytes)
        var out = ByteBufferAllocator().buffer(capacity: bytes.count * 2 + 1024)
        try c.deflate(from: &input, to: &out, flush: .sync)
        return Array(out.readableBytesView)
    }

    /// `bytes` with a zlib header and trailer around the deflate stream.
    func zlibWrapped(_ bytes: [UInt8]) throws -> [UInt8] {
        var b = ByteBuffer(bytes: bytes)
        return Array(try b.compress(with: .zlib()).readableBytesView)
    }

    func payload(_ m: Message) -> [UInt8] {
        var b = ByteBuffer()
        m.encodePayload(into: &b)
        return Array(b.readableBytesView)
    }

    func testALargeAnswerRoundTripsAtAFractionOfItsSize() throws {
        let m = fetched(20)
        let d = try XCTUnwrap(DeflatedMessage.compressing(m))
        XCTAssertEqual(Int(d.inflatedLength), payload(m).count)
        XCTAssertLessThan(d.data.readableBytes * 3, Int(d.inflatedLength), "repetitive prose deflates to under a third")
        XCTAssertEqual(try decode(Envelope(9, .deflated(d)).encoded()), Envelope(9, m), "the receiver sees the message, plain")
        // Requests travel deflated the same way (a pusher's APPLY).
        let apply = Message.apply(node: NodeID(7), epoch: "e", upTo: 20, articles: { if case let .fetched(s) = m { return s } else { return [] } }())
        let da = try XCTUnwrap(DeflatedMessage.compressing(apply))
        XCTAssertEqual(try decode(Envelope(10, .deflated(da)).encoded())?.message, apply)
    }

    func testSmallIncompressibleAndConnectionLevelMessagesTravelPlain() {
        XCTAssertNil(DeflatedMessage.compressing(.ping(1)), "under the minimum length")
        let hashes = (0..<200).map { BodyHash(of: "body \($0)") }
        XCTAssertNil(DeflatedMessage.compressing(.want(ids: [], have: hashes)), "SHA-256 digests save less than an eighth")
        let hello = Hello(nodeID: NodeID(1), software: String(repeating: "x", count: 3000), features: [], nonce: Array(repeating: 0, count: 32), maxFrame: 1 << 20)
        XCTAssertNil(DeflatedMessage.compressing(.hello(hello)), "connection-level messages never travel deflated")
    }

    func testADeflatedFrameIsRefusedUnlessThisSideAnnouncedDeflate() throws {
        let d = try XCTUnwrap(DeflatedMessage.compressing(fetched(5)))
        let v = violation(Envelope(3, .deflated(d)).encoded(), accepts: false)
        XCTAssertEqual(v?.code, .badFrame)
        XCTAssertEqual(v?.requestID, 3)
        XCTAssertTrue(v?.message.contains("did not announce") == true, v?.message ?? "")
        // Nor before the handshake: the connection must open with a HELLO.
        var fresh = FrameDecoder()
        var b = Envelope(0, .deflated(d)).encoded()
        XCTAssertThrowsError(try fresh.decodeOne(&b)) { XCTAssertEqual(($0 as? ProtocolViolation)?.code, .badMagic) }
    }

    func testItNeverInflatesPastTheMaxFrameNorMoreThanThirtyTwoFold() throws {
        // 1 MiB of zeros deflates to about a kilobyte: a decompression bomb.
        let inner = Message.error(code: .internal, message: String(repeating: "\0", count: 1 << 20))
        let bomb = try DeflatedMessage(deflating: inner)
        XCTAssertLessThan(bomb.data.readableBytes, 8192)
        let v = violation(Envelope(1, .deflated(bomb)).encoded())
        XCTAssertEqual(v?.code, .badFrame)
        XCTAssertTrue(v?.message.contains("more than 32×") == true, v?.message ?? "")
        XCTAssertNil(DeflatedMessage.compressing(inner), "a sender sends what deflates that well plain")
        // Within the ratio but over the max frame: refused before inflating.
        let big = frame(inner: 0xA1, length: 100_000, data: (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        XCTAssertEqual(violation(big, maxFrame: 1 << 16)?.code, .tooLarge)
        // A stream declaring a small length is caught when it inflates to more.
        var zeros = ByteBuffer(bytes: [UInt8](repeating: 0, count: 5000))
        let z = Array(try zeros.compress(with: .deflate()).readableBytesView)
        let lying = frame(inner: 0xFF, length: 100, data: z)
        let l = violation(lying)
        XCTAssertEqual(l?.code, .badFrame)
        XCTAssertTrue(l?.message.contains("more than the 100 bytes") == true, l?.message ?? "")
    }

    func testMalformedDeflatedFramesAreRefusedPrecisely() throws {
        let m = fetched(3)
        let p = payload(m)
        let data = try deflate(p)
        let n = UInt32(p.count)
        XCTAssertNotNil(try decode(frame(inner: 0xA1, length: n, data: data)), "the well-formed frame decodes")
        let cases: [(String, ByteBuffer, String)] = [
            ("declares more than it holds", frame(inner: 0xA1, length: n + 1, data: data), "inflates to"),
            ("declares less than it holds", frame(inner: 0xA1, length: n - 1, data: data), "inflates to"),
            ("bytes after the stream", frame(inner: 0xA1, length: n, data: data + [1, 2, 3]), "follow the deflate stream"),
            ("truncated stream", frame(inner: 0xA1, length: n, data: Array(data.prefix(data.count / 2))), "ends before its final block"),
            ("garbage", frame(inner: 0xA1, length: n, data: [UInt8](repeating: 0xFF, count: 400)), "not a complete raw deflate stream"),
            ("a stream without its final block", frame(inner: 0xA1, length: n, data: try syncFlushed(p)), "ends before its final block"),
            ("a zlib header", frame(inner: 0xA1, length: n, data: try zlibWrapped(p)), "not a complete raw deflate stream"),
            ("HELLO inside", frame(inner: 0x01, length: n, data: data), "may not carry type 0x1"),
            ("DEFLATED inside", frame(inner: 0x04, length: n, data: data), "may not carry type 0x4"),
            ("unknown inner type", frame(inner: 0x7E, length: n, data: data), "unknown message type"),
            ("inner payload that is not its type's", frame(inner: 0x10, length: n, data: data), "unexpected bytes after"),
        ]
        for (what, f, says) in cases {
            let v = violation(f)
            XCTAssertNotNil(v, what)
            XCTAssertTrue(v?.message.contains(says) == true, "\(what): \(v?.message ?? "accepted")")
            XCTAssertEqual(v?.requestID, 5, "\(what): the violation names the frame's request id")
        }
        // A payload too short for the inner type and length.
        var short = ByteBuffer()
        short.writeInteger(UInt32(7))
        short.writeInteger(UInt8(0x04))
        short.writeInteger(UInt32(5))
        short.writeInteger(UInt8(0xA1))
        short.writeInteger(UInt8(0))
        XCTAssertEqual(violation(short)?.code, .badFrame)
    }

    /// Arbitrary fields and bytes (deflated noise, mutated valid streams): every frame is
    /// either a message or a violation, never a trap or an allocation past the limit.
    func testArbitraryDeflatedFramesNeverTrap() throws {
        var rng = SystemRandomNumberGenerator()
        let valid = try deflate(payload(fetched(2)))
        var accepted = 0
        for i in 0..<3000 {
            var data: [UInt8]
            switch i % 3 {
            case 0: data = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                data = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) { data[Int.random(in: 0..<data.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            default: data = try deflate((0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...3, using: &rng) })
            }
            let inner = [0x10, 0x11, 0x16, 0x21, 0x24, 0x91, 0xA1, 0xFF, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng)!
            let length = [UInt32.random(in: 0...5000, using: &rng), UInt32.max, UInt32.max - 4, 1 << 16].randomElement(using: &rng)!
            do {
                if try decode(frame(inner: inner, length: length, data: data), maxFrame: 1 << 16) != nil { accepted += 1 }
            } catch is ProtocolViolation {
            }
        }
        XCTAssertLessThan(accepted, 3000)
    }
}
