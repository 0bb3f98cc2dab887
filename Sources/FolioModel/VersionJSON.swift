import Foundation

/// JSON forms of versions, used by `folio get --json`, `folio export --all-versions` and the
/// restore path of `folio import`.
public enum VersionJSON {
    /// The key that marks an exported sibling version in a JSON Lines record.
    public static let versionKey = "_folio"

    public static func vector(_ v: VersionVector) -> JSONValue {
        .object(v.entries.map { ($0.node.hex, .number(String($0.counter))) })
    }

    /// `{"node","counter","vector","context","timestamp","written","deleted"}`.
    public static func version(_ v: Version) -> JSONValue {
        .object([
            ("node", .string(v.dot.node.hex)),
            ("counter", .number(String(v.dot.counter))),
            ("vector", vector(v.vector)),
            ("context", vector(v.context)),
            ("timestamp", .number(String(v.timestamp))),
            ("written", .string(isoTime(v.timestamp))),
            ("deleted", .bool(v.isTombstone)),
        ])
    }

    public static func isoTime(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// One record of `export --all-versions`: the article's fields (none for a tombstone)
    /// plus `"_folio"` describing the version.
    public static func exportLine(_ state: ArticleState, _ v: Version) -> String {
        var fields: [(key: String, value: JSONValue)]
        if let a = state.article(v), case let .object(f) = a.jsonValue {
            fields = f
        } else {
            fields = [("id", .string(state.id))]
        }
        fields.append((versionKey, version(v)))
        return JSONValue.object(fields).serialized
    }

    package struct BadVersion: Error, CustomStringConvertible {
        package var description: String
    }

    /// Reads a `"_folio"` object back into the version's dot, context, timestamp and
    /// deletion flag.
    package static func parseVersion(_ json: JSONValue) throws -> (dot: Dot, context: VersionVector, timestamp: Int64, deleted: Bool) {
        func u64(_ v: JSONValue?, _ name: String) throws -> UInt64 {
            guard case let .number(n)? = v, let x = UInt64(n) else { throw BadVersion(description: "\(versionKey).\(name) must be a non-negative integer") }
            return x
        }
        guard case .object = json else { throw BadVersion(description: "\(versionKey) must be an object") }
        guard case let .string(nodeHex)? = json["node"], let node = NodeID(hex: nodeHex) else {
            throw BadVersion(description: "\(versionKey).node must be a hex node id")
        }
        let counter = try u64(json["counter"], "counter")
        guard counter > 0 else { throw BadVersion(description: "\(versionKey).counter must be positive") }
        guard case let .object(ctx)? = json["context"] else { throw BadVersion(description: "\(versionKey).context must be an object") }
        var pairs: [(NodeID, UInt64)] = []
        for (k, v) in ctx {
            guard let n = NodeID(hex: k) else { throw BadVersion(description: "\(versionKey).context key \"\(k)\" is not a node id") }
            guard !pairs.contains(where: { $0.0 == n }) else { throw BadVersion(description: "\(versionKey).context names node \(k) twice") }
            let c = try u64(v, "context.\(k)")
            guard c > 0 else { throw BadVersion(description: "\(versionKey).context.\(k) must be positive") }
            pairs.append((n, c))
        }
        guard case let .number(ts)? = json["timestamp"], let timestamp = Int64(ts) else {
            throw BadVersion(description: "\(versionKey).timestamp must be an integer (milliseconds)")
        }
        guard case let .bool(deleted)? = json["deleted"] else { throw BadVersion(description: "\(versionKey).deleted must be true or false") }
        let dot = Dot(node: node, counter: counter)
        let context = VersionVector(pairs)
        if context.covers(dot) { throw BadVersion(description: "\(versionKey): the context covers the version's own dot") }
        return (dot, context, timestamp, deleted)
    }
}
