import FolioModel
import Foundation
import Logging

/// `--log-format json`: one JSON object per line on stderr —
/// `{"time":…,"level":…,"label":…,"message":…,` then the metadata Folio attaches (peer,
/// node, error, …) as fields of their own, then `"source"`. A metadata key that would clash
/// with those five gets a `meta_` prefix. Lines are written whole, one `write(2)` each.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let reserved: Set<String> = ["time", "level", "label", "message", "source"]

    func log(event: LogEvent) {
        var fields: [(String, JSONValue)] = [
            ("time", .string(Self.timestamp())), ("level", .string(event.level.rawValue)),
            ("label", .string(label)), ("message", .string(event.message.description)),
        ]
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        for key in all.keys.sorted() {
            fields.append((Self.reserved.contains(key) ? "meta_" + key : key, Self.json(all[key]!)))
        }
        fields.append(("source", .string(event.source)))
        let line = JSONValue.object(fields).serialized + "\n"
        line.utf8CString.withUnsafeBufferPointer { p in
            var offset = 0
            let count = p.count - 1
            while offset < count {
                let n = write(2, p.baseAddress! + offset, count - offset)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case let .string(s): return .string(s)
        case let .stringConvertible(c): return .string(c.description)
        case let .array(items): return .array(items.map(json))
        case let .dictionary(d): return .object(d.keys.sorted().map { ($0, json(d[$0]!)) })
        }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ date: Date = Date()) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), max(0, min(999, ms)))
    }
}

/// sd_notify(3) for `Type=notify` units: datagrams to `$NOTIFY_SOCKET` (a path, or an
/// abstract socket when it starts with "@"). Without the variable there is nothing to notify.
struct SystemdNotifier {
    let path: String

    static func fromEnvironment() -> SystemdNotifier? {
        guard let p = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !p.isEmpty, p.utf8.count < 108 else { return nil }
        return SystemdNotifier(path: p)
    }

    /// Sends `state` ("READY=1", "STOPPING=1", …); failures are ignored, as sd_notify's are.
    func send(_ state: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { m in sendto(fd, m.baseAddress, m.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
    }
}
