import Foundation

/// A client's name for one write (SPEC §4.5): 16 random bytes, the same on every retry of it.
///
/// A store remembers the outcome of its most recent identified writes, in the transaction that
/// made them, so a PUT or DELETE retried after a cut connection gets the original answer
/// instead of a second version.
public struct WriteID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public static let size = 16

    public init?(bytes: [UInt8]) {
        guard bytes.count == WriteID.size else { return nil }
        self.bytes = bytes
    }

    public static func random() -> WriteID {
        var g = SystemRandomNumberGenerator()
        return WriteID(bytes: (0..<size).map { _ in UInt8.random(in: 0...255, using: &g) })!
    }

    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}

