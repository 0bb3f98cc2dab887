import ArgumentParser
import FolioModel
import FolioStore

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete an article (a tombstone that syncs like any write).",
        discussion: """
            With --context, the delete supersedes only what that context saw; a concurrent \
            edit survives as a sibling. Exits 1 when the article is absent or already deleted.

            Examples:
              folio rm text/some-article
              folio rm text/some-article --context c2.AAAA…
              folio rm --remote 127.0.0.1:7070 text/some-article
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The article id.") var id: String
    @Option(help: "The causal context read with `folio get --json`.") var context: String?

    func validate() throws { try Check.articleID(id) }

    func run() async throws {
        let ctx = try context.map { try contextVector($0, article: id) }
        let backend = try await Backend.open(store, remote, readOnly: false)
        let outcome = try await withBackend(backend) { try await $0.delete(id, context: ctx) }
        Terminal.err("deleted \(id) (version \(outcome.version!.dot.node.hex):\(outcome.version!.dot.counter))")
        if outcome.siblings > 1 {
            Terminal.err("folio: \"\(id)\" keeps \(outcome.siblings) sibling versions (a concurrent edit survives)")
        }
    }
}
