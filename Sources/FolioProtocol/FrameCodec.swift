import NIOCore

/// Decodes frames (SPEC §2) into envelopes, enforcing the size limit *before* buffering a frame.
///
/// The first frame of a connection must be a HELLO (or, from a node refusing the connection,
/// an ERROR); anything else is answered as a bad magic number (e.g. an HTTP request line) or
/// as a request before the handshake. Violations are thrown as `ProtocolViolation`.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Envelope

    /// Frame header: u32 length, u8 type, u32 request id.
    public static let headerSize = 9
    /// The default limit on a frame's length field: a 16 MiB body plus room for metadata.
    public static let defaultMaxFrame: UInt32 = 17 << 20

    public let maxFrame: UInt32
    private var expectingHello = true

    public init(maxFrame: UInt32 = FrameDecoder.defaultMaxFrame) { self.maxFrame = maxFrame }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let envelope = try decodeOne(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(envelope))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData  // a partial frame at EOF is dropped: the peer went away mid-frame
    }

    /// Decodes one frame from `buffer` if a whole one is there (also used by tests and fuzzing).
    public mutating func decodeOne(_ buffer: inout ByteBuffer) throws -> Envelope? {
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start, as: UInt32.self) else { return nil }
        if expectingHello {
            guard let type = buffer.getInteger(at: start + 4, as: UInt8.self) else { return nil }
            let known = Message.Kind(rawValue: type)
            if known != .hello && known != .error {
                if let known, length >= 5, length <= maxFrame {
                    throw ProtocolViolation(.handshakeRequired, "\(known) before HELLO: the connection must open with a HELLO")
                }
                throw ProtocolViolation(.badMagic, "the connection did not open with a Folio HELLO frame (is this a Folio node?)")
            }
            if known == .hello {
                // Check the magic as soon as it has arrived, before trusting the length.
                guard let magic = buffer.getInteger(at: start + 9, as: UInt32.self) else { return nil }
                guard magic == Hello.magic else { throw ProtocolViolation(.badMagic, "HELLO without the FOLI magic number") }
            }
        }
        guard length >= 5 else { throw ProtocolViolation(.badFrame, "frame length \(length) is below the 5-byte minimum") }
        guard length <= maxFrame else {
            throw ProtocolViolation(.tooLarge, "frame of \(length) bytes exceeds the \(maxFrame)-byte limit")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let type = buffer.readInteger(as: UInt8.self)!
        let requestID = buffer.readInteger(endianness: .big, as: UInt32.self)!
        var payload = buffer.readSlice(length: Int(length) - 5)!
        do {
            let message = try Message.decode(type: type, payload: &payload)
            expectingHello = false
            return Envelope(requestID, message)
        } catch var v as ProtocolViolation {
            v.requestID = requestID
            throw v
        }
    }
}

/// Encodes envelopes into frames.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Envelope
    public init() {}
    public func encode(data: Envelope, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}
