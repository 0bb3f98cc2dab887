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

    /// `deletePrefix` deletes exactly the keys with the prefix (across many pages, values on
    /// overflow pages included, nothing before or after), and `withFloor` finds the greatest key
    /// at or before a probe, as a model says over 30 rounds.
    func testDeletePrefixAndFloorAgreeWithAModel() throws {
        let env = try open()
        let db = try env.openDatabases([("segments", [.create])])[0]
        var model: [[UInt8]: Int] = [:]
        var seed: UInt64 = 0x5E6
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
        for round in 0..<30 {
            try env.write { txn in
                for _ in 0..<(40 + Int(next() % 400)) {
                    let key = [UInt8(next() % 6)] + (0..<Int(next() % 12)).map { _ in UInt8(next() % 256) }
                    // Mostly small values, some on overflow pages.
                    let size = next() % 10 == 0 ? 5_000 + Int(next() % 20_000) : Int(next() % 300)
                    try txn.put(db, key: key, value: [UInt8](repeating: UInt8(round), count: size))
                    model[key] = size
                }
                let prefix: [UInt8] = next() % 3 == 0 ? [UInt8(next() % 6)] : [UInt8(next() % 6), UInt8(next() % 256)]
                let expected = model.keys.filter { $0.starts(with: prefix) }.count
                XCTAssertEqual(try txn.deletePrefix(db, prefix), expected)
                model = model.filter { !$0.key.starts(with: prefix) }
            }
            var seen: [[UInt8]: Int] = [:]
            try env.read { txn in
                try txn.scan(db) { k, v in
                    seen[Array(k)] = v.count
                    return true
                }
            }
            XCTAssertEqual(seen, model, "round \(round)")
            // withFloor: the greatest key <= a probe, as the model says.
            let sorted = model.keys.sorted { $0.lexicographicallyPrecedes($1) }
            try env.read { txn in
                for _ in 0..<50 {
                    let probe = [UInt8(next() % 7)] + (0..<Int(next() % 4)).map { _ in UInt8(next() % 256) }
                    let floor = try txn.withFloor(db, key: probe) { k, _ in Array(k) }
                    XCTAssertEqual(floor, sorted.last { !probe.lexicographicallyPrecedes($0) }, "probe \(probe)")
                }
            }
        }
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
