import Crypto

/// SHA-256 of an article body's UTF-8 bytes: the key of the body in the `bodies` database.
public struct BodyHash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    public init(of body: String) {
        var body = body
        bytes = body.withUTF8 { Array(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    public var hex: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
    public var description: String { hex }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
