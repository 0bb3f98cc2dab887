import ArgumentParser
import FolioModel
import FolioStore
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every article as JSON Lines.",
        discussion: """
            Writes the winning version of every live article, in id order, one JSON object \
            per line; importing the export into an empty store reproduces the same articles \
            byte for byte. --all-versions writes every sibling version, tombstones included, \
            each with a "_folio" object describing its version, so an import restores the \
            conflicts exactly. The export is one consistent snapshot, taken while the store \
            stays in use.

            --prefix exports only ids starting with it; --since TIME only articles written \
            (any version, deletions included with --all-versions) at or after TIME, an \
            ISO-8601 date or date-time (2026-11-01, 2026-11-01T09:30:00Z) — an incremental \
            export to import elsewhere.

            Examples:
              folio export > archive.jsonl
              folio export --out backup.jsonl --all-versions
              folio export --prefix world/ --since 2026-11-01 | gzip > world-november.jsonl.gz
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Write to this file instead of stdout (replaced atomically).", valueName: "file"), completion: .file()) var out: String?
    @Flag(help: "Every sibling version, with its causal metadata.") var allVersions = false
    @Option(help: "Only articles whose id starts with this.") var prefix: String = ""
    @Option(help: ArgumentHelp("Only articles written at or after this time (ISO-8601 date or date-time, UTC unless an offset is given).", valueName: "time"))
    var since: String?

    func validate() throws {
        if let since, Export.milliseconds(since) == nil {
            throw ValidationError("--since must be an ISO-8601 date or date-time (2026-11-01 or 2026-11-01T09:30:00Z), not \"\(Terminal.shortened(since))\"")
        }
    }

    /// `text` as Unix milliseconds: a date (midnight UTC) or a date-time with Z or an offset.
    static func milliseconds(_ text: String) -> Int64? {
        let f = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withFullDate], [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ] {
            f.formatOptions = options
            f.timeZone = TimeZone(identifier: "UTC")
            if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }

    func run() throws {
        let s = try store.open(readOnly: true)
        defer { s.close() }
        let handle: FileHandle
        var tempPath: String?
        if let out {
            let tmp = out + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
                throw CLIFailure(code: .failure, message: "cannot write \(out)")
            }
            handle = h
            tempPath = tmp
        } else {
            handle = FileHandle.standardOutput
        }
        var buffer: [UInt8] = []
        var count = 0
        func emit(_ line: String) {
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            count += 1
            if buffer.count > 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        do {
            let since = self.since.flatMap(Export.milliseconds)
            try s.forEach(prefix: prefix, includeDeleted: allVersions) { state in
                if let since, state.versions.versions.map(\.timestamp).max() ?? .min < since { return }
                if allVersions {
                    for v in state.versions.versions { emit(VersionJSON.exportLine(state, v)) }
                } else if let a = state.article {
                    emit(a.jsonLine)
                }
            }
            handle.write(Data(buffer))
        } catch {
            if let tempPath { try? FileManager.default.removeItem(atPath: tempPath) }
            throw error
        }
        if let out, let tempPath {
            try handle.synchronize()
            try handle.close()
            if rename(tempPath, out) != 0 {
                throw CLIFailure(code: .failure, message: "cannot replace \(out): \(String(cString: strerror(errno)))")
            }
        }
        Terminal.err("exported \(count) \(allVersions ? "versions" : "articles")" + (out.map { " to \($0)" } ?? ""))
    }
}
