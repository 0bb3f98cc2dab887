import ArgumentParser
import FolioClient
import FolioModel
import FolioProtocol
import Foundation

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a node: handshake (and authenticate), PING, print the round trip.",
        discussion: """
            For scripts and health probes: exit 0 when the node answered, 3 when it did not \
            (refused, unreachable, wrong key, no answer in time), with the reason on stderr.

            Examples:
              folio ping 127.0.0.1:7070
              folio ping hub.example --key-file mesh.key --json
            """)

    @Argument(help: ArgumentHelp("The node (HOST alone means port 7070).", valueName: "host:port")) var address: String
    @Option(help: ArgumentHelp("The mesh's shared key (from `folio keygen`); the connection then runs over TLS.", valueName: "file"), completion: .file())
    var keyFile: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: "Seconds to wait for the handshake and the answer.") var timeout: Double = 5
    @Flag(help: "Print the result as JSON on stdout.") var json = false

    func validate() throws {
        try Check.address(address, "the node address")
        try Check.seconds(timeout, "--timeout", in: 0.1...600)
    }

    func run() async throws {
        var options = FolioClient.Options(key: try keyFile.map(readKey))
        options.tls = tls.files
        options.connectTimeout = .milliseconds(Int64(timeout * 1000))
        options.requestTimeout = .milliseconds(Int64(timeout * 1000))
        let started = ContinuousClock.now
        let client = try await FolioClient.connect(to: address, options: options)
        let handshake = ContinuousClock.now - started
        let rtt: Duration
        do {
            rtt = try await client.ping()
        } catch {
            try? await client.close()
            throw error
        }
        try? await client.close()
        let hello = client.serverHello
        func ms(_ d: Duration) -> String { String(format: "%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
        if json {
            Terminal.out(JSONValue.object([
                ("address", .string(address)), ("node", .string(hello.nodeID.hex)), ("software", .string(hello.software)),
                ("tls", .bool(options.usesTLS)), ("handshake_ms", .number(ms(handshake))), ("rtt_ms", .number(ms(rtt))),
                ("clock_skew_ms", client.clockSkew.map { .number(String($0)) } ?? .null),
            ]).serialized)
        } else {
            Terminal.out("\(address): node \(hello.nodeID.hex) (\(hello.software)\(options.usesTLS ? ", TLS" : "")), round trip \(ms(rtt)) ms, handshake \(ms(handshake)) ms")
        }
        if let skew = client.clockSkew, Clocks.isSkewed(skew) {
            Terminal.err("folio: warning: the node's clock is \(Clocks.describe(skew: skew)) this machine's")
        }
    }
}
