import Crypto
import FolioModel
import NIOCore

/// Every message of protocol version 1 (SPEC §6). Requests have types below 0x80; responses
/// have the request's type with the high bit set; ERROR is 0xFF.
public enum Message: Sendable, Equatable {
    case hello(Hello)
    case auth(proof: [UInt8])
    case authOK(proof: [UInt8])
    case ping(UInt64)
    case get(id: String, allVersions: Bool)
    /// `writeID` names the write so a retry is answered with the original outcome (SPEC §4.5).
    case put(Article, context: VersionVector?, writeID: WriteID? = nil)
    case delete(id: String, context: VersionVector?, writeID: WriteID? = nil)
    case list(ListQuery)
    case stats
    case changes(since: UInt64, limit: UInt32, waitMillis: UInt32)
    case syncHello
    case fetch(ids: [String], have: [BodyHash], maxBytes: UInt32)
    case checkpointGet(node: NodeID, epoch: Epoch)
    case offer([Change])
    case apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState])
    case pong(UInt64)
    case article(ArticleState)
    /// An ARTICLE answer already encoded (`EncodedState`): on the wire exactly `.article`,
    /// and what a peer receives decodes as `.article`.
    case encodedArticle(EncodedState)
    case written(WriteOutcome)
    case listed([ArticleState], more: Bool)
    case statistics(StoreStatistics)
    case changeBatch([Change], lastSequence: UInt64)
    case syncState(node: NodeID, epoch: Epoch, lastSequence: UInt64)
    case fetched([ArticleState])
    case checkpoint(UInt64)
    case want(ids: [String], have: [BodyHash])
    case applied(changed: UInt32, conflictsCreated: UInt32, checkpoint: UInt64)
    /// Full-text search (SPEC §6.2): the query text (SearchQuery's syntax) and at most how many hits.
    case search(query: String, limit: UInt32)
    case searchResults([SearchHit])
    /// The change feed after `since`, only the articles matching `filter` (SPEC §8.4).
    case filteredChanges(since: UInt64, limit: UInt32, waitMillis: UInt32, filter: ReplicationFilter)
    /// `scanned`: every change up to it either is in the batch or does not match.
    case filteredChangeBatch([Change], scanned: UInt64, lastSequence: UInt64)
    /// Articles in conflict (more than one sibling), in id order, after `after` ("" = from the start).
    case conflicts(after: String, limit: UInt32)
    case conflicted([ArticleState], more: Bool)
    case error(code: ErrorCode, message: String)
    /// Another message, deflated (SPEC §2.1); only between peers that announced `deflate`.
    case deflated(DeflatedMessage)

    /// Type bytes (SPEC §6, table).
    public enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 0x01, auth = 0x02, authOK = 0x03, deflated = 0x04
        case ping = 0x10, get = 0x11, put = 0x12, delete = 0x13, list = 0x14, stats = 0x15, changes = 0x16, search = 0x17
        case filteredChanges = 0x18, conflicts = 0x19
        case syncHello = 0x20, fetch = 0x21, checkpointGet = 0x22, offer = 0x23, apply = 0x24
        case pong = 0x90, article = 0x91, written = 0x92, listed = 0x94, statistics = 0x95, changeBatch = 0x96, searchResults = 0x97
        case filteredChangeBatch = 0x98, conflicted = 0x99
        case syncState = 0xA0, fetched = 0xA1, checkpoint = 0xA2, want = 0xA3, applied = 0xA4
        case error = 0xFF
    }

    public var kind: Kind {
        switch self {
        case .hello: return .hello
        case .auth: return .auth
        case .authOK: return .authOK
        case .ping: return .ping
        case .get: return .get
        case .put: return .put
        case .delete: return .delete
        case .list: return .list
        case .stats: return .stats
        case .changes: return .changes
        case .pong: return .pong
        case .article, .encodedArticle: return .article
        case .written: return .written
        case .listed: return .listed
        case .statistics: return .statistics
        case .changeBatch: return .changeBatch
        case .syncHello: return .syncHello
        case .fetch: return .fetch
        case .checkpointGet: return .checkpointGet
        case .offer: return .offer
        case .apply: return .apply
        case .syncState: return .syncState
        case .fetched: return .fetched
        case .checkpoint: return .checkpoint
        case .want: return .want
        case .applied: return .applied
        case .search: return .search
        case .searchResults: return .searchResults
        case .filteredChanges: return .filteredChanges
        case .filteredChangeBatch: return .filteredChangeBatch
        case .conflicts: return .conflicts
        case .conflicted: return .conflicted
        case .error: return .error
        case .deflated: return .deflated
        }
    }

    /// Requests a client may send once the handshake is done.
    public var isRequest: Bool { (0x10..<0x80).contains(kind.rawValue) }

    public func encodePayload(into b: inout ByteBuffer) {
        switch self {
        case let .hello(h):
            b.writeWire(Hello.magic)
            b.writeWire(UInt16(h.versions.count))
            for v in h.versions { b.writeWire(v) }
            b.writeWire(h.nodeID.rawValue)
            b.writeWireString(h.software)
            b.writeWire(h.features.rawValue)
            b.writeBytes(h.nonce)
            b.writeWire(h.maxFrame)
            b.writeWire(UInt64(bitPattern: h.clock))
        case let .auth(mac), let .authOK(mac):
            b.writeBytes(mac)
        case let .ping(v), let .pong(v):
            b.writeWire(v)
        case let .get(id, all):
            b.writeWireString(id)
            b.writeWireBool(all)
        case let .put(a, ctx, writeID):
            b.writeArticle(a)
            b.writeWireOptional(ctx) { $0.writeVector($1) }
            b.writeWireOptional(writeID) { $0.writeBytes($1.bytes) }
        case let .delete(id, ctx, writeID):
            b.writeWireString(id)
            b.writeWireOptional(ctx) { $0.writeVector($1) }
            b.writeWireOptional(writeID) { $0.writeBytes($1.bytes) }
        case let .list(q):
            b.writeWireString(q.prefix)
            b.writeWireOptional(q.after) { $0.writeWireString($1) }
            b.writeWireOptional(q.source) { $0.writeWireString($1) }
            b.writeWire(q.limit)
            b.writeWireBool(q.includeDeleted)
        case .stats:
            break
        case let .changes(since, limit, wait):
            b.writeWire(since)
            b.writeWire(limit)
            b.writeWire(wait)
        case .syncHello:
            break
        case let .fetch(ids, have, maxBytes):
            b.writeStrings(ids)
            b.writeHashes(have)
            b.writeWire(maxBytes)
        case let .checkpointGet(node, epoch):
            b.writeWire(node.rawValue)
            b.writeWireString(epoch.text)
        case let .offer(changes):
            b.writeWire(UInt32(changes.count))
            for c in changes { b.writeChange(c) }
        case let .apply(node, epoch, upTo, articles):
            b.writeWire(node.rawValue)
            b.writeWireString(epoch.text)
            b.writeWire(upTo)
            b.writeWire(UInt32(articles.count))
            for a in articles { b.writeState(a) }
        case let .syncState(node, epoch, last):
            b.writeWire(node.rawValue)
            b.writeWireString(epoch.text)
            b.writeWire(last)
        case let .fetched(articles):
            b.writeWire(UInt32(articles.count))
            for a in articles { b.writeState(a) }
        case let .checkpoint(seq):
            b.writeWire(seq)
        case let .want(ids, have):
            b.writeStrings(ids)
            b.writeHashes(have)
        case let .applied(changed, created, checkpoint):
            b.writeWire(changed)
            b.writeWire(created)
            b.writeWire(checkpoint)
        case let .article(s):
            b.writeState(s)
        case let .encodedArticle(e):
            b.writeImmutableBuffer(e.bytes)
        case let .written(o):
            b.writeOutcome(o)
        case let .listed(items, more):
            b.writeWire(UInt32(items.count))
            for s in items { b.writeState(s) }
            b.writeWireBool(more)
        case let .statistics(s):
            b.writeStatistics(s)
        case let .changeBatch(changes, last):
            b.writeWire(UInt32(changes.count))
            for c in changes { b.writeChange(c) }
            b.writeWire(last)
        case let .search(query, limit):
            b.writeWireString(query)
            b.writeWire(limit)
        case let .searchResults(hits):
            b.writeWire(UInt32(hits.count))
            for h in hits {
                b.writeWireString(h.id)
                b.writeWire(h.score.bitPattern)
                b.writeWireString(h.title)
                b.writeWireString(h.source)
                b.writeWireString(h.published)
                b.writeWireString(h.snippet)
            }
        case let .filteredChanges(since, limit, wait, filter):
            b.writeWire(since)
            b.writeWire(limit)
            b.writeWire(wait)
            b.writeWireString(filter.text)
        case let .filteredChangeBatch(changes, scanned, last):
            b.writeWire(UInt32(changes.count))
            for c in changes { b.writeChange(c) }
            b.writeWire(scanned)
            b.writeWire(last)
        case let .conflicts(after, limit):
            b.writeWireString(after)
            b.writeWire(limit)
        case let .conflicted(items, more):
            b.writeWire(UInt32(items.count))
            for s in items { b.writeState(s) }
            b.writeWireBool(more)
        case let .error(code, message):
            b.writeWire(code.rawValue)
            b.writeWireString(message)
        case let .deflated(d):
            b.writeWire(d.innerType)
            b.writeWire(d.inflatedLength)
            b.writeImmutableBuffer(d.data)
        }
    }

    /// Decodes a payload; the whole payload must be consumed.
    public static func decode(type: UInt8, payload: inout ByteBuffer) throws -> Message {
        guard let kind = Kind(rawValue: type) else {
            throw ProtocolViolation(.unknownType, "unknown message type 0x\(String(type, radix: 16))")
        }
        let m: Message
        switch kind {
        case .hello:
            let magic = try payload.readWire(UInt32.self, "magic")
            guard magic == Hello.magic else { throw ProtocolViolation(.badMagic, "HELLO without the FOLI magic") }
            let n = Int(try payload.readWire(UInt16.self, "version count"))
            guard n > 0, n <= 64 else { throw ProtocolViolation(.badFrame, "HELLO lists \(n) versions") }
            let versions = try (0..<n).map { _ in try payload.readWire(UInt16.self, "version") }
            let node = NodeID(try payload.readWire(UInt64.self, "node id"))
            let software = try payload.readWireString("software")
            let features = Hello.Features(rawValue: try payload.readWire(UInt64.self, "features"))
            let nonce = try payload.readFixedBytes(32, "nonce")
            let maxFrame = try payload.readWire(UInt32.self, "max frame")
            guard maxFrame >= 1 << 16 else { throw ProtocolViolation(.badFrame, "max frame \(maxFrame) is below the 65536 minimum") }
            // A version-1 HELLO ends here; it is still read, so its sender gets `noCommonVersion`.
            let clock = payload.readableBytes == 0 ? 0 : Int64(bitPattern: try payload.readWire(UInt64.self, "clock"))
            m = .hello(Hello(versions: versions, nodeID: node, software: software, features: features, nonce: nonce, maxFrame: maxFrame, clock: clock))
        case .auth: m = .auth(proof: try payload.readFixedBytes(32, "MAC"))
        case .authOK: m = .authOK(proof: try payload.readFixedBytes(32, "MAC"))
        case .ping: m = .ping(try payload.readWire(UInt64.self, "ping token"))
        case .pong: m = .pong(try payload.readWire(UInt64.self, "pong token"))
        case .get: m = .get(id: try payload.readWireString("id"), allVersions: try payload.readWireBool("all-versions flag"))
        case .put:
            let a = try payload.readArticle()
            let ctx = try payload.readWireOptional("context") { try $0.readVector("context") }
            m = .put(a, context: ctx, writeID: try payload.readWriteID())
        case .delete:
            let id = try payload.readWireString("id")
            let ctx = try payload.readWireOptional("context") { try $0.readVector("context") }
            m = .delete(id: id, context: ctx, writeID: try payload.readWriteID())
        case .list:
            let prefix = try payload.readWireString("prefix")
            let after = try payload.readWireOptional("after") { try $0.readWireString("after") }
            let source = try payload.readWireOptional("source") { try $0.readWireString("source") }
            let limit = try payload.readWire(UInt32.self, "limit")
            m = .list(ListQuery(prefix: prefix, after: after, source: source, limit: limit, includeDeleted: try payload.readWireBool("include-deleted flag")))
        case .stats: m = .stats
        case .changes:
            m = .changes(
                since: try payload.readWire(UInt64.self, "since"), limit: try payload.readWire(UInt32.self, "limit"),
                waitMillis: try payload.readWire(UInt32.self, "wait"))
        case .syncHello: m = .syncHello
        case .fetch:
            let ids = try payload.readStrings("ids")
            let have = try payload.readHashes("have-bodies")
            m = .fetch(ids: ids, have: have, maxBytes: try payload.readWire(UInt32.self, "max bytes"))
        case .checkpointGet:
            m = .checkpointGet(node: NodeID(try payload.readWire(UInt64.self, "node")), epoch: Epoch(try payload.readWireString("epoch")))
        case .offer:
            let n = try payload.readWireCount("changes", minItemSize: 16)
            m = .offer(try (0..<n).map { _ in try payload.readChange() })
        case .apply:
            let node = NodeID(try payload.readWire(UInt64.self, "node"))
            let epoch = Epoch(try payload.readWireString("epoch"))
            let upTo = try payload.readWire(UInt64.self, "up-to sequence")
            let n = try payload.readWireCount("articles", minItemSize: 46)
            m = .apply(node: node, epoch: epoch, upTo: upTo, articles: try (0..<n).map { _ in try payload.readState() })
        case .syncState:
            m = .syncState(
                node: NodeID(try payload.readWire(UInt64.self, "node")), epoch: Epoch(try payload.readWireString("epoch")),
                lastSequence: try payload.readWire(UInt64.self, "last sequence"))
        case .fetched:
            let n = try payload.readWireCount("articles", minItemSize: 46)
            m = .fetched(try (0..<n).map { _ in try payload.readState() })
        case .checkpoint: m = .checkpoint(try payload.readWire(UInt64.self, "checkpoint"))
        case .want:
            let ids = try payload.readStrings("ids")
            m = .want(ids: ids, have: try payload.readHashes("have-bodies"))
        case .applied:
            m = .applied(
                changed: try payload.readWire(UInt32.self, "changed"), conflictsCreated: try payload.readWire(UInt32.self, "conflicts created"),
                checkpoint: try payload.readWire(UInt64.self, "checkpoint"))
        case .article: m = .article(try payload.readState())
        case .written: m = .written(try payload.readOutcome())
        case .listed:
            let n = try payload.readWireCount("articles", minItemSize: 46)
            let items = try (0..<n).map { _ in try payload.readState() }
            m = .listed(items, more: try payload.readWireBool("more flag"))
        case .statistics: m = .statistics(try payload.readStatistics())
        case .changeBatch:
            let n = try payload.readWireCount("changes", minItemSize: 16)
            let changes = try (0..<n).map { _ in try payload.readChange() }
            m = .changeBatch(changes, lastSequence: try payload.readWire(UInt64.self, "last sequence"))
        case .search:
            let query = try payload.readWireString("query")
            m = .search(query: query, limit: try payload.readWire(UInt32.self, "limit"))
        case .searchResults:
            let n = try payload.readWireCount("hits", minItemSize: 28)
            m = .searchResults(try (0..<n).map { _ in
                let id = try payload.readWireString("id")
                let score = Double(bitPattern: try payload.readWire(UInt64.self, "score"))
                guard score.isFinite, score >= 0 else { throw ProtocolViolation(.badFrame, "a search score must be a finite number ≥ 0") }
                return SearchHit(
                    id: id, score: score, title: try payload.readWireString("title"), source: try payload.readWireString("source"),
                    published: try payload.readWireString("published"), snippet: try payload.readWireString("snippet"))
            })
        case .filteredChanges:
            let since = try payload.readWire(UInt64.self, "since")
            let limit = try payload.readWire(UInt32.self, "limit")
            let wait = try payload.readWire(UInt32.self, "wait")
            let text = try payload.readWireString("filter")
            let filter: ReplicationFilter
            do { filter = try ReplicationFilter(canonical: text) } catch { throw ProtocolViolation(.badFrame, "bad filter: \(error.reason)") }
            m = .filteredChanges(since: since, limit: limit, waitMillis: wait, filter: filter)
        case .filteredChangeBatch:
            let n = try payload.readWireCount("changes", minItemSize: 16)
            let changes = try (0..<n).map { _ in try payload.readChange() }
            let scanned = try payload.readWire(UInt64.self, "scanned")
            m = .filteredChangeBatch(changes, scanned: scanned, lastSequence: try payload.readWire(UInt64.self, "last sequence"))
        case .conflicts:
            let after = try payload.readWireString("after")
            m = .conflicts(after: after, limit: try payload.readWire(UInt32.self, "limit"))
        case .conflicted:
            let n = try payload.readWireCount("articles", minItemSize: 46)
            let items = try (0..<n).map { _ in try payload.readState() }
            m = .conflicted(items, more: try payload.readWireBool("more flag"))
        case .deflated:
            let inner = try payload.readWire(UInt8.self, "inner type")
            let length = try payload.readWire(UInt32.self, "inflated length")
            m = .deflated(DeflatedMessage(innerType: inner, inflatedLength: length, data: payload.readSlice(length: payload.readableBytes)!))
        case .error:
            let raw = try payload.readWire(UInt16.self, "error code")
            // An unknown code from a newer peer is still an error: report it as internal.
            m = .error(code: ErrorCode(rawValue: raw) ?? .internal, message: try payload.readWireString("error message"))
        }
        guard payload.readableBytes == 0 else {
            throw ProtocolViolation(.badFrame, "\(payload.readableBytes) unexpected bytes after a \(kind) payload")
        }
        return m
    }
}

/// A message with its request id: what travels in one frame.
public struct Envelope: Sendable, Equatable {
    public var requestID: UInt32
    public var message: Message
    /// When the message came in a DEFLATED frame, its inflated payload's length (else 0): what
    /// the receiver holds for it beyond the bytes that carried it (SPEC §2.1, §9).
    public var inflated: UInt32 = 0

    public init(_ requestID: UInt32, _ message: Message) {
        self.requestID = requestID
        self.message = message
    }

    /// The same request id and message, however they travelled.
    public static func == (a: Envelope, b: Envelope) -> Bool {
        a.requestID == b.requestID && a.message == b.message
    }

    /// The complete frame bytes (length, type, request id, payload).
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var b = allocator.buffer(capacity: 64)
        encode(into: &b)
        return b
    }

    public func encode(into b: inout ByteBuffer) {
        let start = b.writerIndex
        b.writeInteger(0 as UInt32)
        b.writeInteger(message.kind.rawValue)
        b.writeInteger(requestID, endianness: .big)
        message.encodePayload(into: &b)
        b.setInteger(UInt32(b.writerIndex - start - 4), at: start, endianness: .big)
    }
}

extension Message {
    /// SHA-256 of a PUT or DELETE frame without its write id (request id 0): what a retry of
    /// that write must repeat exactly (SPEC §4.5).
    public var writeDigest: [UInt8] {
        var bare = self
        switch self {
        case let .put(a, ctx, _): bare = .put(a, context: ctx, writeID: nil)
        case let .delete(id, ctx, _): bare = .delete(id: id, context: ctx, writeID: nil)
        default: break
        }
        return Array(SHA256.hash(data: Array(Envelope(0, bare).encoded().readableBytesView)))
    }
}

/// An article state encoded for the wire (SPEC §6, ARTICLE) from bytes at hand: the node
/// copies a stored record's versions as they are, since a version is encoded on the wire
/// exactly as the store encodes it (STORAGE.md), instead of decoding and re-encoding them.
public struct EncodedState: Sendable, Equatable {
    public private(set) var bytes: ByteBuffer

    /// Starts a state of `versions` versions of article `id` at sequence `seq`.
    public init(id: String, seq: UInt64, versions: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        bytes = allocator.buffer(capacity: 64 + id.utf8.count)
        bytes.writeWireString(id)
        bytes.writeWire(seq)
        bytes.writeWire(UInt32(versions))
    }

    /// Appends one version (its encoding) and its body's UTF-8 text, when one goes with it.
    public mutating func append(version: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer?) {
        bytes.writeBytes(version)
        if let body {
            bytes.writeWire(UInt8(1))
            bytes.writeWire(UInt32(body.count))
            bytes.writeBytes(body)
        } else {
            bytes.writeWire(UInt8(0))
        }
    }
}
