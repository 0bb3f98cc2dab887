/// A replica's identity: a random 64-bit number chosen at `folio init`, never reused.
///
/// Written as 16 lowercase hex digits.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses 1–16 hex digits.
    public init?(hex: some StringProtocol) {
        guard !hex.isEmpty, hex.count <= 16, let v = UInt64(hex, radix: 16) else { return nil }
        rawValue = v
    }

    /// A fresh random id (never zero, reserved as "no node", nor 2^64 − 1, the purge marker).
    public static func random() -> NodeID {
        var g = SystemRandomNumberGenerator()
        return NodeID(UInt64.random(in: 1...(UInt64.max - 1), using: &g))
    }

    /// 2^64 − 1: no replica has it. A tombstone whose context holds an entry for it is a
    /// **purge** (SPEC §5.2): it removes every version it covers everywhere, and a store may
    /// forget it (keeping only a digest of the id and its vector) as soon as every peer it
    /// knows has it, without waiting for the tombstone horizon.
    public static let purgeMarker = NodeID(UInt64.max)

    public var hex: String {
        let s = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    public var description: String { hex }

    public static func < (a: NodeID, b: NodeID) -> Bool { a.rawValue < b.rawValue }

    /// "No node": what a plain client announces in HELLO; never a store's id.
    public static let none = NodeID(0)
}

/// One event: the `counter`-th write that node `node` made to one article. Dots are ordered
/// by node, then counter: the order of a version set's versions (STORAGE.md "articles").
public struct Dot: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var node: NodeID
    public var counter: UInt64

    public init(node: NodeID, counter: UInt64) {
        self.node = node
        self.counter = counter
    }

    public var description: String { "(\(node.hex),\(counter))" }

    public static func < (a: Dot, b: Dot) -> Bool { (a.node, a.counter) < (b.node, b.counter) }
}

/// A store's history: a random name chosen when the store was created, and again when a copy
/// of it takes a new node id. A puller keeps its checkpoint per (node, epoch), so a source
/// recreated under an old node id is read from the start. Written as the text it was made of
/// (Folio: 32 lowercase hex digits).
public struct Epoch: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let text: String

    public init(_ text: String) { self.text = text }
    public init(stringLiteral text: String) { self.text = text }

    /// A fresh random epoch (128 bits as 32 hex digits).
    public static func random() -> Epoch { Epoch((0..<2).map { _ in NodeID.random().hex }.joined()) }

    public var description: String { text }

    public static func < (a: Epoch, b: Epoch) -> Bool { a.text < b.text }

    /// The checkpoint scope of a filtered replication of this epoch's feed: `epoch/filter`
    /// (SPEC §8.4); the epoch itself for no filter.
    public func scoped(by filter: ReplicationFilter) -> Epoch {
        filter.isEmpty ? self : Epoch(text + "/" + filter.text)
    }

    /// The epoch and filter of a checkpoint scope. Throws when the epoch part is not 1–64
    /// printable ASCII characters or the filter part is not a canonical, non-empty filter.
    public func scope() throws(ReplicationFilter.Invalid) -> (epoch: Epoch, filter: ReplicationFilter) {
        let bytes = Array(text.utf8)
        let cut = bytes.firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
        guard (1...64).contains(cut), bytes[..<cut].allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ReplicationFilter.Invalid(reason: "an epoch is 1–64 printable ASCII characters")
        }
        guard cut < bytes.count else { return (self, .all) }
        let filter = try ReplicationFilter(canonical: String(decoding: bytes[(cut + 1)...], as: UTF8.self))
        guard !filter.isEmpty else { throw ReplicationFilter.Invalid(reason: "an empty filter is written as no filter") }
        return (Epoch(String(decoding: bytes[..<cut], as: UTF8.self)), filter)
    }
}
