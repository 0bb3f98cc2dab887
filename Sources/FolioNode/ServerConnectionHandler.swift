import Folio
import FolioProtocol
import Logging
import NIOCore

/// Sent down a connection's pipeline to start a graceful close.
struct QuiesceEvent: Sendable {}

/// One client or peer connection of a node: the handshake, authentication, requests and
/// their responses, heartbeats and backpressure. All state lives on the channel's event loop.
///
/// Store work runs off the event loop (reads on a thread pool, writes on the group-commit
/// writer). A connection with `maxInFlightPerConnection` requests pending, or whose socket is
/// not writable (a slow reader), is not read from until that changes: memory stays bounded.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Envelope
    typealias OutboundIn = Envelope
    typealias OutboundOut = Envelope

    private enum State {
        case awaitingHello
        case awaitingAuth(clientNonce: [UInt8])
        case ready
        case closing
    }

    private let node: NodeContext
    private var state = State.awaitingHello
    private let nonce = Hello.freshNonce()
    private var inFlight = 0
    private var readPending = false
    private var quiescing = false
    private var lastInbound = NIODeadline.now()
    private var pings: UInt32 = 0
    private var peer = "?"
    private var logger: Logger

    init(node: NodeContext) {
        self.node = node
        self.logger = node.logger
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress.map { "\($0)" } ?? "?"
        logger[metadataKey: "peer"] = "\(peer)"
        lastInbound = .now()
        logger.info("connection opened")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        logger.info("connection closed")
        state = .closing
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        lastInbound = .now()
        switch (state, envelope.message) {
        case (.closing, _):
            return
        case let (.awaitingHello, .hello(hello)):
            handshake(context: context, hello: hello)
        case (.awaitingHello, _):
            fail(context, .handshakeRequired, "the connection must open with a HELLO", requestID: envelope.requestID)
        case let (.awaitingAuth(clientNonce), .auth(mac)):
            guard let key = node.configuration.key, key.verifyClient(mac, clientNonce: clientNonce, serverNonce: nonce) else {
                logger.warning("authentication failed: wrong key")
                fail(context, .unauthorized, "authentication failed: the proof does not match this node's key", requestID: envelope.requestID)
                return
            }
            state = .ready
            logger.info("peer authenticated")
            let proof = key.serverProof(clientNonce: clientNonce, serverNonce: nonce)
            context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .authOK(mac: proof))), promise: nil)
        case (.awaitingAuth, _):
            logger.warning("request before authentication")
            fail(context, .unauthorized, "this node requires authentication before any request", requestID: envelope.requestID)
        case (.ready, .pong):
            return  // an answer to our heartbeat; lastInbound is already updated
        case let (.ready, .ping(token)) where envelope.requestID & 0x8000_0000 != 0:
            // A peer node's heartbeat uses the server half of the id space; answer it too.
            context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .pong(token))), promise: nil)
        case (.ready, let m) where m.isRequest:
            if quiescing {
                context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .error(code: .shuttingDown, message: "the node is shutting down"))), promise: nil)
                return
            }
            handle(context: context, envelope)
        case let (.ready, m):
            fail(context, .badFrame, "\(m.kind) is not a request a client may send", requestID: envelope.requestID)
        }
    }

    private func handshake(context: ChannelHandlerContext, hello: Hello) {
        guard let version = Hello.negotiate(hello.versions, Hello.supportedVersions) else {
            logger.warning("no common protocol version", metadata: ["theirs": "\(hello.versions)"])
            fail(context, .noCommonVersion, "this node speaks protocol versions \(Hello.supportedVersions), the peer \(hello.versions)")
            return
        }
        logger.debug("hello", metadata: ["software": "\(hello.software)", "version": "\(version)", "node": "\(NodeID(hello.nodeID))"])
        let mine = Hello(
            nodeID: node.store.nodeID.rawValue, software: node.software, features: node.features, nonce: nonce,
            maxFrame: node.configuration.maxFrame)
        context.writeAndFlush(wrapOutboundOut(Envelope(0, .hello(mine))), promise: nil)
        state = node.configuration.key == nil ? .ready : .awaitingAuth(clientNonce: hello.nonce)
    }

    private func handle(context: ChannelHandlerContext, _ envelope: Envelope) {
        let loop = context.eventLoop
        let future: EventLoopFuture<Message>
        switch envelope.message {
        case let .ping(token):
            future = loop.makeSucceededFuture(.pong(token))
        case let .get(id, all):
            future = node.read(on: loop) { store in
                guard let s = try store.get(id, bodies: all ? .all : .winner) else { throw StoreError.notFound(id: id) }
                return .article(s)
            }
        case let .put(article, ctx):
            future = node.writer.submit(on: loop) { w in .written(try w.put(article, context: ctx)) }
        case let .delete(id, ctx):
            future = node.writer.submit(on: loop) { w in .written(try w.delete(id, context: ctx)) }
        case let .list(q):
            future = node.read(on: loop) { store in
                let limit = Int(min(max(q.limit, 1), ListQuery.maxLimit))
                let items = try store.list(prefix: q.prefix, after: q.after, source: q.source, limit: limit + 1, includeDeleted: q.includeDeleted)
                return .listed(Array(items.prefix(limit)), more: items.count > limit)
            }
        case .stats:
            future = node.read(on: loop) { .statistics(try $0.statistics()) }
        case let .changes(since, limit, wait):
            future = node.changes(on: loop, since: since, limit: Int(min(max(limit, 1), 10_000)), waitMillis: min(wait, 60_000))
        case .syncHello:
            future = node.read(on: loop) { store in
                .syncState(node: store.nodeID.rawValue, epoch: store.epoch, lastSequence: try store.lastSequence())
            }
        case let .fetch(ids, have, maxBytes):
            let frameBudget = node.configuration.maxFrame / 2
            future = node.read(on: loop) { store in
                let budget = Int(min(maxBytes, frameBudget))
                return .fetched(try store.fetch(ids, have: Set(have), maxBytes: budget))
            }
        case let .checkpointGet(peer, epoch):
            future = node.read(on: loop) { .checkpoint(try $0.checkpoint(node: NodeID(peer), epoch: epoch)) }
        case let .offer(changes):
            future = node.read(on: loop) { store in
                let needs = try store.needs(changes)
                return .want(ids: needs.ids, haveBodies: needs.haveBodies)
            }
        case let .apply(peer, epoch, upTo, articles):
            let logger = self.logger
            future = node.writer.submit(on: loop) { w in
                let o = try w.applyBatch(from: NodeID(peer), epoch: epoch, upTo: upTo, articles: articles)
                if o.changed > 0 {
                    logger.debug("applied pushed changes", metadata: ["from": "\(NodeID(peer))", "changed": "\(o.changed)", "checkpoint": "\(o.checkpoint)"])
                }
                return .applied(changed: UInt32(o.changed), conflictsCreated: UInt32(o.conflictsCreated), checkpoint: o.checkpoint)
            }
        default:
            future = loop.makeFailedFuture(ProtocolViolation(.badFrame, "unexpected \(envelope.message.kind)"))
        }
        inFlight += 1
        let requestID = envelope.requestID
        // Futures complete on this channel's event loop, where the handler's state lives.
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        future.whenComplete { result in
            let (handler, context) = bound.value
            handler.complete(context: context, requestID: requestID, result: result)
        }
    }

    private func complete(context: ChannelHandlerContext, requestID: UInt32, result: Result<Message, Error>) {
        inFlight -= 1
        guard case .ready = state else { return }
        switch result {
        case let .success(m):
            context.write(wrapOutboundOut(Envelope(requestID, m)), promise: nil)
        case let .failure(error):
            let (code, message) = error.wireError
            if code == .internal { logger.error("request failed", metadata: ["error": "\(error)"]) }
            context.write(wrapOutboundOut(Envelope(requestID, .error(code: code, message: message))), promise: nil)
        }
        context.flush()
        if quiescing && inFlight == 0 {
            fail(context, .shuttingDown, "the node is shutting down")
        } else {
            resumeReadingIfPossible(context: context)
        }
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if inFlight >= node.configuration.maxInFlightPerConnection || !context.channel.isWritable {
            readPending = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        guard readPending, inFlight < node.configuration.maxInFlightPerConnection, context.channel.isWritable else { return }
        readPending = false
        context.read()
    }

    // MARK: Heartbeats, shutdown, errors

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            let silent = NIODeadline.now() - lastInbound
            if silent >= node.configuration.idleTimeout {
                logger.info("closing idle connection", metadata: ["silent_ms": "\(silent.nanoseconds / 1_000_000)"])
                fail(context, .timeout, "no traffic for \(silent.nanoseconds / 1_000_000) ms")
            } else if case .ready = state, !quiescing {
                pings &+= 1
                context.writeAndFlush(wrapOutboundOut(Envelope(0x8000_0000 | pings, .ping(UInt64(pings)))), promise: nil)
            }
            return
        }
        if event is QuiesceEvent {
            quiescing = true
            if inFlight == 0 { fail(context, .shuttingDown, "the node is shutting down") }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let v = error as? ProtocolViolation {
            logger.warning("protocol violation", metadata: ["code": "\(v.code)", "reason": "\(v.message)"])
            fail(context, v.code, v.message, requestID: v.requestID)
            return
        }
        if error is ByteToMessageDecoderError { return }  // data after a violation we already answered
        logger.debug("connection error", metadata: ["error": "\(error)"])
        state = .closing
        context.close(promise: nil)
    }

    /// Sends an ERROR frame, then closes the connection.
    private func fail(_ context: ChannelHandlerContext, _ code: ErrorCode, _ message: String, requestID: UInt32 = 0) {
        if case .closing = state { return }
        state = .closing
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(Envelope(requestID, .error(code: code, message: message)))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
