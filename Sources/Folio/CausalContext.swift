import Foundation

/// The opaque token a reader gets with what it read, and hands back when it writes, so the
/// write supersedes exactly what was read (`folio get --json` → `"context"`).
///
/// Text form: `c1.` followed by base64url (no padding) of the version vector's entries,
/// each as 8-byte node id and 8-byte counter, big-endian.
public enum CausalContext {
    public static func token(for vector: VersionVector) -> String {
        var w = ByteWriter(capacity: vector.entries.count * 16)
        for e in vector.entries {
            w.u64(e.node.rawValue)
            w.u64(e.counter)
        }
        let b64 = Data(w.bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "c1." + b64
    }

    public static func vector(from token: String) throws(StoreError) -> VersionVector {
        guard token.hasPrefix("c1.") else { throw .invalidContext("expected a token starting with \"c1.\" as printed by `folio get --json`") }
        var b64 = String(token.dropFirst(3))
            .replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), data.count % 16 == 0 else {
            throw .invalidContext("the token is damaged (not valid base64url of 16-byte entries)")
        }
        let bytes = [UInt8](data)
        var pairs: [(NodeID, UInt64)] = []
        var i = 0
        while i < bytes.count {
            let node = bytes[i..<i + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let counter = bytes[i + 8..<i + 16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            pairs.append((NodeID(node), counter))
            i += 16
        }
        return VersionVector(pairs)
    }
}
