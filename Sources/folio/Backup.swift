import ArgumentParser
import FolioModel
import FolioStore

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent, compacted copy of the store.",
        discussion: """
            DEST is created if missing and must be empty. The store stays usable meanwhile; \
            the copy is itself a store (`folio stats --data DEST`).

            Examples:
              folio backup /mnt/usb/folio-2026-11-29
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "Destination directory.", completion: .directory) var dest: String

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        try s.backup(to: dest)
        let copy = try Store.open(at: dest, options: { var o = Store.Options(); o.readOnly = true; return o }())
        defer { copy.close() }
        let st = try copy.statistics()
        Terminal.err("backed up \(st.liveArticles) articles to \(dest) (\(formatBytes(st.fileSize)))")
    }
}
