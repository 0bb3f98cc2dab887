import ArgumentParser
import FolioClient
import FolioModel
import FolioStore
import Foundation

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove articles and all their versions, everywhere.",
        discussion: """
            Writes, for each id, a purge: a tombstone that covers every version held — \
            conflicting siblings and earlier deletions included — and carries the purge \
            marker (SPEC §5.2). It replicates like any write; every replica it reaches drops \
            the versions it covers and their bodies, and a replica that still holds one of \
            them cannot bring it back: the purge supersedes it. Once every peer a store knows \
            has the purge, the store forgets the article altogether (keeping only a digest of \
            the id and what the purge covered, so those versions are refused for ever), \
            without waiting for the tombstone horizon. A version written somewhere that never \
            saw the purge survives as a new article, shown, never lost.

            Unlike `folio rm`, purge also takes deleted articles and supersedes versions the \
            caller has not seen. An id that is absent or already purged is reported and \
            skipped (exit 1) after the others are purged.

            Examples:
              folio purge wire/2026-11-20-retracted-story
              folio purge --remote hub.example --key-file mesh.key wire/a wire/b
              folio purge --json wire/a
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: ArgumentHelp("Article ids.", valueName: "id")) var ids: [String]
    @Flag(help: "Machine-readable output: one JSON object per id ({\"id\",\"outcome\":\"purged\"|\"not_found\",…}) on stdout.") var json = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give the ids of the articles to purge") }
        for id in ids { try Check.articleID(id) }
    }

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: false)
        var seen = Set<[UInt8]>()
        let ids = self.ids.filter { seen.insert(Array($0.utf8)).inserted }  // once each (bytewise), in the order given
        let results = try await withBackend(backend) { try await $0.purge(ids) }
        var (missing, failed) = (0, 0)
        for (id, result) in results {
            switch result {
            case let .success(outcome):
                let v = outcome.version!
                if json {
                    Terminal.out(JSONValue.object([
                        ("id", .string(id)), ("outcome", .string("purged")), ("version", .string("\(v.dot.node.hex):\(v.dot.counter)")),
                        ("superseded", .number(String(outcome.superseded))), ("siblings", .number(String(outcome.siblings))),
                    ]).serialized)
                }
                Terminal.err("purged \(Terminal.safe(id)): \(outcome.superseded) version(s) superseded"
                    + (outcome.siblings > 1 ? "; \(outcome.siblings - 1) concurrent version(s) remain (see `folio get --all`)" : ""))
            case let .failure(error):
                let kind = (error as? FolioClientError)?.kind ?? (error as? StoreError)?.kind
                let notFound = kind == .notFound || kind == .invalidInput
                if notFound { missing += 1 } else { failed += 1 }
                if json {
                    Terminal.out(JSONValue.object([
                        ("id", .string(id)), ("outcome", .string(notFound ? "not_found" : "failed")),
                    ] + (notFound ? [] : [("error", JSONValue.string(Terminal.describe(error)))])).serialized)
                }
                Terminal.err(notFound
                    ? "folio: \"\(Terminal.safe(id))\" not found (absent or already purged)"
                    : "folio: \"\(Terminal.safe(id))\" not purged: \(Terminal.describe(error))")
            }
        }
        if failed > 0 { throw CLIFailure(code: .failure, message: "\(failed) purge(s) failed; the others are reported above") }
        if missing > 0 { throw CLIFailure(code: .notFound, message: nil) }
    }
}
