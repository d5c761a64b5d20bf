internal import COpenSSL

/// An error from the TLS layer: loading certificates, a handshake, or a connection.
///
/// Compare with the static members (`error == .uncleanShutdown`); equality looks at the kind only,
/// so the OpenSSL text and file name never get in the way of matching.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case certificateFile
        case privateKeyFile
        case configuration
        case certificateGeneration
        case handshakeFailed
        case handshakeTimeout
        case protocolFailure
        case uncleanShutdown
    }

    private let kind: Kind
    /// The file the error is about, if any (a certificate chain or private key path).
    public let file: String?
    /// Why it failed: OpenSSL's error queue text or a short explanation.
    public let reason: String

    private init(_ kind: Kind, file: String? = nil, reason: String = "") {
        self.kind = kind
        self.file = file
        self.reason = reason
    }

    public static func == (lhs: TLSError, rhs: TLSError) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.kind) }

    /// A certificate (chain) file could not be read or parsed.
    public static let certificateFile = TLSError(.certificateFile)
    /// A private key file could not be read, parsed, or does not match its certificate.
    public static let privateKeyFile = TLSError(.privateKeyFile)
    /// The configuration cannot be applied (no certificates, a bad ALPN name, a rejected cipher list).
    public static let configuration = TLSError(.configuration)
    /// Development certificates could not be generated or written.
    public static let certificateGeneration = TLSError(.certificateGeneration)
    /// The peer and we could not agree (wrong version, no shared cipher, a bad message).
    public static let handshakeFailed = TLSError(.handshakeFailed)
    /// The handshake did not complete within the configured time.
    public static let handshakeTimeout = TLSError(.handshakeTimeout)
    /// A record could not be decrypted or encrypted after the handshake.
    public static let protocolFailure = TLSError(.protocolFailure)
    /// The peer closed TCP without sending close_notify, so a truncation attack cannot be ruled out.
    public static let uncleanShutdown = TLSError(
        .uncleanShutdown,
        reason: "connection closed without close_notify"
    )

    static func certificateFile(_ path: String, reason: String) -> TLSError {
        TLSError(.certificateFile, file: path, reason: reason)
    }
    static func privateKeyFile(_ path: String, reason: String) -> TLSError {
        TLSError(.privateKeyFile, file: path, reason: reason)
    }
    static func configuration(_ reason: String) -> TLSError {
        TLSError(.configuration, reason: reason)
    }
    static func certificateGeneration(_ reason: String, file: String? = nil) -> TLSError {
        TLSError(.certificateGeneration, file: file, reason: reason)
    }
    static func handshakeFailed(_ reason: String) -> TLSError {
        TLSError(.handshakeFailed, reason: reason)
    }
    static func handshakeTimeout(_ reason: String) -> TLSError {
        TLSError(.handshakeTimeout, reason: reason)
    }
    static func protocolFailure(_ reason: String) -> TLSError {
        TLSError(.protocolFailure, reason: reason)
    }

    public var description: String {
        let what: String
        switch self.kind {
        case .certificateFile: what = "cannot load certificate"
        case .privateKeyFile: what = "cannot load private key"
        case .configuration: what = "invalid TLS configuration"
        case .certificateGeneration: what = "cannot generate development certificates"
        case .handshakeFailed: what = "TLS handshake failed"
        case .handshakeTimeout: what = "TLS handshake timed out"
        case .protocolFailure: what = "TLS protocol error"
        case .uncleanShutdown: what = "unclean TLS shutdown"
        }
        var text = "TLSError: \(what)"
        if let file { text += " \(file)" }
        if !self.reason.isEmpty { text += ": \(self.reason)" }
        return text
    }
}

// MARK: - OpenSSL error queue

/// Drains this thread's OpenSSL error queue into one line.
///
/// OpenSSL keeps errors per thread; leaving them queued would make the next `SSL_get_error` on this
/// event loop misreport, so every failure path drains the queue whether or not it uses the text.
func drainOpenSSLErrors(or fallback: String = "unknown OpenSSL error") -> String {
    var messages: [String] = []
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { scratch in
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, scratch.baseAddress, scratch.count)
            messages.append(String(cString: scratch.baseAddress!))
        }
    }
    return messages.isEmpty ? fallback : messages.joined(separator: "; ")
}
