import FolioModel
import LMDB

/// Tombstone collection and purges (STORAGE.md "Tombstones", SPEC §5.2).
///
/// A tombstone is collected — its article record and change feed entry removed — once every
/// peer this store knows holds this store's feed past it (`acks`), and either it is older than
/// the horizon or it is a purge. A collected purge leaves a digest of the id with the vector
/// it covered (`purged`), so none of those versions is ever merged again; a collected
/// tombstone leaves a 16-byte digest of the id with the vector it covered (`collected`), so
/// the deleted versions are refused as zombies instead of resurrecting the article, while a
/// concurrent edit the deletion never saw is still merged.

/// What `Store.tombstones(horizon:)` found.
public struct TombstoneReport: Sendable, Equatable {
    /// Articles whose versions are all tombstones.
    public var held = 0
    /// Of those, collectable now (horizon passed or a purge, and every known peer has them).
    public var collectable = 0
    /// Of the held ones, purges.
    public var purges = 0
    /// Collectable but for a peer that has not acknowledged them yet (node → its ack).
    public var heldBackBy: [NodeID: UInt64] = [:]
    /// Collected so far (tombstones and purges).
    public var collected: UInt64 = 0
    public var purgesCollected: UInt64 = 0
    /// Version sets refused as collected articles coming back.
    public var refusedAsStale: UInt64 = 0
    public init() {}
}

/// One pass of collection.
public struct CollectionResult: Sendable, Equatable {
    public var collected = 0
    public var purges = 0
    /// Where the next pass resumes (a sequence of this store's feed); nil when done.
    public var resumeAfter: UInt64?
    public init() {}
}

extension Store {
    static func ackKey(_ node: NodeID) -> [UInt8] { node.rawValue.bigEndianBytes }

    static func purgeKey(_ id: String) -> [UInt8] { BodyHash(of: id).bytes }

    /// `collected` key: the first 16 bytes of the id's SHA-256.
    static func collectedKey(_ id: String) -> [UInt8] { Array(BodyHash(of: id).bytes.prefix(16)) }

    /// Every peer this store knows, with how far each is known to hold this store's feed (0:
    /// not known to hold any of it): peers it acknowledged, sources it pulled from, pushers
    /// it received from, and configured peers — never itself.
    func knownPeers(_ txn: Transaction) throws -> [NodeID: UInt64] {
        var out: [NodeID: UInt64] = [:]
        if let acks = dbs.acks {
            try txn.scan(acks) { k, v in
                guard k.count == 8 else { throw CorruptRecord("malformed ack record") }
                out[NodeID(UInt64(bigEndianBytes: k))] = try Store.decodeAck(v)
                return true
            }
        }
        try txn.scan(dbs.peers) { k, _ in
            let (node, _) = try RecordCodec.decodeCheckpointKey(k)
            if out[node] == nil { out[node] = 0 }
            return true
        }
        try txn.scan(dbs.peerStatus) { _, v in
            if let n = try RecordCodec.decodePeerStatus(v).node, out[n] == nil { out[n] = 0 }
            return true
        }
        out[nodeID] = nil
        out[.none] = nil
        if let previous = try txn.get(dbs.meta, key: Meta.previousNodes) {
            for i in stride(from: 0, to: previous.count - 7, by: 8) {
                out[NodeID(previous[i..<(i + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })] = nil
            }
        }
        return out
    }

    /// How far `node` is known to hold this store's feed (0: not known to hold any of it).
    public func acknowledgement(of node: NodeID) throws -> UInt64 {
        guard let acks = dbs.acks else { return 0 }
        return try storeErrors {
            try env.read { txn in try txn.withValue(acks, key: Store.ackKey(node)) { try Store.decodeAck($0) } ?? 0 }
        }
    }

    static func decodeAck(_ v: UnsafeRawBufferPointer) throws(CorruptRecord) -> UInt64 {
        guard v.count == 17, v.first == 1 else { throw CorruptRecord("malformed ack record") }
        return UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: v[1..<9]))
    }

    /// Every known peer and how far it is known to hold this store's feed.
    public func acknowledgements() throws -> [NodeID: UInt64] {
        try storeErrors { try env.read { try knownPeers($0) } }
    }

    /// Tombstones held, collectable with `horizon` (ms) at `now`, and what collection did.
    public func tombstones(horizon: Int64, now: Int64? = nil) throws -> TombstoneReport {
        let now = now ?? options.clock()
        var r = TombstoneReport()
        try storeErrors {
            try env.read { txn in
                let peers = try knownPeers(txn)
                let floor = peers.values.min() ?? .max
                let cutoffTime = now.subtractingReportingOverflow(horizon).partialValue
                // The tombstone list (format 3), or the whole feed of an older store read as it is.
                try txn.scan(dbs.tombstones ?? dbs.changes) { k, v in
                    let seq = UInt64(bigEndianBytes: k)
                    guard let id = String(validating: v, as: UTF8.self), let rec = try record(id, txn: txn) else { return true }
                    guard rec.versions.isOnlyTombstones else { return true }
                    r.held += 1
                    let purge = rec.versions.isPurged
                    if purge { r.purges += 1 }
                    guard purge || (rec.versions.versions.map(\.timestamp).max() ?? .max) <= cutoffTime else { return true }
                    if seq <= floor {
                        r.collectable += 1
                    } else {
                        for (n, a) in peers where a < seq { r.heldBackBy[n] = a }
                    }
                    return true
                }
                r.collected = try Meta.u64(Meta.tombstonesCollected, dbs.meta, txn)
                r.purgesCollected = try Meta.u64(Meta.purgesCollected, dbs.meta, txn)
                r.refusedAsStale = try Meta.u64(Meta.staleRefused, dbs.meta, txn)
            }
        }
        return r
    }

    /// Collects every collectable tombstone (see `StoreWriter.collectTombstones`), a batch
    /// per transaction. For a store no node serves; a node runs the batches in its writer.
    @discardableResult
    public func collectTombstones(horizon: Int64, batch: Int = 5000) throws -> CollectionResult {
        var total = CollectionResult()
        var after: UInt64 = 0
        while true {
            let from = after
            let r = try write { try $0.collectTombstones(horizon: horizon, after: from, limit: batch) }
            total.collected += r.collected
            total.purges += r.purges
            guard let next = r.resumeAfter else { return total }
            after = next
        }
    }

    /// Forgets a peer that will not come back: its acknowledgement, the checkpoints kept for
    /// it and its status. Until then it holds back tombstone collection. Returns whether
    /// anything was held for it.
    public func forgetPeer(_ node: NodeID) throws -> Bool {
        try write { w in try w.forgetPeer(node) }
    }
}

extension StoreWriter {
    /// Records that `peer` holds this store's feed through `seq` (an APPLIED to our push, or
    /// its pull asking for changes after `seq`). Never decreases; capped at our last
    /// sequence; ignored for ourselves and node 0.
    public func recordAck(peer: NodeID, seq: UInt64) throws {
        guard let acks = store.dbs.acks, peer != .none, peer != store.nodeID, peer != .purgeMarker else { return }
        let key = Store.ackKey(peer)
        let current = try txn.withValue(acks, key: key) { try Store.decodeAck($0) }
        let next = min(seq, self.seq)
        guard current.map({ next > $0 }) ?? true else { return }
        try txn.put(acks, key: key, value: [1] + next.bigEndianBytes + UInt64(bitPattern: store.options.clock()).bigEndianBytes)
    }

    /// Deletes `id` everywhere (SPEC §5.2): a tombstone covering every version held —
    /// siblings and concurrent deletions included — carrying the purge marker. It replicates
    /// like any write; every replica drops the versions it covers, and forgets the article
    /// (but for a digest of its id) once every peer it knows has the purge. Throws `notFound`
    /// when the article is absent or already purged.
    @discardableResult
    public func purge(_ id: String) throws -> WriteOutcome {
        try Store.checkID(id)
        guard let old = try store.record(id, txn: txn), !old.versions.isPurged else { throw StoreError.notFound(id: id) }
        return try writePurge(id, old: old, read: nil)
    }

    /// Removes the tombstones after `after` in this store's feed that every known peer holds
    /// and that are purges or older than `horizon` (ms), at most `limit` of them. Resumable:
    /// the result says where the next pass starts.
    public func collectTombstones(horizon: Int64, after: UInt64 = 0, limit: Int = 5000) throws -> CollectionResult {
        let dbs = store.dbs
        var result = CollectionResult()
        let floor = try store.knownPeers(txn).values.min() ?? .max
        let cutoffTime = store.options.clock().subtractingReportingOverflow(horizon).partialValue
        guard let tombstones = dbs.tombstones else { return result }
        var chosen: [(String, RecordCodec.ArticleRecord)] = []
        var last = after
        var more = false
        try txn.scan(tombstones, from: (after &+ 1).bigEndianBytes) { k, v in
            let seq = UInt64(bigEndianBytes: k)
            guard seq <= floor else { return false }
            if chosen.count >= limit {
                more = true
                return false
            }
            last = seq
            guard let id = String(validating: v, as: UTF8.self) else { throw CorruptRecord("change \(seq) names a non-UTF-8 id") }
            guard let rec = try store.record(id, txn: txn), rec.seq == seq, rec.versions.isOnlyTombstones else {
                throw StoreError.corrupt("tombstones[\(seq)] names \"\(id)\", which is not a tombstone at that sequence")
            }
            if rec.versions.isPurged || (rec.versions.versions.map(\.timestamp).max() ?? .max) <= cutoffTime {
                chosen.append((id, rec))
            }
            return true
        }
        guard !chosen.isEmpty else {
            result.resumeAfter = more ? last : nil
            return result
        }
        for (id, rec) in chosen {
            if rec.versions.isPurged {
                guard let purged = dbs.purged else { continue }
                // What the purge covered: every dot and context of the set, marker included.
                try txn.put(purged, key: Store.purgeKey(id), value: RecordCodec.encodePurge(rec.versions.clock, at: store.options.clock()))
                result.purges += 1
            } else if let collected = dbs.collected {
                // What the deletion covered (joined with an earlier life's, if collected before).
                let key = Store.collectedKey(id)
                let before = try txn.withValue(collected, key: key) { try RecordCodec.decodePurge($0).covered } ?? VersionVector()
                try txn.put(collected, key: key, value: RecordCodec.encodePurge(before.merged(with: rec.versions.clock), at: store.options.clock()))
            }
            try forget(id: id, record: rec)
            result.collected += 1
            hasCollected = true
        }
        try txn.put(dbs.meta, key: Meta.tombstonesCollected, value: (try Meta.u64(Meta.tombstonesCollected, dbs.meta, txn) &+ UInt64(result.collected)).bigEndianBytes)
        try txn.put(dbs.meta, key: Meta.purgesCollected, value: (try Meta.u64(Meta.purgesCollected, dbs.meta, txn) &+ UInt64(result.purges)).bigEndianBytes)
        result.resumeAfter = more ? last : nil
        return result
    }

    /// What collected purges and tombstones of article `id` covered, if any: each kind's
    /// vector (an id may have both, from different lives).
    func collectedRecord(of id: String) throws -> (purged: VersionVector?, tombstone: VersionVector?)? {
        guard hasCollected else { return nil }
        let purged = try store.dbs.purged.flatMap { db in
            try txn.withValue(db, key: Store.purgeKey(id)) { try RecordCodec.decodePurge($0).covered }
        }
        let tombstone = try store.dbs.collected.flatMap { db in
            try txn.withValue(db, key: Store.collectedKey(id)) { try RecordCodec.decodePurge($0).covered }
        }
        return purged == nil && tombstone == nil ? nil : (purged, tombstone)
    }

    /// Everything collected purges and tombstones of `id` covered (nil: nothing collected).
    func collectedHistory(of id: String) throws -> VersionVector? {
        guard let r = try collectedRecord(of: id) else { return nil }
        return (r.purged ?? VersionVector()).merged(with: r.tombstone ?? VersionVector())
    }

    func forgetPeer(_ node: NodeID) throws -> Bool {
        let dbs = store.dbs
        var found = false
        if let acks = dbs.acks, try txn.withValue(acks, key: Store.ackKey(node), { _ in true }) != nil {
            try txn.delete(acks, key: Store.ackKey(node))
            found = true
        }
        var keys: [[UInt8]] = []
        try txn.scan(dbs.peers, from: node.rawValue.bigEndianBytes) { k, _ in
            guard k.starts(with: node.rawValue.bigEndianBytes) else { return false }
            keys.append(Array(k))
            return true
        }
        var statuses: [[UInt8]] = []
        try txn.scan(dbs.peerStatus) { k, v in
            if try RecordCodec.decodePeerStatus(v).node == node { statuses.append(Array(k)) }
            return true
        }
        for k in keys { try txn.delete(dbs.peers, key: k) }
        for k in statuses { try txn.delete(dbs.peerStatus, key: k) }
        return found || !keys.isEmpty || !statuses.isEmpty
    }
}

extension RecordCodec {
    /// `purged` and `collected` value: u8 format = 1, i64 when collected (ms), u32 n, n × (u64
    /// node, u64 counter): the vector the collected purge or tombstone covered.
    static func encodePurge(_ covered: VersionVector, at time: Int64) -> [UInt8] {
        var out: [UInt8] = [1] + UInt64(bitPattern: time).bigEndianBytes + withUnsafeBytes(of: UInt32(covered.entries.count).bigEndian) { Array($0) }
        for e in covered.entries { out += e.node.rawValue.bigEndianBytes + e.counter.bigEndianBytes }
        return out
    }

    static func decodePurge(_ b: UnsafeRawBufferPointer) throws(CorruptRecord) -> (covered: VersionVector, time: Int64) {
        guard b.count >= 13, b[0] == 1 else { throw CorruptRecord("malformed purge record") }
        let time = Int64(bitPattern: UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: b[1..<9])))
        let n = b[9..<13].reduce(0) { $0 << 8 | Int($1) }
        guard b.count == 13 + n * 16 else { throw CorruptRecord("malformed purge record") }
        var v = VersionVector()
        for i in 0..<n {
            let o = 13 + i * 16
            v.advance(
                NodeID(UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: b[o..<(o + 8)]))),
                to: UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: b[(o + 8)..<(o + 16)])))
        }
        return (v, time)
    }
}
