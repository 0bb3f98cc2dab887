import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Keeps a node's log readable and its door shut under attack.
///
/// Failed authentications are counted per address in windows of `window`: the first failure of
/// a window is logged at once, the rest are summed into one line when the window closes. Each
/// further failure from the same address in a window is answered later (the delay doubles from
/// the fourth, up to `maxDelay`), and an address that fails `blockThreshold` times in one window
/// is refused outright for `blockDuration` — except loopback, which is only delayed, so a local
/// process can never lock the local admin out. Other noisy events (protocol violations before
/// authentication, refused and timed-out connections) are throttled the same way per kind.
final class AbuseTracker: Sendable {
    struct Policy: Sendable {
        var window: TimeAmount = .seconds(60)
        var maxDelay: TimeAmount = .seconds(5)
        var blockThreshold = 20
        var blockDuration: TimeAmount = .minutes(5)
    }

    private struct Counter {
        var windowStart: NIODeadline
        var count = 0
        var suppressed = 0
        /// What the window's first event said, repeated in its summary.
        var message = ""
        var address: String?
    }

    private struct State {
        var failures: [String: Counter] = [:]
        var blockedUntil: [String: NIODeadline] = [:]
        /// Throttled log lines, by (kind, address).
        var events: [String: Counter] = [:]
    }

    let policy: Policy
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    init(policy: Policy = Policy(), logger: Logger) {
        self.policy = policy
        self.logger = logger
    }

    /// Records a failed authentication from `address`; returns how long to wait before
    /// answering it.
    func authenticationFailed(address: String, loopback: Bool, reason: String) -> TimeAmount {
        let now = NIODeadline.now()
        let (count, logNow, blocked, ended) = state.withLockedValue { s -> (Int, Bool, Bool, Summary?) in
            var c = s.failures[address] ?? Counter(windowStart: now)
            var ended: Summary?
            if now - c.windowStart >= policy.window {
                ended = summary(c, key: address, what: "failed authentications")
                c = Counter(windowStart: now)
            }
            c.count += 1
            let first = c.count == 1
            if !first { c.suppressed += 1 }
            var blockedNow = false
            if !loopback, c.count == policy.blockThreshold {
                s.blockedUntil[address] = now + policy.blockDuration
                blockedNow = true
            }
            s.failures[address] = c
            return (c.count, first, blockedNow, ended)
        }
        write(ended.map { [$0] } ?? [])
        if logNow {
            logger.warning("authentication failed", metadata: ["peer": "\(address)", "reason": "\(reason)"])
        }
        if blocked {
            logger.warning(
                "address refused after repeated failed authentications",
                metadata: ["peer": "\(address)", "failures": "\(count)", "refused_for_s": "\(policy.blockDuration.nanoseconds / 1_000_000_000)"])
        }
        guard count > 3 else { return .zero }
        let shift = min(count - 4, 16)
        return min(.milliseconds(100 << Int64(shift)), policy.maxDelay)
    }

    /// Seconds `address` stays refused, or nil when it is not.
    func refusal(address: String) -> Int64? {
        let now = NIODeadline.now()
        return state.withLockedValue { s -> Int64? in
            guard let until = s.blockedUntil[address] else { return nil }
            if until <= now {
                s.blockedUntil[address] = nil
                return nil
            }
            return max(1, (until - now).nanoseconds / 1_000_000_000)
        }
    }

    /// Logs `message` at warning for the first `kind` event of a window from `address` (or
    /// for all addresses, when nil); later ones are summed into the window's summary line.
    func event(_ kind: String, address: String?, _ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata = [:]) {
        let key = "\(kind) \(address ?? "*")"
        let now = NIODeadline.now()
        let (text, ended) = state.withLockedValue { s -> (String?, Summary?) in
            var c = s.events[key] ?? Counter(windowStart: now)
            var ended: Summary?
            if now - c.windowStart >= policy.window {
                ended = summary(c, key: key, what: "")
                c = Counter(windowStart: now)
            }
            c.count += 1
            if c.count > 1 { c.suppressed += 1 }
            var first: String?
            if c.count == 1 {
                first = "\(message())"
                c.message = first!
                c.address = address
            }
            s.events[key] = c
            return (first, ended)
        }
        write(ended.map { [$0] } ?? [])
        if let text {
            var m = metadata
            if let address { m["peer"] = "\(address)" }
            logger.warning("\(text)", metadata: m)
        }
    }

    /// Writes the summary lines of every window that has ended, and forgets idle addresses.
    /// The node calls it once per window.
    func flushEndedWindows() {
        let now = NIODeadline.now()
        let ended = state.withLockedValue { s -> [Summary] in
            var out: [Summary] = []
            for (address, c) in s.failures where now - c.windowStart >= policy.window {
                if let line = summary(c, key: address, what: "failed authentications") { out.append(line) }
                s.failures[address] = nil
            }
            for (key, c) in s.events where now - c.windowStart >= policy.window {
                if let line = summary(c, key: key, what: "") { out.append(line) }
                s.events[key] = nil
            }
            s.blockedUntil = s.blockedUntil.filter { $0.value > now }
            return out
        }
        write(ended)
    }

    /// A window's summary line, if anything in it went unlogged. Built under the lock,
    /// written after it (`write`), so no log I/O ever happens while the lock is held.
    private func summary(_ c: Counter, key: String, what: String) -> Summary? {
        guard c.suppressed > 0 else { return nil }
        let seconds = policy.window.nanoseconds / 1_000_000_000
        if what.isEmpty {
            var m: Logger.Metadata = ["repeated": "\(c.suppressed)", "window_s": "\(seconds)"]
            if let a = c.address { m["peer"] = "\(a)" }
            return Summary(message: "\(c.suppressed) more times in \(seconds) s: \(c.message)", metadata: m)
        }
        return Summary(message: "\(c.suppressed) more \(what) (in \(seconds) s, not logged one by one)", metadata: ["peer": "\(key)"])
    }

    private struct Summary {
        var message: Logger.Message
        var metadata: Logger.Metadata
    }

    private func write(_ summaries: [Summary]) {
        for s in summaries { logger.warning(s.message, metadata: s.metadata) }
    }
}
