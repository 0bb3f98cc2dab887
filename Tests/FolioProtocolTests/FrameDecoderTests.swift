import FolioModel
import NIOCore
import XCTest

@testable import FolioProtocol

/// Hostile and broken input at the codec level (the node tests repeat these over TCP).
final class FrameDecoderTests: XCTestCase {
    func decoderPastHello() throws -> FrameDecoder {
        var d = FrameDecoder()
        var hello = Envelope(0, GoldenVectors.all[0].3).encoded()
        _ = try d.decodeOne(&hello)
        return d
    }

    func violation(_ bytes: [UInt8], pastHello: Bool = true) -> ProtocolViolation? {
        var d = pastHello ? try! decoderPastHello() : FrameDecoder()
        var b = ByteBuffer(bytes: bytes)
        do {
            _ = try d.decodeOne(&b)
            return nil
        } catch {
            return error as? ProtocolViolation
        }
    }

    func testOversizedDeclaredLengthIsRefusedBeforeBuffering() {
        XCTAssertEqual(violation([0xFF, 0xFF, 0xFF, 0xFF, 0x11, 0, 0, 0, 1])?.code, .tooLarge)
        // Only the 4-byte length is needed to refuse it.
        var d = try! decoderPastHello()
        var b = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try d.decodeOne(&b)) { XCTAssertEqual(($0 as? ProtocolViolation)?.code, .tooLarge) }
        // Request id 0 even with the header in: a `tooLarge` naming a request answers it.
        XCTAssertEqual(violation([0x01, 0x10, 0x00, 0x01, 0x17, 0, 0, 0, 5])?.requestID, 0)
    }

    func testPartialFramesWaitForMoreData() throws {
        let full = Array(Envelope(9, .get(id: "abc", allVersions: true)).encoded().readableBytesView)
        for cut in 0..<full.count {
            var d = try decoderPastHello()
            var b = ByteBuffer(bytes: full[0..<cut])
            XCTAssertNil(try d.decodeOne(&b), "cut at \(cut)")
        }
    }

    func testUnknownTypeBadLengthsAndTrailingBytes() {
        XCTAssertEqual(violation([0, 0, 0, 5, 0x77, 0, 0, 0, 3])?.code, .unknownType)
        XCTAssertEqual(violation([0, 0, 0, 5, 0x77, 0, 0, 0, 3])?.requestID, 3)
        XCTAssertEqual(violation([0, 0, 0, 4, 0x10, 0, 0, 0])?.code, .badFrame)
        // GET whose id length (0x100) overruns the frame.
        XCTAssertEqual(violation([0, 0, 0, 10, 0x11, 0, 0, 0, 1, 0, 0, 1, 0, 0x61])?.code, .badFrame)
        // PING with 2 extra bytes.
        XCTAssertEqual(violation([0, 0, 0, 15, 0x10, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 10))?.code, .badFrame)
        // A list count that cannot fit.
        XCTAssertEqual(violation([0, 0, 0, 9, 0x96, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF])?.code, .badFrame)
    }

    func testInvalidUTF8() {
        XCTAssertEqual(violation([0, 0, 0, 12, 0x11, 0, 0, 0, 1, 0, 0, 0, 2, 0xC3, 0x28, 0])?.code, .invalidUTF8)
    }

    func testTheConnectionMustOpenWithHello() {
        XCTAssertEqual(violation(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), pastHello: false)?.code, .badMagic)
        XCTAssertEqual(violation(Array(Envelope(1, .stats).encoded().readableBytesView), pastHello: false)?.code, .handshakeRequired)
        XCTAssertEqual(violation(Array(Envelope(7, .stats).encoded().readableBytesView), pastHello: false)?.requestID, 7)
        // A request declaring more than the pre-auth limit is still "handshake required",
        // refused from its header alone; a header cut short waits for the request id.
        XCTAssertEqual(violation([0, 0, 0x13, 0x88, 0x17, 0, 0, 0, 1], pastHello: false), ProtocolViolation(.handshakeRequired, "search before HELLO: the connection must open with a HELLO", requestID: 1))
        var d = FrameDecoder()
        var b = ByteBuffer(bytes: [0, 0, 0x13, 0x88, 0x17, 0, 0])
        XCTAssertNil(try d.decodeOne(&b))
        var hello = Array(Envelope(0, GoldenVectors.all[0].3).encoded().readableBytesView)
        hello[9] = 0x58  // break the magic
        XCTAssertEqual(violation(hello, pastHello: false)?.code, .badMagic)
    }

    /// Random mutations of every golden frame (seeded, so a failure replays): each outcome is
    /// a frame that re-encodes to exactly the bytes it consumed, a wait for more bytes (nothing
    /// consumed, the declared length not yet there), or a `ProtocolViolation` — never another
    /// error, never a crash.
    func testRandomInputIsAFrameAWaitOrAViolation() throws {
        var rng = SplitMix64(seed: 0x5EED_F01F)
        let seeds = GoldenVectors.all.map { Array(Envelope($0.2, $0.3).encoded().readableBytesView) }
        var outcomes = (frames: 0, waits: 0, violations: 0)
        for i in 0..<3000 {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[at] = UInt8.random(in: 0...255, using: &rng)
            }
            var d = FrameDecoder()
            if i % 2 == 0 { var h = Envelope(0, GoldenVectors.all[0].3).encoded(); _ = try d.decodeOne(&h) }
            var b = ByteBuffer(bytes: bytes)
            do {
                if let envelope = try d.decodeOne(&b) {
                    outcomes.frames += 1
                    let consumed = bytes.count - b.readableBytes
                    var expected = Array(bytes[0..<consumed])
                    // SPEC §7: an unknown error code is read as `internal` — the one rewrite allowed.
                    if case .error(.internal, _) = envelope.message, ErrorCode(rawValue: UInt16(expected[9]) << 8 | UInt16(expected[10])) == nil {
                        expected[9] = 0
                        expected[10] = UInt8(ErrorCode.internal.rawValue)
                    }
                    XCTAssertEqual(Array(envelope.encoded().readableBytesView), expected, "case \(i): a decoded frame re-encodes as it came")
                } else {
                    outcomes.waits += 1
                    XCTAssertEqual(b.readableBytes, bytes.count, "case \(i): a wait consumes nothing")
                }
            } catch is ProtocolViolation {
                outcomes.violations += 1
            } catch {
                XCTFail("case \(i): \(error) is not a ProtocolViolation")
            }
        }
        // The mutations exercise all three outcomes.
        XCTAssertGreaterThan(outcomes.frames, 0)
        XCTAssertGreaterThan(outcomes.waits, 0)
        XCTAssertGreaterThan(outcomes.violations, 0)
    }
}
