import CoreMetrics
import FolioModel
import FolioProtocol
import FolioStore
import NIOConcurrencyHelpers

/// The metrics a node reports through swift-metrics (README "Running a hub" lists them).
///
/// Counters and histograms are updated as things happen; gauges of the store, connections
/// and peer links are set by `refresh`, which the admin listener calls before each scrape.
/// Every handle is made once, up front: the request path only looks one up in an array.
final class NodeMetrics: Sendable {
    private let factory: any MetricsFactory
    /// Request latency by message type, indexed by the type's byte.
    private let requestTimers: [CoreMetrics.Timer?]
    /// ERROR frames sent, by code (index: the code's value).
    private let errorCounters: [Counter?]
    let connectionsAccepted: Counter
    let connectionsRefused: Counter
    let authFailures: Counter
    let commitBatchSize: Recorder
    let commitDuration: CoreMetrics.Timer
    private let connectionsOpen: Gauge
    private let connectionsPending: Gauge
    private let storeFileBytes: Gauge
    private let storeMapBytes: Gauge
    private let storeMapUsedBytes: Gauge
    private let lastSequence: Gauge
    private let articlesLive: Gauge
    private let articlesDeleted: Gauge
    private let articlesInConflict: Gauge
    private let peerGauges = NIOLockedValueBox<[String: PeerGauges]>([:])
    private let peerTraffic = NIOLockedValueBox<[String: (sent: Counter, received: Counter)]>([:])

    /// Label names, shared with README and the tests.
    static let requestDuration = "folio_request_duration_seconds"
    static let commitBatch = "folio_group_commit_batch_size"
    static let commitSeconds = "folio_group_commit_duration_seconds"

    init(factory: any MetricsFactory) {
        self.factory = factory
        var timers = [CoreMetrics.Timer?](repeating: nil, count: 256)
        for kind in Message.Kind.allCases where kind.isRequest {
            timers[Int(kind.rawValue)] = CoreMetrics.Timer(
                label: Self.requestDuration, dimensions: [("type", kind.specName)], factory: factory)
        }
        requestTimers = timers
        var errors = [Counter?](repeating: nil, count: 256)
        for code in ErrorCode.allCases {
            errors[Int(code.rawValue)] = Counter(label: "folio_errors_total", dimensions: [("code", code.name)], factory: factory)
        }
        errorCounters = errors
        connectionsAccepted = Counter(label: "folio_connections_accepted_total", factory: factory)
        connectionsRefused = Counter(label: "folio_connections_refused_total", factory: factory)
        authFailures = Counter(label: "folio_auth_failures_total", factory: factory)
        commitBatchSize = Recorder(label: Self.commitBatch, factory: factory)
        commitDuration = CoreMetrics.Timer(label: Self.commitSeconds, factory: factory)
        connectionsOpen = Gauge(label: "folio_connections", dimensions: [("state", "open")], factory: factory)
        connectionsPending = Gauge(label: "folio_connections", dimensions: [("state", "handshake")], factory: factory)
        storeFileBytes = Gauge(label: "folio_store_file_bytes", factory: factory)
        storeMapBytes = Gauge(label: "folio_store_map_bytes", factory: factory)
        storeMapUsedBytes = Gauge(label: "folio_store_map_used_bytes", factory: factory)
        lastSequence = Gauge(label: "folio_store_last_sequence", factory: factory)
        articlesLive = Gauge(label: "folio_articles", dimensions: [("state", "live")], factory: factory)
        articlesDeleted = Gauge(label: "folio_articles", dimensions: [("state", "deleted")], factory: factory)
        articlesInConflict = Gauge(label: "folio_articles", dimensions: [("state", "conflict")], factory: factory)
    }

    func requestFinished(_ kind: Message.Kind, nanoseconds: Int64) {
        requestTimers[Int(kind.rawValue)]?.recordNanoseconds(nanoseconds)
    }

    func errorSent(_ code: ErrorCode) {
        errorCounters[Int(code.rawValue)]?.increment()
    }

    /// Bytes a peer link moved since its last report.
    func peerTraffic(address: String, sent: Int, received: Int) {
        let (s, r) = peerTraffic.withLockedValue { all in
            if let c = all[address] { return c }
            let dims = { (d: String) in [("peer", address), ("direction", d)] }
            let c = (Counter(label: "folio_peer_bytes_total", dimensions: dims("out"), factory: factory),
                     Counter(label: "folio_peer_bytes_total", dimensions: dims("in"), factory: factory))
            all[address] = c
            return c
        }
        if sent > 0 { s.increment(by: sent) }
        if received > 0 { r.increment(by: received) }
    }

    private struct PeerGauges {
        var connected: Gauge
        var pendingIn: Gauge
        var pendingOut: Gauge
        var lastSuccess: Gauge
        var clockSkew: Gauge
    }

    /// Sets the gauges from the store's statistics, the admission counts and the recorded
    /// peer statuses (only configured peers: incoming statuses are not links of this node).
    func refresh(statistics s: StoreStatistics, open: Int, pending: Int, peers: [PeerStatus], configured: Set<String>) {
        connectionsOpen.record(open)
        connectionsPending.record(pending)
        storeFileBytes.record(s.fileSize)
        storeMapBytes.record(s.mapSize)
        storeMapUsedBytes.record(s.mapUsed)
        lastSequence.record(Double(s.lastSequence))
        articlesLive.record(Double(s.liveArticles))
        articlesDeleted.record(Double(s.tombstones))
        articlesInConflict.record(Double(s.articlesInConflict))
        for p in peers where configured.contains(p.address) {
            let g = peerGauges.withLockedValue { all -> PeerGauges in
                if let g = all[p.address] { return g }
                let dims = [("peer", p.address)]
                let g = PeerGauges(
                    connected: Gauge(label: "folio_peer_connected", dimensions: dims, factory: factory),
                    pendingIn: Gauge(label: "folio_peer_lag_changes", dimensions: dims + [("direction", "in")], factory: factory),
                    pendingOut: Gauge(label: "folio_peer_lag_changes", dimensions: dims + [("direction", "out")], factory: factory),
                    lastSuccess: Gauge(label: "folio_peer_last_success_timestamp_seconds", dimensions: dims, factory: factory),
                    clockSkew: Gauge(label: "folio_peer_clock_skew_seconds", dimensions: dims, factory: factory))
                all[p.address] = g
                return g
            }
            g.connected.record(p.connected ? 1 : 0)
            if let n = p.pendingIn { g.pendingIn.record(Double(n)) }
            if let n = p.pendingOut { g.pendingOut.record(Double(n)) }
            if let t = p.lastSuccess { g.lastSuccess.record(Double(t) / 1000) }
            if let k = p.clockSkew { g.clockSkew.record(Double(k) / 1000) }
        }
    }
}

extension Message.Kind {
    /// The type's name in SPEC §6 as a metric label: "GET", "SYNC_HELLO", "CHECKPOINT_GET", …
    var specName: String {
        "\(self)".reduce(into: "") { out, c in
            if c.isUppercase { out += "_" }
            out += c.uppercased()
        }
    }

    /// Types a client or peer sends as requests (those a node times).
    var isRequest: Bool {
        switch self {
        case .ping, .get, .put, .delete, .list, .stats, .changes, .search, .syncHello, .fetch, .checkpointGet, .offer, .apply, .filteredChanges, .conflicts: return true
        default: return false
        }
    }
}

extension ErrorCode {
    /// The code's name in SPEC §7, as a metric label: "notFound", "invalidArticle", …
    var name: String {
        switch self {
        case .badFrame: return "badFrame"
        case .tooLarge: return "tooLarge"
        case .unknownType: return "unknownType"
        case .invalidUTF8: return "invalidUTF8"
        case .handshakeRequired: return "handshakeRequired"
        case .badMagic: return "badMagic"
        case .noCommonVersion: return "noCommonVersion"
        case .unauthorized: return "unauthorized"
        case .notFound: return "notFound"
        case .conflict: return "conflict"
        case .invalidArticle: return "invalidArticle"
        case .busy: return "busy"
        case .internal: return "internal"
        case .timeout: return "timeout"
        case .shuttingDown: return "shuttingDown"
        }
    }
}
