import ArgumentParser
import FolioModel
import FolioStore

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a conflict with a version that supersedes every sibling.",
        discussion: """
            --keep N keeps sibling N as numbered by `folio get ID --all`; --json FILE writes \
            new content (for instance a hand merge). The resolution is a normal write: it \
            syncs, and clears the conflict on every replica it reaches.

            Examples:
              folio get text/some-article --all
              folio resolve text/some-article --keep 2
              folio resolve text/some-article --json merged.json
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The article id.") var id: String
    @Option(help: "Keep sibling number N (from `folio get --all`).") var keep: Int?
    @Option(name: .customLong("json"), help: ArgumentHelp("New content as one JSON article object.", valueName: "file"))
    var jsonFile: String?

    func validate() throws {
        if (keep == nil) == (jsonFile == nil) { throw ValidationError("give exactly one of --keep N or --json FILE") }
        if let keep, keep < 1 { throw ValidationError("--keep takes a version number from 1 (see `folio get --all`)") }
        try Check.articleID(id)
    }

    func run() throws {
        var replacement: Article?
        if let jsonFile {
            let articles = try parseJSONArticles(readInput(jsonFile), name: jsonFile == "-" ? "stdin" : jsonFile)
            guard articles.count == 1 else { throw CLIFailure(code: .usage, message: "--json must hold exactly one article") }
            replacement = articles[0]
        }
        let s = try store.open()
        defer { s.close() }
        let id = self.id
        let outcome = try s.write { w -> WriteOutcome in
            guard let state = try w.get(id, bodies: .none) else { throw StoreError.notFound(id: id) }
            // Nothing to settle: say so and write nothing (a resolution is a new version).
            guard state.versions.isInConflict else {
                throw CLIFailure(code: .notFound, message: "\"\(Terminal.safe(id))\" is not in conflict (it has one version); nothing written")
            }
            if let replacement { return try w.resolve(id, with: replacement) }
            let vs = state.versions.versions
            guard keep! <= vs.count else {
                throw StoreError.noSuchVersion(id: id, "\(keep!) (it has \(vs.count))")
            }
            return try w.resolve(id, keeping: vs[keep! - 1].dot)
        }
        let v = outcome.version!
        Terminal.err("resolved \(id): \(outcome.superseded) version(s) superseded by \(v.dot.node.hex):\(v.dot.counter)")
    }
}
