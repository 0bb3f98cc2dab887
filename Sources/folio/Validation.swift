import ArgumentParser
import FolioModel
import FolioStore
import FolioProtocol

/// Checks of values given on the command line; each failure is a usage error (exit 2) that
/// names the flag or argument.
enum Check {
    /// An article id as every path accepts it (`Article.validateID`).
    static func articleID(_ id: String, _ what: String = "the article id") throws {
        do {
            try Article.validateID(id)
        } catch {
            throw ValidationError("\(what) \(error.reason)")
        }
    }

    /// A node address: HOST:PORT, [IPv6]:PORT, or HOST alone for port 7070 (port 0 only to listen).
    @discardableResult
    static func address(_ text: String, _ what: String, listening: Bool = false) throws -> NodeAddress {
        do {
            return try NodeAddress(text, listening: listening)
        } catch {
            throw ValidationError("\(what): \(error)")
        }
    }

    /// A finite number of seconds in `range` (rejects nan, inf and absurd magnitudes).
    static func seconds(_ value: Double, _ flag: String, in range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(flag) must be a number of seconds from \(format(range.lowerBound)) to \(format(range.upperBound)), not \(value)")
        }
    }

    /// A whole number in `range`.
    static func count<T: BinaryInteger>(_ value: T, _ flag: String, in range: ClosedRange<T>) throws {
        guard range.contains(value) else { throw ValidationError("\(flag) must be from \(range.lowerBound) to \(range.upperBound), not \(value)") }
    }

    /// A duration written N followed by s, m, h or d ("30d", "12h", "0s"), in milliseconds.
    static func duration(_ text: String, _ flag: String) throws -> Int64 {
        guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0,
            let scale: Int64 = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000][unit],
            case let (ms, overflow) = n.multipliedReportingOverflow(by: scale), !overflow, ms <= 100 * 365 * 86_400_000
        else {
            throw ValidationError("\(flag) must be a whole number followed by s, m, h or d (30d, 12h), at most 100 years, not \"\(Terminal.shortened(text))\"")
        }
        return ms
    }

    private static func format(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }
}

/// The vector of a `--context` token read from article `id`; a bad token (damaged, from an
/// older folio, read from another article) is a usage error (exit 2) naming why.
func contextVector(_ token: String, article id: String) throws -> VersionVector {
    do {
        return try CausalContext.vector(from: token, article: id)
    } catch {
        throw CLIFailure(code: .usage, message: "--context: \(error.reason)")
    }
}
