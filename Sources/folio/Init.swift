import ArgumentParser
import FolioModel
import FolioStore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new store and print its node id.",
        discussion: """
            Refuses to touch a directory that already holds a store (exit 1), unless \
            --if-missing: then it leaves that store as it is and exits 0 (what a service's \
            start-up step wants).

            Examples:
              folio init --data ./archive
              folio init --data /var/lib/folio --if-missing
              FOLIO_DATA=/srv/folio folio init --json
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print {\"node\",\"epoch\",\"path\"} as JSON.") var json = false
    @Flag(help: "Succeed without doing anything when the directory already holds a store.") var ifMissing = false

    func run() throws {
        let s: Store
        do {
            s = try Store.create(at: store.path)
        } catch StoreError.alreadyExists where ifMissing {
            var o = Store.Options()
            o.readOnly = true
            let existing = try Store.open(at: store.path, options: o)
            defer { existing.close() }
            if json {
                Terminal.out(JSONValue.object([("node", .string(existing.nodeID.hex)), ("epoch", .string(existing.epoch.text)), ("path", .string(existing.path)), ("created", .bool(false))]).serialized)
            }
            Terminal.err("a Folio store is already at \(existing.path) (node \(existing.nodeID.hex)): left as it is")
            return
        }
        defer { s.close() }
        if json {
            Terminal.out(JSONValue.object([("node", .string(s.nodeID.hex)), ("epoch", .string(s.epoch.text)), ("path", .string(s.path))]).serialized)
        } else {
            Terminal.out(s.nodeID.hex)
            Terminal.err("created a Folio store at \(s.path) (node \(s.nodeID.hex))")
        }
    }
}
