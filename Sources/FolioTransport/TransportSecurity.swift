import Crypto
import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// Certificate files for sites with their own PKI (`--tls-cert`, `--tls-key`, `--tls-ca`).
///
/// With a CA, a node accepts only clients presenting a certificate issued by it, and a client
/// accepts only a node whose certificate it issued (mutual TLS). Without files a node presents
/// an ephemeral self-signed certificate and authentication is the mesh key's, bound to the
/// TLS session (SPEC §4.2).
public struct TLSFiles: Sendable, Equatable {
    /// PEM certificate chain, leaf first.
    public var certificate: String?
    /// PEM private key of the leaf certificate.
    public var privateKey: String?
    /// PEM certificates of the CA(s) that issue the mesh's certificates.
    public var ca: String?

    public init(certificate: String? = nil, privateKey: String? = nil, ca: String? = nil) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.ca = ca
    }

    public var isEmpty: Bool { certificate == nil && privateKey == nil && ca == nil }
}

/// A transport set-up that cannot be used, named precisely.
public struct TransportError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The TLS side of a node: its context, and the channel binding its key proofs include.
///
/// TLS 1.3 only, so every cipher suite is an AEAD (AES-GCM or ChaCha20-Poly1305): after the
/// handshake an on-path attacker can neither read nor alter, inject, replay or reorder a record
/// undetected. The node's certificate is the `--tls-cert` leaf, or a fresh self-signed P-256
/// certificate made when the node starts (its private key never leaves memory).
public struct ServerTLS: Sendable {
    public let context: NIOSSLContext
    /// SHA-256 of the DER of the certificate the node presents: the channel binding (SPEC §4.2).
    public let binding: [UInt8]
    /// True when clients must present a certificate issued by `--tls-ca`.
    public let requiresClientCertificate: Bool

    public init(files: TLSFiles = TLSFiles(), commonName: String = "folio node") throws {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        switch (files.certificate, files.privateKey) {
        case let (cert?, keyFile?):
            chain = try loadCertificates(cert, what: "--tls-cert")
            key = try loadKey(keyFile)
        case (nil, nil):
            guard files.ca == nil else {
                throw TransportError("--tls-ca needs --tls-cert and --tls-key: a node presents a certificate its CA issued, or no client that checks the CA can connect")
            }
            (chain, key) = try makeEphemeralCertificate(commonName: commonName)
        case (_?, nil):
            throw TransportError("--tls-cert needs --tls-key (the certificate's private key)")
        case (nil, _?):
            throw TransportError("--tls-key needs --tls-cert")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv13
        if let ca = files.ca {
            config.trustRoots = .certificates(try loadCertificates(ca, what: "--tls-ca"))
            // Any certificate the mesh's CA issued is a member; names are not checked.
            config.certificateVerification = .noHostnameVerification
            requiresClientCertificate = true
        } else {
            config.certificateVerification = .none
            requiresClientCertificate = false
        }
        do {
            context = try NIOSSLContext(configuration: config)
        } catch {
            throw TransportError("cannot use the TLS certificate and key: \(error) (does --tls-key belong to --tls-cert?)")
        }
        binding = channelBinding(of: try chain[0].toDERBytes())
    }

    public func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context)
    }
}

/// The TLS side of a client: its context, and how it learns the channel binding.
public struct ClientTLS: Sendable {
    public let context: NIOSSLContext

    public init(files: TLSFiles = TLSFiles()) throws {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        switch (files.certificate, files.privateKey) {
        case let (cert?, keyFile?):
            config.certificateChain = try loadCertificates(cert, what: "--tls-cert").map { .certificate($0) }
            config.privateKey = .privateKey(try loadKey(keyFile))
        case (nil, nil): break
        case (_?, nil): throw TransportError("--tls-cert needs --tls-key (the certificate's private key)")
        case (nil, _?): throw TransportError("--tls-key needs --tls-cert")
        }
        if let ca = files.ca {
            config.trustRoots = .certificates(try loadCertificates(ca, what: "--tls-ca"))
            config.certificateVerification = .noHostnameVerification
        } else {
            // The node's certificate is checked by the key proof it is bound into (SPEC §4.2).
            config.certificateVerification = .none
        }
        do {
            context = try NIOSSLContext(configuration: config)
        } catch {
            throw TransportError("cannot use the TLS files: \(error)")
        }
    }

    public func makeHandler() throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: nil)
    }

    /// The channel binding of an established connection: SHA-256 of the node's certificate.
    /// Call on the channel's event loop once the TLS handshake is done.
    public static func binding(of channel: Channel) -> [UInt8]? {
        guard let handler = try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self),
            let certificate = handler.peerCertificate, let der = try? certificate.toDERBytes()
        else { return nil }
        return channelBinding(of: der)
    }
}

/// SHA-256 of a certificate's DER encoding (like RFC 5929's tls-server-end-point).
public func channelBinding(of certificateDER: [UInt8]) -> [UInt8] {
    Array(SHA256.hash(data: certificateDER))
}

private func loadCertificates(_ path: String, what: String) throws -> [NIOSSLCertificate] {
    guard FileManager.default.isReadableFile(atPath: path) else { throw TransportError("cannot read \(what) file \(path)") }
    let certs: [NIOSSLCertificate]
    do {
        certs = try NIOSSLCertificate.fromPEMFile(path)
    } catch {
        throw TransportError("\(what) file \(path) holds no PEM certificate: \(error)")
    }
    guard !certs.isEmpty else { throw TransportError("\(what) file \(path) holds no PEM certificate") }
    return certs
}

private func loadKey(_ path: String) throws -> NIOSSLPrivateKey {
    guard FileManager.default.isReadableFile(atPath: path) else { throw TransportError("cannot read --tls-key file \(path)") }
    do {
        return try NIOSSLPrivateKey(file: path, format: .pem)
    } catch {
        throw TransportError("--tls-key file \(path) holds no PEM private key: \(error)")
    }
}

/// A fresh P-256 key and a self-signed certificate for it, valid from an hour ago for 10 years.
/// Nothing trusts it by itself: the mesh key's proof binds it to the session (SPEC §4.2).
private func makeEphemeralCertificate(commonName: String) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
    let key = P256.Signing.PrivateKey()
    let name = try DistinguishedName { CommonName(commonName) }
    let now = Date()
    let certificate = try Certificate(
        version: .v3,
        serialNumber: Certificate.SerialNumber(),
        publicKey: .init(key.publicKey),
        notValidBefore: now.addingTimeInterval(-3600),
        notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
        issuer: name,
        subject: name,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
        },
        issuerPrivateKey: .init(key))
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    let der = serializer.serializedBytes
    return (
        [try NIOSSLCertificate(bytes: der, format: .der)],
        try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
    )
}
