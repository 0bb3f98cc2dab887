import ArgumentParser
import FolioImport
import FolioModel
import FolioStore
import Foundation
import FolioClient
import NIOCore
import NIOPosix

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import articles from JSON Lines files, plain-text pages and directories.",
        discussion: """
            Reads .jsonl/.ndjson (one article per line), .json (an object or an array) and \
            .txt (a scraped page: title on the first line, "SOURCE - " opening the first \
            paragraph, page furniture such as "Top stories" dropped), each also gzip-compressed \
            (.jsonl.gz, .json.gz, …); directories are read recursively. A file of any other \
            type named on the command line is refused by name (exit 4), never guessed.

            A plain-text page gets an id derived from its source and title, so importing it \
            again reports it unchanged; a second, different page of the same import with the \
            same source and title gets that id suffixed with a hash of its path (it never \
            overwrites the first). With --id-from path the id is the page's path instead, \
            relative to the directory given (extension dropped, each part slugged).

            A bad record never stops the rest: each is reported as file:line: reason, and the \
            exit code is 4. With --strict, nothing is written unless every record is good. \
            Records written by `folio export --all-versions` restore their versions exactly; \
            several stores' exports concatenated merge each store's versions as a sync would.

            --remote imports into a node over the protocol: each article is read there first \
            and written only when it differs (a re-import reports it unchanged), up to 32 \
            requests in flight; version records (export --all-versions) are refused there — \
            restore them into a local store and `folio sync`.

            Symbolic links are followed (a loop is reported, not followed twice); entries \
            that are not imported are listed as skipped with the reason. `-` reads standard \
            input (JSON Lines, a JSON document or a page, recognised by its content); pipes \
            and devices named as files are refused. Exit codes: 0 all imported, 4 some \
            records or files rejected, 3 the store failed (what was committed stays; run the \
            same command again to resume).

            Examples:
              folio import ~/scraped/
              folio import dump.jsonl more/*.txt --json
              folio import --strict archive.jsonl
              folio import dump.jsonl.gz
              zcat dump.jsonl.gz | folio import -
              folio import --id-from path ~/scraped/
              folio import dump.jsonl --remote hub.example --key-file mesh.key
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: ArgumentHelp("Files or directories to import; - for standard input.", valueName: "path"), completion: .file())
    var paths: [String]
    @Flag(help: "Write nothing if any record is rejected.") var strict = false
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @Option(help: "Most articles per write transaction (a transaction also ends at 8 MiB of bodies). Until it commits, a transaction holds in memory every page it changes: its articles, bodies and search index segment, and the segments merged with it. A smaller batch holds less and makes more, smaller segments to merge (1 000: about 70 MB at 100 000 news articles, as fast as larger batches).") var batchSize: Int = 1000
    @Option(help: ArgumentHelp("Where a plain-text page's id comes from: title (its source and title) or path (its path under the directory given).", valueName: "title|path"))
    var idFrom: IDSource = .title

    enum IDSource: String, ExpressibleByArgument, CaseIterable { case title, path }

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one file or directory to import") }
        try Check.count(batchSize, "--batch-size", in: 1...1_000_000)
    }

    func run() async throws {
        if remote.remote == nil, remote.keyFile != nil || !remote.tls.files.isEmpty {
            throw ValidationError("--key-file and --tls-* go with --remote (or `folio serve`)")
        }
        if remote.remote != nil, store.data != nil { throw ValidationError("--data and --remote cannot be combined") }
        // Standard input is copied to a file first: the importer reads a file twice (its
        // kind is sniffed from its start), which a pipe cannot do.
        var paths = paths
        var stdinCopy: String?
        if let i = paths.firstIndex(of: "-") {
            let dir = NSTemporaryDirectory() + "folio-stdin-\(getpid())"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let file = dir + "/stdin"
            guard FileManager.default.createFile(atPath: file, contents: nil), let out = FileHandle(forWritingAtPath: file) else {
                throw CLIFailure(code: .failure, message: "cannot create a temporary file for standard input in \(dir)")
            }
            while case let chunk = FileHandle.standardInput.readData(ofLength: 1 << 20), !chunk.isEmpty { out.write(chunk) }
            try? out.close()
            paths[i] = file
            stdinCopy = file
        }
        if paths.filter({ $0 == "-" }).count > 0 { throw CLIFailure(code: .usage, message: "- (standard input) can be given once") }
        defer { if let stdinCopy { try? FileManager.default.removeItem(atPath: (stdinCopy as NSString).deletingLastPathComponent) } }
        var options = Importer.Options()
        options.strict = strict
        options.batchSize = batchSize
        options.idFromPath = idFrom == .path
        if let stdinCopy {
            options.sniff = [stdinCopy]
            options.displayNames = [stdinCopy: "stdin"]
        }
        let bar = ProgressBar()
        let started = Date()
        let report: Importer.Report
        let progress: @Sendable (Importer.Progress) -> Void = { p in
            bar.draw(done: p.bytesDone, total: p.bytesTotal, detail: "\(p.records) records  \(formatBytes(p.bytesDone))")
        }
        do {
            if let address = remote.remote {
                let client = try await FolioClient.connect(to: address, options: remote.clientOptions())
                do {
                    report = try await Import.remote(paths: paths, options: options, client: client, progress: progress)
                    try? await client.close()
                } catch {
                    try? await client.close()
                    throw error
                }
            } else {
                let s = try store.open()
                defer { s.close() }
                // On a thread of the blocking pool: the importer waits for its background
                // write between batches, which must never hold a thread of the cooperative pool.
                let (paths, options) = (paths, options)
                report = try await blocking { try Importer(store: s, options: options).run(paths: paths, progress: progress) }
            }
        } catch let error as Importer.Failure {
            bar.clear()
            summarize(error.report, seconds: Date().timeIntervalSince(started), failure: error.error, stdin: stdinCopy)
            throw CLIFailure(
                code: .failure,
                message: "import stopped: \(Terminal.describe(error.error)). "
                    + "What is counted above is committed; run the same command again to resume (those articles then count as unchanged).")
        }
        bar.clear()
        summarize(report, seconds: Date().timeIntervalSince(started), failure: nil, stdin: stdinCopy)
        if report.aborted {
            throw CLIFailure(code: .rejected, message: "--strict: \(report.rejected.count) record(s) rejected, nothing was written")
        }
        if !report.rejected.isEmpty || !report.notRestored.isEmpty { throw CLIFailure(code: .rejected, message: nil) }
    }

    /// Imports into a node: the importer reads on a thread of the blocking pool and hands each
    /// batch over; the batch's articles are written by up to 32 requests in flight (one id's
    /// records in order), and the importer goes on once the batch is acknowledged.
    static func remote(
        paths: [String], options: Importer.Options, client: FolioClient, progress: @escaping @Sendable (Importer.Progress) -> Void
    ) async throws -> Importer.Report {
        typealias Handoff = (batch: [Article], reply: EventLoopPromise<Importer.Counts>)
        let (stream, handoff) = AsyncStream.makeStream(of: Handoff.self)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return try await withThrowingTaskGroup(of: Importer.Report?.self) { group in
            group.addTask {
                try await blocking {
                    defer { handoff.finish() }
                    let importer = Importer(options: options) { batch in
                        let reply = loop.makePromise(of: Importer.Counts.self)
                        handoff.yield((batch, reply))
                        // A thread of the blocking pool, never an event loop or the cooperative pool.
                        return try reply.futureResult.wait()
                    }
                    return try importer.run(paths: paths, progress: progress)
                }
            }
            group.addTask {
                for await (batch, reply) in stream {
                    do {
                        reply.succeed(try await Import.write(batch, to: client))
                    } catch {
                        reply.fail(error)
                    }
                }
                return nil
            }
            var report: Importer.Report?
            for try await r in group { if let r { report = r } }
            return report!
        }
    }

    /// Writes one batch to a node: each article is read first and written only when it
    /// differs from the node's single version, with the context read (it supersedes what the
    /// node held, like a local import).
    static func write(_ batch: [Article], to client: FolioClient) async throws -> Importer.Counts {
        var byID: [String: [Article]] = [:]
        var order: [String] = []
        for a in batch {
            if byID[a.id] == nil { order.append(a.id) }
            byID[a.id, default: []].append(a)
        }
        var counts = Importer.Counts()
        try await withThrowingTaskGroup(of: [WriteOutcome.Kind].self) { group in
            var running = 0
            func tally(_ kinds: [WriteOutcome.Kind]) {
                for k in kinds {
                    switch k {
                    case .added: counts.added += 1
                    case .updated: counts.updated += 1
                    default: counts.unchanged += 1
                    }
                }
            }
            for id in order {
                if running >= 32, let done = try await group.next() {
                    tally(done)
                    running -= 1
                }
                let articles = byID[id]!
                group.addTask {
                    var kinds: [WriteOutcome.Kind] = []
                    for a in articles { kinds.append(try await Import.putIfChanged(a, client)) }
                    return kinds
                }
                running += 1
            }
            for try await done in group { tally(done) }
        }
        return counts
    }

    static func putIfChanged(_ a: Article, _ client: FolioClient) async throws -> WriteOutcome.Kind {
        let held: ArticleState?
        do {
            held = try await client.get(a.id)
        } catch FolioClientError.notFound {
            held = nil
        }
        if let held, held.versions.versions.count == 1, let article = held.article, article.jsonLine.sameBytes(a.jsonLine) {
            return .unchanged
        }
        return try await client.put(a, context: held?.context).kind
    }

    /// Prints rejections and skips, then the summary (JSON on stdout with --json, a line on stderr).
    private func summarize(_ report: Importer.Report, seconds: Double, failure: Error?, stdin: String?) {
        var report = report
        if let stdin {
            for i in report.rejected.indices where report.rejected[i].file == stdin { report.rejected[i].file = "stdin" }
        }
        for r in report.rejected { Terminal.err("\(r)") }
        for k in report.skipped { Terminal.err("\(k)") }
        for k in report.notRestored { Terminal.err("\"\(Terminal.safe(k.path))\": \(k.reason)") }
        if json {
            var fields: [(key: String, value: JSONValue)] = [
                ("files", .number(String(report.files))), ("added", .number(String(report.added))),
                ("updated", .number(String(report.updated))), ("unchanged", .number(String(report.unchanged))),
                ("restored", .number(String(report.restored))), ("rejected", .number(String(report.rejected.count))),
                ("skipped", .number(String(report.skipped.count))), ("aborted", .bool(report.aborted)),
                ("failed", .bool(failure != nil)), ("error", failure.map { .string(Terminal.describe($0)) } ?? .null),
                ("seconds", .number(String(format: "%.3f", seconds))),
                ("rejections", .array(report.rejected.map {
                    .object([("file", .string($0.file)), ("line", .number(String($0.line))), ("reason", .string($0.reason))])
                })),
                ("skips", .array(report.skipped.map { .object([("path", .string($0.path)), ("reason", .string($0.reason))]) })),
                ("not_restored", .array(report.notRestored.map { .object([("id", .string($0.path)), ("reason", .string($0.reason))]) })),
            ]
            if failure == nil { fields.removeAll { $0.key == "error" } }
            Terminal.out(JSONValue.object(fields).serialized)
        }
        var line = "\(report.files) files: \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged"
        if report.restored > 0 { line += ", \(report.restored) versions restored" }
        line += ", \(report.rejected.count) rejected"
        if !report.notRestored.isEmpty { line += ", \(report.notRestored.count) not restored" }
        if !report.skipped.isEmpty { line += ", \(report.skipped.count) entries skipped" }
        line += String(format: " in %.2fs", seconds)
        if failure != nil { line += " (stopped by a store failure)" }
        Terminal.err(line)
    }
}
