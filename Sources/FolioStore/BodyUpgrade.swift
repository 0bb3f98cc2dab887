import FolioModel
import LMDB

/// Format 4 → 5 (a write-open, after the search index's upgrade): small bodies move into
/// their articles' records and large ones take their reference counts into their own records
/// (STORAGE.md "From format 4 to 5"). The format is recorded as 5 first (an older folio
/// refuses the store from then on), then the records are converted a batch per transaction,
/// resumably: `meta/upgrade.bodies` holds where it stands until the end, and reads meanwhile
/// find every body (in its record, else in `bodies`).
extension Store {
    /// The format that brought bodies in records and counted body records.
    static let inlineBodyFormat: UInt32 = 5
    /// Records, or body records, converted per transaction.
    static let upgradeBatch = 1_000

    /// Runs the upgrade (or what remains of it) to the end; `batch` and `transactions` (how
    /// many to commit before returning, as if the process stopped there) are for tests.
    static func upgradeBodies(env: Environment, dbs: Databases, batch: Int = upgradeBatch, transactions: Int = .max) throws {
        var budget = transactions
        func commits() -> Bool {
            budget -= 1
            return budget >= 0
        }
        try storeErrors {
            try env.write { txn in
                guard try Meta.recordedFormat(dbs.meta, txn) < inlineBodyFormat else { return }
                try txn.put(dbs.meta, key: Meta.format, value: withUnsafeBytes(of: inlineBodyFormat.bigEndian) { Array($0) })
                try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [1])
            }
        }
        while true {
            // Phase 1: every article record in format 2, its small bodies inline.
            while commits(), try storeErrors({
                try env.write { txn -> Bool in
                    guard var cursor = try txn.get(dbs.meta, key: Meta.bodiesUpgrade) else { return false }
                    // A marker damaged in any way starts the conversion over: each step skips what
                    // is converted already, so doing it again changes nothing.
                    if cursor.first != 1 && cursor.first != 2 { cursor = [1] }
                    guard cursor.first == 1 else { return false }
                    let after = Array(cursor.dropFirst())
                    var pending: [([UInt8], RecordCodec.ArticleRecord)] = []
                    var seen = 0
                    var last: [UInt8]?
                    try txn.scan(dbs.articles, from: after.isEmpty ? nil : after) { k, v in
                        if !after.isEmpty && k.elementsEqual(after) { return true }
                        guard seen < batch else { return false }
                        // A record converted before an interruption is left as it is; so is one that
                        // does not decode (damage the upgrade must not make worse: `verify` names it).
                        if v.first != RecordCodec.articleFormat, let rec = try? RecordCodec.decodeArticle(v) { pending.append((Array(k), rec)) }
                        last = Array(k)
                        seen += 1
                        return true
                    }
                    for (key, rec) in pending {
                        var inline: [(BodyHash, [UInt8])] = []
                        for case let c? in rec.versions.versions.map(\.content) where RecordCodec.isInline(c) && !inline.contains(where: { $0.0 == c.bodyHash }) {
                            // A body already missing stays missing (`verify` names it; the article can
                            // still be deleted or written again); the rest of the store upgrades.
                            guard let text = try? c.bodyHash.withKeyBytes({ k in try txn.withValue(dbs.bodies, key: k) { Array(try RecordCodec.bodyText($0)) } }) else { continue }
                            inline.append((c.bodyHash, text))
                        }
                        try txn.put(dbs.articles, key: key, value: RecordCodec.encode(seq: rec.seq, versions: rec.versions, inline: inline))
                    }
                    if seen == batch, let last {
                        try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [1] + last)
                    } else {
                        try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [2])
                    }
                    return true
                }
            }) {}
            // Phase 2: every body record either gone (no version keeps it outside a record) or
            // in format 2 with its count: the versions, of every article, that keep it outside.
            // First, in one scan: the counts, and whether phase 1 really is complete — a marker
            // damaged into phase 2's form must never let bodies go that records do not hold yet.
            let scanned = try storeErrors {
                try env.read { txn -> (counts: [BodyHash: UInt64], unconverted: Int, undecodable: Int)? in
                    guard try txn.get(dbs.meta, key: Meta.bodiesUpgrade) != nil else { return nil }
                    var counts: [BodyHash: UInt64] = [:]
                    var (unconverted, undecodable) = (0, 0)
                    try txn.scan(dbs.articles) { _, v in
                        guard let rec = try? RecordCodec.decodeArticle(v) else {
                            undecodable += 1
                            return true
                        }
                        if v.first != RecordCodec.articleFormat { unconverted += 1 }
                        for case let c? in rec.versions.versions.map(\.content) where !RecordCodec.isInline(c) {
                            counts[c.bodyHash, default: 0] += 1
                        }
                        return true
                    }
                    return (counts, unconverted, undecodable)
                }
            }
            guard let scanned else { return }
            if scanned.unconverted > 0 {
                guard commits() else { return }
                try storeErrors { try env.write { try $0.put(dbs.meta, key: Meta.bodiesUpgrade, value: [1]) } }
                continue
            }
            let outside = scanned.counts
            // A record that does not decode may refer to any body: then none unreferenced goes.
            let keepUnreferenced = scanned.undecodable > 0
            while commits(), try storeErrors({
                try env.write { txn -> Bool in
                    guard let cursor = try txn.get(dbs.meta, key: Meta.bodiesUpgrade), cursor.first == 2 else { return false }
                    // (A marker whose key is not a body's starts this step over.)
                    let after = cursor.count == 33 ? Array(cursor.dropFirst()) : []
                    var pending: [([UInt8], [UInt8]?)] = []
                    var seen = 0
                    var lastSeen: [UInt8]?
                    try txn.scan(dbs.bodies, from: after.isEmpty ? nil : after) { k, v in
                        if !after.isEmpty && k.elementsEqual(after) { return true }
                        guard seen < batch else { return false }
                        seen += 1
                        lastSeen = Array(k)
                        // A malformed key or record is left for `verify` to name.
                        guard let h = BodyHash(raw: k), let (references, text) = try? RecordCodec.bodyRecord(v) else { return true }
                        if references != nil { return true }  // converted before an interruption
                        let n = outside[h] ?? 0
                        if n == 0 && keepUnreferenced { return true }
                        pending.append((Array(k), n == 0 ? nil : RecordCodec.encodeBody(text, references: n)))
                        return true
                    }
                    for (key, value) in pending {
                        if let value { try txn.put(dbs.bodies, key: key, value: value) } else { try txn.delete(dbs.bodies, key: key) }
                    }
                    if seen == batch, let last = lastSeen {
                        try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [2] + last)
                        return true
                    }
                    if let refs = try txn.openExistingDatabase("bodyrefs") { try txn.drop(refs) }
                    try txn.delete(dbs.meta, key: Meta.bodiesUpgrade)
                    return false
                }
            }) {}
            return
        }
    }
}
