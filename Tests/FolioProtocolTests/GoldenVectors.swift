import FolioModel
import FolioProtocol
import Foundation

/// The golden frames of Protocol/vectors: one per message type, fixed values throughout.
/// `FOLIO_WRITE_VECTORS=1 swift test --filter GoldenVectorTests` rewrites the files.
enum GoldenVectors {
    static let nodeA = NodeID(0x0102_0304_0506_0708)
    static let nodeB = NodeID(0x1112_1314_1516_1718)

    static let article = Article(
        id: "wire/1", title: "Ferry returns", source: "Coastal Gazette", url: "https://example.org/1", published: "2026-11-29",
        body: "Héllo", tags: ["sea"], extra: [ExtraField(name: "lang", json: "\"en\"")])

    static var liveVersion: Version {
        Version(
            dot: Dot(node: nodeA, counter: 2), context: [nodeA: 1, nodeB: 3], timestamp: 1_795_925_309_062,
            content: VersionContent(
                title: article.title, source: article.source, url: article.url, published: article.published, tags: article.tags,
                extra: article.extra, bodyHash: BodyHash(of: article.body), bodyLength: article.body.utf8.count))
    }

    static var tombstone: Version {
        Version(dot: Dot(node: nodeB, counter: 4), context: [nodeB: 3], timestamp: 1_795_925_310_000, content: nil)
    }

    static var state: ArticleState {
        ArticleState(id: "wire/1", seq: 7, versions: VersionSet(versions: [liveVersion, tombstone]), bodies: [BodyHash(of: article.body): article.body])
    }

    static var stats: StoreStatistics {
        StoreStatistics(
            nodeID: nodeA, epoch: "00112233445566778899aabbccddeeff", storageFormat: 1, liveArticles: 9, tombstones: 1,
            articlesInConflict: 1, lastSequence: 12, fileSize: 77824, mapSize: 268_435_456, mapUsed: 77824, pageSize: 4096,
            readersInUse: 1, maxReaders: 126, lmdbVersion: "LMDB 0.9.24: (July 24, 2019)",
            databases: [("articles", StoreStatistics.Database(pageSize: 4096, depth: 1, branchPages: 0, leafPages: 1, overflowPages: 0, entries: 10))])
    }

    /// What 05-deflated-fetched carries.
    static var deflatedInner: Message { .fetched([state]) }

    /// (file name, what it shows, request id, message)
    static var all: [(String, String, UInt32, Message)] {
        [
            ("01-hello-client", "HELLO from a client: versions [2], node 0, features none, nonce 00..1f, max frame 17825792, clock 1795925309000 ms", 0,
             .hello(Hello(versions: [2], nodeID: .none, software: "folio-client/0.1.0", features: [], nonce: Array(0..<32), maxFrame: 17_825_792, clock: 1_795_925_309_000))),
            ("02-hello-node-auth", "HELLO from a node that requires authentication and can sync; nonce 20..3f", 0,
             .hello(Hello(versions: [2], nodeID: nodeA, software: "folio/0.1.0", features: [.authRequired, .sync], nonce: Array(32..<64), maxFrame: 17_825_792, clock: 1_795_925_309_000))),
            ("03-auth", "AUTH: the client's HMAC-SHA256 proof (here for key 00..1f, the nonces above and certificate hash 40..5f)", 0,
             .auth(proof: try! SharedKey(bytes: Array(0..<32)).clientProof(clientNonce: Array(0..<32), serverNonce: Array(32..<64), binding: Array(64..<96)))),
            ("04-auth-ok", "AUTH_OK: the node's proof for the same key, nonces and certificate hash", 0,
             .authOK(proof: try! SharedKey(bytes: Array(0..<32)).serverProof(clientNonce: Array(0..<32), serverNonce: Array(32..<64), binding: Array(64..<96)))),
            ("05-deflated-fetched", "DEFLATED: the FETCHED of a1-fetched, here with the live body, its payload deflated (raw deflate, zlib level 1), answering request 11", 11,
             .deflated(try! DeflatedMessage(deflating: deflatedInner))),
            ("10-ping", "PING, request id 1, token 42", 1, .ping(42)),
            ("11-get", "GET wire/1, winner only, request id 2", 2, .get(id: "wire/1", allVersions: false)),
            ("12-put", "PUT an article with no context, request id 3", 3, .put(article, context: nil)),
            ("12-put-write-id", "PUT with no context, naming the write 00..0f so a retry is answered with the first outcome, request id 3", 3,
             .put(article, context: nil, writeID: WriteID(bytes: Array(0..<16))!)),
            ("12-put-context", "PUT with a causal context {A:1, B:3}, request id 4", 4, .put(article, context: [nodeA: 1, nodeB: 3])),
            ("13-delete", "DELETE wire/1 with context {B:3}, request id 5", 5, .delete(id: "wire/1", context: [nodeB: 3])),
            ("14-list", "LIST prefix \"wire/\" after \"wire/0\", any source, limit 100, live only, request id 6", 6,
             .list(ListQuery(prefix: "wire/", after: "wire/0", source: nil, limit: 100, includeDeleted: false))),
            ("15-stats", "STATS, request id 7", 7, .stats),
            ("16-changes", "CHANGES since 10, limit 500, no wait, request id 8", 8, .changes(since: 10, limit: 500, waitMillis: 0)),
            ("16-changes-wait", "CHANGES since 12, limit 500, hold up to 20000 ms if empty, request id 9", 9, .changes(since: 12, limit: 500, waitMillis: 20000)),
            ("17-search", "SEARCH \"port strike\" source:\"Nordic Wire\", at most 10 hits, request id 10", 10, .search(query: #""port strike" source:"Nordic Wire""#, limit: 10)),
            ("18-filtered-changes", "FILTERED_CHANGES since 10, limit 500, hold up to 20000 ms, filter prefix=wire/ and (tag=port or tag=strike), request id 15", 15,
             .filteredChanges(since: 10, limit: 500, waitMillis: 20000, filter: try! ReplicationFilter(expressions: ["prefix=wire/", "tag=strike", "tag=port"]))),
            ("19-conflicts", "CONFLICTS after \"wire/0\", limit 100, request id 16", 16, .conflicts(after: "wire/0", limit: 100)),
            ("22-checkpoint-get-filtered", "CHECKPOINT_GET for node B's feed as pushed with filter source=Nordic Wire (scope epoch/filter, §8.4), request id 17", 17,
             .checkpointGet(node: nodeB, epoch: Epoch("00112233445566778899aabbccddeeff/" + (try! ReplicationFilter(expressions: ["source=Nordic Wire"])).text))),
            ("20-sync-hello", "SYNC_HELLO, request id 10", 10, .syncHello),
            ("21-fetch", "FETCH wire/1 and wire/2, the puller holds body SHA-256(\"Héllo\"), at most 4 MiB, request id 11", 11,
             .fetch(ids: ["wire/1", "wire/2"], have: [BodyHash(of: article.body)], maxBytes: 4 << 20)),
            ("22-checkpoint-get", "CHECKPOINT_GET for node B's feed, epoch 00..ff, request id 12", 12,
             .checkpointGet(node: nodeB, epoch: "00112233445566778899aabbccddeeff")),
            ("23-offer", "OFFER one change (seq 11, two versions), request id 13", 13,
             .offer([Change(seq: 11, id: "wire/1", versions: [VersionSummary(liveVersion), VersionSummary(tombstone)])])),
            ("24-apply", "APPLY from node B, epoch 00..ff, up to sequence 11, one article with both siblings, request id 14", 14,
             .apply(node: nodeB, epoch: "00112233445566778899aabbccddeeff", upTo: 11, articles: [state])),
            ("90-pong", "PONG answering request 1", 1, .pong(42)),
            ("91-article", "ARTICLE: a live sibling (with body) and a concurrent tombstone, answering request 2", 2, .article(state)),
            ("92-written", "WRITTEN: outcome of a put that added version (A,2), answering request 3", 3,
             .written(WriteOutcome(kind: .added, version: liveVersion, superseded: 0, siblings: 1, seq: 11))),
            ("94-listed", "LISTED: one article (no bodies), more = false, answering request 6", 6,
             .listed([ArticleState(id: "wire/1", seq: 7, versions: VersionSet(versions: [liveVersion]), bodies: [:])], more: false)),
            ("95-statistics", "STATISTICS answering request 7", 7, .statistics(stats)),
            ("97-search-results", "SEARCH_RESULTS: one hit, score 6.382 (f64 bits), answering request 10", 10,
             .searchResults([SearchHit(
                id: "wire/2026-11-20-port-strike", score: 6.382, title: "Port workers end three-day strike", source: "Nordic Wire",
                published: "2026-11-20T14:05:00Z", snippet: "Dock workers at the country's largest «port» returned to work…")])),
            ("96-change-batch", "CHANGE_BATCH: one change (seq 11, two versions), last sequence 12, answering request 8", 8,
             .changeBatch([Change(seq: 11, id: "wire/1", versions: [VersionSummary(liveVersion), VersionSummary(tombstone)])], lastSequence: 12)),
            ("98-filtered-change-batch", "FILTERED_CHANGE_BATCH: one change (seq 11), scanned up to 40, last sequence 52, answering request 15", 15,
             .filteredChangeBatch([Change(seq: 11, id: "wire/1", versions: [VersionSummary(liveVersion), VersionSummary(tombstone)])], scanned: 40, lastSequence: 52)),
            ("99-conflicted", "CONFLICTED: one article with two siblings (no bodies), more = true, answering request 16", 16,
             .conflicted([ArticleState(id: "wire/1", seq: 7, versions: VersionSet(versions: [liveVersion, tombstone]), bodies: [:])], more: true)),
            ("a0-sync-state", "SYNC_STATE: node A, its epoch, last sequence 12, answering request 10", 10,
             .syncState(node: nodeA, epoch: "00112233445566778899aabbccddeeff", lastSequence: 12)),
            ("a1-fetched", "FETCHED: wire/1 with both siblings; the live body is left out (the puller has it), answering request 11", 11,
             .fetched([ArticleState(id: "wire/1", seq: 7, versions: VersionSet(versions: [liveVersion, tombstone]), bodies: [:])])),
            ("a2-checkpoint", "CHECKPOINT 11, answering request 12", 12, .checkpoint(11)),
            ("a3-want", "WANT wire/1, holding its live body already, answering request 13", 13,
             .want(ids: ["wire/1"], have: [BodyHash(of: article.body)])),
            ("a4-applied", "APPLIED: 1 article changed, 1 conflict created, checkpoint 11, answering request 14", 14,
             .applied(changed: 1, conflictsCreated: 1, checkpoint: 11)),
            ("ff-error-not-found", "ERROR not found (9) answering request 2", 2, .error(code: .notFound, message: "article \"wire/1\" not found")),
            ("ff-error-too-large", "ERROR too large (2), connection-level (request id 0), then the sender closes", 0,
             .error(code: .tooLarge, message: "frame of 4294967295 bytes exceeds the 17825792-byte limit")),
        ]
    }

    /// The worked session of SPEC §10: handshake without authentication, a PUT, a GET.
    static var session: [(String, UInt32, Message)] {
        let article = Article(id: "n/1", title: "Hi", body: "ok")
        let version = Version(
            dot: Dot(node: nodeA, counter: 1), context: VersionVector(), timestamp: 1_795_925_309_062,
            content: VersionContent(title: "Hi", source: "", url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: "ok"), bodyLength: 2))
        return [
            ("client → node: HELLO (plain client, node id 0, nonce 00..1f)", 0,
             .hello(Hello(versions: [2], nodeID: .none, software: "c", features: [], nonce: Array(0..<32), maxFrame: 17_825_792, clock: 1_795_925_309_000))),
            ("node → client: HELLO (node A, sync feature, no authentication required, nonce 20..3f)", 0,
             .hello(Hello(versions: [2], nodeID: nodeA, software: "n", features: [.sync], nonce: Array(32..<64), maxFrame: 17_825_792, clock: 1_795_925_309_000))),
            ("client → node: PUT {id n/1, title Hi, body ok}, no context, request 1", 1, .put(article, context: nil)),
            ("node → client: WRITTEN added, version (A,1) context {}, 0 superseded, 1 sibling, seq 1, answering 1", 1,
             .written(WriteOutcome(kind: .added, version: version, superseded: 0, siblings: 1, seq: 1))),
            ("client → node: GET n/1, winner only, request 2", 2, .get(id: "n/1", allVersions: false)),
            ("node → client: ARTICLE n/1, seq 1, one version with its body, answering 2", 2,
             .article(ArticleState(id: "n/1", seq: 1, versions: VersionSet(versions: [version]), bodies: [BodyHash(of: "ok"): "ok"]))),
        ]
    }

    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Protocol/vectors")

    /// Annotated hex: the 9-byte header on its own line, then the payload 16 bytes a line.
    static func render(_ description: String, _ requestID: UInt32, _ message: Message) -> String {
        let bytes = Array(Envelope(requestID, message).encoded().readableBytesView)
        func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }
        var lines = ["# \(description)", "# \(bytes.count) bytes: u32 length, u8 type 0x\(String(format: "%02x", message.kind.rawValue)), u32 request id, payload"]
        lines.append(hex(bytes[0..<4]) + "   # length \(bytes.count - 4)")
        lines.append(hex(bytes[4..<5]) + "            # type \(message.kind)")
        lines.append(hex(bytes[5..<9]) + "   # request id \(requestID)")
        var i = 9
        while i < bytes.count {
            lines.append(hex(bytes[i..<min(i + 16, bytes.count)]))
            i += 16
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses a vector file: hex digits, '#' starts a comment.
    static func parse(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for line in text.split(separator: "\n") {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in code.split(whereSeparator: \.isWhitespace) { out.append(UInt8(token, radix: 16)!) }
        }
        return out
    }
}
