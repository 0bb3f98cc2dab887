import FolioProtocol

/// Why a `FolioClient` call failed.
public enum FolioClientError: Failure, Equatable, Sendable, CustomStringConvertible {
    /// The article does not exist.
    case notFound(String)
    /// The node reported a conflict.
    case conflict(String)
    /// The node refused the article (the message names the field).
    case invalidArticle(String)
    /// Authentication failed, or a key is required / was refused.
    case unauthorized(String)
    /// The node is at a limit; retry later.
    case busy(String)
    /// The answer would not fit one frame this client accepts (SPEC §7, `tooLarge` answering a request).
    case tooLarge(String)
    /// The peer broke the protocol (or we could not agree on it).
    case protocolError(String)
    /// Another error reported by the node.
    case server(code: ErrorCode, message: String)
    /// The connection is closed (or could not be opened).
    case closed(String)
    /// No answer within the timeout.
    case timeout(String)
    /// The address does not parse (nothing was dialled).
    case invalidAddress(String)
    /// The node is shutting down: the request was not applied; another node may serve it.
    case shuttingDown(String)
    /// The node does not offer what was asked (an older node without search, a store without an index).
    case unsupported(String)

    init(code: ErrorCode, message: String) {
        switch code.kind {
        case .notFound: self = .notFound(message)
        case .conflict: self = .conflict(message)
        case .invalidInput, .usage: self = .invalidArticle(message)
        case .unauthorized: self = .unauthorized(message)
        case .busy: self = .busy(message)
        case .tooLarge: self = .tooLarge(message)
        case .protocolViolation: self = .protocolError("\(code): \(message)")
        case .shuttingDown: self = .shuttingDown(message)
        case .timeout: self = .timeout(message)
        case .internalFailure: self = .server(code: code, message: message)
        case .unavailable: self = .unsupported(message)
        }
    }

    /// True when a request may have been applied without its answer arriving: the connection
    /// closed or the answer did not come in time (a node shutting down answered; not this).
    var leavesWriteUnanswered: Bool {
        switch self {
        case .closed: return true
        case .timeout: return true
        default: return false
        }
    }

    public var kind: FailureKind {
        switch self {
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .invalidArticle: return .invalidInput
        case .unauthorized: return .unauthorized
        case .busy: return .busy
        case .tooLarge: return .tooLarge
        case .protocolError: return .protocolViolation
        case .server: return .internalFailure
        case .closed: return .unavailable
        case .timeout: return .timeout
        case .invalidAddress: return .usage
        case .shuttingDown: return .shuttingDown
        case .unsupported: return .unavailable
        }
    }

    public var description: String {
        switch self {
        case let .notFound(m): return m
        case let .conflict(m): return "conflict: \(m)"
        case let .invalidArticle(m): return m
        case let .unauthorized(m): return "unauthorized: \(m)"
        case let .busy(m): return "busy: \(m)"
        case let .tooLarge(m): return "too large: \(m)"
        case let .protocolError(m): return "protocol error: \(m)"
        case let .server(code, m): return "node error (\(code)): \(m)"
        case let .closed(m): return "connection closed: \(m)"
        case let .timeout(m): return "timeout: \(m)"
        case let .invalidAddress(m): return "invalid address \(m)"
        case let .shuttingDown(m): return "the node is shutting down: \(m)"
        case let .unsupported(m): return m
        }
    }
}
