import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Captures log records so tests can check what a node logged.
final class LogCapture: @unchecked Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    var all: [String] { lines.withLockedValue { $0 } }

    func logger() -> Logger {
        Logger(label: "test") { _ in CaptureHandler(capture: self) }
    }

    struct CaptureHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var all = metadata
            if let m = event.metadata { all.merge(m) { $1 } }
            let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.lines.withLockedValue { $0.append("\(event.level) \(event.message) \(meta)") }
        }
    }
}

/// A real node on 127.0.0.1 with an ephemeral port and a store in a temporary folder.
extension XCTestCase {
    /// A fresh store in a temporary directory, closed and removed when the test ends.
    func tempStore() throws -> Store {
        let dir = NSTemporaryDirectory() + "folio-test-\(UUID().uuidString)"
        let s = try Store.create(at: dir)
        addTeardownBlock {
            s.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        return s
    }
}

final class TestNode: @unchecked Sendable {
    let dir: String
    let store: Store
    let server: FolioServer
    let address: String
    let logs = LogCapture()

    init(_ test: XCTestCase, store existing: Store? = nil, configure: (inout NodeConfiguration) -> Void = { _ in }) async throws {
        dir = existing?.path ?? NSTemporaryDirectory() + "folio-node-\(UUID().uuidString)"
        store = try existing ?? Store.create(at: dir)
        var config = NodeConfiguration()
        config.port = 0
        config.logger = logs.logger()
        configure(&config)
        server = FolioServer(store: store, configuration: config)
        let a = try await server.start()
        address = "127.0.0.1:\(a.port!)"
        // run() owns the peer links; the test holds its task and stop() ends it.
        let server = self.server
        running = Task { try? await server.run() }
    }

    private var running: Task<Void, Never>?

    func stop() async {
        await server.shutdown()
        await running?.value
        store.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func client(key: SharedKey? = nil) async throws -> FolioClient {
        try await FolioClient.connect(to: address, key: key)
    }
}

/// A plain blocking TCP socket, for sending exactly the bytes a hostile peer would.
final class RawSocket {
    let fd: Int32
    private var isOpen = true

    init(port: Int, receiveTimeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if isOpen { close(fd) } }

    /// Closes with a reset (SO_LINGER 0), so the peer's pending writes fail at once.
    func reset() {
        guard isOpen else { return }
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        isOpen = false
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(_ envelope: Envelope) { send(Array(envelope.encoded().readableBytesView)) }

    func sendHello(versions: [UInt16] = Hello.supportedVersions) {
        send(Envelope(0, .hello(Hello(versions: versions, nodeID: .none, software: "raw-test", features: [], nonce: Hello.freshNonce(), maxFrame: 1 << 20))))
    }

    /// Reads frames until EOF (or the timeout); returns the decoded frames and whether EOF came.
    func readUntilClosed(afterHandshake: Bool = false) -> (frames: [Envelope], closed: Bool) {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        var closed = false
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 {
                closed = true
                break
            }
            if n < 0 {
                // A reset also means the node closed (with our unread bytes still queued).
                closed = errno == ECONNRESET
                break
            }
            data += buf[0..<n]
        }
        return (decodeAll(data, afterHandshake: afterHandshake), closed)
    }

    /// `readUntilClosed` with a receive timeout of `seconds` instead of the socket's.
    func readUntilClosed(within seconds: Double) -> (frames: [Envelope], closed: Bool) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return readUntilClosed()
    }

    /// Reads until at least `count` frames have arrived (`afterHandshake`: the node's HELLO
    /// was already read, so the first frame may be any answer).
    func read(frames count: Int, afterHandshake: Bool = false) -> [Envelope] {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while decodeAll(data, afterHandshake: afterHandshake).count < count {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        return decodeAll(data, afterHandshake: afterHandshake)
    }

    private func decodeAll(_ data: [UInt8], afterHandshake: Bool = false) -> [Envelope] {
        var d = FrameDecoder()
        if afterHandshake {
            var hello = Envelope(0, .hello(Hello(nodeID: .none, software: "t", features: [], nonce: Array(repeating: 0, count: 32), maxFrame: 1 << 20))).encoded()
            _ = try? d.decodeOne(&hello)
        }
        var b = ByteBuffer(bytes: data)
        var out: [Envelope] = []
        while let e = try? d.decodeOne(&b) { out.append(e) }
        return out
    }
}

/// A socket may send on one thread while another receives (a pipelining test does).
extension RawSocket: @unchecked Sendable {}

extension Envelope {
    var errorCode: ErrorCode? {
        if case let .error(code, _) = message { return code }
        return nil
    }
}
