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

            Examples:
              folio export > archive.jsonl
              folio export --out backup.jsonl --all-versions
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Write to this file instead of stdout (replaced atomically).", valueName: "file"), completion: .file()) var out: String?
    @Flag(help: "Every sibling version, with its causal metadata.") var allVersions = false

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
            try s.forEach(includeDeleted: allVersions) { state in
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
