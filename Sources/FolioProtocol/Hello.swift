import FolioModel
import Foundation

/// The first frame each side sends (SPEC §4).
public struct Hello: Sendable, Equatable {
    /// "FOLI".
    public static let magic: UInt32 = 0x464F_4C49
    /// Protocol versions this build speaks.
    /// Version 2 (SPEC §4.2): keyed connections run over TLS 1.3 and key proofs are bound to the
    /// node's certificate; version 1 (plaintext keyed links) is no longer spoken.
    public static let supportedVersions: [UInt16] = [2]

    public struct Features: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// (Node) the peer must authenticate with the shared key before any request.
        public static let authRequired = Features(rawValue: 1 << 0)
        /// The sender can replicate (pull/push) as a node.
        public static let sync = Features(rawValue: 1 << 1)
        /// (Node) it answers SEARCH (SPEC §6.2); a node without it answers `unknownType`.
        public static let search = Features(rawValue: 1 << 2)
        /// (Node) it answers FILTERED_CHANGES and keeps a pusher's checkpoints per filter
        /// (`epoch/filter` scopes in CHECKPOINT_GET and APPLY, SPEC §8.4).
        public static let filter = Features(rawValue: 1 << 3)
        /// (Node) it answers CONFLICTS (SPEC §6).
        public static let conflicts = Features(rawValue: 1 << 4)
        /// The sender accepts DEFLATED frames and asks for its large answers that way (SPEC §2.1).
        public static let deflate = Features(rawValue: 1 << 5)
    }

    public var versions: [UInt16]
    /// The sender's node id; 0 for a plain client.
    public var nodeID: NodeID
    /// e.g. "folio/0.1.0".
    public var software: String
    public var features: Features
    /// 32 fresh random bytes, used by authentication.
    public var nonce: [UInt8]
    /// The largest frame (length field value) the sender accepts.
    public var maxFrame: UInt32
    /// The sender's clock when it sent HELLO, ms since 1970 (0: not told). Peers whose clocks
    /// differ by more than a minute are named (SPEC §4.1, §5.1).
    public var clock: Int64

    public init(
        versions: [UInt16] = Hello.supportedVersions, nodeID: NodeID, software: String, features: Features, nonce: [UInt8], maxFrame: UInt32,
        clock: Int64 = Hello.wallClock()
    ) {
        self.versions = versions
        self.nodeID = nodeID
        self.software = software
        self.features = features
        self.nonce = nonce
        self.maxFrame = maxFrame
        self.clock = clock
    }

    /// Milliseconds since 1970, now.
    public static func wallClock() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// The highest version both sides speak.
    public static func negotiate(_ a: [UInt16], _ b: [UInt16]) -> UInt16? {
        Set(a).intersection(b).max()
    }

    public static func freshNonce() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
}

/// A `list` request.
public struct ListQuery: Sendable, Equatable {
    public var prefix: String
    public var after: String?
    public var source: String?
    public var limit: UInt32
    public var includeDeleted: Bool

    public init(prefix: String = "", after: String? = nil, source: String? = nil, limit: UInt32 = 1000, includeDeleted: Bool = false) {
        self.prefix = prefix
        self.after = after
        self.source = source
        self.limit = limit
        self.includeDeleted = includeDeleted
    }

    /// The most articles one LIST response carries; page with `after` for more.
    public static let maxLimit: UInt32 = 1000
}
