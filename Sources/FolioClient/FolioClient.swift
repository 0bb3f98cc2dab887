import FolioModel
import FolioProtocol
import FolioTransport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A connection to a Folio node, for programs.
///
///     let client = try await FolioClient.connect(to: "127.0.0.1:7070")
///     let outcome = try await client.put(Article(id: "a1", title: "Hello", body: "…"))
///     let state = try await client.get("a1")
///     print(state.article?.title ?? "(deleted)")
///     try await client.close()
///
/// One client is safe to share between tasks; concurrent calls are pipelined over the one
/// connection and matched to their responses by request id. Every call has a timeout. Errors
/// are `FolioClientError` values.
public final class FolioClient: Sendable {
    public struct Options: Sendable {
        /// The mesh's shared key, when the node requires authentication. With a key (or TLS
        /// files) the connection runs over TLS 1.3 and the key proof is bound to it (SPEC §4.2).
        public var key: SharedKey?
        /// Certificate files of a site's PKI: a CA to verify the node by, and a certificate and
        /// key to present to a node that requires one.
        public var tls = TLSFiles()
        /// True when the connection runs over TLS.
        public var usesTLS: Bool { key != nil || !tls.isEmpty }
        public var connectTimeout: TimeAmount = .seconds(10)
        /// How long a call waits for its response.
        public var requestTimeout: TimeAmount = .seconds(30)
        public var maxFrame: UInt32 = FrameDecoder.defaultMaxFrame
        /// Announced in HELLO; 0 for a plain client.
        public var nodeID: NodeID = .none
        /// Our clock (ms since 1970), announced in HELLO and compared with the node's.
        public var clock: @Sendable () -> Int64 = { Hello.wallClock() }
        /// Whether large frames travel deflated (SPEC §2.1).
        public var compression: Compression = .auto
        public init(key: SharedKey? = nil) { self.key = key }
    }

    /// When article data travels deflated (SPEC §2.1). Deflate costs CPU on both ends and
    /// saves bytes: worth it over any real network link, not to a node on this machine.
    public enum Compression: String, Sendable, CaseIterable {
        /// Deflated unless the node's address is a loopback one (localhost, 127.0.0.0/8, ::1).
        case auto
        /// Deflated whenever the node speaks it.
        case always
        /// Never (the HELLO does not announce `deflate`).
        case never

        func applies(to host: String) -> Bool {
            switch self {
            case .always: return true
            case .never: return false
            case .auto:
                let h = host.lowercased()
                return !(h == "localhost" || h.hasSuffix(".localhost") || h.hasPrefix("127.") || h == "::1" || h == "0:0:0:0:0:0:0:1")
            }
        }
    }

    /// Whether this client asked the node for deflated frames (its HELLO announced `deflate`)
    /// and the node accepts them: then it also deflates what it sends that is large (APPLY).
    public var deflates: Bool {
        state.withLockedValue { $0.connection.deflates }
    }

    /// One TCP (or TLS) connection and its handler; replaced when a write is retried.
    private struct Connection: Sendable {
        let channel: Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
        let hello: Hello
        let clockSkew: Int64?
        let deflates: Bool
    }

    private struct State: Sendable {
        var connection: Connection
        var closed = false
    }

    private let state: NIOLockedValueBox<State>
    private let address: String
    private let group: EventLoopGroup
    private let traffic: TrafficCounter
    public let options: Options
    /// The node's HELLO: its node id, software and features.
    public let serverHello: Hello
    /// The node's clock minus ours when it said HELLO (ms, within a round trip); nil when the
    /// node did not tell. More than `Clocks.maxSkew` either way is skew worth naming.
    public let clockSkew: Int64?

    private init(connection: Connection, address: String, group: EventLoopGroup, traffic: TrafficCounter, options: Options) {
        self.state = NIOLockedValueBox(State(connection: connection))
        self.address = address
        self.group = group
        self.traffic = traffic
        self.options = options
        self.serverHello = connection.hello
        self.clockSkew = connection.clockSkew
    }

    /// Connects to `address` ("host:port") and completes the handshake.
    public static func connect(
        to address: String, key: SharedKey? = nil, options: Options = Options(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(FolioClientError) -> FolioClient {
        try await Self.typed {
            var options = options
            if let key { options.key = key }
            let traffic = TrafficCounter()
            let connection = try await open(address, options: options, group: group, traffic: traffic)
            return FolioClient(connection: connection, address: address, group: group, traffic: traffic, options: options)
        }
    }

    private static func open(_ address: String, options opts: Options, group: EventLoopGroup, traffic: TrafficCounter) async throws -> Connection {
        let target: NodeAddress
        do {
            target = try NodeAddress(address)
        } catch {
            throw FolioClientError.invalidAddress(error.description)
        }
        if opts.usesTLS && opts.key == nil && opts.tls.ca == nil {
            // TLS alone would encrypt to whoever answers: something must prove it is the node.
            throw FolioClientError.unauthorized("nothing would prove the node is the one meant: give its CA (--tls-ca) or the mesh key (--key-file)")
        }
        let tls: ClientTLS?
        do {
            tls = opts.usesTLS ? try ClientTLS(files: opts.tls) : nil
        } catch {
            throw FolioClientError.unauthorized("\(error)")
        }
        // (Promises only once nothing can throw before they are completed.)
        let loop = group.next()
        let handshake = loop.makePromise(of: Hello.self)
        let features: Hello.Features = opts.compression.applies(to: target.host) ? [.deflate] : []
        let hello = Hello(nodeID: opts.nodeID, software: "folio-client/0.1.0", features: features, nonce: Hello.freshNonce(), maxFrame: opts.maxFrame, clock: opts.clock())
        let boundHandler = loop.makePromise(of: NIOLoopBound<ClientConnectionHandler>.self)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(opts.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        let limits = FrameLimits(inbound: FrameDecoder.preAuthMaxFrame, outbound: FrameDecoder.preAuthMaxFrame)
                        let handler = ClientConnectionHandler(hello: hello, key: opts.key, handshake: handshake, limits: limits)
                        let sync = ch.pipeline.syncOperations
                        try sync.addHandler(TrafficCountingHandler(counter: traffic))
                        if let tls {
                            try sync.addHandler(PlaintextAnswerDetector())
                            try sync.addHandler(tls.makeHandler())
                        }
                        try sync.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
                        try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                        try sync.addHandler(handler)
                        boundHandler.succeed(NIOLoopBound(handler, eventLoop: ch.eventLoop))
                    }
                }
                .connect(host: target.host, port: target.port).get()
        } catch {
            handshake.fail(error)
            boundHandler.fail(error)
            throw FolioClientError.closed("cannot connect to \(target): \(Self.describeConnectFailure(error))")
        }
        let timer = loop.scheduleTask(in: opts.connectTimeout) {
            handshake.fail(FolioClientError.timeout("no handshake from \(address) within \(opts.connectTimeout)"))
        }
        do {
            let serverHello = try await handshake.futureResult.get()
            timer.cancel()
            let handler = try await boundHandler.futureResult.get()
            let skew = serverHello.clock == 0 ? nil : Clocks.skew(theirs: serverHello.clock, ours: opts.clock())
            let deflates = features.contains(.deflate) && serverHello.features.contains(.deflate)
            return Connection(channel: channel, handler: handler, hello: serverHello, clockSkew: skew, deflates: deflates)
        } catch {
            timer.cancel()
            try? await channel.close()
            throw error
        }
    }

    /// Replaces `broken` with a new connection (unless another call already did) and returns
    /// the current one. Fails when the client was closed or the node is now another node.
    private func reconnect(replacing broken: Connection) async throws -> Connection {
        let fresh = try await Self.open(address, options: options, group: group, traffic: traffic)
        let (current, kept) = state.withLockedValue { s -> (Connection?, Bool) in
            if s.closed { return (nil, false) }
            if s.connection.channel !== broken.channel { return (s.connection, false) }
            s.connection = fresh
            return (fresh, true)
        }
        if !kept { try? await fresh.channel.close() }
        guard let current else { throw FolioClientError.closed("the client was closed") }
        guard current.hello.nodeID == serverHello.nodeID else {
            throw FolioClientError.closed("\(address) is now node \(current.hello.nodeID), not \(serverHello.nodeID); not retrying there")
        }
        return current
    }

    /// Sends one request and waits for its response; an ERROR response is thrown.
    public func request(_ message: Message) async throws(FolioClientError) -> Message {
        try await Self.typed {
            try await request(message, on: state.withLockedValue { $0.connection })
        }
    }

    private func request(_ message: Message, on connection: Connection) async throws -> Message {
        let loop = connection.channel.eventLoop
        let promise = loop.makePromise(of: Message.self)
        let handler = connection.handler
        let timeout = options.requestTimeout
        loop.execute {
            guard let id = handler.value.send(message, promise: promise) else { return }
            let timer = loop.scheduleTask(in: timeout) {
                handler.value.abandon(id, error: .timeout("no answer to \(message.kind) within \(timeout)"))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        let response = try await promise.futureResult.get()
        if case let .error(code, text) = response { throw FolioClientError(code: code, message: text) }
        return response
    }

    /// Sends a PUT or DELETE that carries a write id; when it goes unanswered (the connection
    /// broke or the answer timed out) it reconnects and sends it once more, with the same id,
    /// so the node answers with the original outcome if the first one was applied (SPEC §4.5).
    private func write(_ message: Message) async throws -> Message {
        let connection = state.withLockedValue { $0.connection }
        do {
            return try await request(message, on: connection)
        } catch let e as FolioClientError where e.leavesWriteUnanswered {
            let fresh: Connection
            do {
                fresh = try await reconnect(replacing: connection)
            } catch {
                throw FolioClientError.closed("\(e.description); reconnecting to retry the \(message.kind) failed: \(error)")
            }
            do {
                return try await request(message, on: fresh)
            } catch let again as FolioClientError where again.leavesWriteUnanswered {
                let id: String
                switch message {
                case let .put(_, _, w?), let .delete(_, _, w?): id = "\(w)"
                default: id = "-"
                }
                throw FolioClientError.closed(
                    "the outcome of this \(message.kind) is unknown: it may have been applied (write id \(id)); sent twice, answered neither time (\(again.description)). Read the article to see")
            }
        }
    }

    /// A connect failure in one readable phrase ("connection refused", "host not found", …)
    /// instead of NIO's internal description.
    static func describeConnectFailure(_ error: Error) -> String {
        switch error {
        case let e as NIOConnectionError:
            if let io = e.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first {
                return String(cString: strerror(io.errnoCode)).lowercased()
            }
            if e.connectionErrors.isEmpty && (e.dnsAError != nil || e.dnsAAAAError != nil) { return "host not found" }
            return e.connectionErrors.first.map { "\($0.error)" } ?? "no address to connect to"
        case ChannelError.connectTimeout(let t):
            return "no answer within \(t.nanoseconds / 1_000_000) ms"
        case let io as IOError:
            return String(cString: strerror(io.errnoCode)).lowercased()
        default:
            return "\(error)"
        }
    }

    /// Runs `body`, reporting any error that is not already a `FolioClientError` as one (a
    /// channel error is the connection's: `.closed`), so every public call throws one type.
    static func typed<T>(_ body: () async throws -> T) async throws(FolioClientError) -> T {
        do {
            return try await body()
        } catch let e as FolioClientError {
            throw e
        } catch {
            throw FolioClientError.closed("\(error)")
        }
    }

    private func unexpected(_ m: Message, for what: String) -> FolioClientError {
        .protocolError("the node answered \(what) with \(m.kind)")
    }

    // MARK: Operations

    /// Round-trip time of a PING.
    public func ping() async throws(FolioClientError) -> Duration {
        try await Self.typed {
            let clock = ContinuousClock()
            let start = clock.now
            let token = UInt64.random(in: 0...UInt64.max)
            guard case .pong(token) = try await request(.ping(token)) else { throw FolioClientError.protocolError("PONG did not echo the token") }
            return clock.now - start
        }
    }

    /// The article with its winner's body, or every sibling's with `allVersions`.
    /// Throws `.notFound` when absent; a deleted article comes back with `isDeleted`.
    public func get(_ id: String, allVersions: Bool = false) async throws(FolioClientError) -> ArticleState {
        try await Self.typed {
            let m = try await request(.get(id: id, allVersions: allVersions))
            guard case let .article(s) = m else { throw unexpected(m, for: "GET") }
            return s
        }
    }

    /// Writes an article. With `context` (from a read), it supersedes only what that read saw.
    @discardableResult
    public func put(_ article: Article, context: VersionVector? = nil) async throws(FolioClientError) -> WriteOutcome {
        try await Self.typed {
            let m = try await write(.put(article, context: context, writeID: .random()))
            guard case let .written(o) = m else { throw unexpected(m, for: "PUT") }
            return o
        }
    }

    /// Deletes an article (a tombstone version). Throws `.notFound` when absent or deleted.
    @discardableResult
    public func delete(_ id: String, context: VersionVector? = nil) async throws(FolioClientError) -> WriteOutcome {
        try await Self.typed {
            let m = try await write(.delete(id: id, context: context, writeID: .random()))
            guard case let .written(o) = m else { throw unexpected(m, for: "DELETE") }
            return o
        }
    }

    /// One page of articles in id order (bodies not included); `more` says another page follows.
    public func list(_ query: ListQuery = ListQuery()) async throws(FolioClientError) -> (articles: [ArticleState], more: Bool) {
        try await Self.typed {
            let m = try await request(.list(query))
            guard case let .listed(items, more) = m else { throw unexpected(m, for: "LIST") }
            return (items, more)
        }
    }

    public func statistics() async throws(FolioClientError) -> StoreStatistics {
        try await Self.typed {
            let m = try await request(.stats)
            guard case let .statistics(s) = m else { throw unexpected(m, for: "STATS") }
            return s
        }
    }

    /// Full-text search of the node's store (SPEC §6.2): the best `limit` hits, best first.
    /// A node that does not offer search (no `search` feature in its HELLO) is reported as
    /// `.unavailable` without asking it.
    public func search(_ query: String, limit: UInt32 = 20) async throws(FolioClientError) -> [SearchHit] {
        try await Self.typed {
            guard serverHello.features.contains(.search) else {
                throw FolioClientError.unsupported("the node at \(address) does not offer search (an older folio)")
            }
            let m = try await request(.search(query: query, limit: limit))
            guard case let .searchResults(hits) = m else { throw unexpected(m, for: "SEARCH") }
            // What SPEC §6.2 promises, checked: a node that breaks it is not believed.
            guard hits.count <= Int(min(limit, 1000)) else {
                throw FolioClientError.protocolError("the node answered SEARCH with \(hits.count) hits, over the \(min(limit, 1000)) asked for")
            }
            // Ties are not held to an order: a node of an earlier release sorts them as Strings.
            for (a, b) in zip(hits, hits.dropFirst()) where b.score > a.score {
                throw FolioClientError.protocolError("the node answered SEARCH with hits out of order (\"\(b.id)\" scored above \"\(a.id)\" before it)")
            }
            var seen = Set<[UInt8]>()
            for h in hits where !seen.insert(Array(h.id.utf8)).inserted {
                throw FolioClientError.protocolError("the node answered SEARCH with \"\(h.id)\" twice")
            }
            return hits
        }
    }

    /// The node's change feed after `since`. With `waitMillis`, an empty answer is held until
    /// a change commits on the node (or the wait ends).
    public func changes(since: UInt64, limit: UInt32 = 1000, waitMillis: UInt32 = 0) async throws(FolioClientError) -> (changes: [Change], lastSequence: UInt64) {
        try await Self.typed {
            let m = try await request(.changes(since: since, limit: limit, waitMillis: waitMillis))
            guard case let .changeBatch(c, last) = m else { throw unexpected(m, for: "CHANGES") }
            return (c, last)
        }
    }

    /// The node's change feed after `since`, only articles matching `filter` (SPEC §8.4).
    /// `scanned`: every change up to it is in the answer or does not match. A node without
    /// the `filter` feature is reported as `.unsupported` without asking it.
    public func changes(
        since: UInt64, limit: UInt32 = 1000, waitMillis: UInt32 = 0, filter: ReplicationFilter
    ) async throws(FolioClientError) -> (changes: [Change], scanned: UInt64, lastSequence: UInt64) {
        try await Self.typed {
            guard serverHello.features.contains(.filter) else {
                throw FolioClientError.unsupported("the node at \(address) does not offer filtered replication (an older folio)")
            }
            let m = try await request(.filteredChanges(since: since, limit: limit, waitMillis: waitMillis, filter: filter))
            guard case let .filteredChangeBatch(c, scanned, last) = m else { throw unexpected(m, for: "FILTERED_CHANGES") }
            return (c, scanned, last)
        }
    }

    /// One page of the node's articles in conflict, in id order after `after` (bodies not
    /// included); `more` says another page follows.
    public func conflicts(after: String = "", limit: UInt32 = 1000) async throws(FolioClientError) -> (articles: [ArticleState], more: Bool) {
        try await Self.typed {
            guard serverHello.features.contains(.conflicts) else {
                throw FolioClientError.unsupported("the node at \(address) does not list conflicts (an older folio)")
            }
            let m = try await request(.conflicts(after: after, limit: limit))
            guard case let .conflicted(items, more) = m else { throw unexpected(m, for: "CONFLICTS") }
            return (items, more)
        }
    }

    // MARK: Replication (see Protocol/SPEC.md §8)

    /// The node's identity and feed position.
    public func syncState() async throws(FolioClientError) -> (node: NodeID, epoch: Epoch, lastSequence: UInt64) {
        try await Self.typed {
            let m = try await request(.syncHello)
            guard case let .syncState(node, epoch, last) = m else { throw unexpected(m, for: "SYNC_HELLO") }
            return (node, epoch, last)
        }
    }

    /// Articles by id with all their versions, and the bodies not in `have`, up to `maxBytes`.
    ///
    /// When the node answers `tooLarge` (the first article it would send does not fit one
    /// frame of ours, SPEC §8.1), the ids are asked for one at a time until that article is
    /// found; it comes back in `oversized`, after any ids before it that do not exist.
    public func fetch(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws(FolioClientError) -> FetchResult {
        try await Self.typed {
            do {
                return FetchResult(articles: try await fetchOnce(ids, have: have, maxBytes: maxBytes))
            } catch FolioClientError.tooLarge {
                for id in ids {
                    do {
                        let one = try await fetchOnce([id], have: have, maxBytes: maxBytes)
                        if !one.isEmpty { return FetchResult(articles: one) }
                    } catch let FolioClientError.tooLarge(why) {
                        return FetchResult(oversized: [OversizedArticle(id: id, bytes: Self.announcedSize(why) ?? 0)])
                    }
                }
                return FetchResult()
            }
        }
    }

    private func fetchOnce(_ ids: [String], have: [BodyHash], maxBytes: UInt32) async throws -> [ArticleState] {
        let m = try await request(.fetch(ids: ids, have: have, maxBytes: maxBytes))
        guard case let .fetched(a) = m else { throw unexpected(m, for: "FETCH") }
        return a
    }

    /// The byte count a Folio node puts in a `tooLarge` message ("… is N bytes …"), if any.
    static func announcedSize(_ message: String) -> Int? {
        let words = message.split(separator: " ")
        for i in words.indices.dropLast(2) where words[i] == "is" && words[i + 2].hasPrefix("bytes") {
            if let n = Int(words[i + 1]) { return n }
        }
        return nil
    }

    /// The node's checkpoint for our feed (`node`, `epoch`).
    public func checkpoint(node: NodeID, epoch: Epoch) async throws(FolioClientError) -> UInt64 {
        try await Self.typed {
            let m = try await request(.checkpointGet(node: node, epoch: epoch))
            guard case let .checkpoint(seq) = m else { throw unexpected(m, for: "CHECKPOINT_GET") }
            return seq
        }
    }

    /// Offers changes; the node answers which articles it lacks and which bodies it holds.
    public func offer(_ changes: [Change]) async throws(FolioClientError) -> SyncNeeds {
        try await Self.typed {
            let m = try await request(.offer(changes))
            guard case let .want(ids, have) = m else { throw unexpected(m, for: "OFFER") }
            return SyncNeeds(ids: ids, have: have)
        }
    }

    /// Sends articles the node asked for and the feed position they complete.
    public func apply(node: NodeID, epoch: Epoch, upTo: UInt64, articles: [ArticleState]) async throws(FolioClientError) -> ApplyOutcome {
        try await Self.typed {
            var message = Message.apply(node: node, epoch: epoch, upTo: upTo, articles: articles)
            if deflates, message.largePayloadSize ?? 0 >= DeflatedMessage.minimumLength {
                // Compressed on a pool thread, not on the connection's event loop.
                let plain = message
                message = try await NIOThreadPool.singleton.runIfActive { DeflatedMessage.compressing(plain).map(Message.deflated) ?? plain }
            }
            let m = try await request(message)
            guard case let .applied(changed, created, cp) = m else { throw unexpected(m, for: "APPLY") }
            return ApplyOutcome(changed: Int(changed), conflictsCreated: Int(created), checkpoint: cp)
        }
    }

    /// Bytes written to and read from the connection so far.
    public var bytesSent: UInt64 { traffic.sent }
    public var bytesReceived: UInt64 { traffic.received }

    /// Starts closing the connection without waiting (for cancellation handlers, which cannot
    /// await); pending calls fail with `.closed`.
    public func closeNow() {
        let channel = state.withLockedValue { s -> Channel in
            s.closed = true
            return s.connection.channel
        }
        channel.close(promise: nil)
    }

    /// Closes the connection; pending calls fail with `.closed`. (Closing cannot fail in a way
    /// a caller could act on; the signature keeps `try` working for callers.)
    public func close() async throws(FolioClientError) {
        let channel = state.withLockedValue { s -> Channel in
            s.closed = true
            return s.connection.channel
        }
        try? await channel.close()
    }
}
