/// Where a node listens or is dialled: `HOST:PORT`, `[IPv6]:PORT`, or `HOST` / `[IPv6]` alone
/// for Folio's port 7070. The one parser for every address Folio reads (flags, `--peer`,
/// `FolioClient.connect`).
public struct NodeAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Folio's port, used when an address names none.
    public static let defaultPort = 7070

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text`; port 0 ("any free port") only when `listening`.
    public init(_ text: String, listening: Bool = false) throws(Invalid) {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw Invalid(description: "\"\(text)\": missing ']' after an IPv6 address") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                portText = rest.dropFirst()
            } else if !rest.isEmpty {
                throw Invalid(description: "\"\(text)\": expected :PORT after ']'")
            }
        } else if let colon = text.firstIndex(of: ":") {
            guard text.lastIndex(of: ":") == colon else {
                throw Invalid(description: "\"\(text)\": write an IPv6 address in brackets, e.g. [::1]:7070")
            }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw Invalid(description: "\"\(text)\": missing host (use HOST:PORT, e.g. 127.0.0.1:7070, or HOST alone for port 7070)")
        }
        let port: Int
        if let portText {
            guard let p = Int(portText), (listening ? 0 : 1)...65535 ~= p else {
                throw Invalid(description: "\"\(text)\": the port must be a number from \(listening ? 0 : 1) to 65535")
            }
            port = p
        } else {
            port = NodeAddress.defaultPort
        }
        self.host = host
        self.port = port
    }

    /// True for "localhost" and literal loopback addresses (127.0.0.0/8, ::1); a name that
    /// merely starts with "127." is not one.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let v4 = host.hasPrefix("::ffff:") ? String(host.dropFirst(7)) : host
        let octets = v4.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { UInt8($0) != nil } && octets[0] == "127"
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
