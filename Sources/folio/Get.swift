import ArgumentParser
import Folio

struct Get: ParsableCommand {
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
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The article id.") var id: String
    @Flag(help: "Show every sibling version, numbered for `folio resolve --keep N`.") var all = false
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        guard let state = try s.get(id, bodies: json || all ? .all : .winner) else {
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
