import FolioModel
import FolioStore
import FolioProtocol
import FolioClient
import FolioSync
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What every connection of a node shares: the store, the threads that touch it, the limits.
final class NodeServices: PeerLinkHost {
    let store: Store
    let writer: GroupCommitWriter
    let readPool: NIOThreadPool
    /// Searches run on their own thread: however long one takes, GET, LIST, sync and the
    /// other reads keep their threads (searches queue behind each other instead).
    let searchPool: NIOThreadPool
    /// Which search the search thread runs next: one connection at a time in turn.
    let searches: SearchScheduler
    let configuration: NodeConfiguration
    let logger: Logger
    let software = "folio/0.1.0"
    let admission: ConnectionAdmission
    let abuse: AbuseTracker
    let partialFrames: PartialFrameBudget
    let inflated: InflatedBudget
    let notifier: ChangeNotifier
    let loops: EventLoopGroup
    let metrics: NodeMetrics

    init(store: Store, configuration: NodeConfiguration, loops: EventLoopGroup) {
        self.loops = loops
        let metrics = NodeMetrics(factory: configuration.metrics)
        self.metrics = metrics
        self.store = store
        self.configuration = configuration
        self.logger = configuration.logger
        admission = ConnectionAdmission(limits: .init(
            maxConnections: configuration.maxConnections, maxPending: configuration.maxPendingHandshakes,
            maxPerAddress: configuration.maxConnectionsPerAddress))
        abuse = AbuseTracker(
            policy: .init(
                window: configuration.abuseWindow, maxDelay: configuration.authFailureMaxDelay,
                blockThreshold: configuration.authFailureBlockThreshold, blockDuration: configuration.blockDuration),
            logger: configuration.logger)
        partialFrames = PartialFrameBudget(limit: configuration.partialFrameBudget)
        inflated = InflatedBudget(limit: configuration.partialFrameBudget)
        readPool = NIOThreadPool(numberOfThreads: max(1, min(configuration.readThreads, 64)))
        readPool.start()
        searchPool = NIOThreadPool(numberOfThreads: 1)
        searchPool.start()
        searches = SearchScheduler(pool: searchPool)
        let notifier = ChangeNotifier(store: store, loop: loops.next(), pool: readPool)
        self.notifier = notifier
        writer = GroupCommitWriter(
            store: store,
            onCommit: { seq in notifier.committed(upTo: seq) },
            observe: { jobs, nanoseconds in
                metrics.commitBatchSize.record(jobs)
                metrics.commitDuration.recordNanoseconds(nanoseconds)
            })
    }

    /// The change feed after `since`; when it is empty and `waitMillis` > 0, the answer is
    /// held until a change commits (pushed to the waiting peer at once) or the wait ends.
    func changes(on loop: EventLoop, since: UInt64, limit: Int, waitMillis: UInt32) -> EventLoopFuture<Message> {
        let read: @Sendable (Store) throws -> Message = { store in
            let last = try store.lastSequence()
            return .changeBatch(try store.changes(since: since, limit: limit), lastSequence: last)
        }
        return self.read(on: loop, read).flatMap { first in
            guard waitMillis > 0, case let .changeBatch(changes, _) = first, changes.isEmpty else {
                return loop.makeSucceededFuture(first)
            }
            return self.hold(on: loop, after: since, until: .now() + .milliseconds(Int64(waitMillis)), orElse: first) {
                self.read(on: loop, read)
            }
        }
    }

    /// Holds a feed request: answers `next()` once a change after `since` commits, or
    /// `answer` when `deadline` comes first.
    private func hold(
        on loop: EventLoop, after since: UInt64, until deadline: NIODeadline, orElse answer: Message,
        _ next: @escaping @Sendable () -> EventLoopFuture<Message>
    ) -> EventLoopFuture<Message> {
        let promise = loop.makePromise(of: Message.self)
        let done = NIOLockedValueBox(false)
        let finish: @Sendable (EventLoopFuture<Message>) -> Void = { f in
            guard done.withLockedValue({ d in defer { d = true }; return !d }) else { return }
            promise.completeWith(f)
        }
        let id = notifier.register(since: since) { _ in finish(next()) }
        loop.scheduleTask(deadline: deadline) {
            self.notifier.cancel(id)
            finish(loop.makeSucceededFuture(answer))
        }
        return promise.futureResult
    }

    /// FILTERED_CHANGES: like CHANGES, but a wait goes on while commits bring nothing that
    /// matches (each wake re-scans from where the last scan ended), until the wait ends.
    func filteredChanges(on loop: EventLoop, since: UInt64, limit: Int, waitMillis: UInt32, filter: ReplicationFilter) -> EventLoopFuture<Message> {
        let deadline = NIODeadline.now() + .milliseconds(Int64(waitMillis))
        @Sendable func attempt(from: UInt64) -> EventLoopFuture<Message> {
            let read: @Sendable (Store) throws -> Message = { store in
                let last = try store.lastSequence()
                let (changes, scanned) = try store.changes(since: from, limit: limit, filter: filter)
                return .filteredChangeBatch(changes, scanned: max(scanned, since), lastSequence: last)
            }
            return self.read(on: loop, read).flatMap { answer in
                guard case let .filteredChangeBatch(changes, scanned, _) = answer, changes.isEmpty, limit > 0, deadline > .now() else {
                    return loop.makeSucceededFuture(answer)
                }
                return self.hold(on: loop, after: scanned, until: deadline, orElse: answer) { attempt(from: scanned) }
            }
        }
        return attempt(from: since)
    }

    /// How far each replicating peer is known to hold our feed, as recorded (a write only
    /// when it moves); at most `maxAcknowledgedPeers` peers per run of the node.
    static let maxAcknowledgedPeers = 4096
    private let acknowledged = NIOLockedValueBox<[NodeID: UInt64]>([:])

    /// Records, through the writer, that `peer` holds our feed through `seq`.
    func acknowledge(peer: NodeID, through seq: UInt64, on loop: EventLoop) {
        let moved = acknowledged.withLockedValue { a -> Bool in
            // Bounded: peers claiming ever new node ids do not grow it (or the store) for ever.
            guard a[peer] != nil || a.count < Self.maxAcknowledgedPeers else { return false }
            guard seq > a[peer] ?? 0 else { return false }
            a[peer] = seq
            return true
        }
        guard moved else { return }
        let logger = configuration.logger
        writer.submit(on: loop) { w in try w.recordAck(peer: peer, seq: seq) }.whenFailure { error in
            logger.warning("could not record a peer's acknowledgement", metadata: ["node": "\(peer)", "error": "\(error)"])
        }
    }

    /// Collects tombstones every `tombstoneCollectionInterval` (the first time after a
    /// minute, or the interval when shorter), in batches through the writer, until cancelled.
    func collectTombstonesPeriodically() async {
        let interval = configuration.tombstoneCollectionInterval
        var wait = min(interval, .seconds(60))
        let horizon = configuration.tombstoneHorizon
        let ms = horizon.components.seconds &* 1000 &+ horizon.components.attoseconds / 1_000_000_000_000_000
        while true {
            do {
                try await Task.sleep(for: wait)
            } catch {
                return
            }
            wait = interval
            var after: UInt64 = 0
            var total = CollectionResult()
            do {
                while !Task.isCancelled {
                    let from = after
                    let r = try await write { w in try w.collectTombstones(horizon: ms, after: from, limit: 5000) }
                    total.collected += r.collected
                    total.purges += r.purges
                    guard let next = r.resumeAfter else { break }
                    after = next
                }
                if total.collected > 0 {
                    configuration.logger.info("collected tombstones", metadata: ["collected": "\(total.collected)", "purges": "\(total.purges)"])
                }
            } catch {
                configuration.logger.warning("tombstone collection failed; trying again later", metadata: ["error": "\(error)"])
            }
        }
    }

    var features: Hello.Features {
        var all: Hello.Features = [.sync, .search, .filter, .conflicts, .deflate]
        if configuration.compression == .never { all.remove(.deflate) }
        return configuration.keys.isEmpty ? all : all.union(.authRequired)
    }

    /// One read batcher per event loop (each used only on its loop).
    private let batchers = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<ReadBatcher>]>([:])

    /// Runs a search on the search thread, unless `channel` has closed by the time its turn
    /// comes (work for a client that left is dropped, not done).
    func search(on eventLoop: EventLoop, channel: Channel, _ body: @escaping @Sendable (Store) throws -> Message) -> EventLoopFuture<Message> {
        let store = self.store
        let promise = eventLoop.makePromise(of: Message.self)
        let queued = searches.submit(ObjectIdentifier(channel)) { run in
            guard run else { return promise.fail(ProtocolViolation(.shuttingDown, "the node is shutting down")) }
            guard channel.isActive else { return promise.fail(ProtocolViolation(.busy, "the connection closed before its search ran")) }
            promise.completeWith(Result { try body(store) })
        }
        if !queued {
            promise.fail(ProtocolViolation(.busy, "the node has \(SearchScheduler.maxQueued) searches waiting; try again shortly"))
        }
        return promise.futureResult
    }

    /// Runs a store read on the read pool, batched with the other reads of this loop turn;
    /// the future completes on `eventLoop`.
    func read(on eventLoop: EventLoop, _ body: @escaping @Sendable (Store) throws -> Message) -> EventLoopFuture<Message> {
        guard eventLoop.inEventLoop else {
            return eventLoop.flatSubmit { self.read(on: eventLoop, body) }
        }
        let key = ObjectIdentifier(eventLoop)
        let batcher = batchers.withLockedValue { all -> NIOLoopBound<ReadBatcher> in
            if let b = all[key] { return b }
            let b = NIOLoopBound(ReadBatcher(loop: eventLoop, pool: readPool, store: store), eventLoop: eventLoop)
            all[key] = b
            return b
        }
        return batcher.value.submit(body)
    }

    /// Replicating peers that dialled in with a skewed clock, by node: recorded in the store's
    /// peer statuses (as "ADDRESS (incoming)") for `folio peers`, and updated once they are fixed.
    private let skewedIncoming = NIOLockedValueBox<Set<NodeID>>([])

    func noteIncomingClock(node peer: NodeID, address: String, skew: Int64) {
        let skewed = Clocks.isSkewed(skew)
        let known = skewedIncoming.withLockedValue { set -> Bool in
            defer { if skewed { set.insert(peer) } else { set.remove(peer) } }
            return set.contains(peer)
        }
        guard skewed || known else { return }
        var status = PeerStatus(address: "\(address) (incoming)", node: peer)
        status.clockSkew = skew
        status.updated = Hello.wallClock()
        let record = status
        _ = writer.submit(on: loops.next()) { try $0.setPeerStatus(record) }
    }

    // MARK: PeerLinkHost

    var peerClientOptions: FolioClient.Options {
        var options = FolioClient.Options(key: configuration.key)
        options.tls = configuration.tls
        options.clock = store.options.clock
        options.maxFrame = configuration.maxFrame
        options.compression = configuration.compression
        return options
    }

    func write<T: Sendable>(_ job: @escaping @Sendable (StoreWriter) throws -> T) async throws -> T {
        try await writer.submit(on: loops.next(), job).get()
    }

    func peerTraffic(address: String, sent: Int, received: Int) {
        metrics.peerTraffic(address: address, sent: sent, received: received)
    }

    func waitForLocalChange(since: UInt64, timeout: Duration) async -> UInt64 {
        await notifier.wait(since: since, timeout: timeout)
    }

    func shutdown() async {
        await notifier.stop()
        await writer.shutdown()
        try? await readPool.shutdownGracefully()
        try? await searchPool.shutdownGracefully()
    }
}

extension Error {
    /// The ERROR frame a failed request is answered with: the failure's kind, in SPEC §7's words.
    var wireError: (ErrorCode, String) {
        switch self {
        case let v as ProtocolViolation: return (v.code, v.message)
        case let f as Failure: return (ErrorCode(f.kind), "\(f)")
        default: return (.internal, "\(self)")
        }
    }
}
