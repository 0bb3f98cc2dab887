import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The searches waiting for the node's search thread, run one connection at a time in turn:
/// a connection with a search queued gets the thread after at most one search of each other
/// connection ahead of it, however many those keep queuing. A connection's first waiting
/// search is always queued (one per connection: the node's connection limit bounds them);
/// beyond it at most `maxQueued` wait across the node, and past that a search is refused at
/// once (`busy`) — so connections that keep the queue full cannot keep another's one search
/// out. A connection that is shutting down takes its queued searches back (`cancel`).
final class SearchScheduler: Sendable {
    /// Runs the search (true), or answers it without running (false: the pool or the
    /// connection is going away).
    typealias Job = @Sendable (_ run: Bool) -> Void

    private struct Queues {
        var byConnection: [ObjectIdentifier: [Job]] = [:]
        /// Connections with searches queued, in the order they are served.
        var turn: [ObjectIdentifier] = []
        /// Searches waiting behind another of their connection's.
        var further = 0
    }

    static let maxQueued = 16
    private let pool: NIOThreadPool
    private let queues = NIOLockedValueBox(Queues())

    init(pool: NIOThreadPool) { self.pool = pool }

    /// Queues `job` for `connection`; false when it has a search waiting already and
    /// `maxQueued` such further searches wait.
    func submit(_ connection: ObjectIdentifier, _ job: @escaping Job) -> Bool {
        let taken = queues.withLockedValue { q -> Bool in
            if q.byConnection[connection] == nil {
                q.turn.append(connection)
                q.byConnection[connection] = [job]
                return true
            }
            guard q.further < Self.maxQueued else { return false }
            q.further += 1
            q.byConnection[connection]!.append(job)
            return true
        }
        // One turn of the thread per search queued: it runs whichever search is next then.
        if taken { pool.submit { state in self.runNext(state == .active) } }
        return taken
    }

    /// The queued searches of `connection`, answered without running.
    func cancel(_ connection: ObjectIdentifier) {
        let jobs = queues.withLockedValue { q -> [Job] in
            guard let jobs = q.byConnection.removeValue(forKey: connection) else { return [] }
            q.turn.removeAll { $0 == connection }
            q.further -= jobs.count - 1
            return jobs
        }
        for job in jobs { job(false) }
    }

    private func runNext(_ active: Bool) {
        let job = queues.withLockedValue { q -> Job? in
            guard !q.turn.isEmpty else { return nil }
            let connection = q.turn.removeFirst()
            var jobs = q.byConnection[connection] ?? []
            guard !jobs.isEmpty else { return nil }
            let job = jobs.removeFirst()
            if jobs.isEmpty {
                q.byConnection[connection] = nil
            } else {
                // Its next search is now its first waiting.
                q.further -= 1
                q.byConnection[connection] = jobs
                q.turn.append(connection)
            }
            return job
        }
        job?(active)
    }
}
