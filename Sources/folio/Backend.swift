import ArgumentParser
import FolioModel
import FolioStore
import FolioClient
import FolioProtocol
import FolioTransport
import NIOPosix

/// `--tls-cert`, `--tls-key`, `--tls-ca`: certificate files of a site's own PKI.
struct TLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp("PEM certificate (chain, leaf first) to present over TLS.", valueName: "file"), completion: .file())
    var tlsCert: String?
    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"), completion: .file())
    var tlsKey: String?
    @Option(help: ArgumentHelp("PEM certificate of the CA that issues the mesh's certificates: only peers it certified are accepted.", valueName: "file"), completion: .file())
    var tlsCa: String?

    var files: TLSFiles { TLSFiles(certificate: tlsCert, privateKey: tlsKey, ca: tlsCa) }

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }
}

/// Reads a key file (hex from `folio keygen`); a bad one is a failure naming the file.
func readKey(_ path: String) throws -> SharedKey {
    do {
        return try SharedKey(file: path)
    } catch {
        throw CLIFailure(code: .failure, message: "\(error)")
    }
}

/// `--remote HOST:PORT`, `--key-file F` and TLS files: run a subcommand against a node instead of a local store.
struct RemoteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run against the node at HOST:PORT instead of a local store.", valueName: "host:port"))
    var remote: String?

    @Option(help: ArgumentHelp("The mesh's shared key (from `folio keygen`), for a node that requires it; the connection then runs over TLS.", valueName: "file"), completion: .file())
    var keyFile: String?

    @OptionGroup var tls: TLSOptions

    func validate() throws {
        if let remote { try Check.address(remote, "--remote") }
    }

    func clientOptions() throws -> FolioClient.Options {
        var options = FolioClient.Options(key: try keyFile.map(readKey))
        options.tls = tls.files
        return options
    }
}

/// Where a data subcommand runs: a local store, or a node through `FolioClient`. Both give the
/// same results, so the subcommand prints the same output and exits with the same code.
enum Backend {
    case local(Store)
    case remote(FolioClient, address: String)

    static func open(_ store: StoreOptions, _ remote: RemoteOptions, readOnly: Bool) async throws -> Backend {
        guard let address = remote.remote else {
            if remote.keyFile != nil || !remote.tls.files.isEmpty { throw ValidationError("--key-file and --tls-* go with --remote (or `folio serve`)") }
            let options = store
            return .local(try await blocking { try options.open(readOnly: readOnly) })
        }
        if store.data != nil { throw ValidationError("--data and --remote cannot be combined") }
        return .remote(try await FolioClient.connect(to: address, options: remote.clientOptions()), address: address)
    }

    func close() async {
        switch self {
        case let .local(s): s.close()
        case let .remote(c, _): try? await c.close()
        }
    }

    var location: String {
        switch self {
        case let .local(s): return s.path
        case let .remote(_, address): return address
        }
    }

    /// The article, or nil when absent.
    func get(_ id: String, allBodies: Bool) async throws -> ArticleState? {
        switch self {
        case let .local(s):
            return try await blocking { try s.get(id, bodies: allBodies ? .all : .winner) }
        case let .remote(c, _):
            do {
                return try await c.get(id, allVersions: allBodies)
            } catch FolioClientError.notFound {
                return nil
            }
        }
    }

    func put(_ articles: [Article], context: VersionVector?) async throws -> [(String, WriteOutcome)] {
        switch self {
        case let .local(s):
            // One transaction: all or nothing.
            return try await blocking { try s.write { w in try articles.map { ($0.id, try w.put($0, context: context)) } } }
        case let .remote(c, _):
            var out: [(String, WriteOutcome)] = []
            for a in articles { out.append((a.id, try await c.put(a, context: context))) }
            return out
        }
    }

    /// A field-by-field edit: starts from the current winner so unspecified fields keep their
    /// values. Locally it runs in one transaction; remotely it writes with the context it read,
    /// so a concurrent edit in between survives as a sibling.
    func edit(_ id: String, context: VersionVector?, _ modify: @escaping @Sendable (inout Article, Article?) -> Void) async throws -> WriteOutcome {
        switch self {
        case let .local(s):
            return try await blocking {
                try s.write { w in
                    let current = try w.get(id)?.article
                    var a = current ?? Article(id: id)
                    modify(&a, current)
                    return try w.put(a, context: context)
                }
            }
        case let .remote(c, _):
            let state = try await get(id, allBodies: false)
            let current = state?.article
            var a = current ?? Article(id: id)
            modify(&a, current)
            return try await c.put(a, context: context ?? state?.context)
        }
    }

    /// Deletes each id; one that is absent or already deleted fails alone (its own result)
    /// while the others are deleted — locally in one transaction.
    func delete(_ ids: [String], context: VersionVector?) async throws -> [(String, Result<WriteOutcome, Error>)] {
        switch self {
        case let .local(s):
            return try await Backend.eachInOneTransaction(s, ids) { w, id in try w.delete(id, context: context) }
        case let .remote(c, _):
            return await Backend.eachRemote(ids) { id in try await c.delete(id, context: context) }
        }
    }

    /// Runs `write` for each id in one transaction, each in a savepoint: an id that is absent
    /// (or refused as input) fails alone while the others go on; a store failure aborts them all.
    private static func eachInOneTransaction(
        _ s: Store, _ ids: [String], _ write: @escaping @Sendable (StoreWriter, String) throws -> WriteOutcome
    ) async throws -> [(String, Result<WriteOutcome, Error>)] {
        try await blocking {
            try s.write { w in
                try ids.map { id -> (String, Result<WriteOutcome, Error>) in
                    do {
                        return (id, .success(try w.savepoint { try write($0, id) }))
                    } catch let e as StoreError where e.kind == .notFound || e.kind == .invalidInput {
                        return (id, .failure(e))
                    }
                }
            }
        }
    }

    /// Runs `write` for each id against a node, reporting each outcome: an id the node does
    /// not hold (or refuses as input) fails alone; after any other failure (the node went
    /// away) the remaining ids are reported as not attempted.
    private static func eachRemote(
        _ ids: [String], _ write: (String) async throws -> WriteOutcome
    ) async -> [(String, Result<WriteOutcome, Error>)] {
        var out: [(String, Result<WriteOutcome, Error>)] = []
        var stop: FolioClientError?
        for id in ids {
            if let stop {
                out.append((id, .failure(FolioClientError.closed("not attempted after \"\(stop.description)\""))))
                continue
            }
            do {
                out.append((id, .success(try await write(id))))
            } catch {
                let e = (error as? FolioClientError) ?? .closed("\(error)")
                out.append((id, .failure(e)))
                if e.kind != .notFound && e.kind != .invalidInput { stop = e }
            }
        }
        return out
    }

    /// Purges each id (SPEC §5.2); an absent or already purged one fails alone. Locally in one
    /// transaction; remotely a DELETE whose context is what was read plus the purge marker.
    func purge(_ ids: [String]) async throws -> [(String, Result<WriteOutcome, Error>)] {
        switch self {
        case let .local(s):
            return try await Backend.eachInOneTransaction(s, ids) { w, id in try w.purge(id) }
        case let .remote(c, _):
            return await Backend.eachRemote(ids) { id in
                let state = try await c.get(id, allVersions: false)
                var context = state.context
                context.advance(.purgeMarker, to: 1)
                return try await c.delete(id, context: context)
            }
        }
    }

    func list(prefix: String, after: String?, source: String?, limit: Int, includeDeleted: Bool) async throws -> [ArticleState] {
        switch self {
        case let .local(s):
            return try await blocking { try s.list(prefix: prefix, after: after, source: source, limit: limit, includeDeleted: includeDeleted) }
        case let .remote(c, _):
            var out: [ArticleState] = []
            var cursor = after
            while out.count < limit {
                let want = UInt32(min(limit - out.count, Int(ListQuery.maxLimit)))
                let page = try await c.list(ListQuery(prefix: prefix, after: cursor, source: source, limit: want, includeDeleted: includeDeleted))
                out += page.articles
                guard page.more, let last = page.articles.last else { break }
                cursor = last.id
            }
            return out
        }
    }

    func search(_ text: String, limit: Int) async throws -> [SearchHit] {
        switch self {
        case let .local(s):
            let query = try SearchQuery(parsing: text)
            return try await blocking { try s.search(query, limit: limit) }
        case let .remote(c, _):
            return try await c.search(text, limit: UInt32(limit))
        }
    }

    /// Every article in conflict, in id order (no bodies).
    func conflicts() async throws -> [ArticleState] {
        switch self {
        case let .local(s):
            return try await blocking { try s.conflicts() }
        case let .remote(c, _):
            var out: [ArticleState] = []
            var after = ""
            while true {
                let page = try await c.conflicts(after: after, limit: 1000)
                out += page.articles
                guard page.more, let last = page.articles.last else { return out }
                after = last.id
            }
        }
    }

    /// Settles a conflict with sibling number `keep` (1-based, as `folio get --all` numbers
    /// them) or with `replacement`. Throws `CLIFailure(.notFound)` when the article is not in
    /// conflict. Remotely the write carries the context it read: a sibling written meanwhile
    /// survives as a new conflict, never silently.
    func resolve(_ id: String, keep: Int?, replacement: Article?) async throws -> WriteOutcome {
        @Sendable func notInConflict() -> CLIFailure {
            CLIFailure(code: .notFound, message: "\"\(Terminal.safe(id))\" is not in conflict (it has one version); nothing written")
        }
        switch self {
        case let .local(s):
            return try await blocking {
                try s.write { w -> WriteOutcome in
                    guard let state = try w.get(id, bodies: .none) else { throw StoreError.notFound(id: id) }
                    // Nothing to settle: say so and write nothing (a resolution is a new version).
                    guard state.versions.isInConflict else { throw notInConflict() }
                    if let replacement { return try w.resolve(id, with: replacement) }
                    let vs = state.versions.versions
                    guard keep! <= vs.count else { throw StoreError.noSuchVersion(id: id, "\(keep!) (it has \(vs.count))") }
                    return try w.resolve(id, keeping: vs[keep! - 1].dot)
                }
            }
        case let .remote(c, _):
            guard let state = try await get(id, allBodies: true) else { throw StoreError.notFound(id: id) }
            guard state.versions.isInConflict else { throw notInConflict() }
            if let replacement {
                guard replacement.id.sameBytes(id) else {
                    throw StoreError.invalidArticle(id: replacement.id, InvalidArticle(field: "id", reason: "must be \"\(id)\", the article being resolved"))
                }
                return try await c.put(replacement, context: state.context)
            }
            let vs = state.versions.versions
            guard keep! <= vs.count else { throw StoreError.noSuchVersion(id: id, "\(keep!) (it has \(vs.count))") }
            if let article = state.article(vs[keep! - 1]) { return try await c.put(article, context: state.context) }
            return try await c.delete(id, context: state.context)
        }
    }

    func statistics() async throws -> StoreStatistics {
        switch self {
        case let .local(s): return try await blocking { try s.statistics() }
        case let .remote(c, _): return try await c.statistics()
        }
    }
}

/// Runs `body` with `backend`, closing it afterwards whatever happens.
func withBackend<T>(_ backend: Backend, _ body: (Backend) async throws -> T) async throws -> T {
    do {
        let result = try await body(backend)
        await backend.close()
        return result
    } catch {
        await backend.close()
        throw error
    }
}

/// Runs store work (LMDB reads, fsync'd commits) on NIO's blocking pool, never on Swift's
/// cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
