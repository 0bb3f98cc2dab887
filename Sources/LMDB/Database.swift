import CLMDB

/// A handle to a named database inside an `Environment`.
///
/// Handles are opened once, at start-up, and stay valid until the environment closes
/// (LMDB rule: never `mdb_dbi_close` during operation).
public struct Database: Sendable, Hashable {
    public let name: String
    @usableFromInline let dbi: MDB_dbi

    /// Flags used when opening a named database.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let create = Flags(rawValue: UInt32(MDB_CREATE))
        public static let integerKey = Flags(rawValue: UInt32(MDB_INTEGERKEY))
        public static let dupSort = Flags(rawValue: UInt32(MDB_DUPSORT))
        public static let dupFixed = Flags(rawValue: UInt32(MDB_DUPFIXED))
    }
}

/// LMDB's statistics for one database (`mdb_stat`).
public struct DatabaseStatistics: Sendable, Equatable, Codable {
    public var pageSize: Int
    public var depth: Int
    public var branchPages: Int
    public var leafPages: Int
    public var overflowPages: Int
    public var entries: Int

    public init(pageSize: Int, depth: Int, branchPages: Int, leafPages: Int, overflowPages: Int, entries: Int) {
        self.pageSize = pageSize
        self.depth = depth
        self.branchPages = branchPages
        self.leafPages = leafPages
        self.overflowPages = overflowPages
        self.entries = entries
    }

    init(_ s: MDB_stat) {
        pageSize = Int(s.ms_psize)
        depth = Int(s.ms_depth)
        branchPages = Int(s.ms_branch_pages)
        leafPages = Int(s.ms_leaf_pages)
        overflowPages = Int(s.ms_overflow_pages)
        entries = Int(s.ms_entries)
    }

    /// Pages in use by this database (branch + leaf + overflow).
    public var pages: Int { branchPages + leafPages + overflowPages }
}

/// Flags for `Transaction.put`.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with `LMDBError.keyExists` instead of replacing.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every existing key (e.g. an increasing big-endian sequence).
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}
