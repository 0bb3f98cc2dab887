import FolioModel
import FolioStore
import FolioProtocol
import FolioSync
import FolioTransport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// A Folio node serving one store over TCP.
///
///     let server = FolioServer(store: store, configuration: config)
///     let address = try await server.start()       // port 0 picks a free port
///     ...
///     await server.shutdown()                       // stop accepting, drain, close
///
/// As a swift-service-lifecycle `Service`, `run()` owns the node's life: it binds (unless
/// `start()` did), runs a peer link per `--peer` in its task group, serves until graceful
/// shutdown (SIGINT or SIGTERM under a `ServiceGroup`) or `shutdown()`, then quiesces with
/// NIOExtras' `ServerQuiescingHelper` — no new connections, in-flight requests finish (up to
/// `drainTimeout`), every connection closes — stops the store threads and returns; the caller
/// then closes the store. `start()` + `shutdown()` alone serve without peer links (tests).
public final class FolioServer: Service, Sendable {
    public let configuration: NodeConfiguration
    let node: NodeServices
    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private let state = NIOLockedValueBox(ServerState())
    private var logger: Logger { configuration.logger }

    private struct ServerState {
        var listener: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
        var shutDown = false
        /// True while `run()` serves: it then performs the drain, and `shutdown()` waits for it.
        var running = false
        /// Set by the one `start()` allowed.
        var starting = false
        /// The one caller that drains claims it; the others wait in `stopWaiters` until `stopped`.
        /// (Not an event-loop promise: the loops may be gone by the time a waiter awaits.)
        var drainClaimed = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var abuseFlush: RepeatedTask?
    }

    private let quiesce: ServerQuiescingHelper

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(store: Store, configuration: NodeConfiguration, group: EventLoopGroup? = nil) {
        self.configuration = configuration
        let loops: EventLoopGroup
        if let group {
            loops = group
            ownsGroup = false
        } else {
            loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
            ownsGroup = true
        }
        self.group = loops
        node = NodeServices(store: store, configuration: configuration, loops: loops)
        // The helper's own promise lives on NIO's singleton loops, which outlive this server's
        // group: freeing the helper after the group shut down would post to a dead loop.
        quiesce = ServerQuiescingHelper(group: MultiThreadedEventLoopGroup.singleton)
    }

    /// The address the listener is bound to, once started.
    public var boundAddress: SocketAddress? { state.withLockedValue { $0.listener?.localAddress } }

    /// True while the node serves: its listener is bound and it is not shutting down (the
    /// admin listener's `/ready`). The store is open for as long as the server exists.
    public var isReady: Bool {
        state.withLockedValue { $0.listener != nil && !$0.shutDown }
    }

    /// Sets the metrics gauges (store size and counts, connections, peer links) from the
    /// node's current state; the admin listener calls it before each scrape. The store is read
    /// on the node's read threads.
    public func refreshMetrics() async throws {
        let node = self.node
        let (statistics, peers) = try await node.readPool.runIfActive {
            (try node.store.statistics(), try node.store.peerStatuses())
        }
        node.metrics.refresh(
            statistics: statistics, open: node.admission.connections, pending: node.admission.pendingConnections,
            peers: peers, configured: Set(configuration.peers))
    }

    /// Binds the listener and starts accepting connections.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let c = configuration
        // One listener per server: a second start, or a start after shutdown, is refused.
        try state.withLockedValue { s in
            if s.shutDown { throw ConfigurationError(description: "this server was shut down; make a new one") }
            if s.starting { throw ConfigurationError(description: "this server is already started") }
            s.starting = true
        }
        if !c.authenticates && !isLoopback(c.host) {
            throw ConfigurationError(
                description: "refusing to listen on \(c.host) without authentication: give the mesh key (--key-file) or a CA (--tls-ca with --tls-cert/--tls-key); plaintext is served on loopback only")
        }
        let tls: ServerTLS?
        do {
            tls = c.usesTLS ? try ServerTLS(files: c.tls, commonName: "folio node \(node.store.nodeID.hex)") : nil
        } catch {
            throw ConfigurationError(description: "\(error)")
        }
        let node = self.node
        let quiesce = self.quiesce
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            // At most 4 reads of up to 64 KiB per turn: what a connection that is not taking
            // requests can leave undecoded (`FrameLimits.holding`).
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [weak self] channel in
                guard let self else { return channel.eventLoop.makeSucceededVoidFuture() }
                return self.initialize(channel, node: node, tls: tls)
            }
        let listener: Channel
        do {
            listener = try await bootstrap.bind(host: c.host, port: c.port).get()
        } catch {
            state.withLockedValue { $0.starting = false }
            throw error
        }
        let stoppedMeanwhile = state.withLockedValue { s -> Bool in
            if !s.shutDown { s.listener = listener }
            return s.shutDown
        }
        if stoppedMeanwhile {
            try? await listener.close()
            throw ConfigurationError(description: "this server was shut down while it started")
        }
        let address = listener.localAddress!
        if !c.usesTLS {
            logger.notice("serving in plaintext WITHOUT authentication (no key file), loopback only")
        } else {
            logger.info("serving over TLS 1.3", metadata: [
                "authentication": "\([c.keys.isEmpty ? nil : "mesh key (\(c.keys.count))", c.tls.ca == nil ? nil : "client certificates"].compactMap { $0 }.joined(separator: " + "))",
                "certificate": "\(c.tls.certificate ?? "ephemeral, self-signed")",
            ])
        }
        logger.info("listening", metadata: ["address": "\(address)", "node": "\(node.store.nodeID)", "store": "\(node.store.path)"])
        let window = c.abuseWindow
        let quarter = TimeAmount.nanoseconds(max(window.nanoseconds / 4, 1_000_000))
        let flush = group.next().scheduleRepeatedTask(initialDelay: quarter, delay: quarter) { [abuse = node.abuse] _ in
            abuse.flushEndedWindows()
        }
        let keep = state.withLockedValue { s -> Bool in
            if !s.shutDown { s.abuseFlush = flush }
            return !s.shutDown
        }
        if !keep { flush.cancel() }
        return address
    }

    private func initialize(_ channel: Channel, node: NodeServices, tls: ServerTLS?) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let address = channel.remoteAddress?.ipAddress ?? "?"
        let loopback = node.configuration.trustLoopback && (channel.remoteAddress.map(isLoopback) ?? false)
        if let seconds = node.abuse.refusal(address: address) {
            node.abuse.event("refused", address: address, "connection refused: too many failed authentications from this address")
            node.metrics.connectionsRefused.increment()
            return refuse(channel, .unauthorized, "too many failed authentications from \(address); refused for another \(seconds) s")
        }
        let decision = node.admission.admit(channel, address: address, loopback: loopback) { evicted in
            evicted.pipeline.fireUserInboundEventTriggered(EvictedEvent())
        }
        if case let .refuse(why) = decision {
            node.abuse.event("busy", address: loopback ? nil : address, "connection refused: \(why)")
            node.metrics.connectionsRefused.increment()
            return refuse(channel, .busy, why)
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            node.admission.closed(channel)
            node.partialFrames.release(id)
            self?.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
        let accepted = state.withLockedValue { s -> Bool in
            guard !s.shutDown else { return false }
            s.connections[id] = channel
            return true
        }
        guard accepted else { return channel.close() }
        node.metrics.connectionsAccepted.increment()
        return channel.eventLoop.makeCompletedFuture {
            let limits = FrameLimits(inbound: FrameDecoder.preAuthMaxFrame, outbound: UInt32(1 << 16))
            limits.admitPartial = { [budget = node.partialFrames] length in
                budget.reserve(id, bytes: Int(length)) {
                    channel.pipeline.fireUserInboundEventTriggered(EvictedEvent(reason: .partialFrameBudget))
                }
            }
            limits.partialDone = { [budget = node.partialFrames] in budget.release(id) }
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(TransportSniffer(tls: tls) { [abuse = node.abuse] used in
                abuse.event(
                    "wrong transport", address: loopback ? nil : address,
                    used == .tls ? "refused a TLS client: this node has no key and serves plaintext" : "refused a plaintext client: this node requires TLS")
            })
            let resumer = HeldFrameResumer()
            try sync.addHandler(resumer)
            try sync.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
            try sync.addHandler(MessageToByteHandler(FrameEncoder(limits: limits)))
            try sync.addHandler(IdleStateHandler(readTimeout: node.configuration.heartbeatInterval))
            try sync.addHandler(ServerConnectionHandler(node: node, limits: limits, resumer: resumer, loopback: loopback, binding: tls?.binding))
        }
    }

    /// Answers a connection the node will not serve with one ERROR frame instead of HELLO, then closes it.
    private func refuse(_ channel: Channel, _ code: ErrorCode, _ why: String) -> EventLoopFuture<Void> {
        let refusal = Envelope(0, .error(code: code, message: why))
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RefusingHandler(frame: refusal.encoded()))
        }
    }

    /// Serves until graceful shutdown is requested (swift-service-lifecycle) or `shutdown()`
    /// is called: peer links run in this task group and are cancelled when it ends.
    public func run() async throws {
        if boundAddress == nil {
            do {
                try await start()
            } catch {
                await drain()  // the threads made in init stop with the failed start
                throw error
            }
        }
        let listener = state.withLockedValue { s -> Channel? in
            s.running = !s.shutDown
            return s.running ? s.listener : nil
        }
        if let listener {
            let node = self.node
            // Graceful shutdown and cancellation both begin the shutdown: the listener closes,
            // which ends the wait below and cancels the peer links.
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    await withDiscardingTaskGroup { group in
                        group.addTask { await node.collectTombstonesPeriodically() }
                        for address in configuration.peers {
                            let f = configuration.peerFilters[address] ?? PeerFilters()
                            group.addTask { await PeerLink(address: address, filter: f.pull, pushFilter: f.push, host: node).run() }
                        }
                        try? await listener.closeFuture.get()
                        group.cancelAll()
                    }
                } onGracefulShutdown: {
                    self.beginShutdown()
                }
            } onCancel: {
                self.beginShutdown()
            }
        }
        await drain()
    }

    /// Stops accepting, lets in-flight requests finish (up to `drainTimeout`), closes every
    /// connection and stops the store threads. Idempotent; returns once the node has stopped
    /// (when `run()` is serving, it does the draining and this waits for it). The store itself
    /// stays open.
    public func shutdown() async {
        beginShutdown()
        let running = state.withLockedValue { $0.running }
        if !running { await drain() }
        await waitUntilStopped()
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { s -> Bool in
                if !s.stopped { s.stopWaiters.append(c) }
                return s.stopped
            }
            if done { c.resume() }
        }
    }

    /// Starts quiescing: the listener closes and every connection is told to finish up.
    /// Synchronous, so a graceful-shutdown handler can call it.
    private func beginShutdown() {
        let (first, flush) = state.withLockedValue { s -> (Bool, RepeatedTask?) in
            defer {
                s.shutDown = true
                s.abuseFlush = nil
            }
            return (!s.shutDown, s.abuseFlush)
        }
        guard first else { return }
        flush?.cancel()
        // Held CHANGES requests are answered now instead of waiting out their hold.
        node.notifier.wakeAll()
        quiesce.initiateShutdown(promise: nil)
    }

    /// Waits for connections to close (up to `drainTimeout`), closes the rest, stops the store
    /// threads. Runs once; later callers wait for the first to finish.
    private func drain() async {
        let claimed = state.withLockedValue { s -> Bool in
            defer { s.drainClaimed = true }
            return !s.drainClaimed
        }
        guard claimed else {
            await waitUntilStopped()
            return
        }
        beginShutdown()
        let connections = state.withLockedValue { Array($0.connections.values) }
        logger.info("shutting down", metadata: ["connections": "\(connections.count)"])
        let deadline = NIODeadline.now() + configuration.drainTimeout
        for c in connections {
            let remaining = deadline - .now()
            if remaining > .zero {
                _ = try? await withTimeout(remaining, on: c.eventLoop) { c.closeFuture }
            }
            try? await c.close()
        }
        await node.shutdown()
        if ownsGroup { try? await group.shutdownGracefully() }
        logger.info("stopped")
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.stopped = true
            defer { s.stopWaiters = [] }
            return s.stopWaiters
        }
        for w in waiters { w.resume() }
    }
}

/// Waits for `future()` or the timeout, whichever comes first.
private func withTimeout(_ t: TimeAmount, on loop: EventLoop, _ future: () -> EventLoopFuture<Void>) async throws {
    let promise = loop.makePromise(of: Void.self)
    let timer = loop.scheduleTask(in: t) { promise.fail(ChannelError.operationUnsupported) }
    future().whenComplete { r in
        timer.cancel()
        promise.completeWith(r)
    }
    try await promise.futureResult.get()
}

/// Answers a connection over the limit with one ERROR frame, then closes it.
private final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let frame: ByteBuffer
    init(frame: ByteBuffer) { self.frame = frame }

    func channelActive(context: ChannelHandlerContext) {
        context.writeLastAndClose(wrapOutboundOut(frame))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
