import Foundation
import XCTest

/// Running a hub: `serve --config`, the admin listener's /health /ready /metrics,
/// `--log-format json`, sd_notify, completions, and scripts that stop what they start.
final class OperationsCLITests: XCTestCase {
    /// A `folio serve` process: its first stdout lines (the addresses) and, at the end, its stderr.
    final class Node {
        let process = Process()
        private let out = Pipe()
        private let err = Pipe()
        private var pending = Data()
        private let errBox = DataBox()
        private let errDone = DispatchSemaphore(value: 0)

        init(_ test: XCTestCase, _ args: [String], env: [String: String] = [:]) throws {
            process.executableURL = CLI.binary
            process.arguments = args
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "FOLIO_DATA")
            for (k, v) in env { environment[k] = v }
            process.environment = environment
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let (box, done, handle) = (errBox, errDone, err.fileHandleForReading)
            Thread {
                box.data = handle.readDataToEndOfFile()
                done.signal()
            }.start()
            let p = process
            test.addTeardownBlock { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        }

        /// The next line of stdout ("" once it closed).
        func line() -> String {
            while !pending.contains(0x0A) {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                pending.append(d)
            }
            let end = pending.firstIndex(of: 0x0A) ?? pending.endIndex
            let text = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
            pending = end < pending.endIndex ? Data(pending[(end + 1)...]) : Data()
            return text
        }

        /// Stops the node with SIGTERM; its exit status and everything it wrote on stderr.
        func stop() -> (Int32, String) {
            process.terminate()
            process.waitUntilExit()
            errDone.wait()
            return (process.terminationStatus, String(decoding: errBox.data, as: UTF8.self))
        }
    }

    /// GET `path` from `address` ("http://HOST:PORT") over a plain socket: status and body.
    func httpGet(_ address: String, _ path: String) throws -> (Int, String) {
        let hostPort = address.replacingOccurrences(of: "http://", with: "")
        let parts = hostPort.split(separator: ":")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
        inet_pton(AF_INET, String(parts[0]), &sa.sin_addr)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw CLIFailureForTests("cannot connect to \(address)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    struct CLIFailureForTests: Error { var message: String; init(_ m: String) { message = m } }

    /// The value of the sample `name` (with its labels exactly as printed) in a scrape.
    func sample(_ metrics: String, _ name: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testTheShippedExampleConfigIsValid() throws {
        let dir = temporaryDirectory(self)
        writeFile(dir + "/mesh.key", try CLI.run(["keygen"]).stdout)
        let example = try String(contentsOfFile: Self.root + "/tools/folio.yaml", encoding: .utf8)
            .replacingOccurrences(of: "/etc/folio/mesh.key", with: "mesh.key")
            .replacingOccurrences(of: "/var/lib/folio", with: "store")
        writeFile(dir + "/hub.yaml", example)
        XCTAssertEqual(try CLI.run(["init", "--data", dir + "/store"]).code, 0)
        let check = try CLI.run(["serve", "--config", dir + "/hub.yaml", "--check"])
        XCTAssertEqual(check.code, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("admin-listen: 127.0.0.1:9070") && check.stdout.contains("peer: archive-c.example.org"), check.stdout)
        XCTAssertTrue(check.stdout.contains("peer: archive-c.example.org (filter: prefix=desk/&prefix=wire/; push-filter: none)"), check.stdout)
        XCTAssertTrue(check.stdout.contains("tombstone-horizon: 2592000s"), check.stdout)
    }

    func testConfigFileFlagsOverrideItAndCheckNamesTheBadLine() throws {
        let dir = temporaryDirectory(self)
        writeFile(dir + "/mesh.key", try CLI.run(["keygen"]).stdout)
        XCTAssertEqual(try CLI.run(["init", "--data", dir + "/store"]).code, 0)
        writeFile(dir + "/hub.yaml", """
            # a hub
            data: store            # relative to this file
            listen: 127.0.0.1:1
            key-file: mesh.key
            peer:
              - 127.0.0.1:7999
              - address: 127.0.0.2
            idle-timeout: 30
            log-level: warning
            log-format: json
            """)
        let check = try CLI.run(["serve", "--config", dir + "/hub.yaml", "--check", "--log-level", "debug"])
        XCTAssertEqual(check.code, 0, check.stderr)
        for line in ["data: \(dir)/store", "listen: 127.0.0.1:1", "key-file: \(dir)/mesh.key", "peer: 127.0.0.1:7999",
                     "peer: 127.0.0.2", "idle-timeout: 30.0", "log-level: debug", "log-format: json"] {
            XCTAssertTrue(check.stdout.contains(line + "\n"), "missing \(line) in\n\(check.stdout)")
        }

        func refused(_ yaml: String, _ expected: String, line: Int) throws {
            writeFile(dir + "/bad.yaml", yaml)
            let r = try CLI.run(["serve", "--config", dir + "/bad.yaml", "--check"])
            XCTAssertEqual(r.code, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(dir)/bad.yaml:\(line):") && r.stderr.contains(expected), r.stderr)
        }
        try refused("listen: 127.0.0.1:7070\nidle-timeout: soon\n", "idle-timeout must be a number of seconds", line: 2)
        try refused("data: x\n\nmax-connections: 0\n", "max-connections must be from 1", line: 3)
        try refused("peers:\n  - a:1\n", "unknown setting \"peers\" (did you mean \"peer\"?)", line: 1)
        try refused("listen: 127.0.0.1:7070\nlisten: 127.0.0.1:7071\n", "set twice", line: 2)
        try refused("log-format: xml\n", "log-format must be text or json", line: 1)
        try refused("peer:\n  - 127.0.0.1:1\n  - host:99999\n", "peer", line: 3)
        try refused("key-file: nope.key\n", "nope.key", line: 1)
        try refused("listen: [127.0.0.1\n", "not valid YAML", line: 2)
        try refused("- listen\n", "must be a mapping", line: 1)
        try refused("listen: 0.0.0.0:7070\n", "not loopback", line: 1)

        // It serves with the file's settings, a flag overriding one of them.
        let data = dir + "/store"
        writeFile(dir + "/serve.yaml", "data: store\nlisten: 127.0.0.1:1\nlog-format: json\nlog-level: info\n")
        let node = try Node(self, ["serve", "--config", dir + "/serve.yaml", "--listen", "127.0.0.1:0"])
        let address = node.line()
        XCTAssertTrue(address.hasPrefix("127.0.0.1:") && address != "127.0.0.1:1", address)
        XCTAssertEqual(try CLI.run(["put", "c/1", "--title", "via config", "--remote", address]).code, 0)
        let (status, stderr) = node.stop()
        XCTAssertEqual(status, 0)
        // --log-format json: every line is one JSON object with the usual fields.
        let lines = stderr.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 2, stderr)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["time"], String(line))
            XCTAssertNotNil(object?["level"], String(line))
            XCTAssertNotNil(object?["message"], String(line))
        }
        XCTAssertTrue(stderr.contains(#""message":"opened store""#) && stderr.contains(#""path":"\#(data)""#), stderr)
        XCTAssertEqual(try CLI.run(["get", "c/1", "--data", data]).code, 0)
    }

    func testAdminListenerServesHealthReadinessAndMovingMetrics() throws {
        let dir = temporaryDirectory(self)
        let (a, b) = (dir + "/a", dir + "/b")
        for d in [a, b] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", a]).code, 0)
        let nodeA = try Node(self, ["serve", "--data", a, "--listen", "127.0.0.1:0", "--log-level", "warning"])
        let addressA = nodeA.line()
        let nodeB = try Node(self, ["serve", "--data", b, "--listen", "127.0.0.1:0", "--admin-listen", "0", "--peer", addressA, "--log-level", "warning"])
        let addressB = nodeB.line()
        let admin = nodeB.line()
        XCTAssertTrue(admin.hasPrefix("http://127.0.0.1:"), admin)

        XCTAssertEqual(try httpGet(admin, "/health").0, 200)
        XCTAssertEqual(try httpGet(admin, "/ready").0, 200)
        XCTAssertEqual(try httpGet(admin, "/nope").0, 404)

        // Load: writes, reads, a miss; the peer link pulls A's nine articles.
        for i in 0..<5 { XCTAssertEqual(try CLI.run(["put", "m/\(i)", "--title", "t\(i)", "--remote", addressB]).code, 0) }
        XCTAssertEqual(try CLI.run(["get", "m/1", "--remote", addressB]).code, 0)
        XCTAssertEqual(try CLI.run(["get", "missing", "--remote", addressB]).code, 1)
        var metrics = ""
        let deadline = Date().addingTimeInterval(20)
        repeat {
            metrics = try httpGet(admin, "/metrics").1
            if sample(metrics, #"folio_articles{state="live"}"#) == 14, sample(metrics, #"folio_peer_connected{peer="\#(addressA)"}"#) == 1 { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertEqual(sample(metrics, #"folio_articles{state="live"}"#), 14, metrics)
        XCTAssertEqual(sample(metrics, #"folio_articles{state="conflict"}"#), 0)
        XCTAssertGreaterThanOrEqual(sample(metrics, #"folio_request_duration_seconds_count{type="PUT"}"#) ?? 0, 5, metrics)
        XCTAssertGreaterThanOrEqual(sample(metrics, #"folio_request_duration_seconds_count{type="GET"}"#) ?? 0, 2)
        XCTAssertGreaterThanOrEqual(sample(metrics, #"folio_errors_total{code="notFound"}"#) ?? 0, 1)
        XCTAssertGreaterThanOrEqual(sample(metrics, "folio_group_commit_batch_size_count") ?? 0, 5)
        XCTAssertGreaterThan(sample(metrics, "folio_group_commit_duration_seconds_sum") ?? 0, 0)
        XCTAssertGreaterThanOrEqual(sample(metrics, "folio_connections_accepted_total") ?? 0, 7)  // 5 puts, 2 gets
        XCTAssertNotNil(sample(metrics, #"folio_connections{state="open"}"#))
        XCTAssertGreaterThan(sample(metrics, "folio_store_file_bytes") ?? 0, 0)
        XCTAssertGreaterThan(sample(metrics, "folio_store_map_used_bytes") ?? 0, 0)
        XCTAssertGreaterThan(sample(metrics, "folio_store_map_bytes") ?? 0, sample(metrics, "folio_store_map_used_bytes") ?? .infinity)
        XCTAssertEqual(sample(metrics, #"folio_peer_connected{peer="\#(addressA)"}"#), 1, metrics)
        XCTAssertGreaterThan(sample(metrics, #"folio_peer_bytes_total{peer="\#(addressA)",direction="in"}"#) ?? 0, 1000, metrics)
        XCTAssertGreaterThan(sample(metrics, #"folio_peer_bytes_total{peer="\#(addressA)",direction="out"}"#) ?? 0, 0)
        XCTAssertNotNil(sample(metrics, #"folio_peer_lag_changes{peer="\#(addressA)",direction="in"}"#), metrics)
        XCTAssertGreaterThan(sample(metrics, #"folio_peer_last_success_timestamp_seconds{peer="\#(addressA)"}"#) ?? 0, 1_700_000_000)
        XCTAssertTrue(metrics.contains("# TYPE folio_request_duration_seconds histogram"), metrics)
        // Every metric README's "Running a hub" lists is exported (docs and node do not drift).
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let section = String(readme[readme.range(of: "### Running a hub")!.lowerBound...]).components(separatedBy: "### What a node")[0]
        let documented = Set(section.matches(of: /folio_[a-z_]+/).map { String($0.output) })
        XCTAssertGreaterThan(documented.count, 15)
        for name in documented {
            XCTAssertTrue(metrics.contains("# TYPE \(name) "), "README lists \(name), the node does not export it")
        }

        // The peer goes away: the gauge says so.
        XCTAssertEqual(nodeA.stop().0, 0)
        let until = Date().addingTimeInterval(10)
        repeat {
            metrics = try httpGet(admin, "/metrics").1
            if sample(metrics, #"folio_peer_connected{peer="\#(addressA)"}"#) == 0 { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < until
        XCTAssertEqual(sample(metrics, #"folio_peer_connected{peer="\#(addressA)"}"#), 0, metrics)
        XCTAssertEqual(nodeB.stop().0, 0)
        XCTAssertEqual(try CLI.run(["verify", "--data", b]).code, 0)

        let bad = try CLI.run(["serve", "--data", b, "--admin-listen", "localhost"])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.stderr.contains("--admin-listen: give a port"), bad.stderr)
    }

    func testSystemdNotificationsReadyAndStopping() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        let socketPath = dir + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        }
        let node = try Node(self, ["serve", "--data", data, "--listen", "127.0.0.1:0"], env: ["NOTIFY_SOCKET": socketPath])
        let served = node.line()
        let ready = receive()
        XCTAssertTrue(ready.hasPrefix("READY=1\n") && ready.contains("STATUS=serving on \(served)"), ready)
        // READY means it serves: a request succeeds at once.
        XCTAssertEqual(try CLI.run(["ping", served]).code, 0)
        node.process.terminate()
        XCTAssertEqual(receive(), "STOPPING=1")
        XCTAssertEqual(node.stop().0, 0)
    }

    func testHelpCompletionsAndVersion() throws {
        let bash = try CLI.run(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.code, 0)
        // --data completes directories; --config YAML files; key files and import paths files.
        XCTAssertTrue(bash.stdout.contains("'--data')\n        __folio_add_completions -d"), bash.stdout)
        XCTAssertTrue(bash.stdout.contains("'--config')\n        __folio_add_completions -o plusdirs -fX '!*.@(yaml|yml)'"), bash.stdout)
        XCTAssertTrue(bash.stdout.contains("'--key-file')\n        __folio_add_completions -f"), bash.stdout)
        for shell in ["zsh", "fish"] { XCTAssertEqual(try CLI.run(["--generate-completion-script", shell]).code, 0) }
        let help = try CLI.run(["serve", "--help"])
        XCTAssertFalse(help.stdout.contains(") (default:"), help.stdout)
        XCTAssertTrue(help.stdout.contains("--config") && help.stdout.contains("--admin-listen") && help.stdout.contains("--log-format"))
        XCTAssertTrue(try CLI.run(["--version"]).stdout.contains("protocol versions"))
    }

    /// No `folio serve` whose command line mentions `dir` is still running.
    func survivors(_ dir: String) -> [String] {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.compactMap { pid -> String? in
            guard Int(pid) != nil, let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let cmd = String(decoding: d.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return cmd.contains(" serve ") && cmd.contains(dir) ? "\(pid): \(cmd)" : nil
        }
    }

    func testDemoStopsEveryNodeItStartsAlsoWhenInterrupted() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let demo = root.appendingPathComponent("tools/demo").path
        let dir = temporaryDirectory(self) + "/demo"
        func run(interruptOnceNodesRun: Bool) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [demo]
            var env = ProcessInfo.processInfo.environment
            env["FOLIO_BIN"] = CLI.binary.path
            env["FOLIO_DEMO_DIR"] = dir
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if interruptOnceNodesRun {
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline, !FileManager.default.fileExists(atPath: dir + "/beta.pid") { Thread.sleep(forTimeInterval: 0.02) }
                Thread.sleep(forTimeInterval: 0.1)
                XCTAssertFalse(survivors(dir).isEmpty, "the nodes should be running")
                kill(p.processIdentifier, SIGINT)
            }
            p.waitUntilExit()
            return p.terminationStatus
        }
        XCTAssertEqual(try run(interruptOnceNodesRun: false), 0)
        XCTAssertEqual(survivors(dir), [])
        XCTAssertNotEqual(try run(interruptOnceNodesRun: true), 0)
        XCTAssertEqual(survivors(dir), [])
    }
}
