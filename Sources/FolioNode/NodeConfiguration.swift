import FolioModel
import CoreMetrics
import FolioProtocol
import FolioTransport
import FolioClient
import Logging
import NIOCore

/// How a node serves its store.
public struct NodeConfiguration: Sendable {
    /// Where to listen. Port 0 picks a free port (see `FolioServer.boundAddress`).
    public var host: String = "127.0.0.1"
    public var port: Int = 7070
    /// The mesh keys this node accepts (two during a rotation); the first is the one it
    /// authenticates with when it dials a peer. With a key, every connection runs over TLS and
    /// every peer must prove it holds one of them (SPEC §4.2).
    public var keys: [SharedKey] = []
    /// The key the node dials peers with (the first of `keys`); setting it replaces them all.
    public var key: SharedKey? {
        get { keys.first }
        set { keys = newValue.map { [$0] } ?? [] }
    }
    /// Certificate files of a site's own PKI; without them a node with a key presents an
    /// ephemeral self-signed certificate. With a CA, clients must present a certificate it issued.
    public var tls = TLSFiles()
    /// True when connections run over TLS: the node has a key or TLS files.
    public var usesTLS: Bool { !keys.isEmpty || !tls.isEmpty }
    /// True when every connection is authenticated: by a mesh key or by a CA-issued certificate.
    /// Without either, a node listens only on loopback, in plaintext.
    public var authenticates: Bool { !keys.isEmpty || tls.ca != nil }
    public var maxConnections = 1024
    /// Connections still in their handshake may hold at most this many of the slots; the rest
    /// are kept for authenticated peers. When full, a newcomer evicts the oldest pending one.
    public var maxPendingHandshakes = 128
    /// Connections one non-loopback address may hold (loopback is exempt).
    public var maxConnectionsPerAddress = 64
    /// Time a new connection has to complete HELLO (and AUTH, with a key).
    public var handshakeTimeout: TimeAmount = .seconds(5)
    /// Bytes all connections together may hold in large frames that have not fully arrived.
    public var partialFrameBudget = 64 << 20
    /// Failed authentications from one non-loopback address, within `abuseWindow`, after
    /// which it is refused for `blockDuration`.
    public var authFailureBlockThreshold = 20
    public var abuseWindow: TimeAmount = .seconds(60)
    public var blockDuration: TimeAmount = .minutes(5)
    /// The longest a failed authentication's answer is held back (the delay doubles per
    /// failure of one address, from the fourth in a window).
    public var authFailureMaxDelay: TimeAmount = .seconds(5)
    /// Loopback connections are exempt from the per-address limit and from address blocking
    /// (still delayed), so no local process can lock the local admin out. Turn off when the
    /// node sits behind a proxy on the same machine, where every peer looks like loopback.
    public var trustLoopback = true
    /// Requests one connection may have in flight before the node stops reading from it.
    public var maxInFlightPerConnection = 32
    /// A connection that sends nothing for this long (not even answers to heartbeats) is closed.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// How often an idle connection is pinged.
    public var heartbeatInterval: TimeAmount = .seconds(15)
    /// Threads for store reads (kept well below LMDB's 126 reader slots).
    public var readThreads = max(1, System.coreCount / 2)
    /// Event-loop threads (network I/O and protocol work).
    public var eventLoopThreads = System.coreCount
    public var maxFrame: UInt32 = FrameDecoder.defaultMaxFrame
    /// How long a graceful shutdown waits for in-flight requests.
    public var drainTimeout: TimeAmount = .seconds(10)
    public var logger = Logger(label: "folio.node")
    /// Peers to replicate with continuously ("host:port"), both ways.
    public var peers: [String] = []
    /// Filters of the links in `peers`, by address (SPEC §8.4): what each takes from its peer
    /// and what it sends. A peer not listed takes and sends everything.
    public var peerFilters: [String: PeerFilters] = [:]
    /// How old a tombstone must be before it may be collected (once every known peer holds
    /// it; purges need only that), SPEC §5.2. `folio serve --tombstone-horizon`.
    public var tombstoneHorizon: Duration = .seconds(30 * 86_400)
    /// How often the node looks for collectable tombstones (and once, a minute after start).
    /// Deflated frames (SPEC §2.1): `never` leaves `deflate` out of the node's HELLO (clients
    /// and peers then send and receive plain frames); `auto` and `always` announce it and
    /// decide the node's own peer links (auto: not on loopback).
    public var compression: FolioClient.Compression = .auto
    public var tombstoneCollectionInterval: Duration = .seconds(3600)
    /// Where the node's metrics go (swift-metrics); by default the process-wide factory,
    /// which does nothing until `MetricsSystem.bootstrap` (the admin listener gives its own).
    public var metrics: any MetricsFactory = MetricsSystem.factory

    public init() {}
}

func isLoopback(_ host: String) -> Bool { NodeAddress.isLoopback(host) }

func isLoopback(_ address: SocketAddress) -> Bool {
    address.ipAddress.map(isLoopback) ?? false
}

/// What one peer link replicates (SPEC §8.4).
public struct PeerFilters: Sendable, Equatable {
    public var pull: ReplicationFilter
    public var push: ReplicationFilter
    public init(pull: ReplicationFilter = .all, push: ReplicationFilter = .all) {
        self.pull = pull
        self.push = push
    }
}
