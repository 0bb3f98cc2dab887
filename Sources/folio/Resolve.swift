import ArgumentParser
import FolioModel
import FolioStore

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a conflict with a version that supersedes every sibling.",
        discussion: """
            --keep N keeps sibling N as numbered by `folio get ID --all`; --file FILE (or - \
            for stdin) writes new content, one JSON article object (for instance a hand \
            merge). The resolution is a normal write: it syncs, and clears the conflict on \
            every replica it reaches. An article that is not in conflict is left alone (exit 1).
            --json prints {"id","version","superseded"} on stdout.

            Examples:
              folio get text/some-article --all
              folio resolve text/some-article --keep 2
              folio resolve text/some-article --file merged.json --json
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The article id.") var id: String
    @Option(help: "Keep sibling number N (from `folio get --all`).") var keep: Int?
    @Option(name: .customLong("file"), help: ArgumentHelp("New content as one JSON article object (- for stdin).", valueName: "file"), completion: .file())
    var jsonFile: String?
    @Flag(help: "Machine-readable output.") var json = false

    func validate() throws {
        if (keep == nil) == (jsonFile == nil) { throw ValidationError("give exactly one of --keep N or --file FILE") }
        if let keep, keep < 1 { throw ValidationError("--keep takes a version number from 1 (see `folio get --all`)") }
        try Check.articleID(id)
    }

    func run() throws {
        var replacement: Article?
        if let jsonFile {
            let articles = try parseJSONArticles(readInput(jsonFile), name: jsonFile == "-" ? "stdin" : jsonFile)
            guard articles.count == 1 else { throw CLIFailure(code: .usage, message: "--file must hold exactly one article (it holds \(articles.count))") }
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
        if json {
            Terminal.out(JSONValue.object([
                ("id", .string(id)), ("version", .string("\(v.dot.node.hex):\(v.dot.counter)")),
                ("superseded", .number(String(outcome.superseded))),
            ]).serialized)
        }
        Terminal.err("resolved \(id): \(outcome.superseded) version(s) superseded by \(v.dot.node.hex):\(v.dot.counter)")
    }
}
