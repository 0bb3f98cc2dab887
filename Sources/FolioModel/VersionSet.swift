/// The sibling versions of one article and the rules that change them.
///
/// Invariants: no version is obsoleted by another; no two versions share a dot; versions are
/// kept sorted by dot so that replicas holding the same siblings hold the same bytes.
public struct VersionSet: Sendable, Equatable {
    public private(set) var versions: [Version]

    public init() { versions = [] }

    /// Adopts stored versions as they are (already canonical).
    public init(versions: [Version]) {
        self.versions = versions
        sort()
    }

    /// Adopts versions as a stored record holds them (sorted by dot), sorting only if needed.
    package init(stored: [Version]) {
        versions = stored
        if zip(stored, stored.dropFirst()).contains(where: { $0.dot >= $1.dot }) { sort() }
    }

    private mutating func sort() {
        versions.sort { $0.dot < $1.dot }
    }

    public var isEmpty: Bool { versions.isEmpty }

    /// Everything this replica knows about the article: the join of every sibling's history.
    /// This is the causal context handed to a reader.
    public var clock: VersionVector {
        var c = VersionVector()
        for v in versions {
            c = c.merged(with: v.context)
            c.advance(v.dot.node, to: v.dot.counter)
        }
        return c
    }

    /// The result of a local write.
    public struct WriteResult: Sendable {
        public var written: Version
        public var superseded: [Version]
    }

    /// Records a write made on `node`.
    ///
    /// With a `context`, the write supersedes exactly the siblings that context covers; any
    /// sibling the writer had not seen stays, so a stale context yields a sibling and never a
    /// silent loss. With no context, the write supersedes everything held now.
    public mutating func write(
        _ content: VersionContent?, context: VersionVector?, node: NodeID, timestamp: Int64
    ) -> WriteResult {
        let known = clock
        let ctx = context ?? known
        // The new dot lies outside every history seen so far, including the given context.
        let counter = max(known[node], ctx[node]) + 1
        let version = Version(dot: Dot(node: node, counter: counter), context: ctx, timestamp: timestamp, content: content)
        var superseded: [Version] = []
        versions.removeAll { v in
            if ctx.covers(v.dot) && v.context.isCovered(by: ctx) {
                superseded.append(v)
                return true
            }
            return false
        }
        versions.append(version)
        sort()
        return WriteResult(written: version, superseded: superseded)
    }

    /// How a replica's versions were merged into this set.
    public enum MergeResult: Sendable, Equatable {
        /// Nothing changed: every remote version was already held or superseded here.
        case unchanged
        /// Some remote versions were added (as siblings or successors), and the held versions
        /// they supersede were removed.
        case changed(added: [Version], superseded: [Version])
    }

    /// Merges the sibling versions another replica holds for this article, by causality
    /// alone: the result is every version of either side that no version of either side
    /// supersedes, whatever order replicas merge in.
    ///
    /// `remote` must be the other replica's *whole* set for the article, not a part of it: a
    /// replica's clock claims every dot it covers was seen, so merging a subset could let a
    /// later write supersede a version its writer never saw.
    public mutating func merge(_ remote: [Version]) -> MergeResult {
        var union = versions
        var incoming: [Version] = []
        for r in remote where !union.contains(where: { $0.dot == r.dot }) {
            union.append(r)
            incoming.append(r)
        }
        guard !incoming.isEmpty else { return .unchanged }
        let kept = union.filter { v in !union.contains { v.isObsoleted(by: $0) } }
        let added = incoming.filter { r in kept.contains { $0.dot == r.dot } }
        let superseded = versions.filter { v in !kept.contains { $0.dot == v.dot } }
        guard !added.isEmpty || !superseded.isEmpty else { return .unchanged }
        versions = kept
        sort()
        return .changed(added: added, superseded: superseded)
    }

    /// The index of the deterministic winner (see `Version.winsOver`), nil when empty.
    public var winnerIndex: Int? {
        guard !versions.isEmpty else { return nil }
        var best = 0
        for i in versions.indices.dropFirst() where versions[i].winsOver(versions[best]) { best = i }
        return best
    }

    public var winner: Version? { winnerIndex.map { versions[$0] } }

    /// Every sibling but the winner.
    public var conflicts: [Version] {
        guard let w = winnerIndex else { return [] }
        return versions.enumerated().filter { $0.offset != w }.map(\.element)
    }

    /// Every version is a tombstone: nothing of the article remains but its deletion.
    public var isOnlyTombstones: Bool { !versions.isEmpty && versions.allSatisfy(\.isTombstone) }

    /// Deleted by a purge: only tombstones, one of them a purge (`Version.isPurge`).
    public var isPurged: Bool { isOnlyTombstones && versions.contains(where: \.isPurge) }

    /// Live when the winner is not a tombstone.
    public var isLive: Bool { winner.map { !$0.isTombstone } ?? false }
    public var isInConflict: Bool { versions.count > 1 }
}
