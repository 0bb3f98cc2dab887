import Foundation
import LMDB

/// Where a puller stands with one source: the source store's identity and the last sequence
/// number of its change feed whose changes are merged here.
public struct Checkpoint: Sendable, Equatable {
    public var node: NodeID
    /// The source store's epoch; a recreated source has a new one and starts from 0.
    public var epoch: String
    public var sequence: UInt64
    /// When it last advanced (ms since 1970).
    public var updated: Int64
}

/// What a node records about a configured peer (`folio serve --peer`), for `folio peers`.
public struct PeerStatus: Sendable, Equatable {
    public var address: String
    public var node: NodeID?
    public var connected: Bool
    public var lastSuccess: Int64?
    public var lastError: String?
    /// Estimated changes the peer has that we have not pulled (its last sequence − our checkpoint).
    public var pendingIn: UInt64?
    /// Estimated changes we have that the peer has not pulled.
    public var pendingOut: UInt64?
    /// Articles the link met that cannot cross the wire (each too large for one frame), most
    /// recent last; replication skips them and holds its checkpoint just before the first.
    public var untransferable: [String] = []
    /// The peer's clock minus ours at the last handshake (ms); beyond `Clocks.maxSkew` either
    /// way its versions win or lose conflicts by that much (SPEC §5.1).
    public var clockSkew: Int64?
    public var updated: Int64

    public init(address: String, node: NodeID? = nil, connected: Bool = false, lastSuccess: Int64? = nil, lastError: String? = nil, pendingIn: UInt64? = nil, pendingOut: UInt64? = nil, updated: Int64 = 0) {
        self.address = address
        self.node = node
        self.connected = connected
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.pendingIn = pendingIn
        self.pendingOut = pendingOut
        self.updated = updated
    }

    var json: JSONValue {
        func num<T: BinaryInteger>(_ v: T?) -> JSONValue { v.map { .number(String($0)) } ?? .null }
        return .object([
            ("address", .string(address)), ("node", node.map { .string($0.hex) } ?? .null), ("connected", .bool(connected)),
            ("last_success_ms", num(lastSuccess)), ("last_error", lastError.map { .string($0) } ?? .null),
            ("pending_in", num(pendingIn)), ("pending_out", num(pendingOut)),
            ("untransferable", .array(untransferable.map { .string($0) })), ("clock_skew_ms", num(clockSkew)),
            ("updated_ms", num(updated)),
        ])
    }

    init?(json: JSONValue) {
        guard case let .string(a)? = json["address"] else { return nil }
        func int(_ k: String) -> Int64? { if case let .number(n)? = json[k] { return Int64(n) } else { return nil } }
        address = a
        if case let .string(n)? = json["node"] { node = NodeID(hex: n) } else { node = nil }
        if case let .bool(c)? = json["connected"] { connected = c } else { connected = false }
        lastSuccess = int("last_success_ms")
        if case let .string(e)? = json["last_error"] { lastError = e } else { lastError = nil }
        pendingIn = int("pending_in").map { UInt64(max(0, $0)) }
        pendingOut = int("pending_out").map { UInt64(max(0, $0)) }
        if case let .array(items)? = json["untransferable"] {
            untransferable = items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
        }
        clockSkew = int("clock_skew_ms")
        updated = int("updated_ms") ?? 0
    }
}

/// Which articles of a change batch this store lacks, and which of their bodies it holds.
public struct SyncNeeds: Sendable, Equatable {
    /// Ids whose source versions are not all held or superseded here, in change order.
    public var ids: [String]
    /// Bodies of those versions already stored here: the source need not send them.
    public var haveBodies: [BodyHash]

    public init(ids: [String], haveBodies: [BodyHash]) {
        self.ids = ids
        self.haveBodies = haveBodies
    }
}

extension Store {
    static func checkpointKey(_ node: NodeID, _ epoch: String) -> [UInt8] {
        node.rawValue.bigEndianBytes + Array(epoch.utf8)
    }

    /// The last sequence of `node`/`epoch`'s feed merged here (0 when never synced).
    public func checkpoint(node: NodeID, epoch: String) throws -> UInt64 {
        try storeErrors {
            try env.read { txn in
                try txn.withValue(dbs.peers, key: Store.checkpointKey(node, epoch)) { b -> UInt64 in
                    guard b.count >= 9, b[0] == 1 else { throw CorruptRecord("checkpoint record has format \(b.first ?? 0)") }
                    return UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: b[1..<9]))
                } ?? 0
            }
        }
    }

    /// Every checkpoint this store holds, one per (source node, epoch).
    public func checkpoints() throws -> [Checkpoint] {
        var out: [Checkpoint] = []
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.peers) { k, v in
                    guard k.count >= 8, v.count >= 17, v[0] == 1 else { throw CorruptRecord("malformed checkpoint record") }
                    out.append(Checkpoint(
                        node: NodeID(UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: k[0..<8]))),
                        epoch: String(decoding: UnsafeRawBufferPointer(rebasing: k[8...]), as: UTF8.self),
                        sequence: UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: v[1..<9])),
                        updated: Int64(bitPattern: UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: v[9..<17])))))
                    return true
                }
            }
        }
        return out
    }

    /// The statuses recorded by a running node for its configured peers.
    public func peerStatuses() throws -> [PeerStatus] {
        var out: [PeerStatus] = []
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.peerStatus) { _, v in
                    guard v.first == 1, let json = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: v.dropFirst())),
                        let s = PeerStatus(json: json)
                    else { throw CorruptRecord("malformed peer status record") }
                    out.append(s)
                    return true
                }
            }
        }
        return out
    }

    /// For a batch of a source's changes: the articles this store lacks a version of, and the
    /// bodies of those versions it already holds. One snapshot; cost O(batch).
    public func needs(_ changes: [Change]) throws -> SyncNeeds {
        var needs = SyncNeeds(ids: [], haveBodies: [])
        try storeErrors {
            try env.read { txn in
                var seen = Set<String>()
                for c in changes where !seen.contains(c.id) {
                    let held = try record(c.id, txn: txn)?.versions.versions ?? []
                    // Only a dot held exactly is known: a held context that covers a dot does
                    // not prove its writer saw that version's whole history (SPEC §8.1).
                    let lacking = c.versions.filter { s in !held.contains { $0.dot == s.dot } }
                    guard !lacking.isEmpty else { continue }
                    seen.insert(c.id)
                    needs.ids.append(c.id)
                    for case let h? in lacking.map(\.bodyHash) where !needs.haveBodies.contains(h) {
                        if try h.withKeyBytes({ try txn.withValue(dbs.bodies, key: $0) { _ in true } }) == true {
                            needs.haveBodies.append(h)
                        }
                    }
                }
            }
        }
        return needs
    }

    /// The articles named by `ids`, in order, with all their versions and the bodies not in
    /// `have`, up to about `maxBytes` of encoding (always at least one article). Ids that do
    /// not exist are skipped; an article whose state alone exceeds `maxArticleBytes` (what one
    /// frame of the receiver can carry) is not sent but listed in `oversized`.
    public func fetch(_ ids: [String], have: Set<BodyHash>, maxBytes: Int, maxArticleBytes: Int = .max) throws -> FetchResult {
        var result = FetchResult()
        var bytes = 0
        try storeErrors {
            try env.read { txn in
                for id in ids {
                    guard let rec = try record(id, txn: txn) else { continue }
                    var bodies = BodyTable()
                    for v in rec.versions.versions {
                        guard let c = v.content, !have.contains(c.bodyHash), bodies[c.bodyHash] == nil else { continue }
                        guard let b = try body(c.bodyHash, txn: txn) else { throw StoreError.corrupt("body \(c.bodyHash) of \"\(id)\" is missing") }
                        bodies[c.bodyHash] = b
                    }
                    let state = ArticleState(id: id, seq: rec.seq, versions: rec.versions, bodies: bodies)
                    let size = state.encodedSize
                    if size > maxArticleBytes {
                        result.oversized.append(OversizedArticle(id: id, bytes: size))
                        continue
                    }
                    if !result.articles.isEmpty && bytes + size > maxBytes { break }
                    result.articles.append(state)
                    bytes += size
                }
            }
        }
        return result
    }
}

/// What a fetch answered: the articles that fit, and those too large to send at all.
public struct FetchResult: Sendable, Equatable {
    public var articles: [ArticleState]
    public var oversized: [OversizedArticle]
    public init(articles: [ArticleState] = [], oversized: [OversizedArticle] = []) {
        self.articles = articles
        self.oversized = oversized
    }
}

/// An article whose state does not fit one frame of the receiver: replication skips it,
/// names it in `folio peers` and the log, and holds its checkpoint just before it.
public struct OversizedArticle: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var bytes: Int
    public init(id: String, bytes: Int) {
        self.id = id
        self.bytes = bytes
    }
    public var description: String { "\"\(id)\" (\(bytes) bytes)" }
}

/// What applying a batch from a source did.
public struct ApplyOutcome: Sendable, Equatable {
    /// Articles whose versions changed here.
    public var changed: Int
    /// Articles that were not in conflict here and are now.
    public var conflictsCreated: Int
    /// The checkpoint recorded for the source.
    public var checkpoint: UInt64

    public init(changed: Int, conflictsCreated: Int, checkpoint: UInt64) {
        self.changed = changed
        self.conflictsCreated = conflictsCreated
        self.checkpoint = checkpoint
    }
}

extension StoreWriter {
    /// Merges a batch of a source's articles (each its whole sibling set) and advances the
    /// checkpoint for (`node`, `epoch`) to `upTo` — in this one transaction, so a crash can
    /// never leave the checkpoint ahead of the data. Re-applying a batch changes nothing.
    @discardableResult
    public func applyBatch(from node: NodeID, epoch: String, upTo: UInt64, articles: [ArticleState]) throws -> ApplyOutcome {
        var changed = 0
        var created = 0
        for a in articles {
            let wasConflict = (try store.record(a.id, txn: txn)?.versions.isInConflict) ?? false
            var bodies: [BodyHash: String] = [:]
            for case let c? in a.versions.versions.map(\.content) { if let b = a.bodies[c.bodyHash] { bodies[c.bodyHash] = b } }
            let o = try merge(id: a.id, versions: a.versions.versions, bodies: bodies)
            if o.changed {
                changed += 1
                if !wasConflict && o.siblings > 1 { created += 1 }
            }
        }
        let key = Store.checkpointKey(node, epoch)
        let current = try txn.withValue(store.dbs.peers, key: key) { b in
            b.count >= 9 ? UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: b[1..<9])) : 0
        } ?? 0
        let next = max(current, upTo)
        var w = ByteWriter(capacity: 17)
        w.u8(1)
        w.u64(next)
        w.i64(store.options.clock())
        try txn.put(store.dbs.peers, key: key, value: w.bytes)
        return ApplyOutcome(changed: changed, conflictsCreated: created, checkpoint: next)
    }

    /// Records a peer's status (by address) for `folio peers`.
    public func setPeerStatus(_ status: PeerStatus) throws {
        var value: [UInt8] = [1]
        status.json.write(to: &value)
        try txn.put(store.dbs.peerStatus, key: Array(status.address.utf8), value: value)
    }
}
