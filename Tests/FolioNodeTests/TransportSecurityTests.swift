import Crypto
import FolioModel
import FolioStore
import FolioClient
@testable import FolioNode
import FolioProtocol
import FolioSync
import FolioTransport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SwiftASN1
import X509
import XCTest

/// Links that nobody on the path can read or tamper with (SPEC §4.0, §4.2, §11).
final class TransportSecurityTests: XCTestCase {
    let key = try! SharedKey(bytes: (0..<32).map { UInt8($0) &+ 7 })
    let newKey = try! SharedKey(bytes: (0..<32).map { UInt8($0) &+ 8 })
    let strangerKey = try! SharedKey(bytes: (0..<32).map { UInt8($0) &+ 99 })
    let marker = "UNMISTAKABLE-\(UUID().uuidString)"

    // MARK: An on-path observer or tamperer

    func testAProxyOnTheWireSeesNoArticleTextWhenTheLinkHasAKey() async throws {
        // Control: on a keyless loopback node the same proxy does see the text, so the check can fail.
        let plain = try await TestNode(self)
        let plainProxy = try await TestProxy(to: plain.address)
        let c0 = try await FolioClient.connect(to: plainProxy.address)
        try await c0.put(Article(id: "p/1", title: marker, body: "body " + marker))
        try await c0.close()
        XCTAssertTrue(plainProxy.captured.contains(marker), "the control proxy sees plaintext")
        await plainProxy.stop()
        await plain.stop()

        let node = try await TestNode(self) { $0.key = self.key }
        let proxy = try await TestProxy(to: node.address)
        let client = try await FolioClient.connect(to: proxy.address, key: key)
        try await client.put(Article(id: "s/1", title: marker, body: "body " + marker, tags: [marker]))
        let back = try await client.get("s/1")
        XCTAssertEqual(back.article?.title, marker, "the link works through the proxy")
        try await client.close()
        await proxy.stop()
        let seen = proxy.captured
        XCTAssertGreaterThan(seen.count, 1000, "the proxy carried the whole exchange")
        XCTAssertFalse(seen.contains(marker), "article text crossed the wire in clear")
        XCTAssertFalse(seen.contains("FOLI"), "not even the HELLO magic is visible")
        await node.stop()
    }

    func testAFlippedByteEndsTheConnectionAndChangesNeitherStore() async throws {
        let node = try await TestNode(self) { $0.key = self.key }
        try await { let c = try await node.client(key: key); try await c.put(Article(id: "n/seed", title: "seed", body: marker)); try await c.close() }()
        // Client → node: a byte of the PUT's TLS record is flipped after the handshake.
        let toNode = try await TestProxy(to: node.address, flip: .clientToNode)
        let client = try await FolioClient.connect(to: toNode.address, key: key)
        toNode.armFlip()
        // (A plain request: `put` would reconnect and retry, and rightly land the write.)
        await XCTAssertThrowsAsync(try await client.request(.put(Article(id: "n/tampered", title: "t", body: "tampered"), context: nil))) { e in
            XCTAssertNotNil(e as? FolioClientError, "\(e)")
        }
        try? await client.close()
        XCTAssertNil(try node.store.get("n/tampered"), "nothing of the altered frame reached the store")
        XCTAssertEqual(try node.store.lastSequence(), 1)
        // `put` through the same tampering proxy: the first attempt dies, the retry lands once.
        let retrying = try await FolioClient.connect(to: toNode.address, key: key)
        toNode.armFlip()
        try await retrying.put(Article(id: "n/retried", title: "t", body: "intended"))
        XCTAssertEqual(try node.store.get("n/retried", bodies: .all)?.bodies[BodyHash(of: "intended")], "intended")
        XCTAssertEqual(try node.store.lastSequence(), 2)
        try await retrying.close()

        // Node → client: a pull through a proxy that flips a byte of the answer changes nothing here.
        let local = try Store.create(at: NSTemporaryDirectory() + "folio-local-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: local.path) }
        let toClient = try await TestProxy(to: node.address, flip: .nodeToClient)
        var options = FolioClient.Options(key: key)
        options.nodeID = local.nodeID
        let puller = try await FolioClient.connect(to: toClient.address, options: options)
        toClient.armFlip()
        await XCTAssertThrowsAsync(try await Replicator(store: local).pull(from: puller)) { _ in }
        try? await puller.close()
        XCTAssertEqual(try local.lastSequence(), 0, "the pulling store is unchanged")
        XCTAssertTrue(try local.verify().isClean)
        XCTAssertTrue(try node.store.verify().isClean)
        local.close()
        await toNode.stop()
        await toClient.stop()
        // And the node still serves everyone else.
        let good = try await node.client(key: key)
        let seed = try await good.get("n/seed")
        XCTAssertEqual(seed.article?.body, marker)
        try await good.close()
        await node.stop()
    }

    func testARelayThatEndsTLSCannotForwardAHandshakeEvenWithAValidClientBehindIt() async throws {
        let node = try await TestNode(self) { $0.key = self.key }
        let relay = try await TLSRelay(to: node.address)
        await XCTAssertThrowsAsync(try await FolioClient.connect(to: relay.address, key: self.key)) { e in
            guard case let .unauthorized(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("relay"), m)
        }
        XCTAssertTrue(relay.sawPlaintext, "the relay did sit in the middle of the handshake")
        XCTAssertTrue(node.logs.all.contains { $0.contains("authentication failed") }, "\(node.logs.all)")
        await relay.stop()
        await node.stop()
    }

    // MARK: Choosing the transport

    func testAPlaintextClientOfAKeyedNodeAndAKeyedClientOfAPlaintextNodeAreToldWhy() async throws {
        let keyed = try await TestNode(self) { $0.key = self.key }
        await XCTAssertThrowsAsync(try await keyed.client()) { e in
            guard case let .unauthorized(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("requires TLS") && m.contains("--key-file"), m)
        }
        let raw = try RawSocket(port: Int(keyed.address.split(separator: ":")[1])!)
        raw.sendHello()
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.first?.errorCode, .unauthorized, "a plaintext HELLO gets one plaintext ERROR, no HELLO")
        await keyed.stop()

        let plain = try await TestNode(self)
        await XCTAssertThrowsAsync(try await plain.client(key: self.key)) { e in
            guard case let .unauthorized(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("plaintext"), m)
        }
        _ = try await plain.client().ping()
        await plain.stop()
    }

    func testAStalledTLSHandshakeIsClosedAtTheDeadline() async throws {
        let node = try await TestNode(self) {
            $0.key = self.key
            $0.handshakeTimeout = .milliseconds(300)
        }
        let raw = try RawSocket(port: Int(node.address.split(separator: ":")[1])!)
        raw.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])  // the start of a ClientHello, then nothing
        let started = Date()
        let (_, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "closed at the deadline (+ the 1 s grace for a last frame nobody reads)")
        // (The node releases the slot as its side of the close completes.)
        for _ in 0..<40 where node.server.node.admission.pendingConnections > 0 { try await Task.sleep(for: .milliseconds(25)) }
        XCTAssertEqual(node.server.node.admission.pendingConnections, 0, "the slot is free again")
        await node.stop()
    }

    func testAVersion1HelloIsToldNoCommonVersion() async throws {
        let node = try await TestNode(self)
        // A version-1 HELLO: the version-2 layout without the trailing clock.
        var frame = Array(Envelope(0, .hello(Hello(versions: [1], nodeID: .none, software: "v1", features: [], nonce: Hello.freshNonce(), maxFrame: 1 << 20))).encoded().readableBytesView)
        frame.removeLast(8)
        let length = UInt32(frame.count - 4)
        frame.replaceSubrange(0..<4, with: withUnsafeBytes(of: length.bigEndian) { Array($0) })
        let raw = try RawSocket(port: Int(node.address.split(separator: ":")[1])!)
        raw.send(frame)
        let (frames, closed) = raw.readUntilClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(frames.first?.errorCode, .noCommonVersion)
        await node.stop()
    }

    func testTLSSetupsThatAuthenticateNobodyAreRefused() async throws {
        let dir = NSTemporaryDirectory() + "folio-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try TestCA(name: "Mesh CA")
        try ca.writeRoot(to: dir + "/ca.pem")
        try ca.issue("laptop", to: dir + "/laptop")
        // A node with a CA must present a certificate the CA issued.
        XCTAssertThrowsError(try ServerTLS(files: TLSFiles(ca: dir + "/ca.pem"))) { XCTAssertTrue("\($0)".contains("--tls-ca needs --tls-cert"), "\($0)") }
        // A client with a certificate but neither a CA nor a key could not tell the node from an impostor.
        let node = try await TestNode(self) { $0.key = self.key }
        var options = FolioClient.Options()
        options.tls = TLSFiles(certificate: dir + "/laptop.pem", privateKey: dir + "/laptop.key")
        await XCTAssertThrowsAsync(try await FolioClient.connect(to: node.address, options: options)) { e in
            guard case let .unauthorized(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("--tls-ca"), m)
        }
        await node.stop()
        // Key files hold hex digits only, and no key repeats one byte.
        for (name, text) in [("signs", String(repeating: "+f", count: 16)), ("zeros", String(repeating: "0", count: 64)), ("letters", String(repeating: "zz", count: 16))] {
            try text.write(toFile: dir + "/\(name).key", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try SharedKey(file: dir + "/\(name).key"), name)
        }
    }

    // MARK: Rotation

    func testDuringARotationANodeAcceptsBothKeysAndDialsWithTheFirst() async throws {
        let rotating = try await TestNode(self) { $0.keys = [self.newKey, self.key] }
        for k in [key, newKey] {
            let c = try await rotating.client(key: k)
            _ = try await c.ping()
            try await c.close()
        }
        await XCTAssertThrowsAsync(try await rotating.client(key: self.strangerKey)) { e in
            guard case .unauthorized? = e as? FolioClientError else { return XCTFail("\(e)") }
        }
        // A node still on the old key replicates with the rotating one (it dials with the old key) …
        let old = try await TestNode(self) {
            $0.key = self.key
            $0.peers = [rotating.address]
        }
        try await { let c = try await rotating.client(key: newKey); try await c.put(Article(id: "r/1", title: "from rotating")); try await c.close() }()
        try await waitUntil { (try? old.store.get("r/1")) != nil }
        // … and the rotating node, dialling with the new key, is refused by the old one.
        let dialsNew = try await TestNode(self) {
            $0.keys = [self.newKey, self.key]
            $0.peers = [old.address]
        }
        try await waitUntil { old.logs.all.contains { $0.contains("authentication failed") } }
        await dialsNew.stop()
        await old.stop()
        await rotating.stop()
    }

    // MARK: A site's own PKI

    func testWithACertificateAuthorityOnlyCertifiedPeersConnect() async throws {
        let dir = NSTemporaryDirectory() + "folio-pki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try TestCA(name: "Mesh CA")
        let other = try TestCA(name: "Someone else's CA")
        try ca.writeRoot(to: dir + "/ca.pem")
        try other.writeRoot(to: dir + "/other-ca.pem")
        try ca.issue("node", to: dir + "/node")
        try ca.issue("laptop", to: dir + "/laptop")
        try other.issue("intruder", to: dir + "/intruder")

        let node = try await TestNode(self) {
            $0.tls = TLSFiles(certificate: dir + "/node.pem", privateKey: dir + "/node.key", ca: dir + "/ca.pem")
        }
        var good = FolioClient.Options()
        good.tls = TLSFiles(certificate: dir + "/laptop.pem", privateKey: dir + "/laptop.key", ca: dir + "/ca.pem")
        let client = try await FolioClient.connect(to: node.address, options: good)
        try await client.put(Article(id: "pki/1", title: "certified"))
        try await client.close()

        var noCertificate = FolioClient.Options()
        noCertificate.tls = TLSFiles(ca: dir + "/ca.pem")
        var intruder = FolioClient.Options()
        intruder.tls = TLSFiles(certificate: dir + "/intruder.pem", privateKey: dir + "/intruder.key", ca: dir + "/ca.pem")
        var distrusts = FolioClient.Options()
        distrusts.tls = TLSFiles(certificate: dir + "/laptop.pem", privateKey: dir + "/laptop.key", ca: dir + "/other-ca.pem")
        for (what, options) in [("no certificate", noCertificate), ("another CA's certificate", intruder), ("a client that does not trust the node's CA", distrusts)] {
            do {
                let c = try await FolioClient.connect(to: node.address, options: options)
                // TLS 1.3 servers reject a client certificate after the client's handshake
                // finished: the first request then fails.
                _ = try await c.ping()
                XCTFail("\(what) was accepted")
            } catch {}
        }
        XCTAssertEqual(try node.store.list(prefix: "", limit: 10).map(\.id), ["pki/1"])
        await node.stop()

        // Certificate files that do not belong together are named at start.
        var config = NodeConfiguration()
        config.port = 0
        config.tls = TLSFiles(certificate: dir + "/node.pem", privateKey: dir + "/laptop.key")
        let store = try Store.create(at: dir + "/store")
        let server = FolioServer(store: store, configuration: config)
        await XCTAssertThrowsAsync(try await server.start()) { XCTAssertTrue("\($0)".contains("--tls-key"), "\($0)") }
        await server.shutdown()
        store.close()
    }

    private func waitUntil(_ seconds: Double = 10, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("condition not met within \(seconds) s")
    }
}

// MARK: - Test helpers

/// A TCP proxy on loopback that records what crosses it and can flip one byte.
final class TestProxy: @unchecked Sendable {
    enum Direction { case clientToNode, nodeToClient }
    /// What an armed proxy does to the next chunk going its way: alter one byte, or swallow it
    /// and cut the connection (an answer lost on the way back).
    enum Damage { case flip, cut }
    let address: String
    private let listener: Channel
    private let recorded = NIOLockedValueBox<[UInt8]>([])
    private let armed = NIOLockedValueBox(false)
    var captured: String { String(decoding: recorded.withLockedValue { $0 }, as: UTF8.self) }

    /// Flips one byte in the middle of the next chunk going `flip`'s way once armed.
    func armFlip() { armed.withLockedValue { $0 = true } }
    func armCut() { armed.withLockedValue { $0 = true } }

    init(to target: String, flip: Direction? = nil, damage: Damage = .flip) async throws {
        let parts = target.split(separator: ":")
        let (host, port) = (String(parts[0]), Int(parts[1])!)
        let recorded = self.recorded
        let armed = self.armed
        let group = MultiThreadedEventLoopGroup.singleton
        listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { inbound in
                inbound.setOption(.autoRead, value: false).flatMap {
                    ClientBootstrap(group: inbound.eventLoop).connect(host: host, port: port).flatMap { outbound in
                        let a = Forwarder(peer: inbound, record: recorded, armed: flip == .nodeToClient ? armed : nil, damage: damage)
                        let b = Forwarder(peer: outbound, record: recorded, armed: flip == .clientToNode ? armed : nil, damage: damage)
                        return outbound.pipeline.addHandler(a).flatMap { inbound.pipeline.addHandler(b) }.flatMap {
                            inbound.setOption(.autoRead, value: true)
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        address = "127.0.0.1:\(listener.localAddress!.port!)"
    }

    func stop() async { try? await listener.close() }

    /// Writes what it reads to `peer` (recording it), closes `peer` when it closes.
    final class Forwarder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let peer: Channel
        let record: NIOLockedValueBox<[UInt8]>
        let armed: NIOLockedValueBox<Bool>?
        let damage: Damage
        init(peer: Channel, record: NIOLockedValueBox<[UInt8]>, armed: NIOLockedValueBox<Bool>?, damage: Damage) {
            self.peer = peer
            self.record = record
            self.armed = armed
            self.damage = damage
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            record.withLockedValue { $0 += buffer.readableBytesView }
            if let armed, buffer.readableBytes > 8, armed.withLockedValue({ a in defer { a = false }; return a }) {
                if damage == .cut {
                    peer.close(promise: nil)
                    context.close(promise: nil)
                    return
                }
                let at = buffer.readerIndex + buffer.readableBytes / 2
                buffer.setInteger(buffer.getInteger(at: at, as: UInt8.self)! ^ 0x01, at: at)
            }
            peer.writeAndFlush(buffer, promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) { peer.close(promise: nil) }
        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}

/// A man in the middle that ends the client's TLS with its own certificate and opens its own
/// TLS to the node, relaying the decrypted bytes both ways.
final class TLSRelay: @unchecked Sendable {
    let address: String
    private let listener: Channel
    /// What the relay decrypted, both ways (the same recording forwarder as `TestProxy`'s).
    private let relayed = NIOLockedValueBox<[UInt8]>([])
    /// True when the relay read Folio frames in clear: it sat inside both TLS sessions.
    var sawPlaintext: Bool { String(decoding: relayed.withLockedValue { $0 }, as: UTF8.self).contains("FOLI") }

    init(to target: String) async throws {
        let parts = target.split(separator: ":")
        let (host, port) = (String(parts[0]), Int(parts[1])!)
        let serverTLS = try ServerTLS(commonName: "relay")
        let clientTLS = try ClientTLS()
        let relayed = self.relayed
        listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { inbound in
                inbound.setOption(.autoRead, value: false).flatMap {
                    ClientBootstrap(group: inbound.eventLoop)
                        .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(try clientTLS.makeHandler()) } }
                        .connect(host: host, port: port).flatMap { outbound in
                            inbound.eventLoop.makeCompletedFuture {
                                try inbound.pipeline.syncOperations.addHandler(serverTLS.makeHandler())
                                try inbound.pipeline.syncOperations.addHandler(TestProxy.Forwarder(peer: outbound, record: relayed, armed: nil, damage: .flip))
                                try outbound.pipeline.syncOperations.addHandler(TestProxy.Forwarder(peer: inbound, record: relayed, armed: nil, damage: .flip))
                            }.flatMap { inbound.setOption(.autoRead, value: true) }
                        }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        address = "127.0.0.1:\(listener.localAddress!.port!)"
    }

    func stop() async { try? await listener.close() }
}

/// A certificate authority for tests: a P-256 root that issues leaf certificates.
struct TestCA {
    let key = P256.Signing.PrivateKey()
    let name: DistinguishedName
    let root: Certificate

    init(name: String) throws {
        self.name = try DistinguishedName { CommonName(name) }
        root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: self.name, subject: self.name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    func writeRoot(to path: String) throws {
        try root.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Writes `base`.pem and `base`.key: a leaf for `subject`, for both TLS server and client use.
    func issue(_ subject: String, to base: String) throws {
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: name, subject: try DistinguishedName { CommonName(subject) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(key))
        try leaf.serializeAsPEM().pemString.write(toFile: base + ".pem", atomically: true, encoding: .utf8)
        try leafKey.pemRepresentation.write(toFile: base + ".key", atomically: true, encoding: .utf8)
    }
}

/// Writes are idempotent to retry (SPEC §4.5).
final class IdempotentWriteTests: XCTestCase {
    func testAPutWhoseAnswerIsLostIsRetriedOnceAndLeavesOneVersion() async throws {
        let node = try await TestNode(self)
        let proxy = try await TestProxy(to: node.address, flip: .nodeToClient, damage: .cut)
        let client = try await FolioClient.connect(to: proxy.address)
        proxy.armCut()  // the PUT reaches the node; its WRITTEN is swallowed and the link cut
        let outcome = try await client.put(Article(id: "retry/1", title: "once", body: "only once"))
        let state = try XCTUnwrap(try node.store.get("retry/1"))
        XCTAssertEqual(state.versions.versions.count, 1, "the retry did not write a second sibling")
        XCTAssertEqual(outcome.version?.dot, state.versions.versions[0].dot, "the retry got the original outcome")
        XCTAssertEqual(outcome.kind, .added)
        XCTAssertEqual(try node.store.lastSequence(), 1)
        // The same for a DELETE.
        proxy.armCut()
        let deleted = try await client.delete("retry/1")
        XCTAssertEqual(deleted.kind, .deleted)
        XCTAssertEqual(try node.store.get("retry/1")?.versions.versions.count, 1)
        XCTAssertEqual(try node.store.lastSequence(), 2)
        try await client.close()
        await proxy.stop()
        await node.stop()
    }

    func testTheNodeAnswersARepeatedWriteIDWithTheOriginalOutcomeAndRefusesItForAnotherWrite() async throws {
        let node = try await TestNode(self)
        let client = try await node.client()
        let id = WriteID.random()
        let put = Message.put(Article(id: "w/1", title: "first"), context: nil, writeID: id)
        let first = try await client.request(put)
        let again = try await client.request(put)
        XCTAssertEqual(first, again)
        XCTAssertEqual(try node.store.get("w/1")?.versions.versions.count, 1)
        // The same id for other content, or another article, is refused and writes nothing.
        for other in [Message.put(Article(id: "w/1", title: "changed"), context: nil, writeID: id), .delete(id: "w/1", context: nil, writeID: id)] {
            await XCTAssertThrowsAsync(try await client.request(other)) { e in
                guard case let .invalidArticle(m)? = e as? FolioClientError else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("already used"), m)
            }
        }
        XCTAssertEqual(try node.store.get("w/1")?.versions.versions.first?.content?.title, "first")
        // Without an id, a repeated PUT is a new write.
        _ = try await client.request(.put(Article(id: "w/2", title: "x"), context: nil))
        _ = try await client.request(.put(Article(id: "w/2", title: "x"), context: nil))
        XCTAssertEqual(try node.store.lastSequence(), 3)
        try await client.close()
        await node.stop()
    }
}
