import ArgumentParser
import FolioModel
import FolioStore
import FolioClient
import FolioSync
import FolioProtocol
import Foundation

extension FolioClient.Compression: ExpressibleByArgument {}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync the local store with a node, both ways, once.",
        discussion: """
            Pulls what the node has that this store lacks, then pushes what this store has \
            that the node lacks, over one connection. Only what changed since the last sync \
            travels, and only bodies the other side does not hold. Each batch commits together \
            with its checkpoint, so an interrupted sync resumes where it stopped. Concurrent \
            edits become conflicts on both sides (see `folio conflicts`). What a pull just \
            brought is not offered back by the push that follows. --pull-only and --push-only \
            sync one way.

            --filter takes only matching articles from the node: prefix=ID-PREFIX, \
            source=NAME, tag=TAG, since=DATE, until=DATE (published date); repeat it — the \
            same key ORs, different keys AND. The node applies it, so nothing else crosses the \
            wire. Each filter keeps its own checkpoint: widening it later brings the older \
            articles that now match; narrowing it deletes nothing here. The push still sends \
            everything this store holds unless --push-filter limits it too.

            --compress auto (the default) deflates article data both ways over any link but \
            a loopback one, when the node speaks it (SPEC §2.1): about a third of the bytes \
            on prose, for some CPU on both ends. always/never force it.

            Examples:
              folio sync 10.0.0.5:7070 --key-file mesh.key
              folio sync archive.example.org --tls-ca ca.pem --tls-cert laptop.pem --tls-key laptop.key
              folio sync 127.0.0.1:7070 --data ./laptop --json
              folio sync hub.example --key-file mesh.key --pull-only
              folio sync hub.example --key-file mesh.key --filter prefix=wire/ --filter tag=port
              folio sync hub.example --key-file mesh.key --filter source=Reuters --push-filter prefix=notes/
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: ArgumentHelp("The node to sync with.", valueName: "host:port")) var address: String
    @Option(help: ArgumentHelp("The mesh's shared key (from `folio keygen`); the connection then runs over TLS.", valueName: "file"), completion: .file()) var keyFile: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: "Changes per batch.") var batchSize: UInt32 = 1000
    @Option(help: "Most bytes of articles per batch (an article larger than this still syncs, alone).") var batchBytes = 4 << 20
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @Flag(help: "Only receive what the node has (no push).") var pullOnly = false
    @Flag(help: "Only send what this store has (no pull).") var pushOnly = false
    @Option(help: ArgumentHelp("Take only matching articles: prefix=, source=, tag=, since=, until= (repeatable).", valueName: "key=value"))
    var filter: [String] = []
    @Option(help: ArgumentHelp("Send only matching articles (same clauses as --filter; default: everything).", valueName: "key=value"))
    var pushFilter: [String] = []
    @Option(help: ArgumentHelp("Deflate article data on the wire: auto (not on loopback), always, never.", valueName: "when"))
    var compress: FolioClient.Compression = .auto

    func validate() throws {
        try Check.address(address, "the node address")
        try Check.count(batchSize, "--batch-size", in: 1...10_000)
        try Check.count(batchBytes, "--batch-bytes", in: 1024...(16 << 20))
        if pullOnly && pushOnly { throw ValidationError("--pull-only and --push-only contradict each other: without either, sync goes both ways") }
        _ = try filters()
        if pushOnly && !filter.isEmpty { throw ValidationError("--filter selects what a pull takes; with --push-only use --push-filter") }
        if pullOnly && !pushFilter.isEmpty { throw ValidationError("--push-filter selects what a push sends; with --pull-only use --filter") }
    }

    func filters() throws -> (pull: ReplicationFilter, push: ReplicationFilter) {
        do {
            return (try ReplicationFilter(expressions: filter), try ReplicationFilter(expressions: pushFilter))
        } catch {
            throw ValidationError("bad filter: \(error.reason)")
        }
    }

    func run() async throws {
        let storeOptions = store
        let local = try await blocking { try storeOptions.open() }
        defer { local.close() }
        var options = FolioClient.Options()
        options.nodeID = local.nodeID
        options.requestTimeout = .seconds(120)
        options.key = try keyFile.map(readKey)
        options.tls = tls.files
        options.clock = local.options.clock
        options.compression = compress
        let client = try await FolioClient.connect(to: address, options: options)
        if client.serverHello.nodeID == local.nodeID {
            try? await client.close()
            throw CLIFailure(
                code: .failure,
                message: "the node at \(address) serves this very store (node \(local.nodeID.hex)): there is nothing to sync with itself")
        }
        if let skew = client.clockSkew, Clocks.isSkewed(skew) {
            Terminal.err("folio: warning: the node's clock is \(Clocks.describe(skew: skew)) this machine's: conflicting versions win or lose by that much (see SPEC §5.1)")
        }
        var so = SyncOptions()
        so.batchCount = batchSize
        so.batchBytes = batchBytes
        let replicator = Replicator(store: local, options: so)
        let (pullFilter, pushFilter) = try filters()
        if !(pullFilter.isEmpty && pushFilter.isEmpty) && !client.serverHello.features.contains(.filter) {
            try? await client.close()
            throw CLIFailure(code: .failure, message: "the node at \(address) does not offer filtered replication (an older folio); sync without --filter/--push-filter")
        }
        let bar = ProgressBar()
        let started = Date()
        let progress: @Sendable (SyncProgress) -> Void = { p in
            bar.draw(done: Int(p.done), total: Int(p.total), detail: "\(p.direction) \(p.done)/\(p.total)")
        }
        let pulled: SyncDirectionReport
        let pushed: SyncDirectionReport
        do {
            pulled = pushOnly ? SyncDirectionReport() : try await replicator.pull(from: client, filter: pullFilter, progress: progress)
            pushed = pullOnly ? SyncDirectionReport() : try await replicator.push(to: client, filter: pushFilter, progress: progress)
        } catch {
            bar.clear()
            try? await client.close()
            if json {
                // What committed before the failure stays committed; the next sync resumes there.
                Terminal.out(JSONValue.object([
                    ("peer", .string(client.serverHello.nodeID.hex)), ("failed", .bool(true)),
                    ("error", .string(Terminal.describe(error))),
                ]).serialized)
            }
            throw error
        }
        bar.clear()
        let seconds = Date().timeIntervalSince(started)
        let (sent, received) = (client.bytesSent, client.bytesReceived)
        let peer = client.serverHello.nodeID
        let deflated = client.deflates
        try? await client.close()
        let conflicts = pulled.conflictsCreated + pushed.conflictsCreated
        if json {
            Terminal.out(JSONValue.object([
                ("peer", .string(peer.hex)), ("received", .number(String(pulled.articlesChanged))),
                ("sent", .number(String(pushed.articlesChanged))), ("conflicts_created", .number(String(conflicts))),
                ("conflicts_created_here", .number(String(pulled.conflictsCreated))),
                ("conflicts_created_there", .number(String(pushed.conflictsCreated))),
                ("bytes_in", .number(String(received))), ("bytes_out", .number(String(sent))),
                ("pull_checkpoint", .number(String(pulled.checkpoint))), ("push_checkpoint", .number(String(pushed.checkpoint))),
                ("pushed_changes_examined", .number(String(pushed.changesExamined))), ("pushed_changes_offered", .number(String(pushed.changesOffered))),
                ("directions", .string(pullOnly ? "pull" : pushOnly ? "push" : "both")),
                ("deflated", .bool(deflated)),
                ("filter", .string(pullFilter.text)), ("push_filter", .string(pushFilter.text)),
                ("refused_as_stale", .array(pulled.refusedAsStale.map { .string($0) })),
                ("untransferable", .array((pulled.untransferable + pushed.untransferable).map {
                    .object([("id", .string($0.id)), ("bytes", .number(String($0.bytes)))])
                })),
                ("clock_skew_ms", client.clockSkew.map { .number(String($0)) } ?? .null),
                ("seconds", .number(String(format: "%.3f", seconds))),
            ]).serialized)
        }
        for (o, way) in pulled.untransferable.map({ ($0, "received") }) + pushed.untransferable.map({ ($0, "sent") }) {
            Terminal.err("folio: article \(o) cannot be \(way): too large for one frame; skipped (the next sync tries it again)")
        }
        Terminal.err(
            "synced with \(peer.hex) at \(address): received \(pulled.articlesChanged), sent \(pushed.articlesChanged), "
                + "new conflicts: \(pulled.conflictsCreated) here, \(pushed.conflictsCreated) on the node, "
                + "\(formatBytes(Int(received))) in / \(formatBytes(Int(sent))) out\(deflated ? " (deflated)" : ""), "
                + String(format: "%.2fs", seconds))
        if conflicts > 0 { Terminal.err("see `folio conflicts` to review them") }
        for id in pulled.refusedAsStale.prefix(20) {
            Terminal.err("folio: refused \"\(Terminal.safe(id))\": this store collected tombstones newer than every version of it (a deleted article coming back?); to keep it, re-import it on the node (SPEC §5.2)")
        }
        if pulled.refusedAsStale.count > 20 { Terminal.err("folio: … and \(pulled.refusedAsStale.count - 20) more refused the same way") }
        let skipped = pulled.untransferable.count + pushed.untransferable.count
        if skipped > 0 { throw CLIFailure(code: .rejected, message: "\(skipped) article(s) could not be transferred; everything else is in sync") }
        if !pulled.refusedAsStale.isEmpty {
            throw CLIFailure(code: .rejected, message: "\(pulled.refusedAsStale.count) article(s) refused as stale; everything else is in sync")
        }
    }
}
