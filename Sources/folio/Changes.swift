import ArgumentParser
import FolioClient
import FolioModel
import FolioProtocol
import FolioStore
import Foundation

struct Changes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the change feed: each changed article once, at its latest change.",
        discussion: """
            One line per change, in sequence order: sequence number, id, state (live, \
            deleted, or "conflict N" with N siblings) and the versions' dots. --json prints \
            one object per change ({"seq","id","deleted","conflict","versions":[{"dot", \
            "deleted"}]}). --since SEQ starts after that sequence number (0: from the \
            beginning). With --follow it keeps printing as changes commit — on a node \
            (--remote) the moment they commit (the node holds the request open), locally \
            within a quarter of a second — and reconnects by itself after a cut, resuming at \
            the last sequence printed. Ctrl-C ends it.

            --filter keeps only matching articles (prefix=, source=, tag=, since=, until=, as \
            for `folio sync`; deletions always pass). --include-bodies adds each article as \
            held when read to the --json output ("article": the winner's fields and body, \
            "siblings": the number of versions).

            Examples:
              folio changes --since 120
              folio changes --follow --json | jq -r .id
              folio changes --remote hub.example --key-file mesh.key --follow
              folio changes --follow --json --filter prefix=wire/ --include-bodies
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Option(help: "Start after this sequence number.") var since: UInt64 = 0
    @Flag(help: "Keep printing changes as they commit.") var follow = false
    @Flag(help: "Machine-readable output (JSON Lines).") var json = false
    @Option(help: ArgumentHelp("Only matching articles: prefix=, source=, tag=, since=, until= (repeatable).", valueName: "key=value"))
    var filter: [String] = []
    @Flag(help: "With --json, each change carries the article as held when read.") var includeBodies = false

    func validate() throws {
        _ = try parsedFilter()
        if includeBodies && !json { throw ValidationError("--include-bodies goes with --json") }
    }

    func parsedFilter() throws -> ReplicationFilter {
        do {
            return try ReplicationFilter(expressions: filter)
        } catch {
            throw ValidationError("bad filter: \(error.reason)")
        }
    }

    func run() async throws {
        // The library's feeds do the work: a node's (long-held CHANGES, reconnecting after a
        // cut) or the local store's (polled).
        // Opening the backend checks the options and fails at once, with the usual message,
        // when the node cannot be reached; the feed then dials its own connection.
        let filter = try parsedFilter()
        switch try await Backend.open(store, remote, readOnly: true) {
        case let .remote(probe, address):
            let filters = probe.serverHello.features.contains(.filter)
            try? await probe.close()
            if !filter.isEmpty && !filters {
                throw CLIFailure(code: .failure, message: "the node at \(address) does not offer filtered feeds (an older folio); drop --filter")
            }
            let feed = FolioClient.changes(
                at: address, options: try remote.clientOptions(), since: since, filter: filter, includeBodies: includeBodies, follow: follow)
            for try await c in feed { print(c) }
        case let .local(s):
            defer { s.close() }
            for try await c in s.changeFeed(since: since, filter: filter, includeBodies: includeBodies, follow: follow, interval: .milliseconds(250)) {
                print(c)
            }
        }
    }

    private func print(_ entry: FeedChange) {
        let c = entry.change
        let conflict = c.versions.count > 1
        let deleted = c.versions.allSatisfy(\.isTombstone)
        let dots = c.versions.map { "\($0.dot.node.hex):\($0.dot.counter)" + ($0.isTombstone ? "(deleted)" : "") }
        if json {
            var fields: [(key: String, value: JSONValue)] = [
                ("seq", .number(String(c.seq))), ("id", .string(c.id)), ("deleted", .bool(deleted)), ("conflict", .bool(conflict)),
            ]
            let versions: [JSONValue] = c.versions.map { v in
                .object([("dot", .string("\(v.dot.node.hex):\(v.dot.counter)")), ("deleted", .bool(v.isTombstone))])
            }
            fields.append(("versions", .array(versions)))
            if includeBodies {
                let article: JSONValue = entry.article?.article?.jsonValue ?? .null
                let siblings: JSONValue = entry.article.map { .number(String($0.versions.versions.count)) } ?? .null
                fields.append(("article", article))
                fields.append(("siblings", siblings))
            }
            Terminal.out(JSONValue.object(fields).serialized)
        } else {
            let state = deleted ? "deleted" : conflict ? "conflict \(c.versions.count)" : "live"
            Terminal.out("\(c.seq)\t\(Terminal.safe(c.id))\t\(state)\t\(dots.joined(separator: " "))")
        }
    }
}
