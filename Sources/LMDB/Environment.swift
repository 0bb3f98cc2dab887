import CLMDB
import Foundation

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// Open each path once per process. Transactions are closures: a read closure sees one
/// consistent snapshot; a write closure commits when it returns and aborts when it throws.
/// When the map fills up, the environment aborts the write, waits for this process's open
/// transactions to drain, doubles the map and runs the write closure again, so write closures
/// must be free of side effects outside the transaction (they may run more than once).
///
/// The environment is always opened with `MDB_NOTLS`, so read transactions may be used from
/// any thread; each write closure runs synchronously on the calling thread from begin to
/// commit, as LMDB requires.
///
/// `@unchecked Sendable` because it wraps LMDB's C handle. Invariants that make sharing safe:
/// the handle is set once at open and freed only by `close()`; LMDB's `MDB_env` is thread-safe
/// for concurrent transactions; writes are serialized by `writerLock` (LMDB allows one writer);
/// `handle` becomes nil only in `close()`, under `stateLock` and with every transaction of
/// this process ended (`TransactionGate.exclusive`), which is also how a map resize runs, so
/// no transaction ever sees the handle or the map change under it.
public final class Environment: @unchecked Sendable {
    /// Settings applied before `mdb_env_open`.
    public struct Options: Sendable {
        /// Initial map size in bytes; the map grows (doubles) on demand.
        public var mapSize: Int = 256 << 20
        public var maxReaders: UInt32 = 126
        public var maxDatabases: UInt32 = 16
        /// Open read-only (`MDB_RDONLY`): no writes, no directory creation.
        public var readOnly = false
        /// `MDB_NOMETASYNC`: skip the meta-page fsync on commit (the last commit may be lost on a
        /// power cut, never corrupted). Off by default.
        public var noMetaSync = false
        /// `MDB_NOSYNC`, for offline bulk loads only; call `sync(force: true)` after.
        public var noSync = false
        /// Permissions of the created files.
        public var fileMode: mode_t = 0o644
        public init() {}
    }

    /// LMDB's environment information (`mdb_env_info`).
    public struct Info: Sendable, Equatable {
        public var mapSize: Int
        public var lastPageNumber: Int
        public var lastTransactionID: Int
        public var maxReaders: Int
        public var readersInUse: Int
    }

    public let path: String
    public let options: Options
    /// Number of stale reader slots cleared by `mdb_reader_check` when the environment opened.
    public private(set) var staleReadersClearedAtOpen: Int32 = 0

    private var handle: OpaquePointer?
    @usableFromInline let gate = TransactionGate()
    /// Serializes this process's writers, so a map resize never waits on a writer queued behind it.
    private let writerLock = NSLock()
    private let stateLock = NSLock()

    /// `liblmdb`'s version string, e.g. "LMDB 0.9.24: (July 24, 2019)".
    public static var version: String { String(cString: mdb_version(nil, nil, nil)) }

    /// Opens (creating when allowed) the environment in directory `path`.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: EINVAL, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            if options.noMetaSync { flags |= UInt32(MDB_NOMETASYNC) }
            if options.noSync { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, path, flags, options.fileMode), "mdb_env_open \(path)")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
            staleReadersClearedAtOpen = dead
        } catch {
            mdb_env_close(env)  // LMDB requires close even when open failed
            throw error
        }
        handle = env
    }

    deinit { close() }

    /// Closes the environment once every transaction of this process has ended. Idempotent.
    public func close() {
        gate.exclusive {
            stateLock.lock()
            defer { stateLock.unlock() }
            if let h = handle {
                mdb_env_close(h)
                handle = nil
            }
        }
    }

    @usableFromInline var env: OpaquePointer {
        guard let h = handle else { preconditionFailure("LMDB environment \(path) used after close") }
        return h
    }

    // MARK: Databases

    /// Opens named databases in one write transaction (creating them when `flags` has
    /// `.create`), or in a read transaction for a read-only environment. Call once at start-up.
    /// An empty name opens the unnamed main database.
    public func openDatabases(_ specs: [(name: String, flags: Database.Flags)]) throws -> [Database] {
        let body: (Transaction) throws -> [Database] = { txn in
            try specs.map { spec in
                var dbi = MDB_dbi()
                // The empty name is LMDB's unnamed main database (where stock mdb_load writes).
                let rc = spec.name.isEmpty
                    ? mdb_dbi_open(txn.handle, nil, spec.flags.rawValue, &dbi)
                    : mdb_dbi_open(txn.handle, spec.name, spec.flags.rawValue, &dbi)
                try check(rc, "mdb_dbi_open \(spec.name)")
                return Database(name: spec.name, dbi: dbi)
            }
        }
        guard options.readOnly else { return try write(body) }
        // A handle opened in a read transaction survives only if that transaction commits.
        gate.enter()
        defer { gate.leave() }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin (open databases)")
        let t = Transaction(handle: txn!, readOnly: true)
        let result: [Database]
        do {
            result = try body(t)
        } catch {
            t.invalidate()
            mdb_txn_abort(txn)
            throw error
        }
        t.invalidate()
        try check(mdb_txn_commit(txn), "mdb_txn_commit (open databases)")
        return result
    }

    // MARK: Transactions

    /// Runs `body` in a read-only snapshot. Do not begin another transaction inside it.
    @inlinable
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        while true {
            gate.enter()
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                gate.leave()
                try adoptResizedMap()
                continue
            }
            guard rc == MDB_SUCCESS, let txn else {
                gate.leave()
                throw LMDBError(code: rc, operation: "mdb_txn_begin (read)")
            }
            let t = Transaction(handle: txn, readOnly: true)
            defer {
                t.invalidate()
                mdb_txn_abort(txn)
                gate.leave()
            }
            return try body(t)
        }
    }

    /// Runs `body` in a write transaction: commits when it returns, aborts when it throws.
    ///
    /// The closure is synchronous on purpose: LMDB requires a write transaction to stay on the
    /// thread that began it. It may run more than once (after the map grows), so it must only
    /// change things through the transaction.
    @discardableResult
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        precondition(!options.readOnly, "write on a read-only LMDB environment")
        writerLock.lock()
        defer { writerLock.unlock() }
        while true {
            let size = currentMapSize()
            gate.enter()
            var txn: OpaquePointer?
            var rc = mdb_txn_begin(env, nil, 0, &txn)
            if rc == MDB_MAP_RESIZED {
                gate.leave()
                try adoptResizedMap()
                continue
            }
            guard rc == MDB_SUCCESS, let txn else {
                gate.leave()
                throw LMDBError(code: rc, operation: "mdb_txn_begin (write)")
            }
            let t = Transaction(handle: txn, readOnly: false)
            let result: T
            do {
                result = try body(t)
            } catch {
                t.invalidate()
                mdb_txn_abort(txn)
                gate.leave()
                if t.hitMapFull || (error as? LMDBError) == .mapFull {
                    try grow(from: size)
                    continue
                }
                throw error
            }
            t.invalidate()
            if t.hitMapFull {
                // The closure swallowed a MAP_FULL: the transaction is poisoned, retry bigger.
                mdb_txn_abort(txn)
                gate.leave()
                try grow(from: size)
                continue
            }
            rc = mdb_txn_commit(txn)  // frees the transaction whatever it returns
            gate.leave()
            if rc == MDB_SUCCESS { return result }
            if rc == MDB_MAP_FULL {
                try grow(from: size)
                continue
            }
            throw LMDBError(code: rc, operation: "mdb_txn_commit")
        }
    }

    private func currentMapSize() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Doubles the map unless another writer already grew it past `observed`.
    private func grow(from observed: Int) throws {
        try gate.exclusive {
            let now = currentMapSize()
            guard now <= observed else { return }
            let next = max(now * 2, 1 << 20)
            try check(mdb_env_set_mapsize(env, next), "mdb_env_set_mapsize \(next)")
        }
    }

    /// Another process grew the map: adopt its size (`mdb_env_set_mapsize(env, 0)`).
    @usableFromInline
    func adoptResizedMap() throws {
        try gate.exclusive {
            try check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize (adopt)")
        }
    }

    // MARK: Maintenance

    public func info() -> Info {
        var i = MDB_envinfo()
        mdb_env_info(env, &i)
        return Info(
            mapSize: i.me_mapsize, lastPageNumber: i.me_last_pgno, lastTransactionID: i.me_last_txnid,
            maxReaders: Int(i.me_maxreaders), readersInUse: Int(i.me_numreaders))
    }

    /// Page size and other environment-wide statistics (`mdb_env_stat`, the main database).
    public func statistics() throws -> DatabaseStatistics {
        var s = MDB_stat()
        try check(mdb_env_stat(env, &s), "mdb_env_stat")
        return DatabaseStatistics(s)
    }

    /// Clears reader slots left by dead processes; returns how many were cleared.
    @discardableResult
    public func checkReaders() throws -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Flushes buffers to disk (`mdb_env_sync`); `force` syncs even under `noSync`.
    public func sync(force: Bool = true) throws {
        try check(mdb_env_sync(env, force ? 1 : 0), "mdb_env_sync")
    }

    /// Writes a consistent copy into the existing, empty directory `directory`, optionally
    /// compacted (free pages omitted). Safe while other transactions run.
    public func copy(to directory: String, compact: Bool = true) throws {
        try check(mdb_env_copy2(env, directory, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2 \(directory)")
    }
}
