import Foundation
import XCTest

@testable import LMDB

final class EnvironmentTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "lmdb-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func open(mapSize: Int = 64 << 20, readOnly: Bool = false) throws -> Environment {
        var o = Environment.Options()
        o.mapSize = mapSize
        o.readOnly = readOnly
        return try Environment(path: dir, options: o)
    }

    func testPutGetDeleteAndScanInKeyOrder() throws {
        let env = try open()
        let db = try env.openDatabases([("things", .create)])[0]
        try env.write { txn in
            for k in ["b", "a", "c", "ab"] { try txn.put(db, key: Array(k.utf8), value: Array("v-\(k)".utf8)) }
        }
        XCTAssertEqual(try env.read { try $0.get(db, key: Array("ab".utf8)) }, Array("v-ab".utf8))
        XCTAssertNil(try env.read { try $0.get(db, key: Array("zz".utf8)) })
        var keys: [String] = []
        try env.read { txn in
            try txn.scan(db, from: Array("ab".utf8)) { k, _ in
                keys.append(String(decoding: k, as: UTF8.self))
                return true
            }
        }
        XCTAssertEqual(keys, ["ab", "b", "c"])
        let deleted = try env.write { try $0.delete(db, key: Array("b".utf8)) }
        XCTAssertTrue(deleted)
        XCTAssertFalse(try env.write { try $0.delete(db, key: Array("b".utf8)) })
        let last = try env.read { try $0.withLast(db) { k, _ in String(decoding: k, as: UTF8.self) } }
        XCTAssertEqual(last, "c")
        XCTAssertEqual(try env.read { try $0.statistics(db).entries }, 3)
    }

    /// Fixed-size duplicates written with `putMultiple` (appended when ascending and past the
    /// last, inserted otherwise, deleted now and then) and read back a page at a time with
    /// `scanDuplicatePages` always equal a model: every key, every value, in order. Keys hold
    /// from one value (no duplicate pages) to thousands (several).
    func testDuplicatePagesAndAscendingPutsAgreeWithAModel() throws {
        let env = try open()
        let db = try env.openDatabases([("dups", [.create, .dupSort, .dupFixed])])[0]
        var model: [[UInt8]: Set<UInt64>] = [:]
        var seed: UInt64 = 0x0D0B
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
        for round in 0..<40 {
            try env.write { txn in
                for _ in 0..<20 {
                    let key = Array("k\(next() % 12)".utf8)
                    let held = model[key, default: []]
                    // Mostly past the last value held (an append), sometimes anywhere.
                    let base = round % 3 == 0 ? next() % 5000 : (held.max() ?? 0) + 1
                    let values = Set((0..<Int(1 + next() % (round % 5 == 0 ? 900 : 30))).map { _ in base + next() % 2000 }).sorted()
                    let bytes = values.flatMap { withUnsafeBytes(of: $0.bigEndian) { Array($0) } }
                    try txn.putMultiple(db, key: key, values: bytes, elementSize: 8, ascending: true)
                    model[key, default: []].formUnion(values)
                    if next() % 4 == 0, let gone = model[key]?.randomElement() {
                        XCTAssertTrue(try txn.delete(db, key: key, value: withUnsafeBytes(of: gone.bigEndian) { Array($0) }))
                        model[key]?.remove(gone)
                    }
                }
            }
            var seen: [[UInt8]: [UInt64]] = [:]
            try env.read { txn in
                try txn.scanDuplicatePages(db, from: nil as [UInt8]?) { k, page in
                    XCTAssertEqual(page.count % 8, 0)
                    for i in stride(from: 0, to: page.count, by: 8) {
                        seen[Array(k), default: []].append(UInt64(bigEndian: page.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                    }
                    return true
                }
            }
            XCTAssertEqual(seen, model.filter { !$0.value.isEmpty }.mapValues { $0.sorted() }, "round \(round)")
        }
        // From a key on, stopping early.
        var keys: [String] = []
        try env.read { txn in
            try txn.scanDuplicatePages(db, from: Array("k5".utf8)) { k, _ in
                let key = String(decoding: k, as: UTF8.self)
                if keys.last != key { keys.append(key) }
                return keys.count < 3
            }
        }
        XCTAssertEqual(keys, Array(model.keys.map { String(decoding: $0, as: UTF8.self) }.filter { $0 >= "k5" && !(model[Array($0.utf8)] ?? []).isEmpty }.sorted().prefix(3)))
    }

    struct Boom: Error {}

    func testWriteClosureAbortsWhenItThrows() throws {
        let env = try open()
        let db = try env.openDatabases([("t", .create)])[0]
        XCTAssertThrowsError(try env.write { txn in
            try txn.put(db, key: [1], value: [1])
            throw Boom()
        })
        XCTAssertNil(try env.read { try $0.get(db, key: [1]) })
        // The writer lock was released: the next write proceeds.
        try env.write { try $0.put(db, key: [2], value: [2]) }
        XCTAssertEqual(try env.read { try $0.get(db, key: [2]) }, [2])
    }

    func testErrorsCarryCodeAndMessage() throws {
        let env = try open()
        let db = try env.openDatabases([("t", .create)])[0]
        try env.write { try $0.put(db, key: [1], value: [1]) }
        do {
            try env.write { try $0.put(db, key: [1], value: [2], flags: .noOverwrite) }
            XCTFail("expected keyExists")
        } catch let e as LMDBError {
            XCTAssertEqual(e, .keyExists)
            XCTAssertEqual(e.code, -30799)
            XCTAssertTrue(e.message.contains("MDB_KEYEXIST"), e.message)
            XCTAssertTrue(e.description.contains("mdb_put t"), e.description)
        }
        XCTAssertThrowsError(try env.write { try $0.put(db, key: [UInt8](repeating: 7, count: 600), value: [1]) }) {
            XCTAssertEqual($0 as? LMDBError, .badValueSize)
        }
    }

    func testMapGrowsOnMapFullFromPutAndCommit() throws {
        // A 64 KiB map holds a few pages; writing megabytes must grow it, never fail.
        let env = try open(mapSize: 64 << 10)
        let db = try env.openDatabases([("big", .create)])[0]
        let value = [UInt8](repeating: 0xAB, count: 3000)
        for batch in 0..<20 {
            try env.write { txn in
                for i in 0..<100 { try txn.put(db, key: Array("k\(batch)-\(i)".utf8), value: value) }
            }
        }
        // One large transaction too.
        try env.write { txn in
            for i in 0..<2000 { try txn.put(db, key: Array("one-\(i)".utf8), value: value) }
        }
        XCTAssertEqual(try env.read { try $0.statistics(db).entries }, 4000)
        XCTAssertGreaterThan(env.info().mapSize, 10 << 20)
        XCTAssertEqual(try env.read { try $0.get(db, key: Array("k19-99".utf8)) }, value)
    }

    func testMapGrowthWaitsForConcurrentReaders() throws {
        let env = try open(mapSize: 64 << 10)
        let db = try env.openDatabases([("big", .create)])[0]
        try env.write { try $0.put(db, key: [0], value: [UInt8](repeating: 1, count: 100)) }
        let stop = ManagedAtomicFlag()
        let readers = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: readers) {
                while !stop.isSet {
                    let v = try? env.read { try $0.get(db, key: [0]) }
                    XCTAssertEqual(v?.count, 100)
                }
            }
        }
        let value = [UInt8](repeating: 2, count: 4000)
        for i in 0..<1500 { try env.write { try $0.put(db, key: Array("r\(i)".utf8), value: value) } }
        stop.set()
        readers.wait()
        XCTAssertEqual(try env.read { try $0.statistics(db).entries }, 1501)
    }

    func testReadOnlyEnvironmentSeesCommittedDataAndCompactCopyWorks() throws {
        do {
            let env = try open()
            let db = try env.openDatabases([("t", .create)])[0]
            try env.write { txn in for i in 0..<100 { try txn.put(db, key: [UInt8(i)], value: [UInt8](repeating: 1, count: 500)) } }
            try env.write { txn in for i in 0..<50 { try txn.delete(db, key: [UInt8(i)]) } }
            let copyDir = dir + "/copy"
            try FileManager.default.createDirectory(atPath: copyDir, withIntermediateDirectories: false)
            try env.copy(to: copyDir, compact: true)
            var o = Environment.Options()
            o.readOnly = true
            let copy = try Environment(path: copyDir, options: o)
            let cdb = try copy.openDatabases([("t", [])])[0]
            XCTAssertEqual(try copy.read { try $0.statistics(cdb).entries }, 50)
            copy.close()
            env.close()
        }
        let ro = try open(readOnly: true)
        let db = try ro.openDatabases([("t", [])])[0]
        XCTAssertEqual(try ro.read { try $0.statistics(db).entries }, 50)
        XCTAssertThrowsError(try ro.openDatabases([("missing", [])])) { XCTAssertEqual($0 as? LMDBError, .notFound) }
        XCTAssertEqual(ro.staleReadersClearedAtOpen, 0)
        XCTAssertTrue(Environment.version.hasPrefix("LMDB 0.9"))
    }

    func testOpenFailureReportsPathAndLeaksNothing() {
        var o = Environment.Options()
        o.readOnly = true
        XCTAssertThrowsError(try Environment(path: dir + "/does-not-exist", options: o)) { error in
            let e = error as? LMDBError
            XCTAssertEqual(e?.code, ENOENT)
            XCTAssertTrue(e?.description.contains("does-not-exist") ?? false)
        }
    }
}

/// A tiny thread-safe flag for the reader threads above.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
