import FolioModel
import Foundation
import NIOCore
import XCTest
import Crypto

@testable import FolioProtocol

final class GoldenVectorTests: XCTestCase {
    func testEveryMessageTypeHasAVector() {
        let covered = Set(GoldenVectors.all.map { $0.3.kind })
        XCTAssertEqual(covered, Set(Message.Kind.allCases))
    }

    /// Each golden frame decodes to the expected message and re-encodes byte for byte.
    func testGoldenFramesDecodeAndReencode() throws {
        let write = ProcessInfo.processInfo.environment["FOLIO_WRITE_VECTORS"] == "1"
        for (name, description, requestID, message) in GoldenVectors.all {
            let url = GoldenVectors.directory.appendingPathComponent(name + ".hex")
            if write {
                try GoldenVectors.render(description, requestID, message).write(to: url, atomically: true, encoding: .utf8)
            }
            let bytes = GoldenVectors.parse(try String(contentsOf: url, encoding: .utf8))
            var buffer = ByteBuffer(bytes: bytes)
            if case .deflated = message {
                // Another zlib may deflate the same payload into other bytes: the frame must
                // re-encode as read, and inflate to the message it carries.
                var frame = buffer.getSlice(at: 9, length: bytes.count - 9)!
                let raw = try Message.decode(type: bytes[4], payload: &frame)
                XCTAssertEqual(Array(Envelope(requestID, raw).encoded().readableBytesView), bytes, "\(name) re-encodes byte for byte")
                let limits = FrameLimits(inbound: FrameDecoder.defaultMaxFrame)
                limits.acceptsDeflated = true
                var decoder = FrameDecoder(limits: limits)
                var hello = Envelope(0, GoldenVectors.all[0].3).encoded()
                _ = try decoder.decodeOne(&hello)
                XCTAssertEqual(try decoder.decodeOne(&buffer), Envelope(requestID, GoldenVectors.deflatedInner), name)
                continue
            }
            var decoder = FrameDecoder()
            if message.kind != .hello && message.kind != .error {
                // Past the handshake: prime the decoder with a HELLO first.
                var hello = Envelope(0, GoldenVectors.all[0].3).encoded()
                _ = try decoder.decodeOne(&hello)
            }
            let envelope = try XCTUnwrap(try decoder.decodeOne(&buffer), name)
            XCTAssertEqual(buffer.readableBytes, 0, name)
            XCTAssertEqual(envelope.requestID, requestID, name)
            XCTAssertEqual(envelope.message, message, name)
            XCTAssertEqual(Array(envelope.encoded().readableBytesView), bytes, "\(name) re-encodes byte for byte")
        }
    }

    /// The worked session in SPEC §10 decodes frame by frame, as a peer would see it.
    func testWorkedSessionExample() throws {
        let url = GoldenVectors.directory.appendingPathComponent("session-example.hex")
        if ProcessInfo.processInfo.environment["FOLIO_WRITE_VECTORS"] == "1" {
            let text = GoldenVectors.session.map { GoldenVectors.render($0.0, $0.1, $0.2) }.joined(separator: "\n")
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        var buffer = ByteBuffer(bytes: GoldenVectors.parse(try String(contentsOf: url, encoding: .utf8)))
        // Each direction has its own decoder; both open with a HELLO.
        var toNode = FrameDecoder(), toClient = FrameDecoder()
        for (i, (_, id, message)) in GoldenVectors.session.enumerated() {
            let envelope = i % 2 == 0 ? try toNode.decodeOne(&buffer) : try toClient.decodeOne(&buffer)
            XCTAssertEqual(envelope, Envelope(id, message))
        }
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testAuthenticationProofs() throws {
        let key = try SharedKey(bytes: Array(0..<32))
        let other = try SharedKey(bytes: Array(1..<33))
        let c = Array<UInt8>(0..<32), s = Array<UInt8>(32..<64), b = Array<UInt8>(64..<96)
        let proof = key.clientProof(clientNonce: c, serverNonce: s, binding: b)
        XCTAssertTrue(key.verifyClient(proof, clientNonce: c, serverNonce: s, binding: b))
        XCTAssertFalse(other.verifyClient(proof, clientNonce: c, serverNonce: s, binding: b), "a different key fails")
        XCTAssertFalse(key.verifyClient(proof, clientNonce: s, serverNonce: c, binding: b), "swapped nonces fail")
        XCTAssertFalse(key.verifyClient(proof, clientNonce: c, serverNonce: s, binding: Array(65..<97)), "another certificate (a relay's) fails")
        XCTAssertFalse(key.verifyServer(proof, clientNonce: c, serverNonce: s, binding: b), "a client proof is not a server proof")
        XCTAssertNotEqual(proof, key.serverProof(clientNonce: c, serverNonce: s, binding: b))
        // The construction exactly as SPEC §4.2 writes it: HMAC over the
        // label, both nonces and the binding, as SPEC §4.2 writes it.
        let expected = HMAC<SHA256>.authenticationCode(for: Array("folio-auth-v2 client".utf8) + c + s + b, using: SymmetricKey(data: Array<UInt8>(0..<32)))
        XCTAssertEqual(proof, Array(expected))
        XCTAssertThrowsError(try SharedKey(bytes: [1, 2, 3]))
        XCTAssertEqual(SharedKey.generateHex().count, 64)
    }

    func testVersionNegotiation() {
        XCTAssertEqual(Hello.negotiate([1, 2, 3], [2, 3, 4]), 3)
        XCTAssertNil(Hello.negotiate([1], [2]))
    }
}

/// One failure vocabulary (FailureKind): every ERROR code maps to a kind and back to a code of
/// the same kind, so node, client and CLI agree on what went wrong.
final class FailureVocabularyTests: XCTestCase {
    func testEveryErrorCodeRoundTripsThroughItsKind() {
        for code in ErrorCode.allCases {
            XCTAssertEqual(ErrorCode(code.kind).kind, code.kind, "\(code)")
        }
        for kind in FailureKind.allCases where kind != .usage && kind != .unavailable {
            XCTAssertEqual(ErrorCode(kind).kind, kind, "\(kind)")
        }
    }

    func testOneAddressParserWithFolioPort() throws {
        XCTAssertEqual(try NodeAddress("example.org").port, 7070)
        XCTAssertEqual(try NodeAddress("[::1]").host, "::1")
        XCTAssertEqual(try NodeAddress("[::1]:9").port, 9)
        XCTAssertEqual(try NodeAddress("h:0", listening: true).port, 0)
        for bad in ["h:0", ":7070", "::1", "h:70000", "h:x", "[::1", "[::1]x", "h :1", ""] {
            XCTAssertThrowsError(try NodeAddress(bad), bad)
        }
    }
}
