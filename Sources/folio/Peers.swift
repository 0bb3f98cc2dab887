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
            checkpoint. A filtered link or sync (--filter) shows its filter and the checkpoint \
            kept for that filter. Reads the store, so it works while the node runs.

            --forget NODE drops what this store keeps for a peer that will not come back \
            (its checkpoints, status and acknowledgement): until then it holds back tombstone \
            collection (`folio gc`). If it does come back it syncs from the start.

            Examples:
              folio peers
              folio peers --json | jq '.[] | select(.connected == false)'
              folio peers --forget 3b1d197749d3d4f7
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Machine-readable output (JSON Lines, one object per peer).") var json = false
    @Option(help: ArgumentHelp("Forget a peer that is gone for good (its node id, 16 hex digits).", valueName: "node"))
    var forget: String?

    func validate() throws {
        if let forget, NodeID(hex: forget) == nil || forget.utf8.count != 16 || !forget.allSatisfy(\.isHexDigit) {
            throw ValidationError("--forget takes a node id of 16 hex digits (see `folio peers`), not \"\(Terminal.shortened(forget))\"")
        }
    }

    func run() throws {
        if let forget, let node = NodeID(hex: forget) {
            let s = try store.open()
            defer { s.close() }
            guard try s.forgetPeer(node) else { throw CLIFailure(code: .notFound, message: "this store keeps nothing for node \(node.hex)") }
            Terminal.err("forgot node \(node.hex): its checkpoints, status and acknowledgement")
            return
        }
        let s = try store.open(readOnly: true)
        defer { s.close() }
        let statuses = try s.peerStatuses()
        let checkpoints = try s.checkpoints()
        // The most recent checkpoint per source node and filter (a filtered pull keeps its own,
        // under the scope "epoch/filter", SPEC §8.4).
        struct Key: Hashable { var node: NodeID; var filter: String }
        func filterText(_ c: Checkpoint) -> String { (try? c.epoch.scope().filter.text) ?? "" }
        var latest: [Key: Checkpoint] = [:]
        for c in checkpoints {
            let k = Key(node: c.node, filter: filterText(c))
            if (latest[k]?.updated ?? .min) <= c.updated { latest[k] = c }
        }
        var rows: [JSONValue] = []
        var lines: [String] = []
        func time(_ ms: Int64?) -> String { ms.map { VersionJSON.isoTime($0) } ?? "never" }
        var shown = Set<Key>()
        for p in statuses.sorted(by: { $0.address < $1.address }) {
            let cp = p.node.flatMap { latest[Key(node: $0, filter: p.filter)] }
            if let n = p.node { shown.insert(Key(node: n, filter: p.filter)) }
            rows.append(.object([
                ("address", .string(p.address)), ("node", p.node.map { .string($0.hex) } ?? .null),
                ("connected", .bool(p.connected)), ("last_success", p.lastSuccess.map { .string(time($0)) } ?? .null),
                ("checkpoint", cp.map { .number(String($0.sequence)) } ?? .null),
                ("pending_in_estimate", p.pendingIn.map { .number(String($0)) } ?? .null),
                ("pending_out_estimate", p.pendingOut.map { .number(String($0)) } ?? .null),
                ("last_error", p.lastError.map { .string($0) } ?? .null),
                ("untransferable", .array(p.untransferable.map { .string($0) })),
                ("clock_skew_ms", p.clockSkew.map { .number(String($0)) } ?? .null),
                ("clock_skewed", .bool(p.clockSkew.map(Clocks.isSkewed) ?? false)),
                ("filter", .string(p.filter)), ("push_filter", .string(p.pushFilter)), ("updated", .string(time(p.updated))),
            ]))
            lines.append([
                p.address, p.node?.hex ?? "?", p.connected ? "connected" : "disconnected", "last sync \(time(p.lastSuccess))",
                "checkpoint \(cp.map { String($0.sequence) } ?? "-")",
                "pending ≈\(p.pendingIn.map(String.init) ?? "?") in / ≈\(p.pendingOut.map(String.init) ?? "?") out",
            ].joined(separator: "\t")
                + (p.filter.isEmpty ? "" : "\tfilter \(p.filter)") + (p.pushFilter.isEmpty ? "" : "\tpush-filter \(p.pushFilter)")
                + (p.lastError.map { "\terror: \($0)" } ?? "")
                + (p.untransferable.isEmpty ? "" : "\tuntransferable (too large for a frame): " + p.untransferable.joined(separator: ", "))
                + (p.clockSkew.flatMap { Clocks.isSkewed($0) ? "\tCLOCK \(Clocks.describe(skew: $0)) ours (its versions win or lose conflicts by that much)" : nil } ?? ""))
        }
        for (k, c) in latest.sorted(by: { ($0.key.node, $0.key.filter) < ($1.key.node, $1.key.filter) }) where !shown.contains(k) {
            rows.append(.object([
                ("address", .null), ("node", .string(c.node.hex)), ("connected", .bool(false)),
                ("last_success", .string(time(c.updated))), ("checkpoint", .number(String(c.sequence))),
                ("pending_in_estimate", .null), ("pending_out_estimate", .null), ("last_error", .null), ("untransferable", .array([])),
                ("clock_skew_ms", .null), ("clock_skewed", .bool(false)), ("filter", .string(k.filter)), ("push_filter", .string("")),
                ("updated", .string(time(c.updated))),
            ]))
            lines.append(
                ["(folio sync)", c.node.hex, "-", "last sync \(time(c.updated))", "checkpoint \(c.sequence)"].joined(separator: "\t")
                    + (k.filter.isEmpty ? "" : "\tfilter \(k.filter)"))
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
