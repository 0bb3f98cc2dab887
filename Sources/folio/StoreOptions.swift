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
            // $HOME as the shell expands ~ (NSHomeDirectory reads the password database).
            ?? ((env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) as NSString).appendingPathComponent(".local/share")
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

/// Reads a whole file, or stdin for "-": regular files, pipes and process substitution
/// (`<(…)`, /dev/fd/N) alike; refused past `limit` bytes. A file that cannot be read is a
/// failure naming the system's reason ("Permission denied", "No such file or directory").
func readInput(_ path: String, limit: Int = 1 << 30) throws -> [UInt8] {
    let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw CLIFailure(code: .failure, message: "cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { if fd != 0 { close(fd) } }
    var st = stat()
    if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
        throw CLIFailure(code: .failure, message: "cannot read \(path): it is a directory")
    }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CLIFailure(code: .failure, message: "cannot read \(path == "-" ? "stdin" : path): \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
        if out.count > limit {
            throw CLIFailure(code: .rejected, message: "\(path == "-" ? "stdin" : path) is larger than \(formatBytes(limit)); nothing was read")
        }
    }
    return out
}
