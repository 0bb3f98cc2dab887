/// A version vector: for each node, how many of its writes (to one article) are known.
///
/// Represents the causal history {(n, 1) … (n, c)} for each entry (n, c). Entries are kept
/// sorted by node id with no zero counters, so equal histories have equal representations.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var entries: [(node: NodeID, counter: UInt64)]

    public init() { entries = [] }

    /// Builds a vector from pairs in any order; duplicate nodes keep the larger counter.
    public init<S: Sequence>(_ pairs: S) where S.Element == (NodeID, UInt64) {
        entries = []
        for (n, c) in pairs { advance(n, to: c) }
    }

    public static func == (a: VersionVector, b: VersionVector) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.node == $1.node && $0.counter == $1.counter }
    }

    public func hash(into hasher: inout Hasher) {
        for e in entries {
            hasher.combine(e.node)
            hasher.combine(e.counter)
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    private func index(of node: NodeID) -> (found: Bool, at: Int) {
        var lo = 0
        var hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].node < node { lo = mid + 1 } else { hi = mid }
        }
        return (lo < entries.count && entries[lo].node == node, lo)
    }

    /// The counter known for `node` (0 when absent).
    public subscript(node: NodeID) -> UInt64 {
        let (found, i) = index(of: node)
        return found ? entries[i].counter : 0
    }

    /// Raises `node`'s counter to at least `counter`.
    public mutating func advance(_ node: NodeID, to counter: UInt64) {
        guard counter > 0 else { return }
        let (found, i) = index(of: node)
        if found {
            if entries[i].counter < counter { entries[i].counter = counter }
        } else {
            entries.insert((node, counter), at: i)
        }
    }

    /// True when the history includes `dot`.
    public func covers(_ dot: Dot) -> Bool { self[dot.node] >= dot.counter }

    /// The least upper bound of two histories.
    public func merged(with other: VersionVector) -> VersionVector {
        var result = self
        for e in other.entries { result.advance(e.node, to: e.counter) }
        return result
    }

    /// `self ⊆ other`: every event known here is known to `other`.
    public func isCovered(by other: VersionVector) -> Bool {
        entries.allSatisfy { other[$0.node] >= $0.counter }
    }

    /// Strictly older: `self ⊆ other` and `self ≠ other`.
    public func happenedBefore(_ other: VersionVector) -> Bool {
        self != other && isCovered(by: other)
    }

    /// Neither history contains the other.
    public func isConcurrent(with other: VersionVector) -> Bool {
        !isCovered(by: other) && !other.isCovered(by: self)
    }

    /// `[(node,counter),…]` in node order.
    public var description: String {
        "[" + entries.map { "(\($0.node.hex),\($0.counter))" }.joined(separator: ",") + "]"
    }
}

extension VersionVector: ExpressibleByDictionaryLiteral {
    /// `[nodeA: 2, nodeB: 1]`
    public init(dictionaryLiteral elements: (NodeID, UInt64)...) {
        self.init(elements)
    }
}
