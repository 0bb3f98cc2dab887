import ArgumentParser
import FolioModel
import FolioStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every record decodes and the indexes agree with the records.",
        discussion: """
            Reads one snapshot; safe while the store is in use. Exits 3 and lists the \
            problems when any is found.

            Examples:
              folio verify
              folio verify --json
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        let r = try s.verify()
        if json {
            Terminal.out(JSONValue.object([
                ("ok", .bool(r.isClean)), ("articles", .number(String(r.articles))),
                ("versions", .number(String(r.versions))), ("bodies", .number(String(r.bodies))),
                ("changes", .number(String(r.changes))), ("problems", .array(r.problems.map { .string($0) })),
            ]).serialized)
        } else {
            for p in r.problems { Terminal.out(p) }
            Terminal.err("checked \(r.articles) articles, \(r.versions) versions, \(r.bodies) bodies, \(r.changes) changes: "
                + (r.isClean ? "ok" : "\(r.problems.count) problem(s)"))
        }
        if !r.isClean { throw CLIFailure(code: .failure, message: nil) }
    }
}
