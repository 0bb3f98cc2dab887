import Foundation
import LMDB

/// What `folio stats` reports.
public struct StoreStatistics: Sendable, Equatable {
    public var nodeID: NodeID
    public var epoch: String
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
    public var databases: [(name: String, statistics: DatabaseStatistics)]

    public init(
        nodeID: NodeID, epoch: String, storageFormat: UInt32, liveArticles: UInt64, tombstones: UInt64,
        articlesInConflict: UInt64, lastSequence: UInt64, fileSize: Int, mapSize: Int, mapUsed: Int, pageSize: Int,
        readersInUse: Int, maxReaders: Int, lmdbVersion: String, databases: [(name: String, statistics: DatabaseStatistics)]
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

    public static func == (a: StoreStatistics, b: StoreStatistics) -> Bool {
        a.nodeID == b.nodeID && a.epoch == b.epoch && a.storageFormat == b.storageFormat
            && a.lastSequence == b.lastSequence && a.liveArticles == b.liveArticles
            && a.tombstones == b.tombstones && a.articlesInConflict == b.articlesInConflict && a.fileSize == b.fileSize
            && a.mapSize == b.mapSize && a.mapUsed == b.mapUsed && a.pageSize == b.pageSize
            && a.readersInUse == b.readersInUse && a.maxReaders == b.maxReaders && a.lmdbVersion == b.lmdbVersion
            && a.databases.map(\.name) == b.databases.map(\.name) && a.databases.map(\.statistics) == b.databases.map(\.statistics)
    }
}

extension Store {
    public func statistics() throws -> StoreStatistics {
        let info = env.info()
        let attrs = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent("data.mdb"))
        let fileSize = (attrs?[.size] as? NSNumber)?.intValue ?? 0
        let pageSize = try storeErrors { try env.statistics().pageSize }
        return try storeErrors {
            try env.read { txn in
                let all = [dbs.meta, dbs.articles, dbs.bodies, dbs.bodyRefs, dbs.changes, dbs.peers, dbs.peerStatus]
                return StoreStatistics(
                    nodeID: nodeID, epoch: epoch, storageFormat: Store.storageFormat,
                    liveArticles: try Meta.u64(Meta.live, dbs.meta, txn),
                    tombstones: try Meta.u64(Meta.tombstones, dbs.meta, txn),
                    articlesInConflict: try Meta.u64(Meta.conflicts, dbs.meta, txn),
                    lastSequence: try Meta.u64(Meta.seq, dbs.meta, txn),
                    fileSize: fileSize, mapSize: info.mapSize, mapUsed: (info.lastPageNumber + 1) * pageSize,
                    pageSize: pageSize, readersInUse: info.readersInUse, maxReaders: info.maxReaders,
                    lmdbVersion: Environment.version,
                    databases: try all.map { ($0.name, try txn.statistics($0)) })
            }
        }
    }
}

/// LMDB's statistics for one database, re-exported for users of `Folio`.
public typealias DatabaseStatistics = LMDB.DatabaseStatistics

/// The linked liblmdb's version, e.g. "LMDB 0.9.24: (July 24, 2019)".
public enum LMDBVersion {
    public static var string: String { LMDB.Environment.version }
}
