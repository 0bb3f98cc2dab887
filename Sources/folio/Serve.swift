import ArgumentParser
import CoreMetrics
import FolioAdmin
import FolioModel
import FolioClient
import FolioStore
import FolioNode
import FolioProtocol
import FolioTransport
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the store to clients and peers over Folio's binary protocol.",
        discussion: """
            Prints the address it listens on as the first line of stdout (with --listen \
            HOST:0 the system picks a free port; with --admin-listen the admin address follows \
            as a second line), then logs to stderr. With --key-file every connection runs over \
            TLS 1.3 and peers must prove they hold the key; give --key-file twice while a mesh \
            rotates keys (the first is used to dial peers). With --tls-ca only peers presenting \
            a certificate the CA issued are accepted. Without a key or CA the node serves \
            plaintext, unauthenticated, on loopback only. SIGINT or SIGTERM stop it gracefully: \
            no new connections, in-flight requests finish, the store is closed cleanly.

            --config FILE reads the settings from a YAML file whose keys are the flags' names \
            (data, listen, key-file, peer, log-level, …; see tools/folio.yaml); flags given on \
            the command line override it, and relative paths in it are relative to the file. \
            --check validates the file and the flags, reads the key and certificate files, \
            prints the settings and exits (2 naming the bad line, 0 when all is well).

            --admin-listen HOST:PORT (or PORT, on loopback) serves /health, /ready and \
            /metrics (Prometheus) over HTTP; it has no authentication. Under systemd \
            (Type=notify) the node reports READY once it serves and STOPPING when it stops.

            Examples:
              folio serve --data ./archive
              folio serve --data ./archive --listen 127.0.0.1:0
              folio keygen > mesh.key; folio serve --listen 0.0.0.0:7070 --key-file mesh.key
              folio serve --listen 0.0.0.0 --key-file new.key --key-file old.key
              folio serve --listen 0.0.0.0 --tls-cert node.pem --tls-key node.key --tls-ca ca.pem
              folio serve --data ./b --listen 127.0.0.1:7071 --peer 127.0.0.1:7070
              folio serve --config /etc/folio/hub.yaml --check
              folio serve --config /etc/folio/hub.yaml --admin-listen 9070 --log-format json
            """)

    @Option(help: ArgumentHelp("Read settings from this YAML file (flags override it).", valueName: "file"), completion: .file(extensions: ["yaml", "yml"]))
    var config: String?
    @Flag(help: "Validate the settings (--config and flags), print them and exit without serving.")
    var check = false
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Address to listen on; port 0 picks any free port (default: 127.0.0.1:7070).", valueName: "host:port"))
    var listen: String?
    @Option(help: ArgumentHelp("The mesh's shared key (from `folio keygen`); peers must prove they hold it. Repeat to accept two keys during a rotation.", valueName: "file"), completion: .file())
    var keyFile: [String] = []
    @OptionGroup var tls: TLSOptions
    @Option(help: ArgumentHelp("Most simultaneous connections (default: 1024).", valueName: "n")) var maxConnections: Int?
    @Option(help: ArgumentHelp("Seconds of silence after which a connection is closed (default: 60).", valueName: "seconds")) var idleTimeout: Double?
    @Option(help: ArgumentHelp("Seconds a new connection has to complete its handshake, HELLO and AUTH (default: 5).", valueName: "seconds")) var handshakeTimeout: Double?
    @Option(help: ArgumentHelp("Connections still in their handshake may hold at most this many slots; when full, the oldest is closed for a newcomer (default: 128).", valueName: "n")) var maxPendingHandshakes: Int?
    @Option(help: ArgumentHelp("Most connections from one non-loopback address (default: 64).", valueName: "n")) var maxConnectionsPerAddress: Int?
    @Option(help: ArgumentHelp("Threads that run store reads (default: half the cores, here \(ServeSettings.defaultReadThreads); reads are short, extra threads mostly add context switches).", valueName: "n")) var readThreads: Int?
    @Option(help: ArgumentHelp("Event-loop threads for network I/O (default: the number of cores, here \(System.coreCount)).", valueName: "n")) var eventLoopThreads: Int?
    @Flag(help: "Skip the meta-page fsync at commit (MDB_NOMETASYNC): one fsync per group commit instead of two; a power cut may lose the last commit, never corrupt the store.")
    var noMetaSync = false
    @Option(help: ArgumentHelp("A peer to replicate with continuously, both ways (repeatable).", valueName: "host:port"))
    var peer: [String] = []
    @Option(help: ArgumentHelp("What the --peer links take: prefix=, source=, tag=, since=, until= (repeatable; same key ORs, different keys AND).", valueName: "key=value"))
    var filter: [String] = []
    @Option(help: ArgumentHelp("What the --peer links send (same clauses as --filter; default: everything).", valueName: "key=value"))
    var pushFilter: [String] = []
    @Option(help: ArgumentHelp("Collect tombstones older than this once every known peer holds them (N followed by s, m, h or d; default 30d).", valueName: "duration"))
    var tombstoneHorizon: String?
    @Option(help: ArgumentHelp("Deflate article data on the wire: auto (asked for by clients and used on --peer links except loopback ones), always (peer links too), never (not announced: clients and peers send and get plain frames).", valueName: "when"))
    var compress: String?
    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error (default: info).", valueName: "level")) var logLevel: String?
    @Option(help: ArgumentHelp("Log format: text, or json (one JSON object per line) (default: text).", valueName: "format")) var logFormat: String?
    @Option(help: ArgumentHelp("Serve /health, /ready and /metrics over HTTP here: HOST:PORT, or PORT on 127.0.0.1 (default: off).", valueName: "host:port"))
    var adminListen: String?

    func validate() throws {
        _ = try settings(readingFile: false)
    }

    /// The settings: flags over the file over the defaults, each checked where it came from.
    func settings(readingFile: Bool = true) throws -> ServeSettings {
        var s = ServeSettings()
        if readingFile, let config {
            do {
                try s.apply(ServeConfigFile(path: config))
            } catch let p as ServeConfigFile.Problem {
                throw CLIFailure(code: .usage, message: p.description)
            }
        }
        try s.apply(self)
        return s
    }

    func run() async throws {
        let settings = try self.settings()
        if check {
            try await checkFiles(settings)
            for line in settings.summary { Terminal.out(line) }
            Terminal.err("folio: the settings are valid" + (config.map { " (\($0))" } ?? ""))
            return
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "folio")
        logger.logLevel = level
        do {
            try await serve(settings, logger: logger)
        } catch where json {
            // With JSON logs, the reason the node stops is a JSON line too (journald, jq).
            let (code, message): (Exit, String?) = {
                switch error {
                case let e as CLIFailure: return (e.code, e.message)
                case let f as Failure: return (Exit(f.kind), "\(f)")
                default: return (.failure, "\(error)")
                }
            }()
            logger.critical("folio serve stopped: \(message ?? "failure")", metadata: ["exit_code": "\(code.rawValue)"])
            throw CLIFailure(code: code, message: nil)
        }
    }

    private func serve(_ settings: ServeSettings, logger: Logger) async throws {
        let listenAddress = try Check.address(settings.listen, "--listen", listening: true)
        var config = NodeConfiguration()
        config.host = listenAddress.host
        config.port = listenAddress.port
        config.tls = settings.tls
        config.maxConnections = settings.maxConnections
        config.maxPendingHandshakes = settings.maxPendingHandshakes
        config.maxConnectionsPerAddress = settings.maxConnectionsPerAddress
        config.handshakeTimeout = .milliseconds(Int64(settings.handshakeTimeout * 1000))
        config.readThreads = settings.readThreads
        config.eventLoopThreads = settings.eventLoopThreads
        config.idleTimeout = .milliseconds(Int64(settings.idleTimeout * 1000))
        config.heartbeatInterval = .milliseconds(max(50, Int64(settings.idleTimeout * 1000 / 4)))
        config.logger = logger
        config.peers = settings.peers
        config.peerFilters = settings.peerFilters
        config.tombstoneHorizon = .milliseconds(settings.tombstoneHorizon)
        config.compression = settings.compress
        config.keys = try settings.keyFiles.map(readKey)
        let registry = PrometheusCollectorRegistry()
        if settings.adminListen != nil { config.metrics = AdminServer.metricsFactory(registry: registry) }
        var so = Store.Options()
        so.noMetaSync = settings.noMetaSync
        let (path, storeOptions) = (settings.data ?? store.path, so)
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
            throw CLIFailure(code: .failure, message: "cannot listen on \(settings.listen): \(error)")
        }
        Terminal.out(Serve.format(address))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let admin = settings.adminListen {
            let a = try AdminAddress(admin, "--admin-listen")
            if !a.loopback { logger.warning("the admin listener is not on loopback: /metrics has no authentication", metadata: ["admin": "\(a)"]) }
            let notify = SystemdNotifier.fromEnvironment()
            let logger = logger
            services.append(.init(service: AdminServer(node: server, registry: registry, host: a.host, port: a.port, logger: logger) { bound in
                Terminal.out("http://\(Serve.format(bound))")
                logger.info("admin listener ready", metadata: ["address": "\(Serve.format(bound))"])
                notify?.send("READY=1\nSTATUS=serving on \(Serve.format(address)), admin on \(Serve.format(bound))")
            }))
        } else {
            SystemdNotifier.fromEnvironment()?.send("READY=1\nSTATUS=serving on \(Serve.format(address))")
        }
        // Services stop in reverse order: the node drains first (/ready says so meanwhile).
        services.append(.init(service: server))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            SystemdNotifier.fromEnvironment()?.send("STOPPING=1")
            await server.shutdown()
            s.close()
            // The node's own listener is bound before this; what fails here is the admin listener.
            let which = settings.adminListen.map { "the admin listener (--admin-listen \($0))" } ?? "the node"
            throw CLIFailure(code: .failure, message: "\(which) failed: \(error)")
        }
        SystemdNotifier.fromEnvironment()?.send("STOPPING=1")
        s.close()
        logger.info("store closed")
    }

    /// `--check`: the key and certificate files load, the store directory is usable.
    private func checkFiles(_ s: ServeSettings) async throws {
        for (i, f) in s.keyFiles.enumerated() {
            do {
                _ = try SharedKey(file: f)
            } catch {
                throw CLIFailure(code: .usage, message: "\(s.origins["key-file#\(i)"] ?? "--key-file"): \(error)")
            }
        }
        if !s.tls.isEmpty {
            do {
                _ = try ServerTLS(files: s.tls, commonName: "folio --check")
            } catch {
                throw CLIFailure(code: .usage, message: "\(s.origins["tls"] ?? "--tls-cert/--tls-key/--tls-ca"): \(error)")
            }
        }
        let listen = try Check.address(s.listen, "--listen", listening: true)
        if s.keyFiles.isEmpty && s.tls.ca == nil && !NodeAddress.isLoopback(listen.host) {
            throw CLIFailure(code: .usage, message: "\(s.origins["listen"] ?? "--listen") is \(listen.host), not loopback: give a key-file (or tls-ca with tls-cert/tls-key); plaintext is served on loopback only")
        }
        let data = s.data ?? store.path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: data, isDirectory: &isDir), !isDir.boolValue {
            throw CLIFailure(code: .usage, message: "\(s.origins["data"] ?? "--data") \(data) is not a directory")
        }
        // The store must be there and usable: serve never creates one.
        do {
            let opened = try await blocking {
                var o = Store.Options()
                o.readOnly = true
                return try Store.open(at: data, options: o)
            }
            opened.close()
        } catch {
            throw CLIFailure(code: .usage, message: "\(s.origins["data"] ?? "--data") \(data): \(error)")
        }
        // Both addresses resolve, and they are not one and the same.
        var bound: [(String, String, Int)] = [("listen", listen.host, listen.port)]
        if let admin = s.adminListen {
            let a = try AdminAddress(admin, s.origins["admin-listen"] ?? "--admin-listen")
            bound.append(("admin-listen", a.host, a.port))
        }
        for (key, host, port) in bound {
            do {
                _ = try SocketAddress.makeAddressResolvingHost(host, port: port)
            } catch {
                throw CLIFailure(code: .usage, message: "\(s.origins[key] ?? "--\(key)") \(host): the name does not resolve (\(error))")
            }
        }
        if bound.count == 2, bound[0].2 != 0, bound[0].2 == bound[1].2, bound[0].1 == bound[1].1 || ["0.0.0.0", "::"].contains(bound[0].1) || ["0.0.0.0", "::"].contains(bound[1].1) {
            throw CLIFailure(code: .usage, message: "\(s.origins["admin-listen"] ?? "--admin-listen") uses port \(bound[1].2), which the node itself listens on")
        }
    }

    static func format(_ a: SocketAddress) -> String {
        switch a {
        case .v6: return "[\(a.ipAddress ?? "::")]:\(a.port ?? 0)"
        default: return "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
        }
    }
}

/// Where the admin listener binds: HOST:PORT, [IPv6]:PORT, or a port alone on 127.0.0.1.
struct AdminAddress: CustomStringConvertible {
    var host: String
    var port: Int
    var loopback: Bool { NodeAddress.isLoopback(host) }
    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    init(_ text: String, _ what: String) throws {
        if let p = Int(text) {
            guard (0...65535).contains(p) else { throw ValidationError("\(what): port \(p) is outside 0…65535") }
            (host, port) = ("127.0.0.1", p)
            return
        }
        let a = try Check.address(text, what, listening: true)
        // NodeAddress gives HOST alone port 7070, the protocol's port: the admin port must be said.
        let explicitPort = text.hasSuffix("]") ? false : text.split(separator: ":").count == 2 || text.hasPrefix("[")
        guard explicitPort else { throw ValidationError("\(what): give a port (HOST:PORT, or PORT alone for 127.0.0.1), not \"\(Terminal.safe(text))\"") }
        (host, port) = (a.host, a.port)
    }
}

/// `folio serve`'s settings after the file and the flags, each checked where it came from.
struct ServeSettings {
    static let defaultReadThreads = max(1, System.coreCount / 2)

    var data: String?
    var listen = "127.0.0.1:7070"
    var keyFiles: [String] = []
    var tls = TLSFiles()
    var maxConnections = 1024
    var idleTimeout: Double = 60
    var handshakeTimeout: Double = 5
    var maxPendingHandshakes = 128
    var maxConnectionsPerAddress = 64
    var readThreads = ServeSettings.defaultReadThreads
    var eventLoopThreads = System.coreCount
    var noMetaSync = false
    var peers: [String] = []
    var peerFilters: [String: PeerFilters] = [:]
    /// Milliseconds.
    var tombstoneHorizon: Int64 = 30 * 86_400_000
    var compress = FolioClient.Compression.auto
    var logLevel = "info"
    var logFormat = "text"
    var adminListen: String?
    /// Where a setting came from, for later messages ("hub.yaml:4: listen" or "--listen").
    var origins: [String: String] = [:]

    /// Most configured peers (each is a live link: a connection and two tasks).
    static let maxPeers = 64
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    mutating func apply(_ f: ServeConfigFile) throws {
        typealias P = ServeConfigFile.Problem
        func wrap<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as ValidationError { throw P(description: e.message) }
        }
        if let v = try f.path("data") { data = v; origins["data"] = f.origin("data") }
        if let v = try f.string("listen") {
            _ = try wrap { try Check.address(v, f.origin("listen"), listening: true) }
            listen = v
            origins["listen"] = f.origin("listen")
        }
        if let v = try f.list("key-file") {
            keyFiles = v.map { f.resolve($0.value) }
            for (i, e) in v.enumerated() { origins["key-file#\(i)"] = "\(f.path):\(e.line): key-file" }
            if keyFiles.count > 2 { throw P(description: "\(f.origin("key-file")) lists \(keyFiles.count) keys: a node accepts at most two (the new and the old, during a rotation)") }
        }
        let cert = try f.path("tls-cert"), key = try f.path("tls-key"), ca = try f.path("tls-ca")
        if cert != nil || key != nil || ca != nil {
            if (cert == nil) != (key == nil) { throw P(description: "\(f.origin(cert == nil ? "tls-key" : "tls-cert")) needs \(cert == nil ? "tls-cert" : "tls-key") too") }
            tls = TLSFiles(certificate: cert, privateKey: key, ca: ca)
            origins["tls"] = f.origin(ca != nil ? "tls-ca" : "tls-cert")
        }
        if let v = try f.int("max-connections") { try wrap { try Check.count(v, f.origin("max-connections"), in: 1...100_000) }; maxConnections = v }
        if let v = try f.seconds("idle-timeout") { try wrap { try Check.seconds(v, f.origin("idle-timeout"), in: 0.2...86_400) }; idleTimeout = v }
        if let v = try f.seconds("handshake-timeout") { try wrap { try Check.seconds(v, f.origin("handshake-timeout"), in: 0.1...600) }; handshakeTimeout = v }
        if let v = try f.int("max-pending-handshakes") { try wrap { try Check.count(v, f.origin("max-pending-handshakes"), in: 1...100_000) }; maxPendingHandshakes = v }
        if let v = try f.int("max-connections-per-address") { try wrap { try Check.count(v, f.origin("max-connections-per-address"), in: 1...100_000) }; maxConnectionsPerAddress = v }
        if let v = try f.int("read-threads") { try wrap { try Check.count(v, f.origin("read-threads"), in: 1...64) }; readThreads = v }
        if let v = try f.int("event-loop-threads") { try wrap { try Check.count(v, f.origin("event-loop-threads"), in: 1...64) }; eventLoopThreads = v }
        if let v = try f.bool("no-meta-sync") { noMetaSync = v }
        if let v = try f.peers() {
            var seen: [NodeAddress: Int] = [:]
            for e in v {
                let a = try wrap { try Check.address(e.value, "\(f.path):\(e.line): peer") }
                if let first = seen[a] { throw P(description: "\(f.path):\(e.line): peer \(a) is listed twice (first on line \(first))") }
                seen[a] = e.line
            }
            if v.count > Self.maxPeers { throw P(description: "\(f.origin("peer")) lists \(v.count) peers; a node links to at most \(Self.maxPeers)") }
            peers = v.map(\.value)
            peerFilters = [:]
            for e in v where !(e.filter.isEmpty && e.pushFilter.isEmpty) {
                do {
                    peerFilters[e.value] = PeerFilters(pull: try ReplicationFilter(expressions: e.filter), push: try ReplicationFilter(expressions: e.pushFilter))
                } catch {
                    throw P(description: "\(f.path):\(e.line): peer \(e.value): bad filter: \(error.reason)")
                }
            }
        }
        if let v = try f.string("tombstone-horizon") { tombstoneHorizon = try wrap { try Check.duration(v, f.origin("tombstone-horizon")) } }
        if let v = try f.string("compress") {
            guard let c = FolioClient.Compression(rawValue: v) else { throw P(description: "\(f.origin("compress")) must be auto, always or never, not \"\(Terminal.safe(v))\"") }
            compress = c
        }
        if let v = try f.string("log-level") {
            guard Self.logLevels.contains(v) else { throw P(description: "\(f.origin("log-level")) must be one of \(Self.logLevels.joined(separator: ", ")), not \"\(Terminal.safe(v))\"") }
            logLevel = v
        }
        if let v = try f.string("log-format") {
            guard ["text", "json"].contains(v) else { throw P(description: "\(f.origin("log-format")) must be text or json, not \"\(Terminal.safe(v))\"") }
            logFormat = v
        }
        if let v = try f.string("admin-listen") {
            _ = try wrap { try AdminAddress(v, f.origin("admin-listen")) }
            adminListen = v
            origins["admin-listen"] = f.origin("admin-listen")
        }
    }

    mutating func apply(_ c: Serve) throws {
        if let v = c.store.data { data = v; origins["data"] = "--data" }
        if let v = c.listen { try Check.address(v, "--listen", listening: true); listen = v; origins["listen"] = "--listen" }
        if !c.keyFile.isEmpty {
            if c.keyFile.count > 2 { throw ValidationError("--key-file is given \(c.keyFile.count) times: a node accepts at most two keys (the new and the old, during a rotation)") }
            keyFiles = c.keyFile
            for i in keyFiles.indices { origins["key-file#\(i)"] = "--key-file" }
        }
        if !c.tls.files.isEmpty { tls = c.tls.files; origins["tls"] = "--tls-cert/--tls-key/--tls-ca" }
        if let v = c.maxConnections { try Check.count(v, "--max-connections", in: 1...100_000); maxConnections = v }
        if let v = c.idleTimeout { try Check.seconds(v, "--idle-timeout", in: 0.2...86_400); idleTimeout = v }
        if let v = c.handshakeTimeout { try Check.seconds(v, "--handshake-timeout", in: 0.1...600); handshakeTimeout = v }
        if let v = c.maxPendingHandshakes { try Check.count(v, "--max-pending-handshakes", in: 1...100_000); maxPendingHandshakes = v }
        if let v = c.maxConnectionsPerAddress { try Check.count(v, "--max-connections-per-address", in: 1...100_000); maxConnectionsPerAddress = v }
        if let v = c.readThreads { try Check.count(v, "--read-threads", in: 1...64); readThreads = v }
        if let v = c.eventLoopThreads { try Check.count(v, "--event-loop-threads", in: 1...64); eventLoopThreads = v }
        if c.noMetaSync { noMetaSync = true }
        if !c.peer.isEmpty {
            var seen = Set<NodeAddress>()
            for p in c.peer where !seen.insert(try Check.address(p, "--peer")).inserted {
                throw ValidationError("--peer \(p) is given twice")
            }
            if c.peer.count > Self.maxPeers { throw ValidationError("--peer is given \(c.peer.count) times; a node links to at most \(Self.maxPeers)") }
            peers = c.peer
            peerFilters = [:]
        }
        if !c.filter.isEmpty || !c.pushFilter.isEmpty {
            guard !c.peer.isEmpty else { throw ValidationError("--filter and --push-filter apply to the --peer links given with them; give --peer too (or put filter: under a peer in --config)") }
            let f: PeerFilters
            do {
                f = PeerFilters(pull: try ReplicationFilter(expressions: c.filter), push: try ReplicationFilter(expressions: c.pushFilter))
            } catch {
                throw ValidationError("bad filter: \(error.reason)")
            }
            for p in c.peer { peerFilters[p] = f }
        }
        if let v = c.tombstoneHorizon { tombstoneHorizon = try Check.duration(v, "--tombstone-horizon") }
        if let v = c.compress {
            guard let m = FolioClient.Compression(rawValue: v) else { throw ValidationError("--compress must be auto, always or never, not \"\(Terminal.safe(v))\"") }
            compress = m
        }
        if let v = c.logLevel {
            guard Self.logLevels.contains(v) else { throw ValidationError("--log-level must be one of \(Self.logLevels.joined(separator: ", ")), not \"\(v)\"") }
            logLevel = v
        }
        if let v = c.logFormat {
            guard ["text", "json"].contains(v) else { throw ValidationError("--log-format must be text or json, not \"\(v)\"") }
            logFormat = v
        }
        if let v = c.adminListen { _ = try AdminAddress(v, "--admin-listen"); adminListen = v; origins["admin-listen"] = "--admin-listen" }
    }

    /// What `--check` prints: one "key: value" line per setting, as a config file would say it.
    var summary: [String] {
        var out = [
            "data: \(data ?? "(default: --data, FOLIO_DATA or ~/.local/share/folio)")",
            "listen: \(listen)",
        ]
        out += keyFiles.map { "key-file: \($0)" }
        if let c = tls.certificate { out.append("tls-cert: \(c)") }
        if let k = tls.privateKey { out.append("tls-key: \(k)") }
        if let c = tls.ca { out.append("tls-ca: \(c)") }
        out += peers.map { p in
            guard let f = peerFilters[p] else { return "peer: \(p)" }
            return "peer: \(p) (filter: \(f.pull.isEmpty ? "none" : f.pull.text); push-filter: \(f.push.isEmpty ? "none" : f.push.text))"
        }
        out += [
            "max-connections: \(maxConnections)", "idle-timeout: \(idleTimeout)", "handshake-timeout: \(handshakeTimeout)",
            "max-pending-handshakes: \(maxPendingHandshakes)", "max-connections-per-address: \(maxConnectionsPerAddress)",
            "read-threads: \(readThreads)", "event-loop-threads: \(eventLoopThreads)", "no-meta-sync: \(noMetaSync)",
            "tombstone-horizon: \(tombstoneHorizon / 1000)s", "compress: \(compress.rawValue)",
            "log-level: \(logLevel)", "log-format: \(logFormat)", "admin-listen: \(adminListen ?? "off")",
        ]
        return out
    }
}
