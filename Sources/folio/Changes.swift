import ArgumentParser
import FolioClient
import FolioModel
import FolioStore
import Foundation

struct Changes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the change feed: each changed article once, at its latest change.",
        discussion: """
            One line per change, in sequence order: sequence number, id, state (live, \\
            deleted, or "conflict N" with N siblings) and the versions' dots. --json prints \\
            one object per change ({"seq","id","deleted","conflict","versions":[{"dot", \\
            "deleted"}]}). --since SEQ starts after that sequence number (0: from the \\
            beginning). With --follow it keeps printing as changes commit — on a node \\
            (--remote) the moment they commit (the node holds the request open), locally \\
            within a quarter of a second — and reconnects by itself after a cut, resuming at \\
            the last sequence printed. Ctrl-C ends it.

            Examples:
              folio changes --since 120
              folio changes --follow --json | jq -r .id
              folio changes --remote hub.example --key-file mesh.key --follow
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Option(help: "Start after this sequence number.") var since: UInt64 = 0
    @Flag(help: "Keep printing changes as they commit.") var follow = false
    @Flag(help: "Machine-readable output (JSON Lines).") var json = false

    func run() async throws {
        // The library's feeds do the work: a node's (long-held CHANGES, reconnecting after a
        // cut) or the local store's (polled).
        // Opening the backend checks the options and fails at once, with the usual message,
        // when the node cannot be reached; the feed then dials its own connection.
        switch try await Backend.open(store, remote, readOnly: true) {
        case let .remote(probe, address):
            try? await probe.close()
            for try await c in FolioClient.changes(at: address, options: try remote.clientOptions(), since: since, follow: follow) { print(c) }
        case let .local(s):
            defer { s.close() }
            for try await c in s.changeFeed(since: since, follow: follow, interval: .milliseconds(250)) { print(c) }
        }
    }

    private func print(_ c: Change) {
        let conflict = c.versions.count > 1
        let deleted = c.versions.allSatisfy(\.isTombstone)
        let dots = c.versions.map { "\($0.dot.node.hex):\($0.dot.counter)" + ($0.isTombstone ? "(deleted)" : "") }
        if json {
            Terminal.out(JSONValue.object([
                ("seq", .number(String(c.seq))), ("id", .string(c.id)), ("deleted", .bool(deleted)), ("conflict", .bool(conflict)),
                ("versions", .array(c.versions.map {
                    .object([("dot", .string("\($0.dot.node.hex):\($0.dot.counter)")), ("deleted", .bool($0.isTombstone))])
                })),
            ]).serialized)
        } else {
            let state = deleted ? "deleted" : conflict ? "conflict \(c.versions.count)" : "live"
            Terminal.out("\(c.seq)\t\(Terminal.safe(c.id))\t\(state)\t\(dots.joined(separator: " "))")
        }
    }
}
