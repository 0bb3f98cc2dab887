import ArgumentParser
import FolioModel
import FolioStore
import Foundation

/// `--data DIR`, shared by every subcommand.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store's directory (default: $FOLIO_DATA, else $XDG_DATA_HOME/folio or ~/.local/share/folio).",
            valueName: "dir"),
        completion: .directory)
    var data: String?

    func validate() throws {
        if let data, data.isEmpty { throw ValidationError("--data needs a directory (an empty path was given)") }
    }

    /// The directory chosen by --data, FOLIO_DATA or the default.
    var path: String {
        if let data { return data }
        let env = ProcessInfo.processInfo.environment
        if let d = env["FOLIO_DATA"], !d.isEmpty { return d }
        let base = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (base as NSString).appendingPathComponent("folio")
    }

    func open(readOnly: Bool = false) throws -> Store {
        var o = Store.Options()
        o.readOnly = readOnly
        let s = try Store.open(at: path, options: o)
        if let change = s.identityChange { Terminal.err("folio: note: \(change)") }
        return s
    }
}

/// Reads a whole file, or stdin for "-".
func readInput(_ path: String) throws -> [UInt8] {
    if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
    guard let d = FileManager.default.contents(atPath: path) else {
        throw CLIFailure(code: .failure, message: "cannot read \(path): no such file or not readable")
    }
    return [UInt8](d)
}
