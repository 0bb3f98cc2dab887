import FolioModel
import FolioProtocol
import FolioTransport
import NIOCore
import NIOSSL

/// The client side of one connection: opens with HELLO, authenticates when the node asks,
/// matches responses to requests by id (so requests pipeline), answers the node's heartbeats.
/// All state lives on the channel's event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Envelope
    typealias OutboundOut = Envelope

    private enum State {
        case connecting
        case awaitingHello
        case awaitingAuthOK(serverNonce: [UInt8], binding: [UInt8])
        case ready
        case closed(FolioClientError)
    }

    private var state = State.connecting
    private let hello: Hello
    private let key: SharedKey?
    let handshake: EventLoopPromise<Hello>
    private var serverHello: Hello?
    private var pending: [UInt32: EventLoopPromise<Message>] = [:]
    /// Requests given up on (timed out): a late answer to one is dropped, not a violation.
    private var abandoned = Set<UInt32>()
    private var nextID: UInt32 = 1
    private var context: ChannelHandlerContext?

    /// The connection's frame limits: the node's frames may be no larger than the pre-auth
    /// limit until the handshake completes; our frames never larger than the node accepts.
    private let limits: FrameLimits
    private let maxFrame: UInt32

    init(hello: Hello, key: SharedKey?, handshake: EventLoopPromise<Hello>, limits: FrameLimits) {
        self.hello = hello
        self.key = key
        self.handshake = handshake
        self.limits = limits
        self.maxFrame = hello.maxFrame
    }

    private func established(_ h: Hello) {
        state = .ready
        limits.inbound = maxFrame
        limits.acceptsDeflated = hello.features.contains(.deflate)
        handshake.succeed(h)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendHello(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendHello(context)
        context.fireChannelActive()
    }

    private func sendHello(_ context: ChannelHandlerContext) {
        guard case .connecting = state else { return }
        state = .awaitingHello
        context.writeAndFlush(wrapOutboundOut(Envelope(0, .hello(hello))), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        switch (state, envelope.message) {
        case let (_, .error(code, message)) where envelope.requestID == 0 || (code.isFatal && code != .tooLarge):
            // (`tooLarge` answering a request means only that its answer would not fit a
            // frame of ours, SPEC §7; the connection stays open.)
            // A connection-level error: everything pending fails with it.
            shutDown(context, FolioClientError(code: code, message: message))
        case let (.awaitingHello, .hello(h)):
            guard Hello.negotiate(h.versions, Hello.supportedVersions) != nil else {
                shutDown(context, .protocolError("no common protocol version: node speaks \(h.versions), this client \(Hello.supportedVersions)"))
                return
            }
            serverHello = h
            limits.outbound = h.maxFrame
            if h.features.contains(.authRequired) {
                guard let key else {
                    shutDown(context, .unauthorized("the node requires authentication: pass its key file"))
                    return
                }
                guard let binding = ClientTLS.binding(of: context.channel) else {
                    shutDown(context, .unauthorized("the node asks for the key outside TLS; refusing to authenticate in plaintext"))
                    return
                }
                state = .awaitingAuthOK(serverNonce: h.nonce, binding: binding)
                let proof = key.clientProof(clientNonce: hello.nonce, serverNonce: h.nonce, binding: binding)
                context.writeAndFlush(wrapOutboundOut(Envelope(0, .auth(proof: proof))), promise: nil)
            } else if key != nil {
                shutDown(context, .unauthorized("the node does not authenticate itself; refusing to use a key with it"))
            } else {
                established(h)
            }
        case let (.awaitingAuthOK(serverNonce, binding), .authOK(mac)):
            guard let key, key.verifyServer(mac, clientNonce: hello.nonce, serverNonce: serverNonce, binding: binding) else {
                shutDown(context, .unauthorized("the node's proof does not match our key (wrong node or wrong key)"))
                return
            }
            established(serverHello!)
        case let (.ready, .ping(token)):
            context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .pong(token))), promise: nil)
        case (.ready, _) where abandoned.remove(envelope.requestID) != nil:
            return
        case (.ready, let m):
            guard let p = pending.removeValue(forKey: envelope.requestID) else {
                shutDown(context, .protocolError("a \(m.kind) answered request \(envelope.requestID), which is not pending"))
                return
            }
            p.succeed(m)
        case (.closed, _):
            return
        case (_, let m):
            shutDown(context, .protocolError("unexpected \(m.kind) during the handshake"))
        }
    }

    /// Sends a request; the future completes with the response (which may be an ERROR).
    func send(_ message: Message, promise: EventLoopPromise<Message>) -> UInt32? {
        guard let context else {
            promise.fail(FolioClientError.closed("not connected"))
            return nil
        }
        switch state {
        case .ready: break
        case let .closed(e):
            promise.fail(e)
            return nil
        default:
            promise.fail(FolioClientError.closed("the handshake has not completed"))
            return nil
        }
        if let size = message.largePayloadSize, size > Int(limits.outbound) - FrameDecoder.frameOverhead {
            promise.fail(FolioClientError.tooLarge("this \(message.kind) is \(size) bytes, over the \(limits.outbound)-byte max frame the node accepts"))
            return nil
        }
        let id = nextID
        nextID = nextID >= 0x7FFF_FFFF ? 1 : nextID + 1
        pending[id] = promise
        context.writeAndFlush(wrapOutboundOut(Envelope(id, message)), promise: nil)
        return id
    }

    /// Forgets a request that timed out (a late answer is then a protocol error we ignore).
    func abandon(_ id: UInt32, error: FolioClientError) {
        guard let p = pending.removeValue(forKey: id) else { return }
        if abandoned.count > 10_000 { abandoned.removeAll() }
        abandoned.insert(id)
        p.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown(context, .closed("the node closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let v = error as? ProtocolViolation {
            // Tell the node what it did wrong, then close.
            context.writeAndFlush(wrapOutboundOut(Envelope(v.requestID, .error(code: v.code, message: v.message))), promise: nil)
            shutDown(context, .protocolError(v.description))
            return
        }
        switch error {
        case let answer as PlaintextAnswer:
            shutDown(context, answer.code.map { FolioClientError(code: $0, message: answer.message) } ?? .protocolError(answer.message))
        case let e as NIOSSLError:
            shutDown(context, .closed("TLS: \(e) (does the node use TLS, and accept this client's key or certificate?)"))
        case let e as BoringSSLError:
            shutDown(context, .unauthorized("TLS handshake failed: \(e) (is the node's certificate issued by --tls-ca, or does the node require a client certificate?)"))
        default:
            shutDown(context, .closed("\(error)"))
        }
    }

    private func shutDown(_ context: ChannelHandlerContext, _ error: FolioClientError) {
        if case .closed = state { return }
        state = .closed(error)
        handshake.fail(error)
        let waiting = pending
        pending = [:]
        for p in waiting.values { p.fail(error) }
        context.close(promise: nil)
    }
}

extension Message {
    /// The encoded size of what can make a request large (PUT's article, APPLY's states).
    var largePayloadSize: Int? {
        switch self {
        case let .put(article, _, _): return article.encodedSize
        case let .apply(_, _, _, articles): return articles.reduce(0) { $0 + $1.encodedSize }
        case let .deflated(d): return Int(d.inflatedLength)
        default: return nil
        }
    }
}
