import ArgumentParser
import FolioModel
import FolioStore
import Foundation

/// `--tombstone-horizon`: how old a tombstone must be before it may be collected.
struct HorizonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Tombstones younger than this are kept (N followed by s, m, h or d).", valueName: "duration"))
    var tombstoneHorizon = "30d"

    var milliseconds: Int64 { (try? Check.duration(tombstoneHorizon, "--tombstone-horizon")) ?? 30 * 86_400_000 }

    func validate() throws { _ = try Check.duration(tombstoneHorizon, "--tombstone-horizon") }
}

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Collect tombstones every known peer holds, older than the horizon.",
        discussion: """
            A deleted article leaves a tombstone so replicas that still hold it learn of the \
            deletion. A tombstone is collected — the article's record and its change feed \
            entry removed — once every peer this store knows (configured peers, sources it \
            pulled from, replicas that pushed to it or pulled from it) is known to hold this \
            store's feed past it, and it is older than --tombstone-horizon (default 30d). \
            Purges (`folio purge`) need only the first. A running node does this itself every \
            hour (`folio serve --tombstone-horizon`).

            After a collection, an article this store does not hold that comes from a replica \
            with only versions older than the newest collected tombstone, by writers whose \
            versions were collected, is refused as a deletion coming back (SPEC §5.2): a \
            replica offline longer than the horizon must re-import what it wants to keep. A \
            peer that will never come back holds collection up: `folio peers --forget NODE`.

            --dry-run only reports (like `folio stats`). --json prints {"collected","purges"} \
            (with --dry-run the report's fields).

            Examples:
              folio gc
              folio gc --tombstone-horizon 7d
              folio gc --dry-run --json
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var horizon: HorizonOptions
    @Flag(help: "Only report what would be collected.") var dryRun = false
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let s = try store.open(readOnly: dryRun)
        defer { s.close() }
        if dryRun {
            let r = try s.tombstones(horizon: horizon.milliseconds)
            if json { Terminal.out(TombstoneJSON.report(r).serialized) } else { Terminal.out(TombstoneJSON.lines(r).joined(separator: "\n")) }
            return
        }
        let r = try s.collectTombstones(horizon: horizon.milliseconds)
        if json {
            Terminal.out(JSONValue.object([("collected", .number(String(r.collected))), ("purges", .number(String(r.purges)))]).serialized)
        }
        Terminal.err("collected \(r.collected) tombstone(s), \(r.purges) of them purges")
        let after = try s.tombstones(horizon: horizon.milliseconds)
        if !after.heldBackBy.isEmpty {
            Terminal.err(
                "held back by peers not known to hold them yet: "
                    + after.heldBackBy.sorted { $0.key < $1.key }.map { "\($0.key.hex) (through seq \($0.value))" }.joined(separator: ", ")
                    + " — sync with them, or `folio peers --forget NODE` for one that is gone")
        }
    }
}

/// How tombstone reports print.
enum TombstoneJSON {
    static func report(_ r: TombstoneReport) -> JSONValue {
        .object([
            ("held", .number(String(r.held))), ("collectable", .number(String(r.collectable))), ("purges_held", .number(String(r.purges))),
            ("collected", .number(String(r.collected))), ("purges_collected", .number(String(r.purgesCollected))),
            ("refused_as_stale", .number(String(r.refusedAsStale))),
            ("collected_through", r.cutoff.map { .string(VersionJSON.isoTime($0)) } ?? .null),
            ("held_back_by", .object(r.heldBackBy.sorted { $0.key < $1.key }.map { ($0.key.hex, .number(String($0.value))) })),
        ])
    }

    static func lines(_ r: TombstoneReport) -> [String] {
        var out = [
            "tombstones:  \(r.held) held (\(r.purges) purges), \(r.collectable) collectable now; \(r.collected) collected so far (\(r.purgesCollected) purges)"
        ]
        if let c = r.cutoff { out.append("collected:   every tombstone collected was written by \(VersionJSON.isoTime(c)); older articles coming back are refused (\(r.refusedAsStale) so far)") }
        if !r.heldBackBy.isEmpty {
            out.append("held back:   " + r.heldBackBy.sorted { $0.key < $1.key }.map { "\($0.key.hex) holds our feed through \($0.value)" }.joined(separator: ", "))
        }
        return out
    }
}
