import FolioModel

/// The error codes of an ERROR frame (Protocol/SPEC.md §7).
public enum ErrorCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// A frame or payload is malformed (lengths overrun, trailing bytes, bad values). Fatal.
    case badFrame = 1
    /// A frame's declared length exceeds the receiver's limit. Fatal.
    case tooLarge = 2
    /// The message type is not defined in the negotiated version. Fatal.
    case unknownType = 3
    /// A string is not valid UTF-8. Fatal.
    case invalidUTF8 = 4
    /// A request arrived before the handshake completed. Fatal.
    case handshakeRequired = 5
    /// The connection did not open with a Folio HELLO. Fatal.
    case badMagic = 6
    /// The peers share no protocol version. Fatal.
    case noCommonVersion = 7
    /// Authentication is required or failed. Fatal.
    case unauthorized = 8
    /// The article does not exist (or is deleted).
    case notFound = 9
    /// The operation conflicts with the stored state.
    case conflict = 10
    /// The article was refused (the message names the field).
    case invalidArticle = 11
    /// The node is at a limit (connections, queue); retry later.
    case busy = 12
    /// The node failed; the request may or may not have been applied only if it says so.
    case `internal` = 13
    /// The connection was idle too long. Fatal.
    case timeout = 14
    /// The node is shutting down. Fatal.
    case shuttingDown = 15

    /// Whether the sender closes the connection after this error.
    public var isFatal: Bool {
        switch self {
        case .notFound, .conflict, .invalidArticle, .busy, .internal: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case .badFrame: return "bad frame"
        case .tooLarge: return "too large"
        case .unknownType: return "unknown message type"
        case .invalidUTF8: return "invalid UTF-8"
        case .handshakeRequired: return "handshake required"
        case .badMagic: return "bad magic"
        case .noCommonVersion: return "no common protocol version"
        case .unauthorized: return "unauthorized"
        case .notFound: return "not found"
        case .conflict: return "conflict"
        case .invalidArticle: return "invalid article"
        case .busy: return "busy"
        case .internal: return "internal error"
        case .timeout: return "timeout"
        case .shuttingDown: return "shutting down"
        }
    }
}

/// A violation of the protocol found while decoding: answered with an ERROR frame carrying
/// `code`, then the connection is closed.
public struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// The request id of the offending frame when it was readable, else 0.
    public var requestID: UInt32

    public init(_ code: ErrorCode, _ message: String, requestID: UInt32 = 0) {
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    public var description: String { "\(code): \(message)" }
}

extension ErrorCode {
    /// The failure an ERROR code reports (the client's side of the one vocabulary).
    public var kind: FailureKind {
        switch self {
        case .badFrame, .unknownType, .invalidUTF8, .handshakeRequired, .badMagic, .noCommonVersion: return .protocolViolation
        case .tooLarge: return .tooLarge
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .invalidArticle: return .invalidInput
        case .busy: return .busy
        case .internal: return .internalFailure
        case .timeout: return .timeout
        case .shuttingDown: return .shuttingDown
        }
    }

    /// The ERROR code a node answers a failure with (the node's side of the one vocabulary).
    public init(_ kind: FailureKind) {
        switch kind {
        case .notFound: self = .notFound
        case .conflict: self = .conflict
        case .invalidInput, .usage: self = .invalidArticle
        case .unauthorized: self = .unauthorized
        case .busy: self = .busy
        case .tooLarge: self = .tooLarge
        case .protocolViolation: self = .badFrame
        case .shuttingDown: self = .shuttingDown
        case .timeout: self = .timeout
        case .unavailable, .internalFailure: self = .internal
        }
    }
}

extension ProtocolViolation: Failure {
    public var kind: FailureKind { code.kind }
}
