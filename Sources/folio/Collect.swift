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

            A collected article leaves a digest of its id with what its deletion covered: a \
            replica that was away longer than the horizon and sends those versions back is \
            refused (SPEC §5.2), while an edit the deletion never saw, or a version written \
            after it, is taken. A purge's digest works the same way. A peer that will never come back holds collection up: \
            `folio peers --forget NODE`.

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
        func n<T: BinaryInteger>(_ v: T) -> JSONValue { .number(String(v)) }
        let heldBack: [(key: String, value: JSONValue)] = r.heldBackBy.sorted { $0.key < $1.key }.map { ($0.key.hex, n($0.value)) }
        return .object([
            ("held", n(r.held)), ("collectable", n(r.collectable)), ("purges_held", n(r.purges)),
            ("collected", n(r.collected)), ("purges_collected", n(r.purgesCollected)),
            ("refused_as_stale", n(r.refusedAsStale)), ("held_back_by", .object(heldBack)),
        ])
    }

    static func lines(_ r: TombstoneReport) -> [String] {
        var out = [
            "tombstones:  \(r.held) held (\(r.purges) purges), \(r.collectable) collectable now; \(r.collected) collected so far (\(r.purgesCollected) purges)"
        ]
        if r.refusedAsStale > 0 { out.append("refused:     \(r.refusedAsStale) version set(s) of collected articles coming back from stale replicas") }
        if !r.heldBackBy.isEmpty {
            out.append("held back:   " + r.heldBackBy.sorted { $0.key < $1.key }.map { "\($0.key.hex) holds our feed through \($0.value)" }.joined(separator: ", "))
        }
        return out
    }
}
