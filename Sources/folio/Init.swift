import ArgumentParser
import FolioModel
import FolioStore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new store and print its node id.",
        discussion: """
            Refuses to touch a directory that already holds a store.

            Examples:
              folio init --data ./archive
              FOLIO_DATA=/srv/folio folio init --json
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print {\"node\",\"epoch\",\"path\"} as JSON.") var json = false

    func run() throws {
        let s = try Store.create(at: store.path)
        defer { s.close() }
        if json {
            Terminal.out(JSONValue.object([("node", .string(s.nodeID.hex)), ("epoch", .string(s.epoch.text)), ("path", .string(s.path))]).serialized)
        } else {
            Terminal.out(s.nodeID.hex)
            Terminal.err("created a Folio store at \(s.path) (node \(s.nodeID.hex))")
        }
    }
}
