import FolioModel
import FolioStore
import FolioClient
import FolioProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// What a live peer link needs from the node it runs in.
package protocol PeerLinkHost: Sendable {
    var store: Store { get }
    var logger: Logger { get }
    /// How to dial a peer: the mesh key and TLS files, our node id, clock and frame limit.
    var peerClientOptions: FolioClient.Options { get }
    /// Runs `job` in the node's write path (group commit); returns once it is durable.
    func write<T: Sendable>(_ job: @escaping @Sendable (StoreWriter) throws -> T) async throws -> T
    /// Returns once a change after `since` commits locally, or `timeout` passes; the last sequence.
    func waitForLocalChange(since: UInt64, timeout: Duration) async -> UInt64
    /// Bytes the link to `address` sent and received since its last report (for metrics).
    func peerTraffic(address: String, sent: Int, received: Int)
}

/// Live replication with one configured peer (`folio serve --peer`): connect, catch up both
/// ways, then follow — pulls are answered by the peer as soon as it commits (long-held
/// CHANGES), pushes run as soon as this node commits. On failure it reconnects with
/// exponential backoff. Its state is recorded in the store for `folio peers`.
package final class PeerLink: Sendable {
    package let address: String
    /// What the link takes from the peer and what it sends (SPEC §8.4; empty: everything).
    package let filter: ReplicationFilter
    package let pushFilter: ReplicationFilter
    private let host: any PeerLinkHost
    private let logger: Logger

    package init(address: String, filter: ReplicationFilter = .all, pushFilter: ReplicationFilter = .all, host: any PeerLinkHost) {
        self.address = address
        self.filter = filter
        self.pushFilter = pushFilter
        self.host = host
        var l = host.logger
        l[metadataKey: "peer"] = "\(address)"
        logger = l
    }

    private var store: Store { host.store }

    /// The first retry delay, and the cap of the doubling (SPEC §8: exponential, with jitter).
    package static let firstRetry: Duration = .milliseconds(200)
    package static let maxRetry: Duration = .seconds(30)

    /// The delay before retry `attempt` (1, 2, …): doubling from `firstRetry` up to `maxRetry`,
    /// then a random 50–100 % of that, so links that failed together do not retry together.
    package static func retryDelay(attempt: Int) -> Duration {
        let exp = min(max(attempt - 1, 0), 20)
        let ceiling = min(firstRetry * (1 << exp), maxRetry)
        let ms = Double(ceiling.components.seconds) * 1000 + Double(ceiling.components.attoseconds) / 1e15
        return .milliseconds(Int64(ms * Double.random(in: 0.5...1.0)))
    }

    /// Runs until the task is cancelled.
    package func run() async {
        let failures = NIOLockedValueBox(0)
        var status = await recordedStatus() ?? PeerStatus(address: address)
        (status.filter, status.pushFilter) = (filter.text, pushFilter.text)
        while !Task.isCancelled {
            var options = host.peerClientOptions
            options.nodeID = store.nodeID
            options.requestTimeout = .seconds(120)
            do {
                let client = try await FolioClient.connect(to: address, options: options)
                if client.serverHello.nodeID == store.nodeID {
                    try? await client.close()
                    throw SelfPeer(address: address, node: store.nodeID)
                }
                status.node = client.serverHello.nodeID
                status.clockSkew = client.clockSkew
                if let skew = client.clockSkew, Clocks.isSkewed(skew) {
                    logger.warning(
                        "peer's clock is \(Clocks.describe(skew: skew)) ours: its versions win or lose conflicts by that much (SPEC §5.1)",
                        metadata: ["node": "\(client.serverHello.nodeID)"])
                }
                status.connected = true
                status.lastError = nil
                await record(status)
                logger.info("peer connected", metadata: ["node": "\(client.serverHello.nodeID)"])
                do {
                    // Cancellation closes the connection, which ends any request held open.
                    // The backoff starts over only once a round has made it through.
                    try await withTaskCancellationHandler {
                        try await follow(client, status: status) { failures.withLockedValue { $0 = 0 } }
                    } onCancel: {
                        client.closeNow()
                    }
                } catch {
                    try? await client.close()
                    throw error
                }
            } catch {
                if Task.isCancelled { break }
                let attempt = failures.withLockedValue { n -> Int in
                    n += 1
                    return n
                }
                let delay = PeerLink.retryDelay(attempt: attempt)
                status = await recordedStatus() ?? status
                (status.filter, status.pushFilter) = (filter.text, pushFilter.text)
                status.connected = false
                status.lastError = "\(error)"
                await record(status)
                logger.warning("peer link failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)", "failures": "\(attempt)"])
                try? await Task.sleep(for: delay)
            }
        }
        status.connected = false
        await record(status)
    }

    private func follow(_ client: FolioClient, status initial: PeerStatus, succeeded: @escaping @Sendable () -> Void) async throws {
        let host = self.host
        // Pulled batches commit through the node's write path, like every other write.
        let replicator = Replicator(store: store) { peer, epoch, upTo, articles, prepared in
            try await host.write { w in try w.applyBatch(from: peer, epoch: epoch, upTo: upTo, articles: articles, prepared: prepared) }
        } acknowledge: { peer, seq in
            try await host.write { w in try w.recordAck(peer: peer, seq: seq) }
        }
        let status = LockedStatus(initial)
        let counted = NIOLockedValueBox((sent: 0, received: 0))
        let address = self.address
        let reportTraffic: @Sendable () -> Void = {
            let (sent, received) = (Int(client.bytesSent), Int(client.bytesReceived))
            let (ds, dr) = counted.withLockedValue { c -> (Int, Int) in
                defer { c = (sent, received) }
                return (sent - c.sent, received - c.received)
            }
            host.peerTraffic(address: address, sent: ds, received: dr)
        }
        defer { reportTraffic() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await replicator.pull(from: client, filter: self.filter, follow: true, afterBatch: { report in
                    succeeded()
                    reportTraffic()
                    await self.progressed("pulled", report, status, pending: \.pendingIn)
                })
            }
            group.addTask {
                while true {
                    let r = try await replicator.push(to: client, filter: self.pushFilter)
                    succeeded()
                    reportTraffic()
                    await self.progressed("pushed", r, status, pending: \.pendingOut)
                    _ = await host.waitForLocalChange(since: max(r.checkpoint, r.sourceLastSequence), timeout: .seconds(20))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Logs a batch that changed something and records the link's progress for `folio peers`.
    private func progressed(
        _ what: String, _ r: SyncDirectionReport, _ status: LockedStatus, pending: WritableKeyPath<PeerStatus, UInt64?>
    ) async {
        if r.articlesChanged > 0 {
            logger.info("\(what)", metadata: ["changed": "\(r.articlesChanged)", "checkpoint": "\(r.checkpoint)"])
        }
        let s = status.update {
            for o in r.untransferable where !$0.untransferable.contains(o.description) {
                logger.warning(
                    "article cannot be \(what): too large for one frame; skipped, checkpoint held before it",
                    metadata: ["id": "\(o.id)", "bytes": "\(o.bytes)", "held_checkpoint": "\(r.heldCheckpoint.map(String.init) ?? "-")"])
                $0.untransferable.append(o.description)
            }
            $0.untransferable = Array($0.untransferable.suffix(20))
            $0.lastSuccess = now()
            $0[keyPath: pending] = r.sourceLastSequence &- min(r.checkpoint, r.sourceLastSequence)
        }
        await record(s)
    }

    /// What the store holds about this link (read off the cooperative pool).
    private func recordedStatus() async -> PeerStatus? {
        let (store, address) = (self.store, self.address)
        return try? await offPool { try store.peerStatuses().first { $0.address == address } }
    }

    private func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func record(_ status: PeerStatus) async {
        var s = status
        s.updated = now()
        let snapshot = s
        _ = try? await host.write { try $0.setPeerStatus(snapshot) }
    }
}

/// A peer status shared by the pull and push tasks of one link.
private struct LockedStatus: Sendable {
    private let value: NIOLockedValueBox<PeerStatus>
    init(_ v: PeerStatus) { value = NIOLockedValueBox(v) }
    func update(_ body: (inout PeerStatus) -> Void) -> PeerStatus {
        value.withLockedValue { v in
            body(&v)
            return v
        }
    }
}

/// A configured peer turned out to be this node's own store.
package struct SelfPeer: Error, CustomStringConvertible {
    package var address: String
    package var node: NodeID
    package var description: String { "the peer at \(address) is this node itself (node \(node.hex)); check --peer" }
}
