import ArgumentParser
import FolioModel
import FolioStore

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List articles in id order.",
        discussion: """
            Prints one line per article: id, published, source, title (tab-separated), with \
            the number of versions when an article is in conflict. --json prints JSON Lines \
            without bodies. Page with --limit and --after (the last id of the previous page).

            Examples:
              folio ls --prefix panarmenian-net/
              folio ls --source "PanARMENIAN.Net" --json
              folio ls --limit 100 --after panarmenian-net/russia-confirms
              folio ls --remote 127.0.0.1:7070 --prefix wire/
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Option(help: "Only ids starting with this prefix.") var prefix: String = ""
    @Option(help: "Only articles whose source is exactly this.") var source: String?
    @Option(help: "At most this many articles.") var limit: Int?
    @Option(help: "Start after this id (paging).") var after: String?
    @Flag(help: "Include deleted articles.") var deleted = false
    @Flag(help: "Machine-readable output (JSON Lines).") var json = false

    func validate() throws {
        if let limit { try Check.count(limit, "--limit", in: 1...Int(Int32.max)) }
    }

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let items = try await withBackend(backend) {
            try await $0.list(prefix: prefix, after: after, source: source, limit: limit ?? .max, includeDeleted: deleted)
        }
        var out = ""
        for state in items {
            if json {
                out += ArticleRendering.summaryJSON(state).serialized + "\n"
            } else {
                let c = state.winner?.content
                var line = [state.id, c?.published ?? "", c?.source ?? "", c?.title ?? ""].map { Terminal.safe($0) }.joined(separator: "\t")
                if state.isDeleted { line += "\t(deleted)" }
                if state.isInConflict { line += "\t[\(state.versions.versions.count) versions]" }
                out += line + "\n"
            }
        }
        if !out.isEmpty { Terminal.out(String(out.dropLast())) }
        if let limit, items.count == limit, let last = items.last {
            // The same listing's next page: every selecting flag kept, values shell-quoted.
            func q(_ s: String) -> String { "'" + Terminal.safe(s).replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
            var next = ["folio ls"]
            if let d = store.data { next.append("--data \(q(d))") }
            if let r = remote.remote { next.append("--remote \(q(r))") }
            if let k = remote.keyFile { next.append("--key-file \(q(k))") }
            if !prefix.isEmpty { next.append("--prefix \(q(prefix))") }
            if let source { next.append("--source \(q(source))") }
            if deleted { next.append("--deleted") }
            if json { next.append("--json") }
            next.append("--limit \(limit) --after \(q(last.id))")
            Terminal.err("more may follow: " + next.joined(separator: " "))
        }
    }
}
