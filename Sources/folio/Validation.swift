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
