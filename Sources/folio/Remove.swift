import ArgumentParser
import FolioModel
import FolioStore
import FolioClient
import Foundation

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete articles (tombstones that sync like any write).",
        discussion: """
            Deletes each id given, the ids read from stdin with `-` (one per line), or every \
            live article under --prefix — locally in one transaction. With --context (one id \
            only), the delete supersedes only what that context saw; a concurrent edit survives \
            as a sibling. An id that is absent or already deleted is reported and skipped; the \
            exit code is then 1, after the others are deleted.

            Examples:
              folio rm text/some-article
              folio rm text/a text/b text/c
              folio ls --prefix drafts/ --json | jq -r .id | folio rm -
              folio rm --prefix drafts/
              folio rm text/some-article --context c2.AAAA…
              folio rm --remote 127.0.0.1:7070 text/some-article
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: ArgumentHelp("Article ids, or - to read ids from stdin (one per line).", valueName: "id")) var ids: [String] = []
    @Option(help: "Delete every live article whose id starts with this prefix.") var prefix: String?
    @Option(help: "The causal context read with `folio get --json` (with one id).") var context: String?
    @Flag(help: "Machine-readable output: one JSON object per id ({\"id\",\"outcome\":\"deleted\"|\"not_found\",…}) on stdout.") var json = false

    func validate() throws {
        if ids.isEmpty && prefix == nil { throw ValidationError("give article ids, - for ids on stdin, or --prefix") }
        if !ids.isEmpty && prefix != nil { throw ValidationError("give ids or --prefix, not both") }
        if let prefix, prefix.isEmpty { throw ValidationError("--prefix must not be empty (it would delete everything)") }
        if context != nil && (ids.count != 1 || ids == ["-"]) { throw ValidationError("--context goes with exactly one id") }
        for id in ids where id != "-" { try Check.articleID(id) }
    }

    func run() async throws {
        var targets: [String] = []
        for id in ids {
            if id == "-" {
                let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                for line in text.split(whereSeparator: \.isNewline) {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    guard !trimmed.isEmpty else { continue }
                    do {
                        try Check.articleID(trimmed, "an id on stdin")
                    } catch {
                        throw CLIFailure(code: .usage, message: "\(error)")
                    }
                    targets.append(trimmed)
                }
            } else {
                targets.append(id)
            }
        }
        let ctx = try context.map { try contextVector($0, article: targets[0]) }
        let backend = try await Backend.open(store, remote, readOnly: false)
        let prefix = self.prefix
        let results = try await withBackend(backend) { backend -> [(String, Result<WriteOutcome, Error>)] in
            if let prefix {
                targets = try await backend.list(prefix: prefix, after: nil, source: nil, limit: .max, includeDeleted: false).map(\.id)
            }
            return try await backend.delete(targets, context: ctx)
        }
        var (missing, failed) = (0, 0)
        for (id, result) in results {
            switch result {
            case let .success(outcome):
                if json {
                    Terminal.out(JSONValue.object([
                        ("id", .string(id)), ("outcome", .string("deleted")),
                        ("version", .string("\(outcome.version!.dot.node.hex):\(outcome.version!.dot.counter)")),
                        ("siblings", .number(String(outcome.siblings))),
                    ]).serialized)
                }
                Terminal.err("deleted \(Terminal.safe(id)) (version \(outcome.version!.dot.node.hex):\(outcome.version!.dot.counter))")
                if outcome.siblings > 1 {
                    Terminal.err("folio: \"\(Terminal.safe(id))\" keeps \(outcome.siblings) sibling versions (a concurrent edit survives)")
                }
            case let .failure(error):
                // Absent, already deleted or refused as input: this id only. Anything else (the
                // node went away): failed, and the ids after it were not attempted.
                let kind = (error as? FolioClientError)?.kind ?? (error as? StoreError)?.kind
                let alone = kind == .notFound || kind == .invalidInput
                if alone { missing += 1 } else { failed += 1 }
                if json {
                    Terminal.out(JSONValue.object([("id", .string(id)), ("outcome", .string(alone ? "not_found" : "failed")), ("error", .string("\(error)"))]).serialized)
                }
                Terminal.err("folio: \(Terminal.message("\(error)"))")
            }
        }
        if failed > 0 { throw CLIFailure(code: .failure, message: "\(failed) deletion(s) failed; the others are reported above") }
        if results.count > 1 || prefix != nil {
            Terminal.err("deleted \(results.count - missing) of \(results.count)")
        }
        if missing > 0 { throw CLIFailure(code: .notFound, message: nil) }
    }
}
