import ArgumentParser
import FolioModel
import FolioStore

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the store's identity, counts, size and LMDB statistics.",
        discussion: """
            Safe to run while another process writes the store. For a local store it also \
            shows tombstones held, how many are collectable now with --tombstone-horizon \
            (see `folio gc`), and what collection has done.

            Examples:
              folio stats
              folio stats --json | jq .live
              folio stats --remote 127.0.0.1:7070
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @OptionGroup var horizon: HorizonOptions
    @Flag(help: "Machine-readable output.") var json = false

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let horizonMS = horizon.milliseconds
        let (st, tombs) = try await withBackend(backend) { b -> (StoreStatistics, TombstoneReport?) in
            let st = try await b.statistics()
            guard case let .local(s) = b else { return (st, nil) }
            return (st, try await blocking { try s.tombstones(horizon: horizonMS) })
        }
        let location = backend.location
        if json {
            let dbs: [(key: String, value: JSONValue)] = st.databases.map { db in
                let d = db.statistics
                return (db.name, .object([
                    ("entries", .number(String(d.entries))), ("depth", .number(String(d.depth))),
                    ("branch_pages", .number(String(d.branchPages))), ("leaf_pages", .number(String(d.leafPages))),
                    ("overflow_pages", .number(String(d.overflowPages))),
                ]))
            }
            let v: JSONValue = .object([
                ("path", .string(location)), ("node", .string(st.nodeID.hex)), ("epoch", .string(st.epoch.text)),
                ("format", .number(String(st.storageFormat))), ("live", .number(String(st.liveArticles))),
                ("tombstones", .number(String(st.tombstones))), ("conflicts", .number(String(st.articlesInConflict))),
                ("last_seq", .number(String(st.lastSequence))), ("file_size", .number(String(st.fileSize))),
                ("map_size", .number(String(st.mapSize))), ("map_used", .number(String(st.mapUsed))),
                ("page_size", .number(String(st.pageSize))), ("readers", .number(String(st.readersInUse))),
                ("max_readers", .number(String(st.maxReaders))), ("lmdb", .string(st.lmdbVersion)),
                ("tombstone_collection", tombs.map(TombstoneJSON.report) ?? .null),
                ("databases", .object(dbs)),
            ])
            Terminal.out(v.serialized)
            return
        }
        let pct = st.mapSize > 0 ? Double(st.mapUsed) * 100 / Double(st.mapSize) : 0
        var lines = [
            "store:       \(location)",
            "node:        \(st.nodeID.hex)",
            "epoch:       \(st.epoch)",
            "articles:    \(st.liveArticles) live, \(st.tombstones) deleted, \(st.articlesInConflict) in conflict",
            "last seq:    \(st.lastSequence)",
            "file size:   \(formatBytes(st.fileSize))",
            "map:         \(formatBytes(st.mapUsed)) used of \(formatBytes(st.mapSize)) (\(String(format: "%.1f", pct))%)",
            "readers:     \(st.readersInUse) of \(st.maxReaders)",
            "lmdb:        \(st.lmdbVersion), page size \(st.pageSize)",
        ] + (tombs.map(TombstoneJSON.lines) ?? []) + [
            "",
            "database     entries   depth  branch    leaf  overflow",
        ]
        for db in st.databases {
            let d = db.statistics
            lines.append(
                db.name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + [d.entries, d.depth, d.branchPages, d.leafPages, d.overflowPages].map { String($0).leftPad(8) }.joined())
        }
        Terminal.out(lines.joined(separator: "\n"))
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? " " + self : String(repeating: " ", count: n - count) + self }
}
