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
        var last = since
        var backend: Backend? = try await Backend.open(store, remote, readOnly: true)
        var failures = 0
        while true {
            do {
                guard let b = backend else {
                    backend = try await Backend.open(store, remote, readOnly: true)
                    Terminal.err("folio: reconnected to \(remote.remote ?? "?"); resuming after \(last)")
                    continue
                }
                let (batch, end) = try await Changes.read(b, since: last, wait: follow)
                failures = 0
                for c in batch { print(c) }
                if let l = batch.last?.seq { last = l }
                if batch.isEmpty && last >= end {
                    guard follow else { break }
                    if case .local = b { try await Task.sleep(for: .milliseconds(250)) }
                }
            } catch where follow && remote.remote != nil && Changes.isConnectionLoss(error) {
                // A cut: reconnect with a growing pause (up to 10 s), resuming after `last`.
                await backend?.close()
                backend = nil
                failures += 1
                Terminal.err("folio: connection lost (\(Terminal.describe(error))); retrying")
                try await Task.sleep(for: .milliseconds(min(10_000, 250 << min(failures, 6))))
            }
        }
        await backend?.close()
    }

    static func isConnectionLoss(_ error: Error) -> Bool {
        guard let e = error as? FolioClientError else { return false }
        switch e {
        case .closed, .timeout, .shuttingDown, .busy: return true
        default: return false
        }
    }

    /// A page of changes after `since` (a node holds an empty answer up to 20 s when following).
    static func read(_ backend: Backend, since: UInt64, wait: Bool) async throws -> ([Change], UInt64) {
        switch backend {
        case let .local(s):
            return try await blocking { (try s.changes(since: since, limit: 1000), try s.lastSequence()) }
        case let .remote(c, _):
            return try await c.changes(since: since, limit: 1000, waitMillis: wait ? 20_000 : 0)
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
