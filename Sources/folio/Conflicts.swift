import ArgumentParser
import FolioModel
import FolioStore

struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List articles that have concurrent sibling versions.",
        discussion: """
            Each line: id, number of versions, the winning title. Inspect one with \
            `folio get ID --all` and settle it with `folio resolve`. Exits 1 when there are \
            conflicts, 0 when there are none. --remote lists a node's conflicts.

            Examples:
              folio conflicts
              folio conflicts --json | jq -r .id
              folio conflicts --remote hub.example --key-file mesh.key
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Flag(help: "Machine-readable output (JSON Lines).") var json = false

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let found = try await withBackend(backend) { try await $0.conflicts() }
        for state in found {
            if json {
                Terminal.out(JSONValue.object([
                    ("id", .string(state.id)), ("siblings", .number(String(state.versions.versions.count))),
                    ("winner", VersionJSON.version(state.winner!)),
                    ("versions", .array(state.versions.versions.map(VersionJSON.version))),
                ]).serialized)
            } else {
                Terminal.out("\(Terminal.safe(state.id))\t\(state.versions.versions.count) versions\t\(Terminal.safe(state.winner?.content?.title ?? "(deleted)"))")
            }
        }
        if !json { Terminal.err("\(found.count) article(s) in conflict") }
        if !found.isEmpty { throw CLIFailure(code: .notFound, message: nil) }
    }
}
