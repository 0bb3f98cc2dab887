import Foundation

/// What `folio stats` reports.
public struct StoreStatistics: Sendable, Equatable {
    public var nodeID: NodeID
    public var epoch: Epoch
    public var storageFormat: UInt32
    public var liveArticles: UInt64
    public var tombstones: UInt64
    public var articlesInConflict: UInt64
    public var lastSequence: UInt64
    /// Size of `data.mdb` on disk.
    public var fileSize: Int
    /// The LMDB map size (the most the file can grow to before the map is enlarged).
    public var mapSize: Int
    /// Bytes of the map in use: (last page number + 1) × page size.
    public var mapUsed: Int
    public var pageSize: Int
    public var readersInUse: Int
    public var maxReaders: Int
    public var lmdbVersion: String
    /// LMDB's statistics for each named database.
    public var databases: [(name: String, statistics: Database)]

    public init(
        nodeID: NodeID, epoch: Epoch, storageFormat: UInt32, liveArticles: UInt64, tombstones: UInt64,
        articlesInConflict: UInt64, lastSequence: UInt64, fileSize: Int, mapSize: Int, mapUsed: Int, pageSize: Int,
        readersInUse: Int, maxReaders: Int, lmdbVersion: String, databases: [(name: String, statistics: Database)]
    ) {
        self.nodeID = nodeID
        self.epoch = epoch
        self.storageFormat = storageFormat
        self.liveArticles = liveArticles
        self.tombstones = tombstones
        self.articlesInConflict = articlesInConflict
        self.lastSequence = lastSequence
        self.fileSize = fileSize
        self.mapSize = mapSize
        self.mapUsed = mapUsed
        self.pageSize = pageSize
        self.readersInUse = readersInUse
        self.maxReaders = maxReaders
        self.lmdbVersion = lmdbVersion
        self.databases = databases
    }

    /// One named database's B-tree statistics (as `mdb_stat` prints them).
    public struct Database: Sendable, Equatable {
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
        /// Pages in use: branch + leaf + overflow.
        public var pages: Int { branchPages + leafPages + overflowPages }
    }

    public static func == (a: StoreStatistics, b: StoreStatistics) -> Bool {
        a.nodeID == b.nodeID && a.epoch == b.epoch && a.storageFormat == b.storageFormat
            && a.lastSequence == b.lastSequence && a.liveArticles == b.liveArticles
            && a.tombstones == b.tombstones && a.articlesInConflict == b.articlesInConflict && a.fileSize == b.fileSize
            && a.mapSize == b.mapSize && a.mapUsed == b.mapUsed && a.pageSize == b.pageSize
            && a.readersInUse == b.readersInUse && a.maxReaders == b.maxReaders && a.lmdbVersion == b.lmdbVersion
            && a.databases.map(\.name) == b.databases.map(\.name) && a.databases.map(\.statistics) == b.databases.map(\.statistics)
    }
}

