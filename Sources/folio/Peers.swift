import ArgumentParser
import FolioModel
import FolioStore
import Foundation

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the peers this store replicates with, and where each sync stands.",
        discussion: """
            Shows the peers a node follows (`folio serve --peer`): address, node id, whether \
            it is connected, the last successful sync, the checkpoint held for it, estimated \
            changes pending each way (≈: counted in feed sequence numbers, an upper bound), \
            and the last error. Sources synced with `folio sync` appear by node id with their \
            checkpoint. Reads the store, so it works while the node runs.

            Examples:
              folio peers
              folio peers --json | jq '.[] | select(.connected == false)'
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Machine-readable output (JSON Lines, one object per peer).") var json = false

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        let statuses = try s.peerStatuses()
        let checkpoints = try s.checkpoints()
        // The most recent checkpoint per source node.
        var latest: [NodeID: Checkpoint] = [:]
        for c in checkpoints where (latest[c.node]?.updated ?? .min) <= c.updated { latest[c.node] = c }
        var rows: [JSONValue] = []
        var lines: [String] = []
        func time(_ ms: Int64?) -> String { ms.map { VersionJSON.isoTime($0) } ?? "never" }
        var shown = Set<NodeID>()
        for p in statuses.sorted(by: { $0.address < $1.address }) {
            let cp = p.node.flatMap { latest[$0] }
            if let n = p.node { shown.insert(n) }
            rows.append(.object([
                ("address", .string(p.address)), ("node", p.node.map { .string($0.hex) } ?? .null),
                ("connected", .bool(p.connected)), ("last_success", p.lastSuccess.map { .string(time($0)) } ?? .null),
                ("checkpoint", cp.map { .number(String($0.sequence)) } ?? .null),
                ("pending_in_estimate", p.pendingIn.map { .number(String($0)) } ?? .null),
                ("pending_out_estimate", p.pendingOut.map { .number(String($0)) } ?? .null),
                ("last_error", p.lastError.map { .string($0) } ?? .null),
                ("untransferable", .array(p.untransferable.map { .string($0) })),
                ("clock_skew_ms", p.clockSkew.map { .number(String($0)) } ?? .null),
                ("clock_skewed", .bool(p.clockSkew.map(Clocks.isSkewed) ?? false)), ("updated", .string(time(p.updated))),
            ]))
            lines.append([
                p.address, p.node?.hex ?? "?", p.connected ? "connected" : "disconnected", "last sync \(time(p.lastSuccess))",
                "checkpoint \(cp.map { String($0.sequence) } ?? "-")",
                "pending ≈\(p.pendingIn.map(String.init) ?? "?") in / ≈\(p.pendingOut.map(String.init) ?? "?") out",
            ].joined(separator: "\t") + (p.lastError.map { "\terror: \($0)" } ?? "")
                + (p.untransferable.isEmpty ? "" : "\tuntransferable (too large for a frame): " + p.untransferable.joined(separator: ", "))
                + (p.clockSkew.flatMap { Clocks.isSkewed($0) ? "\tCLOCK \(Clocks.describe(skew: $0)) ours (its versions win or lose conflicts by that much)" : nil } ?? ""))
        }
        for c in latest.values.sorted(by: { $0.node < $1.node }) where !shown.contains(c.node) {
            rows.append(.object([
                ("address", .null), ("node", .string(c.node.hex)), ("connected", .bool(false)),
                ("last_success", .string(time(c.updated))), ("checkpoint", .number(String(c.sequence))),
                ("pending_in_estimate", .null), ("pending_out_estimate", .null), ("last_error", .null), ("untransferable", .array([])),
                ("clock_skew_ms", .null), ("clock_skewed", .bool(false)), ("updated", .string(time(c.updated))),
            ]))
            lines.append(["(folio sync)", c.node.hex, "-", "last sync \(time(c.updated))", "checkpoint \(c.sequence)"].joined(separator: "\t"))
        }
        if json {
            for row in rows { Terminal.out(row.serialized) }
        } else if lines.isEmpty {
            Terminal.err("no peers yet (start a node with `folio serve --peer HOST:PORT`, or run `folio sync`)")
        } else {
            Terminal.out(lines.joined(separator: "\n"))
        }
    }
}
