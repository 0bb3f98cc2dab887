import FolioModel
import FolioStore
import FolioProtocol
import FolioSync
import Logging
import NIOCore

/// Sent down a connection's pipeline when the node takes its slot or buffer away.
struct EvictedEvent: Sendable {
    enum Reason: Sendable { case pendingHandshake, partialFrameBudget }
    var reason = Reason.pendingHandshake
}

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

    private let node: NodeServices
    private let limits: FrameLimits
    private let loopback: Bool
    private var handshakeDeadline: Scheduled<Void>?
    private var state = State.awaitingHello
    private let nonce = Hello.freshNonce()
    /// The peer's HELLO and its clock minus ours (nil when it did not tell), for `noteClockSkew`.
    private var peerHello: Hello?
    private var peerSkew: Int64?
    private var inFlight = 0
    /// Searches of this connection queued or running: at most `maxSearches` (SPEC §6.2).
    private var searches = 0
    static let maxSearches = 2
    /// Requests decoded while `maxInFlightPerConnection` were running or the peer was not
    /// reading its answers; started as those drain. The first one parked makes the decoder
    /// hold the frames after it undecoded (`FrameLimits.holding`), so this holds one or two.
    private var waiting: [Envelope] = []
    private var waitingHead = 0
    private var readPending = false
    /// Hands the decoder an empty read once it may decode held frames again.
    private let resumer: HeldFrameResumer
    /// Set while `resumeReadingIfPossible` runs, which a request answered at once calls again
    /// from within it (then only `resumeAgain` is set, and the running one loops).
    private var resuming = false
    private var resumeAgain = false
    private var quiescing = false
    private var lastInbound = NIODeadline.now()
    private var pings: UInt32 = 0
    private var peer = "?"
    private var logger: Logger

    /// SHA-256 of the node's TLS certificate, bound into the key proofs (SPEC §4.2); nil on a
    /// plaintext (keyless, loopback) node.
    private let binding: [UInt8]?

    init(node: NodeServices, limits: FrameLimits, resumer: HeldFrameResumer, loopback: Bool, binding: [UInt8]?) {
        self.node = node
        self.resumer = resumer
        self.binding = binding
        self.limits = limits
        self.loopback = loopback
        self.logger = node.logger
    }

    /// The peer's IP address, the key of per-address limits.
    private var address = "?"

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress.map { "\($0)" } ?? "?"
        address = context.remoteAddress?.ipAddress ?? "?"
        logger[metadataKey: "peer"] = "\(peer)"
        lastInbound = .now()
        logger.debug("connection opened")
        let timeout = node.configuration.handshakeTimeout
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handshakeDeadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            switch handler.state {
            case .ready, .closing: return
            default: break
            }
            handler.node.abuse.event("handshake timeout", address: handler.loopback ? nil : handler.address, "closing a connection that did not complete its handshake in time")
            handler.fail(context, .timeout, "no completed handshake within \(timeout.nanoseconds / 1_000_000) ms")
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        logger.debug("connection closed")
        handshakeDeadline?.cancel()
        state = .closing
        // Its queued searches will never be answered: their places go back at once.
        node.searches.cancel(ObjectIdentifier(context.channel))
        // Parked requests will never run: their inflated bytes go back to the node.
        for e in waiting[waitingHead...] { unpark(e) }
        waiting.removeAll()
        waitingHead = 0
        context.fireChannelInactive()
    }

    /// The handshake is complete: frames up to the full limit are accepted from now on.
    private func established(context: ChannelHandlerContext) {
        state = .ready
        handshakeDeadline?.cancel()
        limits.inbound = node.configuration.maxFrame
        limits.acceptsDeflated = node.features.contains(.deflate)
        node.admission.established(context.channel)
        noteClockSkew()
    }

    /// The HELLO's clock against ours, once the peer is authenticated (so strangers cannot
    /// fill the log or the store with claims): a skew over a minute is logged — one bucket
    /// per peer node and address — and, for a replicating peer, shown by `folio peers`.
    private func noteClockSkew() {
        guard let hello = peerHello, let skew = peerSkew else { return }
        if Clocks.isSkewed(skew) {
            node.abuse.event(
                "clock skew", address: "\(address) node \(hello.nodeID)",
                "the peer's clock (node \(hello.nodeID) at \(address)) is \(Clocks.describe(skew: skew)) ours: its versions win or lose conflicts by that much (SPEC §5.1)")
        }
        if hello.nodeID != .none { node.noteIncomingClock(node: hello.nodeID, address: address, skew: skew) }
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
            // Every accepted key is tried (two during a rotation); the node proves the one that matched.
            guard let binding,
                let key = node.configuration.keys.first(where: { $0.verifyClient(mac, clientNonce: clientNonce, serverNonce: nonce, binding: binding) })
            else {
                refuseAuthentication(
                    context, reason: "wrong key",
                    "authentication failed: the proof does not match this node's key (or the connection passes through a relay that ends TLS)",
                    requestID: envelope.requestID)
                return
            }
            established(context: context)
            logger.debug("peer authenticated")
            let proof = key.serverProof(clientNonce: clientNonce, serverNonce: nonce, binding: binding)
            context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .authOK(proof: proof))), promise: nil)
        case (.awaitingAuth, _):
            refuseAuthentication(context, reason: "request before authentication", "this node requires authentication before any request", requestID: envelope.requestID)
        case (.ready, .pong):
            return  // an answer to our heartbeat; lastInbound is already updated
        case (.ready, .ping) where envelope.requestID & 0x8000_0000 != 0:
            // A peer node's heartbeat uses the server half of the id space; answered too, as a
            // request is (so a flood of them waits for its answers to drain like any other).
            take(context, envelope)
        case (.ready, let m) where m.isRequest && (envelope.requestID == 0 || envelope.requestID & 0x8000_0000 != 0):
            fail(context, .badFrame, "request id \(envelope.requestID) is outside a client's range 1…0x7FFFFFFF (SPEC §4.4)", requestID: envelope.requestID)
        case (.ready, let m) where m.isRequest:
            if quiescing {
                context.writeAndFlush(wrapOutboundOut(Envelope(envelope.requestID, .error(code: .shuttingDown, message: "the node is shutting down"))), promise: nil)
                return
            }
            take(context, envelope)
        case let (.ready, m):
            fail(context, .badFrame, "\(m.kind) is not a request a client may send", requestID: envelope.requestID)
        }
    }

    /// Runs a request, or parks it when the connection takes no more for now.
    private func take(_ context: ChannelHandlerContext, _ envelope: Envelope) {
        if waitingHead < waiting.count || !canTakeRequests(context) {
            // Executing it would buffer its answer beyond the limits: it waits here, and
            // the frames after it wait undecoded in the decoder (bytes as they came, at
            // most what one turn of reads brought) until answers drain. An inflated one
            // is also bounded by the connection's and the node's inflated budgets.
            guard park(envelope) else {
                fail(context, .busy, "too many inflated requests wait here unexecuted; wait for answers before sending more", requestID: envelope.requestID)
                return
            }
            waiting.append(envelope)
            limits.holding = true
        } else {
            handle(context: context, envelope)
        }
    }

    private func handshake(context: ChannelHandlerContext, hello: Hello) {
        guard let version = Hello.negotiate(hello.versions, Hello.supportedVersions) else {
            node.abuse.event("no common version", address: address, "no common protocol version", metadata: ["theirs": "\(hello.versions.prefix(8))"])
            fail(context, .noCommonVersion, "this node speaks protocol versions \(Hello.supportedVersions), the peer \(hello.versions)")
            return
        }
        logger.debug("hello", metadata: ["software": "\(hello.software)", "version": "\(version)", "node": "\(hello.nodeID)"])
        limits.outbound = hello.maxFrame
        node.admission.greeted(context.channel)
        let now = node.store.options.clock()
        peerHello = hello
        peerSkew = hello.clock == 0 ? nil : Clocks.skew(theirs: hello.clock, ours: now)
        let mine = Hello(
            nodeID: node.store.nodeID, software: node.software, features: node.features, nonce: nonce,
            maxFrame: node.configuration.maxFrame, clock: now)
        context.writeAndFlush(wrapOutboundOut(Envelope(0, .hello(mine))), promise: nil)
        if node.configuration.keys.isEmpty {
            established(context: context)
        } else {
            state = .awaitingAuth(clientNonce: hello.nonce)
        }
    }

    /// Answers a failed authentication with `unauthorized` and closes — later, the more this
    /// address has failed lately (`AbuseTracker`), so guessing keys costs time.
    private func refuseAuthentication(_ context: ChannelHandlerContext, reason: String, _ message: String, requestID: UInt32) {
        state = .closing
        node.metrics.authFailures.increment()
        node.metrics.errorSent(.unauthorized)
        let delay = node.abuse.authenticationFailed(address: address, loopback: loopback, reason: reason)
        let frame = Envelope(requestID, .error(code: .unauthorized, message: message))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            context.writeLastAndClose(handler.wrapOutboundOut(frame))
        }
    }

    /// A replicating peer asking for our changes after `since` holds everything up to it
    /// (SPEC §5.2): what lets tombstones be collected.
    private func acknowledge(_ since: UInt64, on loop: EventLoop) {
        guard let peer = peerHello?.nodeID, peer != .none, since > 0 else { return }
        node.acknowledge(peer: peer, through: since, on: loop)
    }

    private func handle(context: ChannelHandlerContext, _ envelope: Envelope) {
        let loop = context.eventLoop
        let future: EventLoopFuture<Message>
        switch envelope.message {
        case let .ping(token):
            future = loop.makeSucceededFuture(.pong(token))
        case let .get(id, _) where !Self.isValidID(id), let .delete(id, _, _) where !Self.isValidID(id):
            future = loop.makeFailedFuture(Self.invalidID(id))
        case let .get(id, all):
            let deflate = peerAsksForDeflate
            future = node.read(on: loop) { store in
                guard let state = try store.withRecord(id, { try Self.encodedState(id, $0, allBodies: all) }) else { throw StoreError.notFound(id: id) }
                return Self.deflatedIf(deflate, .encodedArticle(state))
            }
        case let .put(article, ctx, writeID):
            // With a write id, a retry gets the remembered outcome instead of a second version (SPEC §4.5).
            let digest = writeID == nil ? [] : envelope.message.writeDigest
            future = node.writer.submit(on: loop, bytes: article.title.utf8.count + article.body.utf8.count) { w in
                .written(try w.idempotent(writeID, articleID: article.id, digest: digest) { try w.put(article, context: ctx) })
            }
        case let .delete(id, ctx, writeID):
            let digest = writeID == nil ? [] : envelope.message.writeDigest
            future = node.writer.submit(on: loop) { w in
                .written(try w.idempotent(writeID, articleID: id, digest: digest) { try w.delete(id, context: ctx) })
            }
        case let .list(q):
            // A page also ends where its encoding would pass half the requester's frame (at
            // least one article), so articles with large metadata page instead of failing.
            let budget = Int(min(limits.outbound, node.configuration.maxFrame)) / 2
            future = node.read(on: loop) { store in
                let limit = Int(min(q.limit, ListQuery.maxLimit))
                if limit == 0 { return .listed([], more: try !store.list(prefix: q.prefix, after: q.after, source: q.source, limit: 1, includeDeleted: q.includeDeleted).isEmpty) }
                let items = try store.list(prefix: q.prefix, after: q.after, source: q.source, limit: limit + 1, includeDeleted: q.includeDeleted)
                let page = Self.page(items.prefix(limit), budget: budget, size: \.encodedSize)
                return .listed(page, more: items.count > page.count)
            }
        case .stats:
            future = node.read(on: loop) { .statistics(try $0.statistics()) }
        case let .search(text, limit):
            // Hits also stop where the answer would pass half the requester's frame (at least one).
            let budget = Int(min(limits.outbound, node.configuration.maxFrame)) / 2
            do {
                let query = try SearchQuery(parsing: text)
                if limit == 0 {
                    future = loop.makeSucceededFuture(.searchResults([]))
                } else {
                    guard searches < Self.maxSearches else {
                        throw ProtocolViolation(.busy, "at most \(Self.maxSearches) searches of one connection run at a time; wait for an answer")
                    }
                    searches += 1
                    let bound = NIOLoopBound(self, eventLoop: loop)
                    future = node.search(on: loop, channel: context.channel) { store in
                        let hits = try store.search(query, limit: Int(min(limit, 1000)))
                        return .searchResults(Self.page(hits[...], budget: budget) {
                            32 + $0.id.utf8.count + $0.title.utf8.count + $0.source.utf8.count + $0.published.utf8.count + $0.snippet.utf8.count
                        })
                    }.always { _ in bound.value.searches -= 1 }
                }
            } catch {
                future = loop.makeFailedFuture(error)
            }
        case let .changes(since, limit, wait):
            acknowledge(since, on: loop)
            future = node.changes(on: loop, since: since, limit: Int(min(limit, 10_000)), waitMillis: limit == 0 ? 0 : min(wait, 60_000))
        case let .filteredChanges(since, limit, wait, filter):
            acknowledge(since, on: loop)
            future = node.filteredChanges(on: loop, since: since, limit: Int(min(limit, 10_000)), waitMillis: limit == 0 ? 0 : min(wait, 60_000), filter: filter)
        case let .conflicts(after, limit):
            let budget = Int(min(limits.outbound, node.configuration.maxFrame)) / 2
            future = node.read(on: loop) { store in
                let limit = Int(min(limit, ListQuery.maxLimit))
                let items = try store.conflicts(after: after, limit: limit + 1)
                let page = Self.page(items.prefix(limit), budget: budget, size: \.encodedSize)
                return .conflicted(page, more: items.count > page.count)
            }
        case .syncHello, .checkpointGet, .offer, .fetch:
            let budget = SyncResponder.FrameBudget(
                answerBytes: Int(node.configuration.maxFrame / 2), maxArticleBytes: Int(limits.outbound) - FrameDecoder.frameOverhead)
            let (request, deflate) = (envelope.message, peerAsksForDeflate)
            future = node.read(on: loop) { store in
                guard let answer = try SyncResponder.answer(request, store: store, budget: budget) else {
                    throw ProtocolViolation(.badFrame, "unexpected \(request.kind)")
                }
                // Compressed here, on the read's thread, not on the event loop.
                return Self.deflatedIf(deflate, answer)
            }
        case let .apply(peer, epoch, upTo, articles):
            let logger = self.logger
            // The writer tokenizes the batch for search itself: preparing it on a read thread
            // first would hold several times a pushed frame per request while it waits for the
            // writer, before anything in it is checked.
            let bytes = articles.reduce(0) { $0 &+ $1.bodies.totalBytes }
            future = node.writer.submit(on: loop, bytes: bytes) { w in
                let (answer, o) = try SyncResponder.apply(node: peer, epoch: epoch, upTo: upTo, articles: articles, writer: w)
                if o.changed > 0 {
                    logger.debug("applied pushed changes", metadata: ["from": "\(peer)", "changed": "\(o.changed)", "checkpoint": "\(o.checkpoint)"])
                }
                if !o.refusedAsStale.isEmpty {
                    logger.warning(
                        "refused pushed articles that may be deleted ones coming back: this store collected tombstones newer than every version sent (SPEC §5.2); re-import them on the sender if they are wanted",
                        metadata: ["from": "\(peer)", "count": "\(o.refusedAsStale.count)", "ids": "\(o.refusedAsStale.prefix(10).joined(separator: ", "))"])
                }
                return answer
            }
        default:
            future = loop.makeFailedFuture(ProtocolViolation(.badFrame, "unexpected \(envelope.message.kind)"))
        }
        inFlight += 1
        let requestID = envelope.requestID
        let (kind, started) = (envelope.message.kind, NIODeadline.now())
        // Futures complete on this channel's event loop, where the handler's state lives.
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        future.whenComplete { result in
            let (handler, context) = bound.value
            handler.node.metrics.requestFinished(kind, nanoseconds: (NIODeadline.now() - started).nanoseconds)
            handler.complete(context: context, requestID: requestID, result: result)
        }
    }

    private func complete(context: ChannelHandlerContext, requestID: UInt32, result: Result<Message, Error>) {
        inFlight -= 1
        guard case .ready = state else { return }
        let answer: Envelope
        switch result {
        case let .success(m):
            answer = Envelope(requestID, m)
        case let .failure(error):
            let (code, message) = error.wireError
            if code == .internal { logger.error("request failed", metadata: ["error": "\(error)"]) }
            node.metrics.errorSent(code)
            answer = Envelope(requestID, .error(code: code, message: message))
        }
        // Counted until the socket has taken it (`maxQueuedAnswers`).
        queuedAnswers += 1
        let written = context.eventLoop.makePromise(of: Void.self)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { result in
            let (handler, context) = bound.value
            handler.queuedAnswers -= 1
            // Not when the write failed: the connection is closing (NIO fails its pending
            // writes before it says so), and parked requests must not run.
            guard case .success = result, context.channel.isActive else { return }
            if handler.queuedAnswers == Self.maxQueuedAnswers - 1 { handler.resumeReadingIfPossible(context: context) }
        }
        context.write(wrapOutboundOut(answer), promise: written)
        context.flush()
        resumeReadingIfPossible(context: context)
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if waitingHead < waiting.count || limits.holding || !canTakeRequests(context) {
            readPending = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    /// Answers handed to the channel that the socket has not taken yet. The write buffer's
    /// watermarks count their bytes; many small answers (PONGs, refusals) hold several times
    /// their bytes in buffers and bookkeeping, so their number is capped too.
    private var queuedAnswers = 0
    static let maxQueuedAnswers = 256

    /// Fewer than `maxInFlightPerConnection` requests running, and the peer reading its answers.
    private func canTakeRequests(_ context: ChannelHandlerContext) -> Bool {
        inFlight < node.configuration.maxInFlightPerConnection && queuedAnswers < Self.maxQueuedAnswers && context.channel.isWritable
            && context.channel.isActive
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        // A request answered at once (a PING, a refused SEARCH) completes within `handle` and
        // calls this again: that call only asks the running one to loop once more, so a long
        // run of such requests costs no stack.
        if resuming {
            resumeAgain = true
            return
        }
        resuming = true
        defer { resuming = false }
        repeat {
            resumeAgain = false
            while waitingHead < waiting.count, canTakeRequests(context), case .ready = state {
                let next = waiting[waitingHead]
                waitingHead += 1
                unpark(next)
                if quiescing {
                    context.writeAndFlush(wrapOutboundOut(Envelope(next.requestID, .error(code: .shuttingDown, message: "the node is shutting down"))), promise: nil)
                } else {
                    handle(context: context, next)
                }
            }
            if waitingHead == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                waitingHead = 0
            }
            if quiescing && inFlight == 0 && waiting.isEmpty {
                fail(context, .shuttingDown, "the node is shutting down")
                return
            }
            // The frames the decoder held: decoded now, each taken or parked as it comes (the
            // first parked holds the rest again). Not while shutting down: they were never
            // taken, and the connection closes once what was taken is answered.
            if waiting.isEmpty, limits.holding, !quiescing, case .ready = state, canTakeRequests(context) {
                limits.holding = false
                resumer.resume()
            }
        } while resumeAgain
        guard waiting.isEmpty, !limits.holding, readPending, canTakeRequests(context), case .ready = state else { return }
        readPending = false
        // The peer's silence counts from now: while the node did not read, what it sent
        // (PONGs to the node's heartbeats) waited unread.
        lastInbound = .now()
        context.read()
    }

    // MARK: Heartbeats, shutdown, errors

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            let silent = NIODeadline.now() - lastInbound
            // A connection with requests running is not idle: the peer waits for answers (a
            // long poll, at most 60 s), and the node may have stopped reading it meanwhile (its
            // PONGs wait unread). One that only has requests waiting is: its peer is not
            // reading its answers.
            if silent >= node.configuration.idleTimeout && inFlight == 0 {
                logger.debug("closing idle connection", metadata: ["silent_ms": "\(silent.nanoseconds / 1_000_000)"])
                fail(context, .timeout, "no traffic for \(silent.nanoseconds / 1_000_000) ms")
            } else if case .ready = state, !quiescing {
                pings &+= 1
                context.writeAndFlush(wrapOutboundOut(Envelope(0x8000_0000 | pings, .ping(UInt64(pings)))), promise: nil)
            }
            return
        }
        if let e = event as? EvictedEvent {
            if case .closing = state {
                // E.g. a failed authentication whose answer is being delayed: its slot is
                // gone, so its socket goes now too.
                context.close(promise: nil)
                return
            }
            switch e.reason {
            case .pendingHandshake:
                node.abuse.event("evicted", address: nil, "closing the oldest connection still in its handshake to admit a new one (pending limit \(node.configuration.maxPendingHandshakes))")
                fail(context, .busy, "the node needed this connection's slot: its handshake took too long")
            case .partialFrameBudget:
                node.abuse.event("evicted frame", address: nil, "closing the connection with the oldest partial frame (partial-frame budget \(node.configuration.partialFrameBudget) bytes)")
                fail(context, .busy, "the node is buffering too many large frames; this connection's frame was the oldest")
            }
            return
        }
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            // Searches still queued are answered `shuttingDown` now rather than run (or
            // dropped unanswered when the grace period ends).
            node.searches.cancel(ObjectIdentifier(context.channel))
            resumeReadingIfPossible(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let v = error as? ProtocolViolation {
            node.abuse.event("protocol violation", address: address, "protocol violation", metadata: ["code": "\(v.code)", "reason": "\(v.message)"])
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
        node.metrics.errorSent(code)
        context.writeLastAndClose(wrapOutboundOut(Envelope(requestID, .error(code: code, message: message))))
    }

    /// The first items whose encodings fit `budget` bytes together (always at least one), so
    /// an answer stays within half the requester's frame.
    static func page<T>(_ items: ArraySlice<T>, budget: Int, size: (T) -> Int) -> [T] {
        var out: [T] = []
        var bytes = 0
        for item in items {
            let n = size(item)
            if !out.isEmpty && bytes + n > budget { break }
            out.append(item)
            bytes += n
        }
        return out
    }

    /// Inflated bytes of this connection's parked (decoded, unexecuted) requests.
    private var parkedInflated = 0

    /// Accounts for a request about to wait unexecuted: an inflated one may hold at most one
    /// max frame per connection, and all connections together the node's inflated budget
    /// (SPEC §2.1, §9). A request that runs at once is never charged, so a peer that waits
    /// for its answers never meets either limit, whatever other connections do.
    private func park(_ e: Envelope) -> Bool {
        guard e.inflated > 0 else { return true }
        guard parkedInflated + Int(e.inflated) <= Int(node.configuration.maxFrame), node.inflated.reserve(e.inflated) else { return false }
        parkedInflated += Int(e.inflated)
        return true
    }

    private func unpark(_ e: Envelope) {
        guard e.inflated > 0 else { return }
        parkedInflated -= Int(e.inflated)
        node.inflated.release(e.inflated)
    }

    /// The peer's max frame when it asked for large answers deflated, else nil.
    /// (Only when this node speaks deflate itself: one run with `--compress never` acts as an
    /// older node that does not.)
    private var peerAsksForDeflate: UInt32? {
        limits.acceptsDeflated && peerHello?.features.contains(.deflate) == true ? limits.outbound : nil
    }

    /// `answer` deflated when the peer asked for it, deflate shrinks it, and it would have fit
    /// the peer's max frame plain (one that would not is answered `tooLarge` either way).
    static func deflatedIf(_ peerMaxFrame: UInt32?, _ answer: Message) -> Message {
        guard let peerMaxFrame, let d = DeflatedMessage.compressing(answer), UInt64(d.inflatedLength) + 5 <= peerMaxFrame else { return answer }
        return .deflated(d)
    }

    /// A GET's answer from the record in place: its versions' bytes copied as they are, each
    /// followed by its body when asked for (every live version's, or those of the winner's
    /// body) — what `.article` of `Store.get(id, bodies:)` would encode, without decoding it.
    static func encodedState(_ id: String, _ view: ArticleRecordView, allBodies: Bool) throws -> EncodedState {
        var state = EncodedState(id: id, seq: view.seq, versions: view.versionCount)
        let winner = view.bodyHash(view.winnerIndex)
        for i in 0..<view.versionCount {
            let withBody = view.bodyHash(i).map { allBodies || $0 == winner } ?? false
            let sent: Void? = withBody ? try view.withBody(of: i) { state.append(version: view.versionBytes(i), body: $0) } : nil
            if sent == nil { state.append(version: view.versionBytes(i), body: nil) }
        }
        return state
    }

    static func isValidID(_ id: String) -> Bool { (try? Article.validateID(id)) != nil }

    static func invalidID(_ id: String) -> StoreError {
        do {
            try Article.validateID(id)
            return .notFound(id: id)
        } catch {
            return .invalidArticle(id: "", error)
        }
    }
}

/// Sits just before a node connection's frame decoder: hands the decoder an empty read when
/// the connection handler takes requests again (`FrameLimits.holding` cleared), so it decodes
/// the frames it held — they may all have arrived already, with no read to come.
final class HeldFrameResumer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func resume() {
        guard let context else { return }
        context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(capacity: 0)))
        // As a socket read would end: the idle handler counts silence again only after it.
        context.fireChannelReadComplete()
    }
}
