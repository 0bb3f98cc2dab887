import FolioModel
import LMDB

/// Why a store operation failed.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No Folio store exists at the path.
    case noStore(path: String)
    /// The store (or its directory) is there, but this user may not read or write it.
    case permissionDenied(path: String, String)
    /// `create` found a store already there.
    case alreadyExists(path: String)
    /// The store was written by a newer Folio; refusing to misread it.
    case newerFormat(found: UInt32, supported: UInt32)
    /// The directory holds an LMDB environment that is not a Folio store.
    case notAFolioStore(path: String, reason: String)
    /// The article does not exist (or only as a tombstone, when that matters).
    case notFound(id: String)
    /// The article was refused.
    case invalidArticle(id: String, InvalidArticle)
    /// A stored record could not be decoded.
    case corrupt(String)
    /// A version referenced a body that was not supplied and is not stored.
    case missingBody(id: String, hash: String)
    /// A sibling index or dot named by `resolve` does not exist.
    case noSuchVersion(id: String, String)
    /// A peer sent a version under a dot this store holds with other content: two stores
    /// write under one node id (a copied store). Nothing of that merge is kept.
    case dotClash(id: String, dot: String)
    /// A write id came back with another request than the one it first named (SPEC §4.5).
    /// Nothing was written.
    case writeIDReused(writeID: String, articleID: String)
    /// A causal-context token could not be read.
    case invalidContext(String)
    /// The backup destination is not usable.
    case badDestination(String)
    /// A write failed because the filesystem holding the store is full (`ENOSPC`, `EDQUOT`,
    /// or `EIO` with almost no space left). Nothing of that write was committed.
    case diskFull(path: String, availableBytes: Int64, LMDBError)
    /// Another folio process changed the store since this one opened it, in a way this one
    /// cannot write on under (a newer storage format, a search index rebuilt under other term
    /// rules, or made stale by a process keeping none): nothing was written; restarting this
    /// process reopens the store as it now is.
    case changedSinceOpen(String)
    /// LMDB reported an error.
    case lmdb(LMDBError)

    public var description: String {
        switch self {
        case let .permissionDenied(path, what): return "permission denied: \(what) \(path) (check its owner and mode, and which user runs folio)"
        case let .noStore(path): return "no Folio store at \(path) (create one with `folio init --data \(path)`)"
        case let .alreadyExists(path): return "a Folio store already exists at \(path); refusing to overwrite it"
        case let .newerFormat(found, supported):
            return "this store uses storage format \(found), but this folio reads format \(supported) at most: upgrade folio"
        case let .notAFolioStore(path, reason): return "\(path) is not a Folio store: \(reason)"
        case let .notFound(id): return "article \"\(id)\" not found"
        case let .invalidArticle(id, why): return id.isEmpty ? "invalid article: \(why)" : "invalid article \"\(id)\": \(why)"
        case let .corrupt(what): return "store is corrupt: \(what) (run `folio verify`)"
        case let .missingBody(id, hash): return "article \"\(id)\": body \(hash) was not supplied and is not stored"
        case let .noSuchVersion(id, what): return "article \"\(id)\" has no version \(what)"
        case let .invalidContext(why): return "invalid context token: \(why)"
        case let .writeIDReused(w, id):
            return "write id \(w) was already used for a different write (of article \"\(id)\"); a retry must repeat its request exactly, a new write needs a new id"
        case let .dotClash(id, dot):
            return "article \"\(id)\": version \(dot) arrived with content other than the version this store holds under the same dot; "
                + "two stores are writing under one node id (a copied store?) — nothing was merged"
        case let .badDestination(why): return why
        case let .diskFull(path, available, e):
            return "disk full: the filesystem holding \(path) has \(available) bytes available (\(e.message)); "
                + "nothing of this write was committed and the store is intact: free some space and run the command again"
        case let .changedSinceOpen(what):
            return "\(what) since the folio process writing here opened the store; nothing was written: restart that process (a node: restart the node; another folio was run on its store while it ran)"
        case let .lmdb(e): return e.description
        }
    }
}

/// Runs `body`, turning LMDB and record errors into `StoreError`.
@inline(__always)
func storeErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as LMDBError {
        throw StoreError.lmdb(e)
    } catch let e as CorruptRecord {
        throw StoreError.corrupt(e.reason)
    }
}

extension StoreError: Failure {
    public var kind: FailureKind {
        switch self {
        case .notFound, .noSuchVersion: return .notFound
        case .dotClash: return .conflict
        case .invalidArticle, .invalidContext, .missingBody, .writeIDReused: return .invalidInput
        case .noStore, .permissionDenied, .alreadyExists, .newerFormat, .notAFolioStore, .corrupt, .badDestination, .diskFull, .changedSinceOpen, .lmdb: return .internalFailure
        }
    }
}
