import ArgumentParser
import FolioModel
import FolioStore

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent, compacted copy of the store.",
        discussion: """
            DEST is a directory, created if missing, that must be empty. The store stays \
            usable meanwhile; the copy is itself a store (`folio stats --data DEST`). A DEST \
            named like an archive (.tar, .tar.gz, .tgz, .zip, .gz) is refused: make the \
            directory, then archive it. --json prints {"path","articles","bytes"} on stdout.

            Examples:
              folio backup /mnt/usb/folio-2026-11-29
              folio backup /tmp/folio-copy && tar -C /tmp -czf folio.tar.gz folio-copy
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "Destination directory.", completion: .directory) var dest: String
    @Flag(help: "Machine-readable output.") var json = false

    func validate() throws {
        let lower = dest.lowercased()
        if let ext = [".tar.gz", ".tgz", ".tar", ".zip", ".gz", ".tar.xz", ".tar.zst"].first(where: { lower.hasSuffix($0) }) {
            throw ValidationError("\(dest) looks like an archive (\(ext)), but a backup is a directory holding a store: back up to a directory, then archive it (e.g. folio backup copy && tar -czf \(dest) copy)")
        }
    }

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        try s.backup(to: dest)
        let copy = try Store.open(at: dest, options: { var o = Store.Options(); o.readOnly = true; return o }())
        defer { copy.close() }
        let st = try copy.statistics()
        if json {
            Terminal.out(JSONValue.object([
                ("path", .string(dest)), ("articles", .number(String(st.liveArticles))), ("bytes", .number(String(st.fileSize))),
            ]).serialized)
        }
        Terminal.err("backed up \(st.liveArticles) articles to \(dest) (\(formatBytes(st.fileSize)))")
    }
}
