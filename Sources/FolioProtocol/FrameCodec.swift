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
    /// The default limit on a frame's length field (16 MiB + 1 MiB): two versions of an article
    /// at the 8 MiB whole-article limit, plus room for metadata.
    public static let defaultMaxFrame: UInt32 = 17 << 20
    /// Room a frame needs around the one article state it carries (header, list count, an
    /// APPLY's node, epoch and checkpoint): an article fits a frame when its state's encoded
    /// size is at most `max frame − frameOverhead`.
    public static let frameOverhead = 1024

    /// The limit on a frame before the handshake completes (SPEC §9): a HELLO, AUTH or
    /// ERROR is tiny, so a connection that has not authenticated can never make the receiver
    /// buffer more than this.
    public static let preAuthMaxFrame: UInt32 = 4096

    /// Frames at or below this size are buffered without asking `FrameLimits.admitPartial`.
    public static let smallFrame: UInt32 = 64 << 10

    public let limits: FrameLimits
    public var maxFrame: UInt32 { limits.inbound }
    private var expectingHello = true
    private var partialAdmitted = false

    /// A decoder whose limit is `maxFrame` from the first byte (tests, fuzzing, tools).
    public init(maxFrame: UInt32 = FrameDecoder.defaultMaxFrame) { self.limits = FrameLimits(inbound: maxFrame) }

    /// A decoder that reads its limit from `limits`, which its connection handler raises once
    /// the handshake is complete.
    public init(limits: FrameLimits) { self.limits = limits }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // Frames wait here, undecoded, while the connection's handler takes no requests.
        guard !limits.holding, let envelope = try decodeOne(&buffer) else { return .needMoreData }
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
                if let known, known.rawValue >= 0x10, known.rawValue < 0x80, length >= 5 {
                    // A request sent first, whatever length it declares (none of it is
                    // buffered): answered with its request id, once the header holding it is in.
                    guard let requestID = buffer.getInteger(at: start + 5, as: UInt32.self) else { return nil }
                    throw ProtocolViolation(.handshakeRequired, "\(known) before HELLO: the connection must open with a HELLO", requestID: requestID)
                }
                throw ProtocolViolation(.badMagic, "the connection did not open with a Folio HELLO frame (is this a Folio node?)")
            }
            if known == .hello {
                guard length >= 9 else { throw ProtocolViolation(.badMagic, "a HELLO of \(length) bytes cannot hold the FOLI magic number") }
                // Check the magic as soon as it has arrived, before trusting the length.
                guard let magic = buffer.getInteger(at: start + 9, as: UInt32.self) else { return nil }
                guard magic == Hello.magic else { throw ProtocolViolation(.badMagic, "HELLO without the FOLI magic number") }
            }
        }
        guard length >= 5 else { throw ProtocolViolation(.badFrame, "frame length \(length) is below the 5-byte minimum") }
        let maxFrame = limits.inbound
        guard length <= maxFrame else {
            // Refused before any of it is buffered, with request id 0: a `tooLarge` naming a
            // request answers it (its answer would not fit), SPEC §7.
            throw ProtocolViolation(.tooLarge, "frame of \(length) bytes exceeds the \(maxFrame)-byte limit")
        }
        guard buffer.readableBytes >= 4 + Int(length) else {
            if !partialAdmitted, length > FrameDecoder.smallFrame, let admit = limits.admitPartial {
                guard admit(length) else {
                    throw ProtocolViolation(.busy, "the node is buffering too many large frames; a frame of \(length) bytes was refused")
                }
                partialAdmitted = true
            }
            return nil
        }
        if partialAdmitted {
            partialAdmitted = false
            limits.partialDone?()
        }
        buffer.moveReaderIndex(forwardBy: 4)
        let type = buffer.readInteger(as: UInt8.self)!
        let requestID = buffer.readInteger(endianness: .big, as: UInt32.self)!
        var payload = buffer.readSlice(length: Int(length) - 5)!
        do {
            var message = try Message.decode(type: type, payload: &payload)
            var inflated: UInt32 = 0
            if case let .deflated(d) = message {
                guard limits.acceptsDeflated else {
                    throw ProtocolViolation(.badFrame, "a DEFLATED frame, but this side did not announce the deflate feature (or the handshake is not complete)")
                }
                message = try d.inflated(limit: maxFrame)
                inflated = d.inflatedLength
            }
            expectingHello = false
            var envelope = Envelope(requestID, message)
            envelope.inflated = inflated
            return envelope
        } catch var v as ProtocolViolation {
            v.requestID = requestID
            throw v
        }
    }
}

/// The frame limits of one connection, shared by its decoder, its encoder and its handler,
/// which raises `inbound` once the handshake completes and sets `outbound` from the peer's
/// HELLO. Used on the connection's event loop only.
public final class FrameLimits {
    /// The largest frame accepted from the peer now.
    public var inbound: UInt32
    /// The largest frame the peer accepts (its HELLO's `max frame`).
    public var outbound: UInt32
    /// Asked once per frame larger than `FrameDecoder.smallFrame` that has started to arrive
    /// but is not complete; false refuses it (the decoder throws `busy`). Lets a node cap the
    /// memory all connections hold in partial frames.
    public var admitPartial: ((UInt32) -> Bool)?
    /// Called when a frame admitted by `admitPartial` has arrived whole.
    public var partialDone: (() -> Void)?
    /// Whether DEFLATED frames are accepted: set when the handshake completes, if this side's
    /// HELLO announced `deflate` (SPEC §2.1).
    public var acceptsDeflated = false
    /// While true the decoder decodes nothing: complete frames stay in its buffer as the bytes
    /// they arrived as (a node's connection handler sets it while it takes no more requests,
    /// SPEC §9). Whoever clears it hands the decoder an empty read to go on.
    public var holding = false

    public init(inbound: UInt32, outbound: UInt32 = FrameDecoder.defaultMaxFrame) {
        self.inbound = inbound
        self.outbound = outbound
    }
}

/// Encodes envelopes into frames. A frame longer than the peer accepts is never sent: it is
/// replaced by a non-fatal ERROR `tooLarge` answering the same request (SPEC §7).
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Envelope
    let limits: FrameLimits?
    public init(limits: FrameLimits? = nil) { self.limits = limits }
    public func encode(data: Envelope, out: inout ByteBuffer) throws {
        let start = out.writerIndex
        data.encode(into: &out)
        guard let max = limits?.outbound else { return }
        let length = out.writerIndex - start - 4
        if length > Int(max) {
            out.moveWriterIndex(to: start)
            let reason = "the \("\(data.message.kind)".uppercased()) answer to this request is \(length) bytes, over the \(max)-byte max frame you announced"
            Envelope(data.requestID, .error(code: .tooLarge, message: reason)).encode(into: &out)
        }
    }
}
