import CLMDB
import Foundation

/// A read or write transaction, valid only inside the closure that received it.
///
/// Every value handed out is either copied into owned memory (`[UInt8]`) or lent as an
/// `UnsafeRawBufferPointer` for the duration of a closure: no pointer into the map outlives
/// the call that produced it. Using a transaction after its closure returned traps.
public final class Transaction {
    @usableFromInline let handle: OpaquePointer
    public let isReadOnly: Bool
    @usableFromInline var isValid = true
    /// Set when a put reported `MDB_MAP_FULL`: the transaction is then unusable and the
    /// environment retries the whole write closure after growing the map.
    @usableFromInline var hitMapFull = false

    @usableFromInline
    init(handle: OpaquePointer, readOnly: Bool) {
        self.handle = handle
        self.isReadOnly = readOnly
    }

    @usableFromInline
    func invalidate() { isValid = false }

    @inlinable @inline(__always)
    func ensureValid() {
        precondition(isValid, "LMDB transaction used outside its closure")
    }

    // MARK: Reads

    /// Lends the value stored under `key` to `body`, or returns nil when the key is absent.
    @inlinable
    public func withValue<K: ContiguousBytes, T>(
        _ db: Database, key: K, _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        ensureValid()
        var data = MDB_val()
        let rc: Int32 = key.withUnsafeBytes { kb in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            return mdb_get(handle, db.dbi, &k, &data)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get \(db.name)")
        return try body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    /// A copy of the value stored under `key`, or nil when absent.
    @inlinable
    public func get<K: ContiguousBytes>(_ db: Database, key: K) throws -> [UInt8]? {
        try withValue(db, key: key) { Array($0) }
    }

    // MARK: Writes

    /// Stores `value` under `key`.
    @inlinable
    public func put<K: ContiguousBytes, V: ContiguousBytes>(
        _ db: Database, key: K, value: V, flags: PutFlags = []
    ) throws {
        ensureValid()
        precondition(!isReadOnly, "put in a read-only transaction")
        let rc: Int32 = key.withUnsafeBytes { kb in
            value.withUnsafeBytes { vb in
                var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
                var v = MDB_val(mv_size: vb.count, mv_data: UnsafeMutableRawPointer(mutating: vb.baseAddress))
                return mdb_put(handle, db.dbi, &k, &v, flags.rawValue)
            }
        }
        if rc == MDB_MAP_FULL { hitMapFull = true }
        try check(rc, "mdb_put \(db.name)")
    }

    /// Deletes `key`; returns false when it was absent.
    @inlinable @discardableResult
    public func delete<K: ContiguousBytes>(_ db: Database, key: K) throws -> Bool {
        ensureValid()
        precondition(!isReadOnly, "delete in a read-only transaction")
        let rc: Int32 = key.withUnsafeBytes { kb in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            return mdb_del(handle, db.dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        if rc == MDB_MAP_FULL { hitMapFull = true }
        try check(rc, "mdb_del \(db.name)")
        return true
    }

    /// Opens the named database `name` if it exists (nil when it does not; never creates it),
    /// with `flags` matching how it was made. Its handle is the environment's from then on.
    public func openExistingDatabase(_ name: String, flags: Database.Flags = []) throws -> Database? {
        ensureValid()
        var dbi = MDB_dbi()
        let rc = mdb_dbi_open(handle, name, flags.subtracting(.create).rawValue, &dbi)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_dbi_open \(name)")
        return Database(name: name, dbi: dbi)
    }

    /// Removes every entry of `db` (the database itself stays).
    public func clear(_ db: Database) throws {
        ensureValid()
        try check(mdb_drop(handle, db.dbi, 0), "mdb_drop \(db.name)")
    }

    /// Deletes `db` itself from the environment (its handle is closed when this commits).
    public func drop(_ db: Database) throws {
        ensureValid()
        try check(mdb_drop(handle, db.dbi, 1), "mdb_drop \(db.name)")
    }

    // MARK: Nested transactions

    /// Runs `body` in a child of this write transaction (`mdb_txn_begin` with this one as
    /// parent): when `body` throws, everything it changed is discarded and this transaction
    /// goes on as if it had not run; when it returns, its changes become part of this one.
    /// This transaction must not be used while the child is open (LMDB's rule), which the
    /// closure shape enforces.
    public func nested<T>(_ body: (Transaction) throws -> T) throws -> T {
        ensureValid()
        precondition(!isReadOnly, "nested transaction in a read-only transaction")
        var child: OpaquePointer?
        let rc = mdb_txn_begin(mdb_txn_env(handle), handle, 0, &child)
        if rc == MDB_MAP_FULL { hitMapFull = true }
        try check(rc, "mdb_txn_begin (nested)")
        let t = Transaction(handle: child!, readOnly: false)
        isValid = false
        defer { isValid = true }
        let result: T
        do {
            result = try body(t)
        } catch {
            t.invalidate()
            mdb_txn_abort(child)
            if t.hitMapFull { hitMapFull = true }
            throw error
        }
        t.invalidate()
        if t.hitMapFull {
            mdb_txn_abort(child)
            hitMapFull = true
            throw LMDBError(code: MDB_MAP_FULL, operation: "nested transaction")
        }
        let commit = mdb_txn_commit(child)  // frees the child whatever it returns
        if commit == MDB_MAP_FULL { hitMapFull = true }
        try check(commit, "mdb_txn_commit (nested)")
        return result
    }

    // MARK: Cursors

    /// Visits entries in key order, starting at the first key >= `start` (or the first key
    /// when `start` is nil or empty),
    /// for as long as `body` returns true. Keys and values are lent for the call only.
    public func scan<K: ContiguousBytes>(
        _ db: Database, from start: K?,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try positioned(db, at: start) { cursor, k, v, rc in
            var rc = rc
            while rc == MDB_SUCCESS {
                let keep = try body(
                    UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                    UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
                if !keep { return }
                rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
            }
            if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get \(db.name)") }
        }
    }

    /// Opens a cursor on `db` standing on the first key >= `start` (the first key when `start`
    /// is nil or empty) and lends it, with the entry it stands on and how positioning went.
    private func positioned<K: ContiguousBytes>(
        _ db: Database, at start: K?, _ body: (OpaquePointer?, inout MDB_val, inout MDB_val, Int32) throws -> Void
    ) throws {
        ensureValid()
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc: Int32
        if let start, start.withUnsafeBytes({ $0.count }) > 0 {
            rc = start.withUnsafeBytes { sb in
                k = MDB_val(mv_size: sb.count, mv_data: UnsafeMutableRawPointer(mutating: sb.baseAddress))
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        }
        try body(cursor, &k, &v, rc)
    }

    /// Deletes every key that starts with `prefix` (one cursor walk; a value on overflow pages
    /// is freed without being read). Returns how many were deleted.
    @discardableResult
    public func deletePrefix<K: ContiguousBytes>(_ db: Database, _ prefix: K) throws -> Int {
        precondition(!isReadOnly, "delete in a read-only transaction")
        let p = prefix.withUnsafeBytes { Array($0) }
        var deleted = 0
        try positioned(db, at: p) { cursor, k, v, rc in
            var rc = rc
            while rc == MDB_SUCCESS {
                let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
                guard key.starts(with: p) else { return }
                let d = mdb_cursor_del(cursor, 0)
                if d == MDB_MAP_FULL { hitMapFull = true }
                try check(d, "mdb_cursor_del \(db.name)")
                deleted += 1
                // After a delete, MDB_NEXT returns the entry that followed the deleted one.
                rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
            }
            if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get \(db.name)") }
        }
        return deleted
    }

    /// Lends the entry with the greatest key <= `key` (nil when every key is greater), for a
    /// layout whose keys start ranges (a page of entries under its first entry's key).
    public func withFloor<K: ContiguousBytes, T>(
        _ db: Database, key: K, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        let target = key.withUnsafeBytes { Array($0) }
        precondition(!target.isEmpty, "withFloor needs a key")
        var result: T?
        try positioned(db, at: target) { cursor, k, v, rc in
            var rc = rc
            if rc == MDB_NOTFOUND {
                rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
            } else if rc == MDB_SUCCESS && !UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size).elementsEqual(target) {
                rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV)
            }
            if rc == MDB_NOTFOUND { return }
            try check(rc, "mdb_cursor_get \(db.name)")
            result = try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
        return result
    }

    /// Visits every entry of `db` in key order.
    public func scan(
        _ db: Database,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try scan(db, from: nil as [UInt8]?, body)
    }

    /// Lends the last (greatest) key and its value, or returns nil when `db` is empty.
    public func withLast<T>(
        _ db: Database, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        ensureValid()
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get \(db.name)")
        return try body(
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// LMDB's statistics for `db` as seen by this transaction.
    public func statistics(_ db: Database) throws -> DatabaseStatistics {
        ensureValid()
        var s = MDB_stat()
        try check(mdb_stat(handle, db.dbi, &s), "mdb_stat \(db.name)")
        return DatabaseStatistics(s)
    }
}
