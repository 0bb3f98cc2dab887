import FolioProtocol
import NIOCore
import NIOSSL

/// The first bytes of a connection tell TLS from plaintext Folio: a TLS connection opens with a
/// handshake record (byte 0x16), a Folio frame with its length's high byte (0 for every frame
/// a peer may send first). A node decides from them and answers a client that guessed wrong
/// with a plaintext ERROR naming the fix, instead of a TLS alert or silence (SPEC §4.1).
public enum TransportKind: Sendable, Equatable {
    case tls
    case plaintext

    /// TLS record types: change_cipher_spec, alert, handshake, application_data.
    public static func of(firstByte: UInt8) -> TransportKind {
        (0x14...0x17).contains(firstByte) ? .tls : .plaintext
    }
}

/// First handler of a node's connection: on the first byte it installs TLS (when the node
/// speaks it and the client opened with TLS) and steps aside, or refuses the connection with
/// one plaintext ERROR frame when the client's choice does not match the node's.
public final class TransportSniffer: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let tls: ServerTLS?
    private let mismatch: @Sendable (TransportKind) -> Void
    private var decided = false

    /// - Parameters:
    ///   - tls: the node's TLS; nil for a plaintext node (loopback without a key).
    ///   - mismatch: called (on the event loop) when a client opened with the wrong kind,
    ///     before the refusal is sent; the argument is what the client used.
    public init(tls: ServerTLS?, mismatch: @escaping @Sendable (TransportKind) -> Void) {
        self.tls = tls
        self.mismatch = mismatch
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return }  // bytes after a refusal, before the close
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        decided = true
        switch (TransportKind.of(firstByte: first), tls) {
        case let (.tls, tls?):
            do {
                try context.pipeline.syncOperations.addHandler(tls.makeHandler(), position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case (.plaintext, nil):
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case (.tls, nil):
            mismatch(.tls)
            refuse(context, "this node serves plaintext on loopback only (it has no key); connect without a key file or TLS files")
        case (.plaintext, _?):
            mismatch(.plaintext)
            refuse(context, "this node requires TLS: connect with the mesh's key file (--key-file) or its TLS files (--tls-cert/--tls-key/--tls-ca)")
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ message: String) {
        let frame = Envelope(0, .error(code: .unauthorized, message: message)).encoded()
        context.writeLastAndClose(wrapOutboundOut(frame))
    }
}

/// What a node said in plaintext to a client that opened with TLS: a refusal sent before any
/// TLS (the node is busy, blocks the address, or has no TLS), as the ERROR frame it was.
public struct PlaintextAnswer: Error, CustomStringConvertible, Sendable {
    /// The ERROR's code and message, when the bytes were a Folio ERROR frame.
    public var code: ErrorCode?
    public var message: String
    public var description: String { message }
}

/// A TLS client's first handler: when the node answers with plaintext instead of TLS, it reads
/// the ERROR frame (at most 4 KiB) and reports it as a `PlaintextAnswer`, so the user sees the
/// node's reason instead of a TLS parse error. TLS bytes pass on untouched.
public final class PlaintextAnswerDetector: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var buffered: ByteBuffer?
    private var reported = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
            if TransportKind.of(firstByte: first) == .tls {
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            buffered = context.channel.allocator.buffer(capacity: bytes.readableBytes)
        }
        buffered!.writeBuffer(&bytes)
        var decoder = FrameDecoder(maxFrame: FrameDecoder.preAuthMaxFrame)
        var copy = buffered!
        switch Result(catching: { try decoder.decodeOne(&copy) }) {
        case .success(nil) where buffered!.readableBytes < Int(FrameDecoder.preAuthMaxFrame):
            return  // wait for the rest of the frame
        case let .success(envelope?):
            if case let .error(code, message) = envelope.message {
                report(context, PlaintextAnswer(code: code, message: message))
            } else {
                report(context, PlaintextAnswer(code: nil, message: "the node answered in plaintext (\(envelope.message.kind)) instead of TLS: it has no key and serves loopback only"))
            }
        default:
            report(context, PlaintextAnswer(code: nil, message: "the peer answered with neither TLS nor a Folio frame: is it a Folio node?"))
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if buffered != nil {
            report(context, PlaintextAnswer(code: nil, message: "the node closed the connection after a partial plaintext answer"))
        }
        context.fireChannelInactive()
    }

    private func report(_ context: ChannelHandlerContext, _ answer: PlaintextAnswer) {
        guard !reported else { return }
        reported = true
        buffered = nil
        context.fireErrorCaught(answer)
        context.close(promise: nil)
    }
}
