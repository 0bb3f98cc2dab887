import CZlib
import CompressNIO
import NIOCore

/// A DEFLATED frame's payload (SPEC §2.1): another message's type and payload, the payload
/// compressed with raw deflate (RFC 1951). Only sent to a peer whose HELLO announced the
/// `deflate` feature, and only once the handshake is complete; the receiver inflates it
/// (never past its own max frame) and handles the inner message as if it had come plain.
public struct DeflatedMessage: Sendable, Equatable {
    /// The inner message's type (a request or a response: 0x10–0xFE).
    public var innerType: UInt8
    /// The inner payload's length once inflated.
    public var inflatedLength: UInt32
    /// The raw deflate stream.
    public var data: ByteBuffer

    public init(innerType: UInt8, inflatedLength: UInt32, data: ByteBuffer) {
        self.innerType = innerType
        self.inflatedLength = inflatedLength
        self.data = data
    }

    /// Payloads smaller than this are sent plain: deflate would save too little to matter.
    public static let minimumLength = 1024
    /// The most a DEFLATED frame may expand: its inflated length is at most this many times
    /// its data's length, plus 1 024. Prose deflates 3–4×; a payload that deflates better (a
    /// body of one repeated word) is sent plain. So bytes received never become more than
    /// ~32 times as much memory, as a decompression bomb would have them.
    public static let maxExpansion = 32

    /// Whether `inflatedLength` is within `maxExpansion` of `compressedLength`.
    static func expansionAllowed(inflated: UInt32, compressed: Int) -> Bool {
        UInt64(inflated) <= UInt64(compressed) * UInt64(maxExpansion) + 1024
    }
    /// zlib level 1: ~130 MB/s per core on article text, within a few per cent of level 6's
    /// size on the large FETCHED and APPLY frames compression is for.
    static let algorithm = CompressionAlgorithm.deflate(configuration: .init(compressionLevel: .fastestCompression))

    /// `message` deflated, or nil when it should travel plain: a connection-level message, a
    /// payload under `minimumLength`, or one that deflate shrinks by less than an eighth.
    public static func compressing(_ message: Message) -> DeflatedMessage? {
        guard message.kind.rawValue >= 0x10, message.kind != .deflated else { return nil }
        let payload = encodedPayload(message)
        // (A small answer — most ARTICLEs — is not worth compressing to find that out.)
        guard payload.readableBytes >= minimumLength, let d = try? DeflatedMessage(message.kind, payload) else { return nil }
        let n = Int(d.inflatedLength)
        guard d.data.readableBytes <= n - n / 8, expansionAllowed(inflated: d.inflatedLength, compressed: d.data.readableBytes) else { return nil }
        return d
    }

    /// `message` deflated, whatever its size (`compressing` decides whether that is worth it).
    public init(deflating message: Message) throws {
        try self.init(message.kind, Self.encodedPayload(message))
    }

    private init(_ kind: Message.Kind, _ payload: ByteBuffer) throws {
        var payload = payload
        let n = payload.readableBytes
        guard n <= Int(UInt32.max) else { throw ProtocolViolation(.tooLarge, "a payload of \(n) bytes cannot be deflated into one frame") }
        self.init(innerType: kind.rawValue, inflatedLength: UInt32(n), data: try payload.compress(with: Self.algorithm))
    }

    private static func encodedPayload(_ message: Message) -> ByteBuffer {
        var payload = ByteBufferAllocator().buffer(capacity: 4096)
        message.encodePayload(into: &payload)
        return payload
    }

    /// The inner message. Its inflated length must be at most `limit` − 5 (what the same
    /// message could have been sent as, plain), the stream must inflate to exactly
    /// `inflatedLength` bytes, and nothing may follow it.
    public func inflated(limit: UInt32) throws -> Message {
        guard innerType >= 0x10, innerType != Message.Kind.deflated.rawValue else {
            throw ProtocolViolation(.badFrame, "a DEFLATED frame may not carry type 0x\(String(innerType, radix: 16)) (connection-level messages travel plain)")
        }
        guard UInt64(inflatedLength) + 5 <= UInt64(limit) else {
            throw ProtocolViolation(.tooLarge, "a DEFLATED frame declares \(inflatedLength) inflated bytes, over the \(limit)-byte max frame")
        }
        guard Self.expansionAllowed(inflated: inflatedLength, compressed: data.readableBytes) else {
            throw ProtocolViolation(.badFrame, "a DEFLATED frame of \(data.readableBytes) bytes declares \(inflatedLength) inflated bytes, more than \(Self.maxExpansion)× + 1024 (send such a message plain)")
        }
        var out = try Self.inflateWhole(data, length: Int(inflatedLength))
        return try Message.decode(type: innerType, payload: &out)
    }

    /// Inflates `data`, which must be exactly one complete raw deflate stream (its final block
    /// included, nothing after it) of exactly `length` bytes. zlib directly: CompressNIO's
    /// one-shot inflate does not say whether the stream reached its end.
    static func inflateWhole(_ data: ByteBuffer, length: Int) throws -> ByteBuffer {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ProtocolViolation(.internal, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        // One byte of room beyond the declared length, so a stream that inflates to more is
        // caught as more, not mistaken for an exact fit.
        var out = ByteBufferAllocator().buffer(capacity: length + 1)
        let (status, used, written) = data.withUnsafeReadableBytes { input -> (Int32, Int, Int) in
            out.withUnsafeMutableWritableBytes { output -> (Int32, Int, Int) in
                let empty: UInt8 = 0
                return withUnsafePointer(to: empty) { placeholder -> (Int32, Int, Int) in
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? placeholder)
                    stream.avail_in = UInt32(input.count)
                    stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = UInt32(length + 1)
                    let status = inflate(&stream, Z_FINISH)
                    return (status, input.count - Int(stream.avail_in), length + 1 - Int(stream.avail_out))
                }
            }
        }
        out.moveWriterIndex(forwardBy: written)
        guard written <= length else {
            throw ProtocolViolation(.badFrame, "a DEFLATED frame inflates to more than the \(length) bytes it declares")
        }
        switch status {
        case Z_STREAM_END:
            guard written == length else {
                throw ProtocolViolation(.badFrame, "a DEFLATED frame inflates to \(written) bytes, not the \(length) it declares")
            }
            guard used == data.readableBytes else {
                throw ProtocolViolation(.badFrame, "\(data.readableBytes - used) bytes follow the deflate stream of a DEFLATED frame")
            }
            return out
        case Z_BUF_ERROR, Z_OK:
            // Input ran out before the stream's final block.
            throw ProtocolViolation(.badFrame, "a DEFLATED frame's data is not a complete raw deflate stream (it ends before its final block, after \(written) bytes)")
        default:
            throw ProtocolViolation(.badFrame, "a DEFLATED frame's data is not a complete raw deflate stream (zlib: \(stream.msg.map { String(cString: $0) } ?? String(cString: zError(status))))")
        }
    }
}
