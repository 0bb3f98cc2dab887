import FolioModel
import Foundation
import LMDB

extension Store {
    static func checkpointKey(_ node: NodeID, _ epoch: Epoch) -> [UInt8] {
        node.rawValue.bigEndianBytes + Array(epoch.text.utf8)
    }

    /// The last sequence of `node`/`epoch`'s feed merged here (0 when never synced).
    public func checkpoint(node: NodeID, epoch: Epoch) throws -> UInt64 {
        try storeErrors {
            try env.read { txn in
                try txn.withValue(dbs.peers, key: Store.checkpointKey(node, epoch)) { try RecordCodec.decodeCheckpoint($0).sequence } ?? 0
            }
        }
    }

    /// Where a filtered pull from `node`/`epoch` starts: its own checkpoint, or the unfiltered
    /// one when that is further (an unfiltered pull took everything a filter can select).
    public func checkpoint(node: NodeID, epoch: Epoch, filter: ReplicationFilter) throws -> UInt64 {
        let plain = try checkpoint(node: node, epoch: epoch)
        guard !filter.isEmpty else { return plain }
        return max(plain, try checkpoint(node: node, epoch: epoch.scoped(by: filter)))
    }

    /// The change feed after `since`, keeping only the articles `filter` matches (SPEC §8.4):
    /// at most `limit` changes, examining at most `maxScan` feed entries. `scanned` is the
    /// sequence up to which every change either is returned or does not match (the store's
    /// last sequence when the scan reached the end).
    /// `deletions` says which deletions pass (`.always` for what a puller asked for,
    /// `.withinPrefix` for what a filtered push sends).
    public func changes(
        since: UInt64, limit: Int, filter: ReplicationFilter, deletions: ReplicationFilter.Deletions = .always, maxScan: Int = 100_000
    ) throws -> (changes: [Change], scanned: UInt64) {
        var out: [Change] = []
        var scanned = since
        guard limit > 0, since < UInt64.max else { return (out, since) }
        try storeErrors {
            try env.read { txn in
                var examined = 0
                var reachedEnd = true
                try txn.scan(dbs.changes, from: (since &+ 1).bigEndianBytes) { k, v in
                    let seq = UInt64(bigEndianBytes: k)
                    guard let id = String(validating: v, as: UTF8.self) else { throw CorruptRecord("change \(seq) names a non-UTF-8 id") }
                    guard let rec = try self.record(id, txn: txn) else { throw StoreError.corrupt("change \(seq) names missing article \"\(id)\"") }
                    examined += 1
                    scanned = seq
                    if filter.matches(id: id, versions: rec.versions, deletions: deletions) {
                        out.append(Change(seq: seq, id: id, versions: rec.versions.versions.map(VersionSummary.init)))
                    }
                    if out.count >= limit || examined >= maxScan {
                        reachedEnd = false
                        return false
                    }
                    return true
                }
                if reachedEnd { scanned = max(scanned, try Meta.u64(Meta.seq, dbs.meta, txn)) }
            }
        }
        return (out, scanned)
    }

    /// Every checkpoint this store holds, one per (source node, epoch).
    public func checkpoints() throws -> [Checkpoint] {
        var out: [Checkpoint] = []
        try storeErrors {
            try env.read { txn in
                try txn.scan(dbs.peers) { k, v in
                    let (node, epoch) = try RecordCodec.decodeCheckpointKey(k)
                    let (sequence, updated) = try RecordCodec.decodeCheckpoint(v)
                    out.append(Checkpoint(node: node, epoch: epoch, sequence: sequence, updated: updated))
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
                    out.append(try RecordCodec.decodePeerStatus(v))
                    return true
                }
            }
        }
        return out
    }

    /// For a batch of a source's changes: the articles this store lacks a version of, and the
    /// bodies of those versions it already holds. One snapshot; cost O(batch).
    ///
    /// A body held in `bodies` is held for every article. A small body is held only in the
    /// records of the articles that have it (STORAGE.md), and the source leaves a body in
    /// `have` out of every article of the batch: so such a body counts as held only when
    /// every article of the batch whose lacking versions refer to it holds it in its record.
    public func needs(_ changes: [Change]) throws -> SyncNeeds {
        var needs = SyncNeeds(ids: [], have: [])
        try storeErrors {
            try env.read { txn in
                // By bytes: a Set of Strings holds canonically equivalent ids (two articles) as one.
                var seen = Set<[UInt8]>()
                var order: [BodyHash] = []
                var outside = Set<BodyHash>()
                var inRecords: [BodyHash: [String]] = [:]
                var notEverywhere = Set<BodyHash>()
                for c in changes where !seen.contains(Array(c.id.utf8)) {
                    let rec = try record(c.id, txn: txn)
                    let held = rec?.versions.versions ?? []
                    // Only a dot held exactly is known: a held context that covers a dot does
                    // not prove its writer saw that version's whole history (SPEC §8.1).
                    let lacking = c.versions.filter { s in !held.contains { $0.dot == s.dot } }
                    guard !lacking.isEmpty else { continue }
                    seen.insert(Array(c.id.utf8))
                    needs.ids.append(c.id)
                    for case let h? in Set(lacking.map(\.bodyHash)) {
                        if !order.contains(h) { order.append(h) }
                        if outside.contains(h) { continue }
                        if try h.withKeyBytes({ try txn.withValue(dbs.bodies, key: $0) { _ in true } }) == true {
                            outside.insert(h)
                        } else if rec?.inlineHashes.contains(h) == true {
                            inRecords[h, default: []].append(c.id)
                        } else {
                            notEverywhere.insert(h)
                        }
                    }
                }
                needs.have = order.filter { outside.contains($0) || (inRecords[$0] != nil && !notEverywhere.contains($0)) }
                needs.haveIn = inRecords.filter { !outside.contains($0.key) && !notEverywhere.contains($0.key) }
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
                    guard let state = try state(id, bodies: .all, except: have, txn: txn) else { continue }
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

extension StoreWriter {
    /// Merges a batch of a source's articles (each its whole sibling set) and advances the
    /// checkpoint for (`node`, `epoch`) to `upTo` — in this one transaction, so a crash can
    /// never leave the checkpoint ahead of the data. Re-applying a batch changes nothing.
    @discardableResult
    public func applyBatch(
        from node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState], prepared: [String: PreparedSearchDocument] = [:]
    ) throws -> ApplyOutcome {
        prepare(prepared)
        var changed = 0
        var created = 0
        var heldBySource: [String: UInt64] = [:]
        var refused: [String] = []
        for a in articles {
            let wasConflict = (try store.record(a.id, txn: txn)?.versions.isInConflict) ?? false
            var bodies: [BodyHash: String] = [:]
            for case let c? in a.versions.versions.map(\.content) { if let b = a.bodies[c.bodyHash] { bodies[c.bodyHash] = b } }
            let o = try merge(id: a.id, versions: a.versions.versions, bodies: bodies)
            if o.refusedAsStale { refused.append(a.id) }
            if o.changed {
                changed += 1
                if !wasConflict && o.siblings > 1 { created += 1 }
                // Now exactly what the source sent: nothing here the source lacks.
                if let after = try store.record(a.id, txn: txn),
                    after.versions.versions.map(\.dot) == a.versions.versions.map(\.dot)
                {
                    heldBySource[a.id] = after.seq
                }
            }
        }
        let key = Store.checkpointKey(node, epoch)
        let current = try storeErrors { try txn.withValue(store.dbs.peers, key: key) { try RecordCodec.decodeCheckpoint($0).sequence } } ?? 0
        let next = max(current, upTo)
        try txn.put(store.dbs.peers, key: key, value: RecordCodec.encodeCheckpoint(sequence: next, updated: store.options.clock()))
        var outcome = ApplyOutcome(changed: changed, conflictsCreated: created, checkpoint: next)
        outcome.heldBySource = heldBySource
        outcome.refusedAsStale = refused
        return outcome
    }

    /// Records a peer's status (by address) for `folio peers`.
    public func setPeerStatus(_ status: PeerStatus) throws {
        var value: [UInt8] = [1]
        status.recordJSON.write(to: &value)
        try txn.put(store.dbs.peerStatus, key: Array(status.address.utf8), value: value)
    }
}
