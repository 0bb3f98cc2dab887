@testable import FolioModel
import FolioTestSupport
import LMDB
import XCTest

@testable import FolioStore

/// Format 4 (every body in `bodies`, counts in `bodyrefs`) → 5 (small bodies in their
/// records, large ones counted in their own records), on the committed format-4 fixture.
final class FormatFiveUpgradeTests: XCTestCase {
    static let large = ["archive/big-one", "archive/big-two", "archive/edge-16385"]

    /// What `bodies` holds: each body's reference count (nil: a format-1 record).
    func bodies(_ env: Environment, _ dbs: Store.Databases) throws -> [BodyHash: UInt64?] {
        try env.read { txn in
            var out: [BodyHash: UInt64?] = [:]
            try txn.scan(dbs.bodies) { k, v in
                out[BodyHash(bytes: k)!] = try RecordCodec.bodyRecord(v).references
                return true
            }
            return out
        }
    }

    func testAFormatFourStoreUpgradesInPlaceKeepingEverythingByteForByte() throws {
        let (dir, expected) = try copyFixture(self, "format4")
        var ro = Store.Options()
        ro.readOnly = true
        let old = try Store.open(at: dir, options: ro)
        XCTAssertEqual(try old.statistics().storageFormat, 4)
        // The new folio reads a format-4 store as it is (bodies from `bodies`).
        XCTAssertEqual(try exportAllVersions(old), expected)
        let changesBefore = try old.changes(since: 0, limit: 100)
        let checkpointsBefore = try old.checkpoints()
        let tombstonesBefore = try old.tombstones(horizon: 0)
        let states = try old.list(includeDeleted: true).map { try XCTUnwrap(old.get($0.id, bodies: .all)) }
        XCTAssertEqual(try bodies(old.env, old.dbs).count, 9)
        XCTAssertTrue(try old.verify().problems.first?.contains("not yet in storage format 5") == true)
        old.close()

        let s = try Store.open(at: dir)
        defer { s.close() }
        XCTAssertEqual(try s.statistics().storageFormat, 5)
        XCTAssertEqual(try exportAllVersions(s), expected)
        XCTAssertEqual(try s.changes(since: 0, limit: 100), changesBefore)
        XCTAssertEqual(try s.checkpoints(), checkpointsBefore)
        XCTAssertEqual(try s.tombstones(horizon: 0), tombstonesBefore)
        for state in states { XCTAssertEqual(try s.get(state.id, bodies: .all), state, state.id) }
        // Only the two bodies over the limit stay in `bodies`, with their counts; the 40 000-byte
        // one is shared by two articles. `bodyrefs` is gone.
        let big = try XCTUnwrap(s.get("archive/big-one")?.versions.winner?.content?.bodyHash)
        let over = try XCTUnwrap(s.get("archive/edge-16385")?.versions.winner?.content?.bodyHash)
        XCTAssertEqual(try bodies(s.env, s.dbs), [big: 2, over: 1])
        XCTAssertNil(try s.env.write { try $0.openExistingDatabase("bodyrefs") })
        // The body of exactly 16 384 bytes is in its record.
        let edge = try XCTUnwrap(s.env.read { try s.record("archive/edge-16384", txn: $0) })
        XCTAssertEqual(edge.inlineHashes, [try XCTUnwrap(edge.versions.winner?.content?.bodyHash)])
        XCTAssertEqual(try s.verify().problems, [])
        XCTAssertEqual(try s.search(SearchQuery(parsing: "hafen tag:streik"), limit: 10).map(\.id), ["notes/2026-11-30-hafen"])
        // Its index, of older term rules, was rebuilt under today's: a CJK character alone
        // finds the word holding it (term rules 6).
        XCTAssertEqual(try s.search(SearchQuery(parsing: "図"), limit: 10).map(\.id), ["world/2026-11-23-tokyo-exhibit"])
        // Writes go on in the new format: a shared large body loses a reference, then its last.
        try s.write { try $0.delete("archive/big-one") }
        XCTAssertEqual(try bodies(s.env, s.dbs), [big: 1, over: 1])
        try s.write { try $0.put(Article(id: "archive/big-two", title: "Short now", body: "A summary.")) }
        XCTAssertEqual(try bodies(s.env, s.dbs), [over: 1])
        XCTAssertEqual(try s.verify().problems, [])
    }

    /// An upgrade stopped after any transaction (as by a kill) leaves a store every read
    /// serves whole, that an older folio refuses, and that the next write-open finishes.
    func testAnUpgradeStoppedPartWayIsReadableAndFinishedByTheNextOpen() throws {
        for stop in [1, 3, 6, 8, 11] {
            let (dir, expected) = try copyFixture(self, "format4")
            do {
                let (env, dbs) = try Store.environment(dir, Store.Options())
                defer { env.close() }
                try Store.upgradeBodies(env: env, dbs: dbs, batch: 2, transactions: stop)
                try env.read { txn in
                    XCTAssertEqual(try Meta.recordedFormat(dbs.meta, txn), 5, "an older folio refuses it")
                    XCTAssertNotNil(try txn.get(dbs.meta, key: Meta.bodiesUpgrade), "stop \(stop): not finished")
                }
            }
            var ro = Store.Options()
            ro.readOnly = true
            let mid = try Store.open(at: dir, options: ro)
            XCTAssertEqual(try exportAllVersions(mid), expected, "stop \(stop)")
            XCTAssertEqual(try mid.get("archive/big-two")?.article?.body.utf8.count, 40_000)
            XCTAssertEqual(try mid.verify().problems.count, 1)
            mid.close()
            let s = try Store.open(at: dir)
            XCTAssertEqual(try exportAllVersions(s), expected, "stop \(stop)")
            XCTAssertEqual(try s.verify().problems, [], "stop \(stop)")
            XCTAssertEqual(try bodies(s.env, s.dbs).count, 2)
            s.close()
        }
    }

    /// An old store already damaged (a body missing, the upgrade marker mangled) still
    /// upgrades: the damage is kept as it was, `verify` names it, and the article can go.
    func testADamagedOldStoreUpgradesKeepingItsDamageForVerifyToName() throws {
        let (dir, _) = try copyFixture(self, "format4")
        do {
            let (env, dbs) = try Store.environment(dir, Store.Options())
            defer { env.close() }
            // Which body of the fixture goes missing: that of one small article.
            let victim = try env.read { txn -> (String, BodyHash) in
                var found: (String, BodyHash)?
                try txn.scan(dbs.articles) { k, v in
                    let rec = try RecordCodec.decodeArticle(v)
                    if let c = rec.versions.winner?.content, c.bodyLength < 1_000, found == nil { found = (String(decoding: k, as: UTF8.self), c.bodyHash) }
                    return found == nil
                }
                return try XCTUnwrap(found)
            }
            try env.write { txn in
                try txn.delete(dbs.bodies, key: victim.1.bytes)
                try txn.put(dbs.meta, key: Meta.format, value: [0, 0, 0, 5])
                try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: [7, 7, 7])
            }
            let s = try Store.open(at: dir)
            defer { s.close() }
            let problems = try s.verify().problems
            XCTAssertTrue(problems.contains { $0.contains("articles[\(victim.0)]") && $0.contains("is not in the record") }, "\(problems)")
            XCTAssertThrowsError(try s.get(victim.0))
            try s.write { try $0.delete(victim.0) }
            XCTAssertEqual(try s.verify().problems, [])
        }
    }

    /// A marker damaged into any form — the second step's with no first step done, a position
    /// past every key — never lets a body go that no record holds yet: the conversion checks
    /// that every record is converted before it touches `bodies`, and starts over if not.
    func testAMarkerDamagedIntoAnyFormNeverLosesABody() throws {
        let markers: [[UInt8]] = [[2], [2, 0xFF], [2, 0], [1, 0xFF, 0xFF], [2] + [UInt8](repeating: 0xFF, count: 32), [], [3]]
        for marker in markers {
            let (dir, expected) = try copyFixture(self, "format4")
            do {
                let (env, dbs) = try Store.environment(dir, Store.Options())
                defer { env.close() }
                try env.write { txn in
                    try txn.put(dbs.meta, key: Meta.format, value: [0, 0, 0, 5])
                    try txn.put(dbs.meta, key: Meta.bodiesUpgrade, value: marker)
                }
            }
            let s = try Store.open(at: dir)
            defer { s.close() }
            XCTAssertEqual(try exportAllVersions(s), expected, "marker \(marker)")
            XCTAssertEqual(try s.verify().problems, [], "marker \(marker)")
            XCTAssertEqual(try bodies(s.env, s.dbs).count, 2, "marker \(marker)")
        }
    }

    /// A peer that leaves out a body this store holds must declare the body's true length:
    /// where the body goes (record or `bodies`) follows it.
    func testAVersionWhoseLeftOutBodyHasAnotherLengthIsRefused() throws {
        let s = try makeStore(self)
        try s.write { try $0.put(Article(id: "a", title: "t", body: "held body")) }
        let held = try XCTUnwrap(s.get("a"))
        let c = try XCTUnwrap(held.versions.winner?.content)
        var lying = c
        lying.bodyLength = 20_000
        lying.title = "edited"
        let v = Version(dot: Dot(node: NodeID(7), counter: 1), context: held.versions.clock, timestamp: 5, content: lying)
        XCTAssertThrowsError(try s.write { try $0.merge(id: "a", versions: [v], bodies: [:]) }) { e in
            XCTAssertTrue("\(e)".contains("declares more than 16384 bytes") && "\(e)".contains("which holds 9"), "\(e)")
        }
        // And one that declares a small length for a large held body.
        let large = String(repeating: "x", count: 20_000)
        try s.write { try $0.put(Article(id: "b", title: "t", body: large)) }
        let b = try XCTUnwrap(s.get("b"))
        var short = try XCTUnwrap(b.versions.winner?.content)
        short.bodyLength = 10
        short.title = "edited"
        let w = Version(dot: Dot(node: NodeID(7), counter: 2), context: b.versions.clock, timestamp: 5, content: short)
        XCTAssertThrowsError(try s.write { try $0.merge(id: "b", versions: [w], bodies: [:]) }) { e in
            XCTAssertTrue("\(e)".contains("declares 10 bytes") && "\(e)".contains("which holds 20000"), "\(e)")
        }
        XCTAssertEqual(try s.get("a")?.article?.body, "held body")
        XCTAssertEqual(try s.get("b")?.article?.body, large)
        XCTAssertEqual(try s.verify().problems, [])
    }
}

/// Records are read lazily (bodies lent from the page, decoded when asked for); `verify`
/// still decodes and checks everything, and a damaged record is refused, never trapped on.
final class InlineBodyDamageTests: XCTestCase {
    func testVerifyNamesEveryKindOfDamageToInlineAndCountedBodies() throws {
        let large = String(repeating: "a long body kept outside the record ", count: 600)
        func damaged(_ change: (Store, Transaction) throws -> Void) throws -> (Store, [String]) {
            let s = try makeStore(self)
            try s.write { w in
                try w.put(Article(id: "a", title: "t", body: "small body"))
                try w.put(Article(id: "b", title: "t", body: large))
                try w.put(Article(id: "c", title: "t", body: large))
            }
            XCTAssertEqual(try s.verify().problems, [])
            try s.env.write { txn in try change(s, txn) }
            return (s, try s.verify().problems)
        }
        func rewrite(_ s: Store, _ txn: Transaction, _ id: String, _ edit: (inout [(BodyHash, [UInt8])]) -> Void) throws {
            let rec = try XCTUnwrap(s.env.read { _ in try txn.withValue(s.dbs.articles, key: Array(id.utf8)) { try RecordCodec.decodeArticleWithBodies($0) } })
            var inline = rec.inlineHashes.map { ($0, rec.inlineBodies[$0]!) }
            edit(&inline)
            try txn.put(s.dbs.articles, key: Array(id.utf8), value: RecordCodec.encode(seq: rec.seq, versions: rec.versions, inline: inline))
        }
        let small = BodyHash(of: "small body")
        let cases: [(String, (Store, Transaction) throws -> Void, String)] = [
            ("a flipped byte", { s, t in try rewrite(s, t, "a") { $0[0].1[0] ^= 1 } }, "does not match its hash"),
            ("invalid UTF-8", { s, t in try rewrite(s, t, "a") { $0[0].1[0] = 0xFF } }, "is not valid UTF-8"),
            ("a missing body", { s, t in try rewrite(s, t, "a") { $0 = [] } }, "is not in the record"),
            ("an extra body", { s, t in try rewrite(s, t, "a") { $0.append((BodyHash(of: "x"), Array("x".utf8))) } }, "none of its versions keeps in the record"),
            ("a wrong length", { s, t in try rewrite(s, t, "a") { $0[0].1 += Array(" more".utf8) } }, "its version declares"),
            ("a cut record", { s, t in
                let v = try XCTUnwrap(t.get(s.dbs.articles, key: Array("a".utf8)))
                try t.put(s.dbs.articles, key: Array("a".utf8), value: Array(v.dropLast(3)))
            }, "articles[a]:"),
            ("a wrong count", { s, t in
                try t.put(s.dbs.bodies, key: BodyHash(of: large).bytes, value: Array(large.utf8).withUnsafeBytes { RecordCodec.encodeBody($0, references: 3) })
            }, "counts 3 references, versions referring: 2"),
            ("a format-1 body record", { s, t in
                try t.put(s.dbs.bodies, key: BodyHash(of: large).bytes, value: [1] + Array(large.utf8))
            }, "a format-1 record"),
            ("a small body outside", { s, t in
                try t.put(s.dbs.bodies, key: small.bytes, value: Array("small body".utf8).withUnsafeBytes { RecordCodec.encodeBody($0, references: 1) })
            }, "no version keeps it outside its record"),
            ("a large body missing", { s, t in try t.delete(s.dbs.bodies, key: BodyHash(of: large).bytes) }, "missing, 2 version(s) refer to it"),
            ("no versions", { s, t in
                try t.put(s.dbs.articles, key: Array("a".utf8), value: [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
            }, "holds no version"),
            ("a format-1 record", { s, t in
                let rec = try XCTUnwrap(t.withValue(s.dbs.articles, key: Array("a".utf8)) { try RecordCodec.decodeArticle($0) })
                var w = ByteWriter(capacity: 256)
                w.u8(1)
                w.u64(rec.seq)
                w.u32(UInt32(rec.versions.versions.count))
                for v in rec.versions.versions { RecordCodec.encode(v, into: &w) }
                try t.put(s.dbs.articles, key: Array("a".utf8), value: w.bytes)
            }, "a record of format 1"),
            ("versions out of order", { s, t in
                let rec = try XCTUnwrap(t.withValue(s.dbs.articles, key: Array("c".utf8)) { try RecordCodec.decodeArticleWithBodies($0) })
                let other = Version(dot: Dot(node: NodeID(1), counter: 1), context: VersionVector(), timestamp: 1, content: nil)
                var w = ByteWriter(capacity: 256)
                w.u8(2)
                w.u64(rec.seq)
                w.u32(2)
                RecordCodec.encode(rec.versions.versions[0], into: &w)
                RecordCodec.encode(other, into: &w)
                w.u32(0)
                try t.put(s.dbs.articles, key: Array("c".utf8), value: w.bytes)
            }, "not sorted by dot"),
        ]
        for (name, change, expected) in cases {
            let (s, problems) = try damaged(change)
            XCTAssertTrue(problems.contains { $0.contains(expected) }, "\(name): \(problems)")
            // A read that cannot decode what it needs fails with an error, never a trap (a
            // read does not hash the body it returns: `verify` does).
            if ["invalid UTF-8", "a missing body", "a cut record", "no versions", "a format-1 record"].contains(name) { XCTAssertThrowsError(try s.get("a"), name) }
            // The node's GET copies versions as they are: it checks them as it finds them.
            if ["invalid UTF-8", "a cut record", "no versions"].contains(name) { XCTAssertThrowsError(try s.article("a"), name) }
            if name == "versions out of order" {
                XCTAssertThrowsError(try s.withRecord("c") { _ in 1 }, name)
                XCTAssertThrowsError(try s.get("c"), "a local read refuses it too")
            }
            if name == "a large body missing" { XCTAssertThrowsError(try s.get("b"), name) }
        }
    }
}
