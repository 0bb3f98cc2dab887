import CLMDB

/// An error reported by LMDB, carrying its C return code and LMDB's own message.
///
/// Compare against the named constants to handle a specific condition:
///
///     do { try txn.put(db, key: k, value: v, flags: .noOverwrite) }
///     catch let error as LMDBError where error == .keyExists { ... }
public struct LMDBError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The raw return code (an `MDB_*` constant or an errno value).
    public let code: Int32
    /// What the wrapper was doing when LMDB failed (e.g. "mdb_env_open /path").
    public let operation: String

    @inlinable
    public init(code: Int32, operation: String = "") {
        self.code = code
        self.operation = operation
    }

    /// LMDB's human-readable message for `code` (`mdb_strerror`).
    public var message: String { String(cString: mdb_strerror(code)) }

    public var description: String {
        operation.isEmpty ? "LMDB error \(code): \(message)" : "\(operation): \(message) (LMDB code \(code))"
    }

    /// Equality is by code only, so `error == .mapFull` works whatever the operation.
    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    public static let dbsFull = LMDBError(code: MDB_DBS_FULL)
    public static let badTransaction = LMDBError(code: MDB_BAD_TXN)
    public static let invalid = LMDBError(code: MDB_INVALID)
    public static let versionMismatch = LMDBError(code: MDB_VERSION_MISMATCH)
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
}

/// Throws an `LMDBError` unless `rc` is `MDB_SUCCESS`.
@inlinable @inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws {
    if rc != MDB_SUCCESS { throw LMDBError(code: rc, operation: operation()) }
}
