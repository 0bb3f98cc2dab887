import ArgumentParser
import FolioModel
import FolioStore
import FolioNode
import FolioProtocol
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the store to clients and peers over Folio's binary protocol.",
        discussion: """
            Prints the address it listens on as the first line of stdout (with --listen \
            HOST:0 the system picks a free port), then logs to stderr. With --key-file every \
            connection runs over TLS 1.3 and peers must prove they hold the key; give \
            --key-file twice while a mesh rotates keys (the first is used to dial peers). \
            With --tls-ca only peers presenting a certificate the CA issued are accepted. \
            Without a key or CA the node serves plaintext, unauthenticated, on loopback only. \
            SIGINT or SIGTERM stop it gracefully: no new connections, in-flight requests \
            finish, the store is closed cleanly.

            Examples:
              folio serve --data ./archive
              folio serve --data ./archive --listen 127.0.0.1:0
              folio keygen > mesh.key; folio serve --listen 0.0.0.0:7070 --key-file mesh.key
              folio serve --listen 0.0.0.0 --key-file new.key --key-file old.key
              folio serve --listen 0.0.0.0 --tls-cert node.pem --tls-key node.key --tls-ca ca.pem
              folio serve --data ./b --listen 127.0.0.1:7071 --peer 127.0.0.1:7070
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Address to listen on (port 0: any free port).", valueName: "host:port"))
    var listen = "127.0.0.1:7070"
    @Option(help: ArgumentHelp("The mesh's shared key (from `folio keygen`); peers must prove they hold it. Repeat to accept two keys during a rotation.", valueName: "file"))
    var keyFile: [String] = []
    @OptionGroup var tls: TLSOptions
    @Option(help: "Most simultaneous connections.") var maxConnections = 1024
    @Option(help: "Seconds of silence after which a connection is closed.") var idleTimeout: Double = 60
    @Option(help: "Seconds a new connection has to complete its handshake (HELLO, and AUTH with a key).") var handshakeTimeout: Double = 5
    @Option(help: "Connections still in their handshake may hold at most this many slots; when full, the oldest is closed for a newcomer.") var maxPendingHandshakes = 128
    @Option(help: "Most connections from one non-loopback address.") var maxConnectionsPerAddress = 64
    @Option(help: "Threads that run store reads (default: half the cores; reads are short, extra threads mostly add context switches).") var readThreads = max(1, System.coreCount / 2)
    @Option(help: "Event-loop threads for network I/O (default: the number of cores).") var eventLoopThreads = System.coreCount
    @Flag(help: "Skip the meta-page fsync at commit (MDB_NOMETASYNC): one fsync per group commit instead of two; a power cut may lose the last commit, never corrupt the store.")
    var noMetaSync = false
    @Option(help: ArgumentHelp("A peer to replicate with continuously, both ways (repeatable).", valueName: "host:port"))
    var peer: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func validate() throws {
        try Check.seconds(idleTimeout, "--idle-timeout", in: 0.2...86_400)
        try Check.seconds(handshakeTimeout, "--handshake-timeout", in: 0.1...600)
        try Check.count(maxConnections, "--max-connections", in: 1...100_000)
        try Check.count(maxPendingHandshakes, "--max-pending-handshakes", in: 1...100_000)
        try Check.count(maxConnectionsPerAddress, "--max-connections-per-address", in: 1...100_000)
        try Check.count(readThreads, "--read-threads", in: 1...64)
        try Check.count(eventLoopThreads, "--event-loop-threads", in: 1...64)
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error") }
        try Check.address(listen, "--listen", listening: true)
        if keyFile.count > 2 { throw ValidationError("--key-file is given \(keyFile.count) times: a node accepts at most two keys (the new and the old, during a rotation)") }
        for p in peer { try Check.address(p, "--peer") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "folio")
        logger.logLevel = level
        let listenAddress = try Check.address(listen, "--listen", listening: true)
        let (host, port) = (listenAddress.host, listenAddress.port)
        var config = NodeConfiguration()
        config.host = host
        config.port = port
        config.tls = tls.files
        config.maxConnections = maxConnections
        config.maxPendingHandshakes = maxPendingHandshakes
        config.maxConnectionsPerAddress = maxConnectionsPerAddress
        config.handshakeTimeout = .milliseconds(Int64(handshakeTimeout * 1000))
        config.readThreads = readThreads
        config.eventLoopThreads = eventLoopThreads
        config.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        config.heartbeatInterval = .milliseconds(max(50, Int64(idleTimeout * 1000 / 4)))
        config.logger = logger
        config.peers = peer
        config.keys = try keyFile.map(readKey)
        var so = Store.Options()
        so.noMetaSync = noMetaSync
        let (path, storeOptions) = (store.path, so)
        let s = try await blocking { try Store.open(at: path, options: storeOptions) }
        logger.info("opened store", metadata: ["path": "\(s.path)", "node": "\(s.nodeID)", "lmdb": "\(LMDBVersion.string)"])
        if let change = s.identityChange { logger.notice("\(change)") }
        let server = FolioServer(store: s, configuration: config)
        let address: SocketAddress
        do {
            address = try await server.start()
        } catch let e as FolioServer.ConfigurationError {
            await server.shutdown()
            s.close()
            throw CLIFailure(code: .usage, message: e.description)
        } catch {
            await server.shutdown()
            s.close()
            throw CLIFailure(code: .failure, message: "cannot listen on \(listen): \(error)")
        }
        Terminal.out(Serve.format(address))
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        s.close()
        logger.info("store closed")
    }

    static func format(_ a: SocketAddress) -> String {
        switch a {
        case .v6: return "[\(a.ipAddress ?? "::")]:\(a.port ?? 0)"
        default: return "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
        }
    }
}
