import Folio
import FolioClient
import FolioProtocol
import Foundation
import Logging
import NIOCore

/// Live replication with one configured peer (`folio serve --peer`): connect, catch up both
/// ways, then follow — pulls are answered by the peer as soon as it commits (long-held
/// CHANGES), pushes run as soon as this node commits. On failure it reconnects with
/// exponential backoff. Its state is recorded in the store for `folio peers`.
final class PeerLink: Sendable {
    let address: String
    private let node: NodeContext
    private let logger: Logger

    init(address: String, node: NodeContext) {
        self.address = address
        self.node = node
        var l = node.logger
        l[metadataKey: "peer"] = "\(address)"
        logger = l
    }

    private var store: Store { node.store }

    /// Runs until the task is cancelled.
    func run() async {
        var backoff: Duration = .milliseconds(200)
        var status = PeerStatus(address: address)
        while !Task.isCancelled {
            var options = FolioClient.Options(key: node.configuration.key)
            options.nodeID = store.nodeID.rawValue
            options.requestTimeout = .seconds(120)
            do {
                let client = try await FolioClient.connect(to: address, options: options)
                status.node = NodeID(client.serverHello.nodeID)
                status.connected = true
                status.lastError = nil
                await record(status)
                logger.info("peer connected", metadata: ["node": "\(NodeID(client.serverHello.nodeID))"])
                backoff = .milliseconds(200)
                do {
                    // Cancellation closes the connection, which ends any request held open.
                    try await withTaskCancellationHandler {
                        try await follow(client, status: status)
                    } onCancel: {
                        Task { try? await client.close() }
                    }
                } catch {
                    try? await client.close()
                    throw error
                }
            } catch {
                if Task.isCancelled { break }
                status.connected = false
                status.lastError = "\(error)"
                await record(status)
                logger.warning("peer link failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
        status.connected = false
        await record(status)
    }

    private func follow(_ client: FolioClient, status initial: PeerStatus) async throws {
        let node = self.node
        let replicator = Replicator(store: store) { peer, epoch, upTo, articles in
            let m = try await node.writer.submit(on: node.loops.next()) { w in
                let o = try w.applyBatch(from: peer, epoch: epoch, upTo: upTo, articles: articles)
                return .applied(changed: UInt32(o.changed), conflictsCreated: UInt32(o.conflictsCreated), checkpoint: o.checkpoint)
            }.get()
            guard case let .applied(c, k, cp) = m else { throw FolioClientError.protocolError("unexpected apply result") }
            return ApplyOutcome(changed: Int(c), conflictsCreated: Int(k), checkpoint: cp)
        }
        let status = LockedStatus(initial)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await replicator.pull(from: client, follow: true, afterBatch: { report in
                    if report.articlesChanged > 0 {
                        self.logger.info("pulled", metadata: ["changed": "\(report.articlesChanged)", "checkpoint": "\(report.checkpoint)"])
                    }
                    let s = status.update {
                        $0.lastSuccess = self.now()
                        $0.pendingIn = report.sourceLastSequence &- min(report.checkpoint, report.sourceLastSequence)
                    }
                    await self.record(s)
                })
            }
            group.addTask {
                while true {
                    let r = try await replicator.push(to: client)
                    if r.articlesChanged > 0 {
                        self.logger.info("pushed", metadata: ["changed": "\(r.articlesChanged)", "checkpoint": "\(r.checkpoint)"])
                    }
                    let s = status.update {
                        $0.lastSuccess = self.now()
                        $0.pendingOut = r.sourceLastSequence &- min(r.checkpoint, r.sourceLastSequence)
                    }
                    await self.record(s)
                    _ = await node.notifier.wait(since: max(r.checkpoint, r.sourceLastSequence), timeout: .seconds(20))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func record(_ status: PeerStatus) async {
        var s = status
        s.updated = now()
        let snapshot = s
        _ = try? await node.writer.submit(on: node.loops.next()) { w in
            try w.setPeerStatus(snapshot)
            return .checkpoint(0)
        }.get()
    }
}

/// A peer status shared by the pull and push tasks of one link.
private final class LockedStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var value: PeerStatus
    init(_ v: PeerStatus) { value = v }
    func update(_ body: (inout PeerStatus) -> Void) -> PeerStatus {
        lock.lock()
        defer { lock.unlock() }
        body(&value)
        return value
    }
}
