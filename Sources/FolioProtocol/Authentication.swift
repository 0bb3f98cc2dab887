import Crypto
import Foundation

/// The shared secret of a Folio mesh and the challenge–response proofs made with it (SPEC §4.2).
///
/// Each side proves it holds the key with HMAC-SHA256 over both sides' fresh nonces; the key
/// never crosses the wire, and proofs are compared in constant time.
public struct SharedKey: @unchecked Sendable {
    // Unchecked because swift-crypto's SymmetricKey lacks the annotation; invariant: the key
    // is immutable once made (a value with no mutating API), so sharing it is safe.
    let key: SymmetricKey

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 16 else { throw KeyError("a key must have at least 16 bytes, this one has \(bytes.count)") }
        guard Set(bytes).count > 1 else { throw KeyError("this key repeats one byte value: it is not random; make one with `folio keygen`") }
        key = SymmetricKey(data: bytes)
    }

    public struct KeyError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// A new random 32-byte key, as the hex line `folio keygen` prints.
    public static func generateHex() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// Reads a key file: hex digits (whitespace ignored).
    public init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeyError("cannot read key file \(path)") }
        let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
        guard text.count % 2 == 0, !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isHexDigit }) else {
            throw KeyError("key file \(path) must hold only hex digits (made by `folio keygen`)")
        }
        var bytes: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let j = text.index(i, offsetBy: 2)
            guard let b = UInt8(text[i..<j], radix: 16) else { throw KeyError("key file \(path) must hold hex digits (made by `folio keygen`)") }
            bytes.append(b)
            i = j
        }
        try self.init(bytes: bytes)
    }

    static let clientLabel = Array("folio-auth-v2 client".utf8)
    static let serverLabel = Array("folio-auth-v2 server".utf8)

    /// The client's proof: HMAC(key, "folio-auth-v2 client" ‖ client nonce ‖ server nonce ‖ binding),
    /// where `binding` is SHA-256 of the node's TLS certificate (SPEC §4.2): a relay that ends
    /// TLS itself presents another certificate, so a proof made through it does not verify.
    public func clientProof(clientNonce: [UInt8], serverNonce: [UInt8], binding: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: SharedKey.clientLabel + clientNonce + serverNonce + binding, using: key))
    }

    /// The node's proof: HMAC(key, "folio-auth-v2 server" ‖ server nonce ‖ client nonce ‖ binding).
    public func serverProof(clientNonce: [UInt8], serverNonce: [UInt8], binding: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: SharedKey.serverLabel + serverNonce + clientNonce + binding, using: key))
    }

    /// Constant-time check of a client's proof.
    public func verifyClient(_ proof: [UInt8], clientNonce: [UInt8], serverNonce: [UInt8], binding: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: SharedKey.clientLabel + clientNonce + serverNonce + binding, using: key)
    }

    /// Constant-time check of a node's proof.
    public func verifyServer(_ proof: [UInt8], clientNonce: [UInt8], serverNonce: [UInt8], binding: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: SharedKey.serverLabel + serverNonce + clientNonce + binding, using: key)
    }
}
