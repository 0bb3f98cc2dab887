import Dispatch
import FolioModel

extension Store {
    /// This store's change feed after `since` as an `AsyncSequence`: each changed article
    /// once, at its latest change, in sequence order. With `follow` it never ends: a commit of
    /// this process wakes it at once, and it looks every `interval` for commits of other
    /// processes on the same store. Reads run on a Dispatch queue, never on the cooperative pool. Cancelling the
    /// consuming task ends it.
    /// With a `filter`, only matching articles (SPEC §8.4); with `includeBodies`, each change
    /// comes with the article as held when read.
    public func changeFeed(
        since: UInt64 = 0, filter: ReplicationFilter = .all, includeBodies: Bool = false, follow: Bool = true,
        interval: Duration = .milliseconds(100)
    ) -> StoreChangeFeed {
        StoreChangeFeed(store: self, since: since, filter: filter, includeBodies: includeBodies, follow: follow, interval: interval)
    }
}

/// See `Store.changeFeed(since:filter:includeBodies:follow:interval:)`.
public struct StoreChangeFeed: AsyncSequence, Sendable {
    public typealias Element = FeedChange
    let store: Store
    let since: UInt64
    let filter: ReplicationFilter
    let includeBodies: Bool
    let follow: Bool
    let interval: Duration

    public func makeAsyncIterator() -> Iterator { Iterator(feed: self, since: since) }

    public struct Iterator: AsyncIteratorProtocol {
        let feed: StoreChangeFeed
        var since: UInt64
        var buffer: [FeedChange] = []
        var index = 0

        public mutating func next() async throws -> FeedChange? {
            while true {
                if index < buffer.count {
                    defer { index += 1 }
                    since = buffer[index].seq
                    return buffer[index]
                }
                if Task.isCancelled { return nil }
                let (store, from, filter, bodies) = (feed.store, since, feed.filter, feed.includeBodies)
                let seen = store.commits.current
                let (batch, scanned) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<([FeedChange], UInt64), Error>) in
                    DispatchQueue.global().async {
                        c.resume(with: Result {
                            let (changes, scanned) = try store.changes(since: from, limit: 1000, filter: filter)
                            return (try changes.map { FeedChange($0, article: bodies ? try store.get($0.id, bodies: .all) : nil) }, scanned)
                        })
                    }
                }
                buffer = batch
                if batch.isEmpty { since = Swift.max(since, scanned) }
                index = 0
                if buffer.isEmpty {
                    guard feed.follow else { return nil }
                    await store.commits.wait(after: seen, timeout: feed.interval)
                    if Task.isCancelled { return nil }
                }
            }
        }
    }
}
