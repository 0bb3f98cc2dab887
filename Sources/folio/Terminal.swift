import ArgumentParser
import FolioModel
import FolioStore
import FolioClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process exit codes (README "CLI conventions"): 0 ok, 1 not found/conflict, 2 usage,
/// 3 failure, 4 some input rejected.
enum Exit: Int32 {
    case ok = 0
    case notFound = 1
    case usage = 2
    case failure = 3
    case rejected = 4

    /// The CLI's side of the one failure vocabulary (`FailureKind`).
    init(_ kind: FailureKind) {
        switch kind {
        case .notFound, .conflict: self = .notFound
        case .usage: self = .usage
        case .invalidInput: self = .rejected
        case .unauthorized, .busy, .tooLarge, .protocolViolation, .shuttingDown, .timeout, .unavailable, .internalFailure: self = .failure
        }
    }
}

/// An error that has already been explained on stderr (or needs only `message`).
struct CLIFailure: Error {
    var code: Exit
    var message: String?
}

/// stdout/stderr helpers and the mapping from errors to exit codes.
enum Terminal {
    static func out(_ s: String) {
        if let failure = write(1, Array((s + "\n").utf8)) { outputFailed(failure) }
    }

    static func err(_ s: String) {
        _ = write(2, Array((s + "\n").utf8))
    }

    /// Set at start when the process was started with standard output closed: descriptor 1
    /// then points at /dev/null (so no file the command opens, a store's data file, takes
    /// it), and every write to it fails as the closed descriptor would have (`sanitizeStandardDescriptors`).
    nonisolated(unsafe) static var stdoutWasClosed = false

    /// Makes sure descriptors 0, 1 and 2 are open before anything else is opened: one the
    /// process was started without would otherwise go to the next file opened — a store's
    /// data file — and what the command prints would be written into it.
    static func sanitizeStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            guard open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == fd else { continue }
            if fd == 1 { stdoutWasClosed = true }
        }
    }

    /// Ends the command after a write to standard output failed with `error`: quietly when
    /// the reader went away (`| head`: EPIPE, as SIGPIPE would end it — NIO ignores SIGPIPE
    /// process-wide), else with the reason and exit 3 (a full disk, a closed descriptor:
    /// what was asked for was not all written).
    static func outputFailed(_ error: Int32) -> Never {
        if error == EPIPE { Foundation.exit(0) }
        err("folio: cannot write to standard output: \(String(cString: strerror(error)))")
        Foundation.exit(Exit.failure.rawValue)
    }

    /// Writes all of `bytes` to `fd`; the errno of a failed write, or nil.
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        if fd == 1 && stdoutWasClosed { return EBADF }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// `text` safe to print on a terminal: control characters (ESC, BEL, backspace, C1, bidi
    /// overrides, …) become visible `\u{…}` escapes, so a hostile title cannot drive the
    /// terminal or fake output. With `keepingLines`, newlines and tabs stay (an article body).
    static func safe(_ text: String, keepingLines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) && !(keepingLines && ($0 == "\n" || $0 == "\t")) }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            if isControl(u) && !(keepingLines && (u == "\n" || u == "\t")) {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// `text` safe for a terminal and at most `limit` characters: a longer one keeps its start
    /// and end around "…[N bytes]…", so an error about a 10 KB id stays one readable line.
    static func shortened(_ text: String, limit: Int = 120) -> String {
        let safe = safe(text)
        guard safe.count > limit else { return safe }
        let keep = max(8, (limit - 20) / 2)
        return String(safe.prefix(keep)) + "…[\(text.utf8.count) bytes]…" + String(safe.suffix(keep))
    }

    /// A message for stderr: control characters escaped, and every run of more than 120
    /// characters without a space (a huge id, a token) shortened.
    static func message(_ text: String) -> String {
        let safe = safe(text, keepingLines: true)
        guard safe.count > 120 else { return safe }
        return safe.split(separator: " ", omittingEmptySubsequences: false)
            .map { $0.count > 120 ? shortened(String($0)) : String($0) }
            .joined(separator: " ")
    }

    private static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u == "\u{2028}" || u == "\u{2029}" || isBidiControl(u)
    }

    /// The explicit direction marks, embeddings, overrides and isolates: printed raw they
    /// reorder what a terminal shows (an id or title could pose as another).
    private static func isBidiControl(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// An error as one line for a person.
    static func describe(_ error: Error) -> String { "\(error)" }

    static func exit(with error: Error) -> Never {
        switch error {
        case let e as CLIFailure:
            if let m = e.message { err("folio: \(message(m))") }
            Foundation.exit(e.code.rawValue)
        case let f as Failure:
            err("folio: \(message("\(f)"))")
            Foundation.exit(Exit(f.kind).rawValue)
        default:
            let code = FolioCommand.exitCode(for: error)
            let message = FolioCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { out(message) }
                Foundation.exit(0)
            }
            if !message.isEmpty { err(Terminal.message(message)) }
            // ArgumentParser reports usage errors as EX_USAGE (64); Folio's convention is 2.
            Foundation.exit(code == .validationFailure ? Exit.usage.rawValue : Exit.failure.rawValue)
        }
    }
}

/// A one-line progress bar redrawn on stderr, only when stderr is a terminal.
struct ProgressBar {
    let enabled = Terminal.stderrIsTerminal

    func draw(done: Int, total: Int, detail: String) {
        guard enabled else { return }
        let width = 30
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r[%@] %3d%%  %@", bar, Int(fraction * 100), detail)
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 {
        v /= 1024
        u += 1
    }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}
