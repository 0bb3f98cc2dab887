import ArgumentParser
import FolioModel
import FolioStore
import FolioClient

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an article: the winning version, or every sibling with --all.",
        discussion: """
            When replicas edited the article concurrently it has several sibling versions; \
            one wins deterministically and the others are listed as conflicts. --json prints \
            {"id","article","version","conflicts","context"}; pass "context" back with \
            `folio put --context` to write without losing a concurrent edit.
            Exits 1 when the article is absent or deleted.

            Examples:
              folio get text/some-article
              folio get text/some-article --all
              folio get text/some-article --json | jq -r .context
              folio get --remote 127.0.0.1:7070 text/some-article --json
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The article id.") var id: String
    @Flag(help: "Show every sibling version, numbered for `folio resolve --keep N`.") var all = false
    @Flag(help: "Machine-readable output.") var json = false

    func validate() throws { try Check.articleID(id) }

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let found = try await withBackend(backend) { try await $0.get(id, allBodies: json || all) }
        guard let state = found else {
            throw CLIFailure(code: .notFound, message: "article \"\(id)\" not found")
        }
        if json {
            Terminal.out(ArticleRendering.json(state).serialized)
        } else if all {
            let winner = state.versions.winnerIndex
            let vs = state.versions.versions
            for (i, v) in vs.enumerated() {
                if i > 0 { Terminal.out("") }
                Terminal.out("── version \(i + 1) of \(vs.count)\(i == winner ? " (winner)" : "") ──")
                Terminal.out(ArticleRendering.human(state, v))
            }
        } else {
            Terminal.out(ArticleRendering.human(state, state.winner!))
        }
        if state.isInConflict && !json {
            Terminal.err("folio: \"\(id)\" has \(state.versions.versions.count) conflicting versions; see `folio get --all` and `folio resolve`")
        }
        if state.isDeleted {
            throw CLIFailure(code: .notFound, message: "article \"\(id)\" is deleted")
        }
    }
}
