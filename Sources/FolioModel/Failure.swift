/// The one vocabulary of failure that every layer speaks. Each error type says its kind once
/// (`Failure.kind`); each boundary maps kinds to what it speaks — ERROR codes on the wire
/// (`ErrorCode(kind)` / `ErrorCode.kind`, SPEC §7), `FolioClientError` cases in programs, exit
/// codes in the CLI (0 ok, 1 not found/conflict, 2 usage, 3 failure, 4 rejected).
public enum FailureKind: Sendable, Equatable, CaseIterable {
    /// The article (or version) does not exist.
    case notFound
    /// The request contradicts what is stored (a dot met with other content).
    case conflict
    /// The input was refused: an invalid article, id, context token or version set.
    case invalidInput
    /// The caller is not allowed: no key, a wrong key, a refused certificate.
    case unauthorized
    /// A limit was reached; retrying later may work.
    case busy
    /// Too large for one frame.
    case tooLarge
    /// The peer broke the protocol, or the two sides share no version.
    case protocolViolation
    /// The node is shutting down.
    case shuttingDown
    /// No answer, or no handshake, in time.
    case timeout
    /// The connection is closed or could not be opened.
    case unavailable
    /// The caller asked for something malformed (an address that does not parse, a bad flag).
    case usage
    /// The store or node failed (disk full, corruption, LMDB); nothing the caller did.
    case internalFailure
}

/// An error that says which kind of failure it is.
public protocol Failure: Error {
    var kind: FailureKind { get }
}

extension InvalidArticle: Failure {
    public var kind: FailureKind { .invalidInput }
}

extension InvalidContextToken: Failure {
    public var kind: FailureKind { .invalidInput }
}

extension CorruptRecord: Failure {
    public var kind: FailureKind { .internalFailure }
}
