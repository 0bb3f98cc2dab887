import FolioModel
import FolioProtocol

extension FolioClient {
    /// A node's change feed after `since`, as an `AsyncSequence` (SPEC §6, CHANGES). With
    /// `follow` it never ends: each empty answer is held by the node until something commits
    /// there, and a cut connection is replaced by a new one (after 0.25 s, doubling up to
    /// 10 s), resuming after the last change delivered. Without `follow` it ends once caught up.
    /// Cancelling the consuming task ends it (and closes its connection).
    ///
    /// With a `filter` only matching articles come (FILTERED_CHANGES, SPEC §8.4; deletions
    /// always pass). With `includeBodies` each change comes with the article as the node holds
    /// it when read (FETCH: every version, the live ones' bodies).
    public static func changes(
        at address: String, options: Options = Options(), since: UInt64 = 0, filter: ReplicationFilter = .all,
        includeBodies: Bool = false, follow: Bool = true
    ) -> ChangeFeed {
        ChangeFeed(address: address, options: options, since: since, filter: filter, includeBodies: includeBodies, follow: follow)
    }

    /// Every article whose id starts with `prefix` (winner bodies not included), in id order,
    /// fetched a page at a time over this connection as the sequence is consumed.
    public func articles(prefix: String = "", pageSize: UInt32 = 500, includeDeleted: Bool = false) -> ArticlePages {
        ArticlePages(client: self, query: ListQuery(prefix: prefix, limit: max(1, min(pageSize, ListQuery.maxLimit)), includeDeleted: includeDeleted))
    }
}

/// See `FolioClient.changes(at:options:since:filter:includeBodies:follow:)`.
public struct ChangeFeed: AsyncSequence, Sendable {
    public typealias Element = FeedChange
    let address: String
    let options: FolioClient.Options
    let since: UInt64
    let filter: ReplicationFilter
    let includeBodies: Bool
    let follow: Bool

    public func makeAsyncIterator() -> Iterator { Iterator(self) }

    public final class Iterator: AsyncIteratorProtocol {
        private let feed: ChangeFeed
        private var client: FolioClient?
        private var since: UInt64
        private var buffer: [FeedChange] = []
        private var index = 0
        private var failures = 0
        private var done = false
        /// The store the feed reads (node, epoch): sequence numbers mean something only there.
        private var source: (NodeID, Epoch)?

        init(_ feed: ChangeFeed) {
            self.feed = feed
            since = feed.since
        }

        deinit { client?.closeNow() }

        public func next() async throws -> FeedChange? {
            while !done {
                if index < buffer.count {
                    defer { index += 1 }
                    since = buffer[index].seq
                    return buffer[index]
                }
                if Task.isCancelled { return finish() }
                do {
                    let c: FolioClient
                    if let client {
                        c = client
                    } else {
                        c = try await FolioClient.connect(to: feed.address, options: feed.options)
                        client = c
                        // Another store behind the address (restored from a backup, recreated):
                        // its sequence numbers are another count; resuming would skip changes.
                        let state = try await c.syncState()
                        if let source, source != (state.node, state.epoch) {
                            _ = finish()
                            throw FolioClientError.conflict(
                                "the node at \(feed.address) now serves another store (node \(state.node.hex), epoch \(state.epoch.text)); its changes are numbered anew: read the feed again from 0")
                        }
                        source = (state.node, state.epoch)
                    }
                    let wait: UInt32 = feed.follow ? 20_000 : 0
                    let batch: [Change]
                    if feed.filter.isEmpty {
                        let (b, last) = try await c.changes(since: since, limit: 1000, waitMillis: wait)
                        batch = b
                        if b.isEmpty && !feed.follow { return finish() }
                    } else {
                        let (b, scanned, last) = try await c.changes(since: since, limit: 1000, waitMillis: wait, filter: feed.filter)
                        batch = b
                        // Nothing matched up to `scanned`: go on from there.
                        if b.isEmpty { since = Swift.max(since, scanned) }
                        if b.isEmpty && !feed.follow && since >= last { return finish() }
                    }
                    let articles = feed.includeBodies ? try await Self.articles(batch.map(\.id), c) : [:]
                    failures = 0
                    (buffer, index) = (batch.map { FeedChange($0, article: articles[Array($0.id.utf8)]) }, 0)
                } catch {
                    // (A `catch … where` here crashes the Swift 6.3 compiler.)
                    guard feed.follow && Self.reconnectable(error) else {
                        _ = finish()
                        throw error
                    }
                    client?.closeNow()
                    client = nil
                    failures += 1
                    do {
                        try await Task.sleep(for: .milliseconds(Swift.min(10_000, 250 << Swift.min(failures - 1, 6))))
                    } catch {
                        return finish()
                    }
                }
            }
            return nil
        }

        /// The articles `ids` with every version and the live ones' bodies, by FETCH, keyed by
        /// their ids' bytes (canonically equivalent ids are two articles).
        static func articles(_ ids: [String], _ c: FolioClient) async throws -> [[UInt8]: ArticleState] {
            var out: [[UInt8]: ArticleState] = [:]
            var pending = ids[...]
            while !pending.isEmpty {
                let r = try await c.fetch(Array(pending), have: [], maxBytes: 4 << 20)
                for a in r.articles { out[Array(a.id.utf8)] = a }
                guard let last = r.lastAnswered(in: pending) else { break }
                pending = pending[(last + 1)...]
            }
            return out
        }

        private func finish() -> FeedChange? {
            done = true
            client?.closeNow()
            client = nil
            return nil
        }

        static func reconnectable(_ error: Error) -> Bool {
            guard let e = error as? FolioClientError else { return false }
            switch e {
            case .closed, .timeout, .shuttingDown, .busy: return true
            default: return false
            }
        }
    }
}

/// See `FolioClient.articles(prefix:pageSize:includeDeleted:)`.
public struct ArticlePages: AsyncSequence, Sendable {
    public typealias Element = ArticleState
    let client: FolioClient
    let query: ListQuery

    public func makeAsyncIterator() -> Iterator { Iterator(client: client, query: query) }

    public struct Iterator: AsyncIteratorProtocol {
        let client: FolioClient
        var query: ListQuery
        var page: [ArticleState] = []
        var index = 0
        var more = true

        public mutating func next() async throws -> ArticleState? {
            if index == page.count {
                guard more else { return nil }
                let r = try await client.list(query)
                (page, index, more) = (r.articles, 0, r.more)
                guard let last = page.last else { return nil }
                query.after = last.id
            }
            defer { index += 1 }
            return page[index]
        }
    }
}
