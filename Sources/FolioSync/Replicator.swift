import FolioModel
import FolioStore
import FolioClient
import FolioProtocol
import NIOConcurrencyHelpers
import NIOPosix

/// Limits of one sync batch.
public struct SyncOptions: Sendable {
    /// Changes read from a feed per round trip.
    public var batchCount: UInt32 = 1000
    /// Bytes of articles (bodies included) per FETCH or APPLY; an article larger than this
    /// still travels, alone.
    public var batchBytes = 4 << 20
    public init() {}
}

/// What one direction of a sync did.
public struct SyncDirectionReport: Sendable, Equatable {
    /// Articles whose versions changed on the receiving side.
    public var articlesChanged = 0
    /// Articles that became conflicts on the receiving side.
    public var conflictsCreated = 0
    /// Feed entries examined.
    public var changesExamined = 0
    /// Articles transferred.
    public var articlesSent = 0
    /// The checkpoint reached (a sequence of the source's feed).
    public var checkpoint: UInt64 = 0
    /// The source's last sequence when last seen (for pending estimates).
    public var sourceLastSequence: UInt64 = 0
    /// Changes offered to the peer (a push); changes the peer was known to hold are not.
    public var changesOffered = 0
    /// Articles that could not be transferred (too large for one frame), in feed order.
    public var untransferable: [OversizedArticle] = []
    /// While an article was skipped, the checkpoint stays just before its change, so a later
    /// sync (after the article shrinks, or with a peer that takes larger frames) retries it.
    public var heldCheckpoint: UInt64?
    /// Articles the receiving side refused as possibly deleted ones coming back (SPEC §5.2).
    /// Known for pulls (the refusal is ours); a node refusing a push only logs it.
    public var refusedAsStale: [String] = []
    /// Where the direction started.
    public var checkpointAtStart: UInt64 = 0
    public init() {}
}

/// Progress of a running sync, for progress bars.
public struct SyncProgress: Sendable {
    public var direction: String
    public var done: UInt64
    public var total: UInt64
}

/// Replicates between a local store and a peer (Protocol/SPEC.md §8).
///
/// A pull reads the source's change feed from the checkpoint kept for (source node, source
/// epoch), asks only for the articles this store lacks (and only the bodies it lacks), and
/// merges each batch together with the new checkpoint in one transaction: a cut or a crash
/// resumes from the last committed batch, never from zero and never past it. A push is the
/// same with roles swapped, driven from this side with OFFER and APPLY.
public struct Replicator: Sendable {
    /// Commits a pulled chunk: the source, checkpoint scope, checkpoint, the articles, and
    /// their search documents prepared ahead (`Store.prepareSearchDocuments`).
    public typealias LocalApply = @Sendable (NodeID, Epoch, UInt64, [ArticleState], [String: PreparedSearchDocument]) async throws -> ApplyOutcome
    /// Records locally that a peer holds this store's feed through a sequence.
    public typealias LocalAck = @Sendable (NodeID, UInt64) async throws -> Void

    public let store: Store
    public let options: SyncOptions
    let applyLocally: LocalApply
    let acknowledge: LocalAck
    /// The sequence numbers here of articles a pull of this replicator changed into exactly
    /// what its source sent: a push to that same source skips them while unchanged since (a
    /// fresh pull is not offered back). A sequence names one article's one change, so an
    /// article changed since has another and is offered. Sequences alone, not ids, kept as
    /// ranges (a pull numbers its changes one after another: a pull of a million articles is
    /// typically one range). Bounded (in ranges); shared by a link's pull and push.
    private let pulled = NIOLockedValueBox(SequenceRanges())
    static let maxRemembered = 1_000_000

    /// `applyLocally` commits a batch into `store` (a node routes it through its writer thread).
    public init(store: Store, options: SyncOptions = SyncOptions(), applyLocally: LocalApply? = nil, acknowledge: LocalAck? = nil) {
        self.store = store
        self.options = options
        self.acknowledge = acknowledge ?? { node, seq in
            try await offPool { try store.write { try $0.recordAck(peer: node, seq: seq) } }
        }
        self.applyLocally = applyLocally ?? { node, epoch, upTo, articles, prepared in
            try await offPool { try store.write { try $0.applyBatch(from: node, epoch: epoch, upTo: upTo, articles: articles, prepared: prepared) } }
        }
    }

    /// Runs a store read of this replicator off the cooperative pool.
    private func read<T: Sendable>(_ body: @escaping @Sendable (Store) throws -> T) async throws -> T {
        let store = self.store
        return try await offPool { try body(store) }
    }

    /// The checkpoint to commit with a chunk: the sequence just before the first change whose
    /// article is still to come (or the batch's end when none is).
    static func upTo(_ changes: [Change], pending: Set<[UInt8]>, since: UInt64, end: UInt64? = nil) -> UInt64 {
        guard let first = changes.firstIndex(where: { pending.contains(Array($0.id.utf8)) }) else { return end ?? changes.last?.seq ?? since }
        return first == 0 ? since : changes[first - 1].seq
    }

    /// Moves the wanted articles of one feed batch in chunks — `fetch` answers a prefix of the
    /// ids asked for, in order — and hands each chunk to `commit` with the checkpoint it
    /// completes (`commit` applies it, or queues it behind the chunk before). A batch with
    /// nothing wanted still advances the checkpoint to its end. An article too large to send
    /// is skipped and recorded; the checkpoint then stays below its change. `end` is where the
    /// batch ends in the source's feed (past its last change when a filter left out the
    /// changes after it).
    private func transfer(
        _ changes: [Change], since: UInt64, end: UInt64, wanted: [String], into report: inout SyncDirectionReport,
        fetch: (_ report: inout SyncDirectionReport, _ ids: [String]) async throws -> FetchResult,
        commit: (_ report: inout SyncDirectionReport, _ upTo: UInt64, _ articles: [ArticleState]) async throws -> Void
    ) async throws {
        func held(_ upTo: UInt64, _ report: SyncDirectionReport) -> UInt64 { min(upTo, report.heldCheckpoint ?? .max) }
        var pending = wanted
        if pending.isEmpty {
            try await commit(&report, held(end, report), [])
            return
        }
        while !pending.isEmpty {
            let chunk = try await fetch(&report, pending)
            for o in chunk.oversized {
                report.untransferable.append(o)
                if let change = changes.first(where: { $0.id.sameBytes(o.id) }) {
                    report.heldCheckpoint = min(report.heldCheckpoint ?? .max, max(since, change.seq - 1))
                }
            }
            // Ids the source no longer holds are skipped; if it holds none of the rest, the
            // batch is done.
            guard let last = chunk.lastAnswered(in: pending) else {
                try await commit(&report, held(end, report), [])
                return
            }
            pending.removeFirst(last + 1)
            let upTo = held(Replicator.upTo(changes, pending: Set(pending.map { Array($0.utf8) }), since: since, end: end), report)
            report.articlesSent += chunk.articles.count
            try await commit(&report, upTo, chunk.articles)
        }
    }

    /// Adds what committing a chunk did to `report`.
    private static func fold(_ o: ApplyOutcome, into report: inout SyncDirectionReport) {
        report.refusedAsStale += o.refusedAsStale
        report.articlesChanged += o.changed
        report.conflictsCreated += o.conflictsCreated
        report.checkpoint = o.checkpoint
    }

    /// A pull's chunks commit one at a time and in feed order, each with its checkpoint, while
    /// the next chunk is already being fetched: the link and the local disk work at once.
    /// Chunks are fetched saying which bodies are held *before* the chunk ahead commits; if that
    /// one released a body the next relies on, the next chunk's commit fails with
    /// `missingBody`, and the pull starts over from the committed checkpoint (which has moved).
    private struct BodyRace: Error {}

    /// One batch of a feed: its changes, where it ends in the feed, the feed's last sequence.
    private typealias Batch = (changes: [Change], end: UInt64, last: UInt64)

    static func unsupportedFilter() -> FolioClientError {
        .unsupported("the peer does not offer filtered replication (an older folio); sync without a filter")
    }

    /// Pulls from `peer` until caught up (or, with `follow`, forever: each empty answer is held
    /// by the source until it commits something new). With a `filter`, only matching articles
    /// come (the source applies it), under a checkpoint of their own (SPEC §8.4).
    public func pull(
        from peer: SyncPeer, filter: ReplicationFilter = .all, follow: Bool = false, waitMillis: UInt32 = 20_000,
        progress: (@Sendable (SyncProgress) -> Void)? = nil, afterBatch: (@Sendable (SyncDirectionReport) async -> Void)? = nil
    ) async throws -> SyncDirectionReport {
        guard filter.isEmpty || peer.filters else { throw Self.unsupportedFilter() }
        let source = try await peer.syncState()
        // The epoch names our checkpoint: from outside, it must be one (not a scope, not 10 KB).
        guard source.node != .none, source.node != .purgeMarker, (try? source.epoch.scope())?.filter.isEmpty == true else {
            throw FolioClientError.protocolError("the peer's SYNC_STATE names node \(source.node.hex) with an invalid epoch (1–64 printable ASCII characters, no /)")
        }
        let scope = source.epoch.scoped(by: filter)
        var report = SyncDirectionReport()
        var since = try await read { try $0.checkpoint(node: source.node, epoch: source.epoch, filter: filter) }
        report.checkpoint = since
        report.checkpointAtStart = since
        report.sourceLastSequence = source.lastSequence
        let apply: @Sendable (UInt64, [ArticleState], [String: PreparedSearchDocument]) async throws -> ApplyOutcome = { [pulled, applyLocally] upTo, articles, prepared in
            let o = try await applyLocally(source.node, scope, upTo, articles, prepared)
            if !o.heldBySource.isEmpty {
                pulled.withLockedValue { p in
                    for seq in o.heldBySource.values where p.ranges.count < Replicator.maxRemembered { p.insert(seq) }
                }
            }
            return o
        }
        while true {
            do {
                since = try await pullBatches(
                    from: peer, filter: filter, since: since, follow: follow, waitMillis: waitMillis, report: &report,
                    apply: apply, progress: progress, afterBatch: afterBatch)
                break
            } catch is BodyRace {
                since = report.checkpoint
            }
        }
        // Tell the source where this pull ended (an empty read after it): that is what lets it
        // collect the tombstones it just sent (SPEC §5.2).
        if since > report.checkpointAtStart {
            if filter.isEmpty {
                _ = try await peer.changes(since: since, limit: 0, waitMillis: 0)
            } else {
                _ = try await peer.changes(since: since, limit: 0, waitMillis: 0, filter: filter)
            }
        }
        return report
    }

    /// What a pull's child tasks finish: a committed chunk, a batch of the feed read ahead
    /// (with what this store lacks of it), or the first chunk of such a batch, fetched.
    private enum Step: Sendable {
        case committed(ApplyOutcome)
        case read(Batch, SyncNeeds)
        case fetched(end: UInt64, FetchResult, [String: PreparedSearchDocument])
    }

    /// Reads the source's feed from `since` and commits what this store lacks, chunk by chunk;
    /// returns where it stopped in the feed.
    ///
    /// Three kinds of work overlap, as child tasks of one group: the feed is read up to two
    /// batches ahead; each batch read ahead has its first chunk fetched at once (so the next
    /// FETCH is already on the wire while the current one arrives, and the link does not idle a
    /// round trip between them); chunks commit one at a time, in feed order, each with its
    /// checkpoint, while the next is fetched.
    private func pullBatches(
        from peer: SyncPeer, filter: ReplicationFilter, since start: UInt64, follow: Bool, waitMillis: UInt32,
        report: inout SyncDirectionReport, apply: @escaping @Sendable (UInt64, [ArticleState], [String: PreparedSearchDocument]) async throws -> ApplyOutcome,
        progress: (@Sendable (SyncProgress) -> Void)?, afterBatch: (@Sendable (SyncDirectionReport) async -> Void)?
    ) async throws -> UInt64 {
        let (batchCount, fetchBytes) = (options.batchCount, UInt32(clamping: options.batchBytes))
        @Sendable func readBatch(from: UInt64, wait: UInt32) async throws -> Batch {
            if filter.isEmpty {
                let (c, last) = try await peer.changes(since: from, limit: batchCount, waitMillis: wait)
                return (c, c.last?.seq ?? from, last)
            }
            let (c, scanned, last) = try await peer.changes(since: from, limit: batchCount, waitMillis: wait, filter: filter)
            return (c, max(scanned, from), last)
        }
        @Sendable func lacking(_ changes: [Change]) async throws -> SyncNeeds {
            changes.isEmpty ? SyncNeeds(ids: [], have: []) : try await read { try $0.needs(changes) }
        }
        let store = self.store
        /// A chunk, with its search documents prepared off the pool as soon as it arrives
        /// (while the chunk ahead commits), so its write transaction does not tokenize it.
        @Sendable func fetch(_ ids: [String], have needs: SyncNeeds) async throws -> (FetchResult, [String: PreparedSearchDocument]) {
            // Re-check the bodies we hold: an earlier chunk may have released one.
            let held = try await read { try $0.heldBodies(needs.have, holders: needs.haveIn) }
            let chunk = try await peer.fetch(ids, have: held, maxBytes: fetchBytes)
            guard store.maintainsSearchIndex, !chunk.articles.isEmpty else { return (chunk, [:]) }
            return (chunk, try await offPool { store.prepareSearchDocuments(chunk.articles) })
        }
        /// Whether reading may go on after `batch` without waiting for anything new.
        func continues(_ batch: Batch) -> Bool {
            batch.end < batch.last && (!batch.changes.isEmpty || !filter.isEmpty)
        }
        return try await withThrowingTaskGroup(of: Step.self) { group in
            var since = start
            var committing = false
            var readAhead: [(Batch, SyncNeeds)] = []  // in feed order, not yet transferred
            var reading = false
            var nextRead: UInt64?  // where the next read-ahead starts
            var firstChunks: [UInt64: (FetchResult, [String: PreparedSearchDocument])] = [:]  // by batch end
            var prepared: [String: PreparedSearchDocument] = [:]  // of chunks fetched, not yet committed
            var fetching = Set<UInt64>()
            var fetched = Set<UInt64>()  // batches (by end) whose first chunk was fetched ahead

            func startReading() {
                guard let from = nextRead, !reading, readAhead.count < 2 else { return }
                nextRead = nil
                reading = true
                group.addTask {
                    let batch = try await readBatch(from: from, wait: 0)
                    return .read(batch, try await lacking(batch.changes))
                }
            }
            /// Fetches ahead the first chunk of the next batch read ahead — one chunk at a time,
            /// so at most one waits (decoded, its documents prepared) besides the one committing
            /// and the one being fetched: the syncing process's memory follows the chunk size.
            func prefetch() {
                guard fetching.isEmpty, firstChunks.isEmpty,
                    let (batch, needs) = readAhead.first(where: { !$0.1.ids.isEmpty && !fetched.contains($0.0.end) })
                else { return }
                startFetching(batch, needs)
            }
            func startFetching(_ batch: Batch, _ needs: SyncNeeds) {
                guard !needs.ids.isEmpty else { return }
                fetched.insert(batch.end)
                fetching.insert(batch.end)
                group.addTask {
                    let (chunk, documents) = try await fetch(needs.ids, have: needs)
                    return .fetched(end: batch.end, chunk, documents)
                }
            }
            /// Waits for the next child task to finish and takes in what it did.
            func step(_ report: inout SyncDirectionReport) async throws {
                let done: Step
                do {
                    done = try await group.next()!
                } catch StoreError.missingBody {
                    throw BodyRace()
                }
                switch done {
                case let .committed(o):
                    committing = false
                    Self.fold(o, into: &report)
                case let .read(batch, needs):
                    reading = false
                    readAhead.append((batch, needs))
                    prefetch()
                    if continues(batch) { nextRead = batch.end }
                    startReading()
                case let .fetched(end, chunk, documents):
                    fetching.remove(end)
                    firstChunks[end] = (chunk, documents)
                }
            }
            /// Waits for the chunk being committed, if any.
            func join(_ report: inout SyncDirectionReport) async throws {
                while committing { try await step(&report) }
            }
            /// Queues a chunk behind the one being committed.
            func commit(_ report: inout SyncDirectionReport, _ upTo: UInt64, _ articles: [ArticleState]) async throws {
                try await join(&report)
                var documents: [String: PreparedSearchDocument] = [:]
                for a in articles { documents[a.id] = prepared.removeValue(forKey: a.id) }
                group.addTask { .committed(try await apply(upTo, articles, documents)) }
                committing = true
            }

            var caughtUp = false
            while true {
                try Task.checkCancellation()
                let batch: Batch
                let needs: SyncNeeds
                if readAhead.isEmpty && !reading {
                    // Nothing read ahead (the start, or the feed's end last time): read here,
                    // holding the request when following a feed that was caught up.
                    let wait = follow && caughtUp ? waitMillis : 0
                    if wait > 0 { try await join(&report) }
                    batch = try await readBatch(from: since, wait: wait)
                    needs = try await lacking(batch.changes)
                    if continues(batch) {
                        nextRead = batch.end
                        startReading()
                    }
                } else {
                    while readAhead.isEmpty { try await step(&report) }
                    (batch, needs) = readAhead.removeFirst()
                    startReading()
                    prefetch()
                }
                report.sourceLastSequence = batch.last
                if batch.changes.isEmpty {
                    // A filtered scan that passed only changes outside the filter still moves the
                    // checkpoint, so the next pull does not scan them again.
                    if batch.end > since {
                        try await commit(&report, min(batch.end, report.heldCheckpoint ?? .max), [])
                        since = batch.end
                    }
                    // (An unfiltered empty batch is the end: the feed may end before `last` where
                    // collected tombstones left holes.)
                    if !filter.isEmpty && batch.end < batch.last { continue }
                    caughtUp = true
                    if follow { continue }
                    break
                }
                report.changesExamined += batch.changes.count
                var first = true
                try await transfer(batch.changes, since: since, end: batch.end, wanted: needs.ids, into: &report) { report, ids in
                    if first, firstChunks[batch.end] != nil || fetching.contains(batch.end) {
                        first = false
                        while firstChunks[batch.end] == nil { try await step(&report) }
                        let (chunk, documents) = firstChunks.removeValue(forKey: batch.end)!
                        fetched.remove(batch.end)
                        prepared.merge(documents) { _, new in new }
                        prefetch()
                        return chunk
                    }
                    first = false
                    let (chunk, documents) = try await fetch(ids, have: needs)
                    prepared.merge(documents) { _, new in new }
                    return chunk
                } commit: { report, upTo, articles in
                    try await commit(&report, upTo, articles)
                }
                since = batch.end
                progress?(SyncProgress(direction: "pull", done: since, total: max(batch.last, since)))
                if let afterBatch {
                    try await join(&report)
                    await afterBatch(report)
                }
                if !follow && since >= batch.last { break }
            }
            try await join(&report)
            return since
        }
    }

    /// Pushes this store's changes that `peer` has not yet received; with a `filter`, only
    /// the matching ones, under a checkpoint of their own on the peer (SPEC §8.4).
    public func push(to peer: SyncPeer, filter: ReplicationFilter = .all, progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws -> SyncDirectionReport {
        guard filter.isEmpty || peer.filters else { throw Self.unsupportedFilter() }
        let scope = store.epoch.scoped(by: filter)
        var report = SyncDirectionReport()
        var since = try await peer.checkpoint(node: store.nodeID, epoch: scope)
        if !filter.isEmpty { since = max(since, try await peer.checkpoint(node: store.nodeID, epoch: store.epoch)) }
        report.checkpoint = since
        let last = try await read { try $0.lastSequence() }
        report.sourceLastSequence = last
        let maxArticleBytes = Int(peer.maxFrame) - FrameDecoder.frameOverhead
        // Changes skipped as held by the peer (or left out by the filter) still move its
        // checkpoint: with the next APPLY, or one of their own at the end.
        var skippedUpTo: UInt64?
        let (limit, batchBytes, pulled) = (Int(options.batchCount), options.batchBytes, self.pulled)
        /// A batch of this store's feed from `from`, the changes of it to offer (a fresh pull's
        /// are not), and the peer's answer to offering them.
        @Sendable func prepare(from: UInt64) async throws -> (batch: Batch, changes: [Change], want: SyncNeeds?) {
            let batch: Batch = try await read { store in
                if filter.isEmpty {
                    let c = try store.changes(since: from, limit: limit)
                    return (c, c.last?.seq ?? from, last)
                }
                let (c, scanned) = try store.changes(since: from, limit: limit, filter: filter, deletions: .withinPrefix)
                return (c, max(scanned, from), last)
            }
            let changes = pulled.withLockedValue { p in batch.changes.filter { c in !p.remove(c.seq) } }
            return (batch, changes, changes.isEmpty ? nil : try await peer.offer(changes))
        }
        // The next batch, offered while this one's APPLYs were on the wire: the link does not
        // wait for an OFFER round trip between two batches.
        var prefetched: (batch: Batch, changes: [Change], want: SyncNeeds?)?
        while true {
            try Task.checkCancellation()
            let pipelined = prefetched != nil
            let (batch, changes, offered) = if let p = prefetched { p } else { try await prepare(from: since) }
            prefetched = nil
            if batch.changes.isEmpty {
                guard batch.end > since else { break }
                skippedUpTo = batch.end
                since = batch.end
                continue
            }
            report.changesExamined += batch.changes.count
            guard let offered else {
                skippedUpTo = batch.end
                since = batch.end
                progress?(SyncProgress(direction: "push", done: since, total: max(last, since)))
                continue
            }
            skippedUpTo = nil
            report.changesOffered += changes.count
            async let next = batch.end < last ? prepare(from: batch.end) : nil
            func send(_ changes: [Change], from since: UInt64, _ want: SyncNeeds) async throws {
                let have = Set(want.have)
                try await transfer(changes, since: since, end: batch.end, wanted: want.ids, into: &report) { _, ids in
                    try await read { try $0.fetch(ids, have: have, maxBytes: batchBytes, maxArticleBytes: maxArticleBytes) }
                } commit: { report, upTo, articles in
                    Self.fold(try await peer.apply(node: store.nodeID, epoch: scope, upTo: upTo, articles: articles), into: &report)
                }
            }
            do {
                try await send(changes, from: since, offered)
            } catch where !(error is CancellationError) && (pipelined || Self.isRefusal(error)) {
                // A body the peer's answer named as held may be gone by the time the chunk
                // arrives: released by the APPLY before it (this batch was offered while that
                // one committed), or by a write on the peer (a small body lives in its
                // article's record, and the peer may have rewritten that article). The peer
                // then refuses the chunk whole. Offer what is left of the batch again and send
                // it (a second failure is a real one).
                let rest = changes.filter { $0.seq > report.checkpoint }
                let from = max(since, report.checkpoint)
                do {
                    try await send(rest, from: from, rest.isEmpty ? SyncNeeds(ids: [], have: []) : try await peer.offer(rest))
                } catch where Self.isRefusal(error) {
                    throw PushRefusedAgain(reason: "\(error)")
                }
            }
            since = batch.end
            prefetched = try await next
            progress?(SyncProgress(direction: "push", done: since, total: max(last, since)))
        }
        if let upTo = skippedUpTo, report.heldCheckpoint == nil {
            report.checkpoint = try await peer.apply(node: store.nodeID, epoch: scope, upTo: upTo, articles: []).checkpoint
        }
        // The peer holds our feed through its checkpoint: what lets tombstones be collected
        // here (SPEC §5.2). Recorded only when it moved, so a no-op push writes nothing.
        // A filtered push does not: deletions outside its prefixes stayed here.
        if filter.isEmpty, report.checkpoint > 0, report.checkpoint > (try await read { try $0.acknowledgement(of: peer.peerNode) }) {
            try await acknowledge(peer.peerNode, report.checkpoint)
        }
        return report
    }
}

/// A pushed chunk the peer refused again after it was offered anew: a body the peer named as
/// held was gone by the time the chunk arrived, twice — the peer's store changed under the push
/// (SPEC §8.2). Nothing of the chunk was merged; the next push picks up from the peer's
/// checkpoint. A failure to retry, not input to correct.
public struct PushRefusedAgain: Failure, CustomStringConvertible, Equatable {
    public let reason: String
    public var kind: FailureKind { .busy }
    public var description: String {
        "the node refused a pushed chunk twice, each time for a body it had said it held (its articles changed during the push); sync again to send the rest (\(reason))"
    }
}

extension Replicator {
    /// Whether the peer refused a pushed chunk as it refuses one that lacks a body it does not
    /// hold (an invalid article, over the wire), so the chunk is worth offering again.
    static func isRefusal(_ error: Error) -> Bool {
        if case StoreError.missingBody = error { return true }
        if case FolioClientError.invalidArticle = error { return true }
        return false
    }
}

/// Runs LMDB work (reads, and a CLI's fsync'd commits) on NIO's shared blocking pool instead of
/// the cooperative pool, which must never block. A write transaction stays on the one pool
/// thread that runs `body`, as LMDB requires.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
