import ArgumentParser
import FolioModel
import FolioStore
import FolioClient

struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a conflict with a version that supersedes every sibling.",
        discussion: """
            --keep N keeps sibling N as numbered by `folio get ID --all`; --file FILE (or - \
            for stdin) writes new content, one JSON article object (for instance a hand \
            merge). The resolution is a normal write: it syncs, and clears the conflict on \
            every replica it reaches. An article that is not in conflict is left alone (exit 1).
            --json prints {"id","version","superseded"} on stdout. With --remote it settles \
            a conflict on a node (a hub, from a laptop): the write carries the versions it \
            read, so a sibling written on the node meanwhile stays a conflict.

            Examples:
              folio get text/some-article --all
              folio resolve text/some-article --keep 2
              folio resolve text/some-article --file merged.json --json
              folio resolve wire/port-strike --keep 1 --remote hub.example --key-file mesh.key
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
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

    func run() async throws {
        var replacement: Article?
        if let jsonFile {
            let articles = try parseJSONArticles(readInput(jsonFile), name: jsonFile == "-" ? "stdin" : jsonFile)
            guard articles.count == 1 else { throw CLIFailure(code: .usage, message: "--file must hold exactly one article (it holds \(articles.count))") }
            replacement = articles[0]
        }
        let (id, keep, chosen) = (self.id, self.keep, replacement)
        let backend = try await Backend.open(store, remote, readOnly: false)
        let outcome = try await withBackend(backend) { try await $0.resolve(id, keep: keep, replacement: chosen) }
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
