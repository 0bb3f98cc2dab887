import Crypto

/// SHA-256 of an article body's UTF-8 bytes: the key of the body in the `bodies` database.
///
/// Held as four words so hashing and comparing it is cheap on the read path.
public struct BodyHash: Hashable, Sendable, CustomStringConvertible {
    private let w0, w1, w2, w3: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for b in bytes {
            switch i >> 3 {
            case 0: w.0 = w.0 << 8 | UInt64(b)
            case 1: w.1 = w.1 << 8 | UInt64(b)
            case 2: w.2 = w.2 << 8 | UInt64(b)
            default: w.3 = w.3 << 8 | UInt64(b)
            }
            i += 1
        }
        (w0, w1, w2, w3) = w
    }

    /// The hash from exactly 32 bytes in place (four big-endian words: no per-byte walk).
    public init?(raw b: UnsafeRawBufferPointer) {
        guard b.count == 32 else { return nil }
        w0 = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// Lends the 32 key bytes without allocating.
    package func withKeyBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var be = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try withUnsafeBytes(of: &be) { try body($0) }
    }

    public init(of body: String) {
        var body = body
        let digest = body.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        self.init(bytes: Array(digest))!
    }

    /// The 32 bytes, big-endian word order (the LMDB key).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] { withUnsafeBytes(of: w.bigEndian) { out.append(contentsOf: $0) } }
        return out
    }

    public var hex: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
    public var description: String { hex }
}

extension String {
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
