import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The searches waiting for the node's search thread, run one connection at a time in turn:
/// a connection with a search queued gets the thread after at most one search of each other
/// connection ahead of it, however many those keep queuing. At most `maxQueued` wait across
/// the node; past that a search is refused at once (`busy`) instead of waiting behind them.
/// A connection that is shutting down takes its queued searches back (`cancel`).
final class SearchScheduler: Sendable {
    /// Runs the search (true), or answers it without running (false: the pool or the
    /// connection is going away).
    typealias Job = @Sendable (_ run: Bool) -> Void

    private struct Queues {
        var byConnection: [ObjectIdentifier: [Job]] = [:]
        /// Connections with searches queued, in the order they are served.
        var turn: [ObjectIdentifier] = []
        var queued = 0
    }

    static let maxQueued = 16
    private let pool: NIOThreadPool
    private let queues = NIOLockedValueBox(Queues())

    init(pool: NIOThreadPool) { self.pool = pool }

    /// Queues `job` for `connection`; false when `maxQueued` already wait.
    func submit(_ connection: ObjectIdentifier, _ job: @escaping Job) -> Bool {
        let taken = queues.withLockedValue { q -> Bool in
            guard q.queued < Self.maxQueued else { return false }
            q.queued += 1
            if q.byConnection[connection] == nil { q.turn.append(connection) }
            q.byConnection[connection, default: []].append(job)
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
            q.queued -= jobs.count
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
                q.byConnection[connection] = jobs
                q.turn.append(connection)
            }
            q.queued -= 1
            return job
        }
        job?(active)
    }
}
