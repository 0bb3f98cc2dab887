import FolioModel
import Crypto
import LMDB

/// The result of `Store.verify()`: every problem found, none fixed.
public struct VerifyReport: Sendable, Equatable {
    public var articles = 0
    public var versions = 0
    public var bodies = 0
    public var changes = 0
    /// Human-readable problems; empty when the store is sound.
    public var problems: [String] = []
    public var isClean: Bool { problems.isEmpty }
}

extension Store {
    /// Checks, in one snapshot, that every record decodes and that the indexes agree with the
    /// records: the change feed names each article once at its sequence number, body
    /// reference counts match the versions, every body hashes to its key, the counters match.
    /// Stops listing after `maxProblems`.
    public func verify(maxProblems: Int = 100) throws -> VerifyReport {
        var report = VerifyReport()
        func problem(_ s: String) {
            if report.problems.count < maxProblems { report.problems.append(s) }
        }
        try storeErrors {
            try env.read { txn in
                // The checks below are those of the current format.
                if try Meta.recordedFormat(dbs.meta, txn) < Store.inlineBodyFormat || txn.get(dbs.meta, key: Meta.bodiesUpgrade) != nil {
                    problem("meta: the store is not yet in storage format \(Store.storageFormat): open it for writing once (any write, e.g. `folio reindex`) to upgrade it, then verify it")
                    return
                }
                let lastSeq: UInt64
                do {
                    lastSeq = try Meta.u64(Meta.seq, dbs.meta, txn)
                } catch {
                    problem("meta: \(error)")
                    lastSeq = .max
                }
                var articleSeqs: [UInt64: String] = [:]
                var expectedRefs: [BodyHash: UInt64] = [:]
                var declared: [BodyHash: Int] = [:]
                var live: UInt64 = 0
                var tombs: UInt64 = 0
                var onlyTombstones = 0
                var conflicted: UInt64 = 0
                try txn.scan(dbs.articles) { k, v in
                    report.articles += 1
                    guard let id = String(validating: k, as: UTF8.self) else {
                        problem("articles: a key is not valid UTF-8 (\(Array(k.prefix(16))))")
                        return true
                    }
                    let rec: RecordCodec.ArticleRecord
                    var inline: [BodyHash: Int] = [:]
                    do {
                        rec = try RecordCodec.decodeArticle(v) { h, text in
                            inline[h] = text.count
                            guard let body = String(validating: text, as: UTF8.self) else {
                                problem("articles[\(id)]: body \(h.hex.prefix(12))… is not valid UTF-8")
                                return
                            }
                            if BodyHash(of: body) != h { problem("articles[\(id)]: body \(h.hex.prefix(12))… does not match its hash") }
                        }
                    } catch {
                        problem("articles[\(id)]: \(error)")
                        return true
                    }
                    // Small bodies in the record, each once; large ones counted in `bodies`.
                    var keptInline = Set<BodyHash>()
                    for case let c? in rec.versions.versions.map(\.content) {
                        if RecordCodec.isInline(c) {
                            keptInline.insert(c.bodyHash)
                            if let n = inline[c.bodyHash] {
                                if n != c.bodyLength { problem("articles[\(id)]: body \(c.bodyHash.hex.prefix(12))… holds \(n) bytes; its version declares \(c.bodyLength)") }
                            } else {
                                problem("articles[\(id)]: body \(c.bodyHash.hex.prefix(12))… (\(c.bodyLength) bytes) is not in the record")
                            }
                        } else {
                            expectedRefs[c.bodyHash, default: 0] += 1
                            declared[c.bodyHash] = c.bodyLength
                        }
                    }
                    for h in inline.keys where !keptInline.contains(h) {
                        problem("articles[\(id)]: holds body \(h.hex.prefix(12))…, which none of its versions keeps in the record")
                    }
                    let vs = rec.versions.versions
                    report.versions += vs.count
                    if v.first != RecordCodec.articleFormat { problem("articles[\(id)]: a record of format \(v.first ?? 0); storage format \(Store.storageFormat) writes format \(RecordCodec.articleFormat) (small bodies in the record)") }
                    for case let c? in vs.map(\.content) {
                        for f in c.extra where (try? JSONParser.parse(f.json)) == nil {
                            problem("articles[\(id)]: extra field \"\(f.name)\" does not hold JSON")
                        }
                    }
                    for a in vs {
                        for b in vs where a.isObsoleted(by: b) {
                            problem("articles[\(id)]: version \(a.dot) is kept though \(b.dot) supersedes it")
                        }
                        if a.context.covers(a.dot) { problem("articles[\(id)]: version \(a.dot) lies inside its own context") }
                        // Counters near 2^64 would make the next write overflow (SPEC §5.1).
                        do {
                            try a.dot.validate()
                            try a.context.validate()
                        } catch let e as InvalidArticle {
                            problem("articles[\(id)]: version \(a.dot): \(e.reason)")
                        } catch {
                            problem("articles[\(id)]: version \(a.dot): \(error)")
                        }
                    }
                    if rec.seq == 0 || rec.seq > lastSeq { problem("articles[\(id)]: sequence \(rec.seq) outside 1...\(lastSeq)") }
                    if let other = articleSeqs[rec.seq] { problem("articles[\(id)]: sequence \(rec.seq) also used by \"\(other)\"") }
                    articleSeqs[rec.seq] = id
                    if rec.versions.isLive { live += 1 } else { tombs += 1 }
                    if rec.versions.isOnlyTombstones { onlyTombstones += 1 }
                    for v in vs where v.context[.purgeMarker] > UInt64(max(0, v.timestamp)) {
                        problem("articles[\(id)]: version \(v.dot) names a purge later than itself")
                    }
                    // No version held may be one a collected deletion covered (SPEC §5.2).
                    for (db, key) in [(dbs.purged, Store.purgeKey(id)), (dbs.collected, Store.collectedKey(id))] {
                        guard let db, let covered = try? txn.withValue(db, key: key, { try RecordCodec.decodePurge($0).covered }) else { continue }
                        for v in rec.versions.versions where covered.covers(v.dot) && !v.isTombstone {
                            problem("articles[\(id)]: version \(v.dot) is one a collected deletion covered")
                        }
                    }
                    if rec.versions.isInConflict { conflicted += 1 }
                    return true
                }
                try txn.scan(dbs.peers) { k, v in
                    do {
                        _ = try RecordCodec.decodeCheckpointKey(k)
                        _ = try RecordCodec.decodeCheckpoint(v)
                    } catch {
                        problem("peers: checkpoint \(Array(k.prefix(8))): \(error)")
                    }
                    return true
                }
                if let tombstones = dbs.tombstones {
                    // The tombstone list names exactly the articles whose versions are all
                    // tombstones, at their change's sequence.
                    var listed = 0
                    try txn.scan(tombstones) { k, v in
                        listed += 1
                        let id = String(decoding: v, as: UTF8.self)
                        guard k.count == 8, let rec = try? self.record(id, txn: txn), rec.seq == UInt64(bigEndianBytes: k), rec.versions.isOnlyTombstones else {
                            problem("tombstones[\(k.count == 8 ? UInt64(bigEndianBytes: k) : 0)]: does not name a tombstone at that sequence (\"\(id)\")")
                            return true
                        }
                        return true
                    }
                    if listed != onlyTombstones { problem("tombstones: \(listed) listed, \(onlyTombstones) articles hold only tombstones") }
                }
                if let acks = dbs.acks {
                    try txn.scan(acks) { k, v in
                        guard k.count == 8, let seq = try? Store.decodeAck(v) else {
                            problem("acks: malformed record for key \(Array(k.prefix(8)))")
                            return true
                        }
                        if seq > lastSeq {
                            problem("acks: node \(NodeID(UInt64(bigEndianBytes: k)).hex) acknowledges past the last sequence \(lastSeq)")
                        }
                        return true
                    }
                }
                if let purged = dbs.purged {
                    try txn.scan(purged) { k, v in
                        do {
                            guard k.count == 32 else { throw CorruptRecord("key is \(k.count) bytes, expected 32") }
                            let covered = try RecordCodec.decodePurge(v).covered
                            guard covered[.purgeMarker] > 0 else { throw CorruptRecord("the vector lacks the purge marker") }
                        } catch {
                            problem("purged[\(Array(k.prefix(4)))…]: \(error)")
                        }
                        return true
                    }
                }
                if let writes = dbs.writes {
                    // Remembered writes (SPEC §4.5): each decodes, and its order entry points back at it.
                    var byOrder: [UInt64: [UInt8]] = [:]
                    var records: [([UInt8], UInt64)] = []
                    try txn.scan(writes) { k, v in
                        if k.count == 17, k[0] == RememberedWrite.idPrefix {
                            do {
                                records.append((Array(k.dropFirst()), try RememberedWrite(decoding: v).order))
                            } catch {
                                problem("writes[\(Array(k.dropFirst()))]: \(error)")
                            }
                        } else if k.count == 9, k[0] == RememberedWrite.orderPrefix, v.count == WriteID.size {
                            byOrder[UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: k.dropFirst()))] = Array(v)
                        } else {
                            problem("writes: unexpected key \(Array(k.prefix(17)))")
                        }
                        return true
                    }
                    for (id, order) in records where byOrder[order] != id {
                        problem("writes: remembered write \(WriteID(bytes: id).map { "\($0)" } ?? "?") has no order entry \(order)")
                    }
                    if byOrder.count != records.count { problem("writes: \(byOrder.count) order entries for \(records.count) remembered writes") }
                }
                try txn.scan(dbs.changes) { k, v in
                    report.changes += 1
                    guard k.count == 8 else {
                        problem("changes: a key is \(k.count) bytes, expected 8")
                        return true
                    }
                    let seq = UInt64(bigEndianBytes: k)
                    let id = String(decoding: v, as: UTF8.self)
                    if let owner = articleSeqs.removeValue(forKey: seq) {
                        if !owner.sameBytes(id) { problem("changes[\(seq)]: names \"\(id)\", but that sequence belongs to \"\(owner)\"") }
                    } else {
                        problem("changes[\(seq)]: names \"\(id)\", whose record is at another sequence or missing")
                    }
                    return true
                }
                for (seq, id) in articleSeqs.sorted(by: { $0.key < $1.key }) {
                    problem("articles[\(id)]: its sequence \(seq) is missing from the change feed")
                }
                try txn.scan(dbs.bodies) { k, v in
                    report.bodies += 1
                    guard let h = BodyHash(raw: k) else {
                        problem("bodies: a key is \(k.count) bytes, expected 32")
                        return true
                    }
                    let name = "bodies[\(h.hex.prefix(12))…]"
                    do {
                        let (references, text) = try RecordCodec.bodyRecord(v)
                        guard let body = String(validating: text, as: UTF8.self) else { throw CorruptRecord("not valid UTF-8") }
                        if BodyHash(of: body) != h { problem("\(name): content does not match its hash") }
                        if let n = declared[h], n != text.count { problem("\(name): holds \(text.count) bytes; its versions declare \(n)") }
                        if references == nil { problem("\(name): a format-1 record (no reference count)") }
                        if let references, references != expectedRefs[h] ?? 0 {
                            problem("\(name): counts \(references) references, versions referring: \(expectedRefs[h] ?? 0)")
                        }
                    } catch {
                        problem("\(name): \(error)")
                    }
                    if expectedRefs[h] == nil { problem("\(name): no version keeps it outside its record") }
                    return true
                }
                for (h, n) in expectedRefs where try txn.withValue(dbs.bodies, key: h.bytes, { _ in true }) == nil {
                    problem("bodies[\(h.hex.prefix(12))…]: missing, \(n) version(s) refer to it")
                }
                let counters = [
                    ("live articles", Meta.live, live), ("tombstones", Meta.tombstones, tombs),
                    ("articles in conflict", Meta.conflicts, conflicted),
                ]
                for (name, key, actual) in counters {
                    let recorded = try Meta.u64(key, dbs.meta, txn)
                    if recorded != actual { problem("meta: \(name) counter says \(recorded), records say \(actual)") }
                }
                try verifySearch(txn, problem)
            }
        }
        return report
    }

    /// The search index holds exactly the winning live version of every article: its document
    /// record, one posting per term with the right frequency, and nothing else.
    private func verifySearch(_ txn: Transaction, _ problem: (String) -> Void) throws {
        guard let search = dbs.search else { return }
        // An unfinished build (running, or interrupted) or an index made under other term
        // rules cannot be checked; it is reported, since searches are refused meanwhile.
        if try txn.get(dbs.meta, key: Meta.searchBuild) != nil {
            problem("search: the index is incomplete (a build is running or was interrupted); `folio reindex` or any write-open finishes it, searches are refused until then")
            return
        }
        if try Meta.u64(Meta.searchVersion, dbs.meta, txn) != SearchText.fingerprint {
            problem("search: the index was built under other term rules; `folio reindex` or any write-open rebuilds it")
            return
        }
        var documents: UInt64 = 0
        var liveArticles: UInt64 = 0
        var length: UInt64 = 0
        var postings = 0
        // An order-independent checksum of every live posting: extra, missing or altered ones
        // show even when the count happens to match.
        var expectedSum: UInt64 = 0
        func digest(_ term: some Collection<UInt8>, _ doc: UInt32, _ tf: UInt32, _ mask: UInt32) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in term { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xFF) &* 0x100_0000_01b3
            for v in [doc, tf, mask] {
                for shift in stride(from: 24, through: 0, by: -8) { h = (h ^ UInt64(v >> UInt32(shift) & 0xFF)) &* 0x100_0000_01b3 }
            }
            h ^= h >> 33
            h = h &* 0xff51_afd7_ed55_8ccd
            return h ^ (h >> 33)
        }
        var norms = Norms.Reader(txn, search.norms)
        // Shared by the documents, with a new one when it grows large (terms of other
        // documents are no use to the next ones beyond the vocabulary they share).
        var lexicon = TermLexicon()
        try txn.scan(dbs.articles) { k, v in
            guard let id = String(validating: k, as: UTF8.self), let rec = try? RecordCodec.decodeArticle(v) else { return true }
            let indexed = try txn.withValue(search.ids, key: k) { v -> UInt32? in
                guard v.count == 4 else {
                    problem("search_ids[\(id)]: a \(v.count)-byte record (a 4-byte document number expected)")
                    return nil
                }
                return UInt32(bigEndianBytes: v)
            }
            guard let c = rec.versions.winner?.content else {
                if indexed != nil { problem("search_ids[\(id)]: indexed, but the article is deleted") }
                return true
            }
            // A winner whose body is missing is reported with the bodies; the index may hold it
            // (indexed before the body went) or not (a build leaves it out).
            guard let body = (try? self.body(c.bodyHash, of: id, txn: txn)) ?? nil else { return true }
            liveArticles += 1
            guard let doc = indexed ?? nil else {
                if indexed == nil { problem("search_ids[\(id)]: the live article is not in the search index") }
                return true
            }
            if lexicon.count > 1 << 20 { lexicon = TermLexicon(foldCache: lexicon.foldCache) }
            let expected = IndexedDocument(content: c, body: body, lexicon: lexicon)
            documents += 1
            length += UInt64(expected.length)
            postings += expected.termCount
            expected.forEachTerm { term, _, stats in expectedSum &+= digest(term, doc, stats.tf, stats.mask) }
            do {
                guard let record = try txn.withValue(search.docs, key: doc.bigEndianBytes, IndexedDocument.decodeDoc) else {
                    problem("search_docs[\(doc)]: missing (article \(id))")
                    return true
                }
                if !record.id.sameBytes(id) || record.length != expected.length || record.published != expected.published {
                    problem("search_docs[\(doc)]: says \(record.id), length \(record.length); the article \(id) has length \(expected.length)")
                }
                // A chunk that does not read is reported once (by the norms scan below).
                if let norm = try? norms.value(doc), norm != Norms.value(length: expected.length) {
                    problem("search_norms[\(doc)]: \(norm == 0 ? "not live" : "length \(norm - 1)"); the article \(id) has length \(expected.length)")
                }
            } catch {
                problem("search_docs[\(doc)]: \(error)")
            }
            return true
        }
        let ids = try txn.statistics(search.ids).entries
        let docs = try txn.statistics(search.docs).entries
        if ids != Int(documents) || docs != Int(documents) {
            problem("search: \(ids) indexed ids and \(docs) document records for \(liveArticles) live articles, \(documents) of them indexed")
            // Ids the index holds for no article at all (those of deleted ones are named above).
            var named = 0
            try txn.scan(search.ids) { k, _ in
                guard try txn.withValue(dbs.articles, key: k, { _ in true }) == nil else { return true }
                named += 1
                problem(named > 20 ? "search_ids: more ids of no article" : "search_ids[\(String(decoding: k, as: UTF8.self))]: indexed, but there is no such article")
                return named <= 20
            }
        }
        // Norms: one live entry per document.
        var liveNorms = 0
        try txn.scan(search.norms) { k, v in
            guard k.count == 4, v.count == Norms.chunkBytes else {
                problem("search_norms: a chunk of \(v.count) bytes under a \(k.count)-byte key")
                return true
            }
            for i in stride(from: 0, to: v.count, by: 2) where v[i] != 0 || v[i + 1] != 0 { liveNorms += 1 }
            return true
        }
        if liveNorms != Int(documents) { problem("search_norms: \(liveNorms) live documents, the live articles explain \(documents)") }
        // Segments: disjoint document ranges, in order, below the next numbers handed out.
        let segments: [SegmentRecord]
        do {
            segments = try SegmentRecord.all(txn, search.segments)
        } catch {
            problem("search_segments: \(error)")
            return
        }
        let nextDoc = try Meta.u64(Meta.searchNext, dbs.meta, txn)
        let nextSegment = try Meta.u64(Meta.searchSegment, dbs.meta, txn)
        var byNumber: [UInt32: Int] = [:]
        for (i, seg) in segments.enumerated() {
            if i > 0 && seg.firstDoc <= segments[i - 1].lastDoc { problem("search_segments: segment \(seg.number) overlaps the one before it") }
            if UInt64(seg.lastDoc) >= nextDoc || UInt64(seg.number) >= nextSegment { problem("search_segments: segment \(seg.number) is beyond the numbers handed out") }
            if byNumber.updateValue(i, forKey: seg.number) != nil { problem("search_segments: segment number \(seg.number) twice") }
        }
        var counted = [UInt64](repeating: 0, count: segments.count)
        var bytes = [UInt64](repeating: 0, count: segments.count)
        var liveDocs = [UInt32](repeating: 0, count: segments.count)
        var actualSum: UInt64 = 0
        var actual = 0
        var unknown = Set<UInt32>()
        var lastTerm = [[UInt8]?](repeating: nil, count: segments.count)
        try txn.scan(search.postings) { k, v in
            guard k.count > 4 else {
                problem("search_postings: a key of \(k.count) bytes")
                return true
            }
            let number = UInt32(bigEndianBytes: UnsafeRawBufferPointer(rebasing: k[0..<4]))
            guard let i = byNumber[number] else {
                if unknown.insert(number).inserted { problem("search_postings: postings of segment \(number), which search_segments does not list") }
                return true
            }
            let pageKey = UnsafeRawBufferPointer(rebasing: k[4...])
            var first = true
            do {
                try PostingPage.forEach(v) { term, block in
                    if first {
                        first = false
                        guard term.elementsEqual(pageKey) else { throw CorruptRecord("the page's key is not its first term") }
                        if let previous = lastTerm[i], previous.withUnsafeBytes({ PostingPage.compare($0, term) }) >= 0 {
                            throw CorruptRecord("the page's terms do not come after the previous page's")
                        }
                    }
                    lastTerm[i] = Array(term)
                    let isDocumentTerm = term.elementsEqual(IndexedDocument.documentTermBytes)
                    do {
                        var r = try PostingBlock.Reader(block, base: segments[i].firstDoc, last: segments[i].lastDoc)
                        while let p = try r.next() {
                            counted[i] += 1
                            // A norms chunk that does not read was reported by the norms scan.
                            guard (try? norms.value(p.doc)) ?? 0 != 0 else { continue }
                            actual += 1
                            actualSum &+= digest(term, p.doc, p.tf, p.mask)
                            if isDocumentTerm { liveDocs[i] += 1 }
                        }
                        bytes[i] += UInt64(block.count)
                    } catch {
                        problem("search_postings: segment \(number), term \(String(decoding: term, as: UTF8.self)): \(error)")
                    }
                    return true
                }
            } catch {
                problem("search_postings: segment \(number), page \(String(decoding: pageKey, as: UTF8.self)): \(error)")
            }
            return true
        }
        for (i, seg) in segments.enumerated() {
            if counted[i] != seg.postings || bytes[i] != seg.bytes {
                problem("search_segments: segment \(seg.number) records \(seg.postings) postings in \(seg.bytes) bytes; it holds \(counted[i]) in \(bytes[i])")
            }
            if liveDocs[i] != seg.docs - seg.dead {
                problem("search_segments: segment \(seg.number) counts \(seg.docs - seg.dead) live documents; it holds \(liveDocs[i])")
            }
        }
        if actual != postings {
            problem("search_postings: \(actual) live postings, the live articles explain \(postings)")
        } else if actualSum != expectedSum {
            problem("search_postings: the postings differ from what the live articles explain (same count, other content)")
        }
        if try Meta.u64(Meta.searchDocs, dbs.meta, txn) != documents || Meta.u64(Meta.searchLength, dbs.meta, txn) != length {
            problem("meta: the search counters disagree with the index (\(documents) documents, total length \(length))")
        }
    }
}
