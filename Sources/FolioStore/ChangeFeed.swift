import Dispatch
import FolioModel

extension Store {
    /// This store's change feed after `since` as an `AsyncSequence`: each changed article
    /// once, at its latest change, in sequence order. With `follow` it never ends: it looks
    /// for new commits every `interval` (made by this process or another one on the same
    /// store). Reads run on a Dispatch queue, never on the cooperative pool. Cancelling the
    /// consuming task ends it.
    public func changeFeed(since: UInt64 = 0, follow: Bool = true, interval: Duration = .milliseconds(100)) -> StoreChangeFeed {
        StoreChangeFeed(store: self, since: since, follow: follow, interval: interval)
    }
}

/// See `Store.changeFeed(since:follow:interval:)`.
public struct StoreChangeFeed: AsyncSequence, Sendable {
    public typealias Element = Change
    let store: Store
    let since: UInt64
    let follow: Bool
    let interval: Duration

    public func makeAsyncIterator() -> Iterator { Iterator(feed: self, since: since) }

    public struct Iterator: AsyncIteratorProtocol {
        let feed: StoreChangeFeed
        var since: UInt64
        var buffer: [Change] = []
        var index = 0

        public mutating func next() async throws -> Change? {
            while true {
                if index < buffer.count {
                    defer { index += 1 }
                    since = buffer[index].seq
                    return buffer[index]
                }
                if Task.isCancelled { return nil }
                let (store, from) = (feed.store, since)
                buffer = try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Change], Error>) in
                    DispatchQueue.global().async { c.resume(with: Result { try store.changes(since: from, limit: 1000) }) }
                }
                index = 0
                if buffer.isEmpty {
                    guard feed.follow else { return nil }
                    do { try await Task.sleep(for: feed.interval) } catch { return nil }
                }
            }
        }
    }
}
