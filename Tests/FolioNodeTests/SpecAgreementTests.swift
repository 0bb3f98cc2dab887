import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import Foundation
import NIOCore
import XCTest

/// Where an independent implementation found the node and SPEC.md disagreeing (issue 11,
/// "The spec and the node agree"): each case as the spec now says it, over raw TCP.
final class SpecAgreementTests: XCTestCase {
    var node: TestNode!
    var port: Int { Int(node.address.split(separator: ":")[1])! }

    override func setUp() async throws { node = try await TestNode(self) }
    override func tearDown() async throws {
        XCTAssertTrue(try node.store.verify().isClean)
        await node.stop()
    }

    /// A raw connection after the handshake.
    func connected() throws -> RawSocket {
        let raw = try RawSocket(port: port)
        raw.sendHello()
        _ = raw.read(frames: 1)
        return raw
    }

    func answer(_ raw: RawSocket, _ envelope: Envelope) -> Envelope? {
        raw.send(envelope)
        return raw.read(frames: 1, afterHandshake: true).first
    }

    func testAnExtraValueThatIsNotJSONIsAnInvalidArticleNotAFatalFrame() throws {
        let raw = try connected()
        let bad = Article(id: "x", title: "t", extra: [ExtraField(name: "note", json: "{not json")])
        XCTAssertEqual(answer(raw, Envelope(1, .put(bad, context: nil)))?.errorCode, .invalidArticle)
        XCTAssertEqual(answer(raw, Envelope(2, .ping(7)))?.message, .pong(7), "the connection stays open")
    }

    func testExtraValuesAreStoredAsCompactJSON() async throws {
        let client = try await node.client()
        try await client.put(Article(id: "e", title: "t", extra: [ExtraField(name: "meta", json: #"{ "b" : 1 , "a":[ 1, 2 ] }"#)]))
        let stored = try await client.get("e").article?.extra.first?.json
        XCTAssertEqual(stored, #"{"b":1,"a":[1,2]}"#)
        try await client.close()
    }

    func testExtraFieldsNamedLikeStandardFieldsOrTwiceAreRefused() throws {
        for extra in [[ExtraField(name: "title", json: "1")], [ExtraField(name: "x", json: "1"), ExtraField(name: "x", json: "2")]] {
            XCTAssertThrowsError(try Article(id: "d", extra: extra).validate())
        }
    }

    func testLimitZeroReturnsNothing() throws {
        try node.store.write { w in for i in 0..<3 { try w.put(Article(id: "l/\(i)", title: "t")) } }
        let raw = try connected()
        guard case let .listed(items, more)? = answer(raw, Envelope(1, .list(ListQuery(prefix: "l/", limit: 0))))?.message else {
            return XCTFail("no LISTED")
        }
        XCTAssertEqual(items.count, 0)
        XCTAssertTrue(more)
        guard case let .changeBatch(changes, last)? = answer(raw, Envelope(2, .changes(since: 0, limit: 0, waitMillis: 5000)))?.message else {
            return XCTFail("no CHANGE_BATCH")
        }
        XCTAssertEqual(changes.count, 0)
        XCTAssertEqual(last, 3)
    }

    func testListPagesEndBeforeTheyOutgrowTheFrame() async throws {
        try node.store.write { w in
            for i in 0..<3 { try w.put(Article(id: "big/\(i)", title: String(repeating: "t", count: 6_000_000))) }
        }
        let client = try await node.client()
        var ids: [String] = []
        var after: String?
        for _ in 0..<5 {
            let page = try await client.list(ListQuery(prefix: "big/", after: after, limit: 100))
            ids += page.articles.map(\.id)
            guard page.more, let last = page.articles.last else { break }
            after = last.id
        }
        XCTAssertEqual(ids, ["big/0", "big/1", "big/2"], "every article listed, a page at a time")
        try await client.close()
    }

    func testAResponseTypeSentFirstIsBadMagicARequestTypeHandshakeRequired() throws {
        let pong = try RawSocket(port: port)
        pong.send(Envelope(1, .pong(1)))
        XCTAssertEqual(pong.readUntilClosed().frames.last?.errorCode, .badMagic)
        let get = try RawSocket(port: port)
        get.send(Envelope(1, .get(id: "x", allVersions: false)))
        XCTAssertEqual(get.readUntilClosed().frames.last?.errorCode, .handshakeRequired)
    }

    func testASecondHelloAuthWithoutAKeyAndRequestIdZeroAreFatalBadFrames() throws {
        let hello = try connected()
        hello.sendHello()
        XCTAssertEqual(hello.readUntilClosed().frames.last?.errorCode, .badFrame)
        let auth = try connected()
        auth.send(Envelope(0, .auth(proof: Array(repeating: 0, count: 32))))
        XCTAssertEqual(auth.readUntilClosed().frames.last?.errorCode, .badFrame)
        for id: UInt32 in [0, 0x8000_0001] {
            let raw = try connected()
            raw.send(Envelope(id, .stats))
            XCTAssertEqual(raw.readUntilClosed().frames.last?.errorCode, .badFrame, "request id \(id)")
        }
    }

    func testAnUnsolicitedPongIsIgnored() throws {
        let raw = try connected()
        raw.send(Envelope(5, .pong(9)))
        XCTAssertEqual(answer(raw, Envelope(6, .ping(1)))?.message, .pong(1))
    }

    func testApplyMissingABodyOrNamingNodeZeroIsAnInvalidArticleAndCommitsNothing() throws {
        let raw = try connected()
        let content = VersionContent(title: "t", source: "", url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: "never sent"), bodyLength: 10)
        let v = Version(dot: Dot(node: NodeID(42), counter: 1), context: VersionVector(), timestamp: 1, content: content)
        let state = ArticleState(id: "nobody", seq: 1, versions: VersionSet(versions: [v]), bodies: BodyTable())
        let missing = answer(raw, Envelope(1, .apply(node: NodeID(42), epoch: "e", upTo: 1, articles: [state])))
        XCTAssertEqual(missing?.errorCode, .invalidArticle)
        let zero = answer(raw, Envelope(2, .apply(node: .none, epoch: "e", upTo: 1, articles: [])))
        XCTAssertEqual(zero?.errorCode, .invalidArticle)
        XCTAssertNil(try node.store.get("nobody"))
        XCTAssertEqual(try node.store.checkpoint(node: NodeID(42), epoch: "e"), 0)
    }

    func testAnApplyWhoseSecondArticleIsBadCommitsNothingOfTheRequest() throws {
        let raw = try connected()
        let good = ArticleState(id: "first", seq: 1, versions: VersionSet(versions: [Version(dot: Dot(node: NodeID(42), counter: 1), context: VersionVector(), timestamp: 1, content: nil)]), bodies: BodyTable())
        let bad = ArticleState(id: "second", seq: 2, versions: VersionSet(versions: [Version(dot: Dot(node: NodeID(42), counter: UInt64.max), context: VersionVector(), timestamp: 1, content: nil)]), bodies: BodyTable())
        XCTAssertEqual(answer(raw, Envelope(1, .apply(node: NodeID(42), epoch: "e", upTo: 2, articles: [good, bad])))?.errorCode, .invalidArticle)
        XCTAssertNil(try node.store.get("first"), "nothing of the request is committed")
        XCTAssertEqual(try node.store.checkpoint(node: NodeID(42), epoch: "e"), 0)
        XCTAssertEqual(answer(raw, Envelope(2, .ping(3)))?.message, .pong(3))
    }
}
