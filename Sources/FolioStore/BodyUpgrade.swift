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
        // Phase 1: every article record in format 2, its small bodies inline.
        while commits(), try storeErrors({
            try env.write { txn -> Bool in
                guard let cursor = try txn.get(dbs.meta, key: Meta.bodiesUpgrade), cursor.first == 1 else { return false }
                let after = Array(cursor.dropFirst())
                var pending: [([UInt8], RecordCodec.ArticleRecord)] = []
                try txn.scan(dbs.articles, from: after.isEmpty ? nil : after) { k, v in
                    if !after.isEmpty && k.elementsEqual(after) { return true }
                    guard pending.count < batch else { return false }
                    // A record converted before an interruption is left as it is.
                    if v.first != RecordCodec.articleFormat { pending.append((Array(k), try RecordCodec.decodeArticle(v))) }
                    return true
                }
                for (key, rec) in pending {
                    var inline: [(BodyHash, [UInt8])] = []
                    for case let c? in rec.versions.versions.map(\.content) where RecordCodec.isInline(c) && !inline.contains(where: { $0.0 == c.bodyHash }) {
                        guard let text = try c.bodyHash.withKeyBytes({ k in try txn.withValue(dbs.bodies, key: k) { Array(try RecordCodec.bodyText($0)) } }) else {
                            throw StoreError.corrupt("body \(c.bodyHash) of \"\(String(decoding: key, as: UTF8.self))\" is missing: the store cannot be upgraded to format 5 (run `folio verify` with the folio that wrote it)")
                        }
                        inline.append((c.bodyHash, text))
                    }
                    try txn.put(dbs.articles, key: key, value: RecordCodec.encode(seq: rec.seq, versions: rec.versions, inline: inline))
                }
                if pending.count == batch, let last = pending.last?.0 {
                    try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [1] + last)
                } else {
                    try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [2])
                }
                return true
            }
        }) {}
        // Phase 2: every body record either gone (no version keeps it outside a record) or
        // in format 2 with its count: the versions, of every article, that keep it outside.
        let outside = try storeErrors {
            try env.read { txn -> [BodyHash: UInt64]? in
                guard try txn.get(dbs.meta, key: Meta.bodiesUpgrade) != nil else { return nil }
                var counts: [BodyHash: UInt64] = [:]
                try txn.scan(dbs.articles) { _, v in
                    for case let c? in try RecordCodec.decodeArticle(v).versions.versions.map(\.content) where !RecordCodec.isInline(c) {
                        counts[c.bodyHash, default: 0] += 1
                    }
                    return true
                }
                return counts
            }
        }
        guard let outside else { return }
        while commits(), try storeErrors({
            try env.write { txn -> Bool in
                guard let cursor = try txn.get(dbs.meta, key: Meta.bodiesUpgrade) else { return false }
                guard cursor.first == 2 else { throw StoreError.corrupt("meta/upgrade.bodies is malformed") }
                let after = Array(cursor.dropFirst())
                var pending: [([UInt8], [UInt8]?)] = []
                var seen = 0
                var lastSeen: [UInt8]?
                try txn.scan(dbs.bodies, from: after.isEmpty ? nil : after) { k, v in
                    if !after.isEmpty && k.elementsEqual(after) { return true }
                    guard seen < batch else { return false }
                    seen += 1
                    lastSeen = Array(k)
                    guard let h = BodyHash(raw: k) else { throw StoreError.corrupt("a key of bodies is \(k.count) bytes, expected 32") }
                    let (references, text) = try RecordCodec.bodyRecord(v)
                    if references != nil { return true }  // converted before an interruption
                    let n = outside[h] ?? 0
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
    }
}
