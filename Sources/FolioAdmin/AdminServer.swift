import FolioNode
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// A node's admin HTTP listener (`folio serve --admin-listen`): `/health` answers while the
/// process runs, `/ready` while the node serves (store open, listener bound, not shutting
/// down), `/metrics` the node's metrics in Prometheus' text format. It has no authentication
/// and serves nothing but these three; it listens on loopback unless told otherwise.
public struct AdminServer: Service {
    /// The registry the node's metrics go to (give `metricsFactory` to `NodeConfiguration.metrics`).
    public let registry: PrometheusCollectorRegistry
    private let app: Application<RouterResponder<BasicRequestContext>>

    /// Histogram buckets of request latency: a node answers most requests well under a millisecond.
    static let requestBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// A swift-metrics factory feeding `registry`, with buckets suited to a node.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = requestBuckets
        f.durationHistogramBuckets["folio_group_commit_duration_seconds"] = requestBuckets
        f.valueHistogramBuckets["folio_group_commit_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        return f
    }

    /// - Parameters:
    ///   - onBound: called with the bound address once the listener accepts connections.
    public init(
        node: FolioServer, registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger,
        onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.registry = registry
        let router = Router()
        router.get("health") { _, _ in
            AdminServer.text(.ok, "ok\n")
        }
        router.head("health") { _, _ in
            AdminServer.text(.ok, "")
        }
        router.get("ready") { _, _ in
            node.isReady ? AdminServer.text(.ok, "ready\n") : AdminServer.text(.serviceUnavailable, "not ready\n")
        }
        router.head("ready") { _, _ in
            AdminServer.text(node.isReady ? .ok : .serviceUnavailable, "")
        }
        router.head("metrics") { _, _ in
            AdminServer.text(.ok, "")
        }
        router.get("metrics") { _, context in
            do {
                try await node.refreshMetrics()
            } catch {
                // The counters still say something; the gauges keep their last values.
                context.logger.warning("metrics: could not read the store", metadata: ["error": "\(error)"])
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        var adminLogger = logger
        adminLogger[metadataKey: "listener"] = "admin"
        app = Application(
            router: router,
            // A connection that sends nothing for 30 s is closed (one that never finishes its
            // request included): probes and scrapers open, ask, and go.
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: "folio"),
            onServerRunning: { channel in
                if let a = channel.localAddress { onBound(a) }
            },
            logger: adminLogger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public func run() async throws {
        try await app.run()
    }
}
