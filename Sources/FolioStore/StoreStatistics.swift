import FolioModel
import Foundation
import LMDB

extension Store {
    public func statistics() throws -> StoreStatistics {
        let info = env.info()
        let attrs = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent("data.mdb"))
        let fileSize = (attrs?[.size] as? NSNumber)?.intValue ?? 0
        let pageSize = try storeErrors { try env.statistics().pageSize }
        return try storeErrors {
            try env.read { txn in
                let all = [dbs.meta, dbs.articles, dbs.bodies, dbs.changes, dbs.peers, dbs.peerStatus] + (dbs.writes.map { [$0] } ?? [])
                    + (dbs.search?.all ?? []) + [dbs.acks, dbs.purged, dbs.tombstones, dbs.collected].compactMap { $0 }
                let format = try Meta.recordedFormat(dbs.meta, txn)
                return StoreStatistics(
                    nodeID: nodeID, epoch: epoch, storageFormat: format,
                    liveArticles: try Meta.u64(Meta.live, dbs.meta, txn),
                    tombstones: try Meta.u64(Meta.tombstones, dbs.meta, txn),
                    articlesInConflict: try Meta.u64(Meta.conflicts, dbs.meta, txn),
                    lastSequence: try Meta.u64(Meta.seq, dbs.meta, txn),
                    fileSize: fileSize, mapSize: info.mapSize, mapUsed: (info.lastPageNumber + 1) * pageSize,
                    pageSize: pageSize, readersInUse: info.readersInUse, maxReaders: info.maxReaders,
                    lmdbVersion: Environment.version,
                    databases: try all.map { db in
                        let s = try txn.statistics(db)
                        return (db.name, StoreStatistics.Database(
                            pageSize: s.pageSize, depth: s.depth, branchPages: s.branchPages, leafPages: s.leafPages,
                            overflowPages: s.overflowPages, entries: s.entries))
                    })
            }
        }
    }
}

/// The linked liblmdb's version, e.g. "LMDB 0.9.24: (July 24, 2019)".
public enum LMDBVersion {
    public static var string: String { LMDB.Environment.version }
}
