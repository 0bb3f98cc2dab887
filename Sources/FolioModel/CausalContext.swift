import Crypto
import Foundation

/// The opaque token a reader gets with what it read, and hands back when it writes, so the
/// write supersedes exactly what was read (`folio get --json` → `"context"`).
///
/// Text form: `c2.` followed by base64url (no padding) of an 8-byte article tag — the first 8
/// bytes of SHA-256 of the article id's UTF-8 — then the version vector's entries, each as
/// 8-byte node id and 8-byte counter, big-endian. A token belongs to the article it was read
/// from: a write to another article with it is refused, so a token can never claim causal
/// knowledge of an article its holder never read. Tokens of the older form `c1.` (no tag) are
/// refused with a request to read the article again.
public enum CausalContext {
    public static func token(for vector: VersionVector, article id: String) -> String {
        var w = ByteWriter(capacity: 8 + vector.entries.count * 16)
        w.raw(tag(id))
        for e in vector.entries {
            w.u64(e.node.rawValue)
            w.u64(e.counter)
        }
        let b64 = Data(w.bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "c2." + b64
    }

    /// The vector of `token`, which must have been read from article `id`; its counters are
    /// checked as every context's are (no node id 0, none above 2^62).
    public static func vector(from token: String, article id: String) throws(InvalidContextToken) -> VersionVector {
        if token.hasPrefix("c1.") {
            throw .invalidContext("this token names no article (made by an older folio): read \"\(id)\" again with `folio get --json`")
        }
        guard token.hasPrefix("c2.") else { throw .invalidContext("expected a token starting with \"c2.\" as printed by `folio get --json`") }
        var b64 = String(token.dropFirst(3))
            .replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), data.count >= 8, (data.count - 8) % 16 == 0 else {
            throw .invalidContext("the token is damaged (not valid base64url of an article tag and 16-byte entries)")
        }
        let bytes = [UInt8](data)
        guard Array(bytes[0..<8]) == tag(id) else {
            throw .invalidContext("the token was read from another article, not \"\(id)\": read \"\(id)\" with `folio get --json` and use its context")
        }
        var pairs: [(NodeID, UInt64)] = []
        var i = 8
        while i < bytes.count {
            let node = bytes[i..<i + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let counter = bytes[i + 8..<i + 16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            pairs.append((NodeID(node), counter))
            i += 16
        }
        // The same policy as every binary vector (VersionCodec): ascending nodes, counters ≥ 1.
        guard pairs.allSatisfy({ $0.1 > 0 }) else { throw .invalidContext("the token holds a zero counter") }
        guard zip(pairs, pairs.dropFirst()).allSatisfy({ $0.0.0 < $0.1.0 }) else {
            throw .invalidContext("the token's entries are not in ascending node order, or repeat a node (it was not made by folio)")
        }
        let vector = VersionVector(pairs)
        do {
            try vector.validate()
        } catch {
            throw .invalidContext(error.reason)
        }
        return vector
    }

    static func tag(_ id: String) -> [UInt8] {
        var id = id
        return id.withUTF8 { Array(SHA256.hash(data: UnsafeRawBufferPointer($0)).prefix(8)) }
    }
}

/// A causal-context token that cannot be used: damaged, from an older folio, read from another
/// article, or claiming counters no store may hold.
public struct InvalidContextToken: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    static func invalidContext(_ reason: String) -> InvalidContextToken { InvalidContextToken(reason) }
    public var description: String { "invalid context token: \(reason)" }
}
