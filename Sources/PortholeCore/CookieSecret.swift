/// The key that signs session cookies and signed preview URLs, checked when it is made: at least
/// ``PreviewSessionCookie/minimumSecretLength`` bytes. A configuration holding one can therefore
/// never reach the MAC code with an empty or short key (which would trap at start).
public struct CookieSecret: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) throws(CookieSecretError) {
        guard bytes.count >= PreviewSessionCookie.minimumSecretLength else {
            throw CookieSecretError(length: bytes.count)
        }
        self.bytes = bytes
    }
}

/// Why a cookie secret was refused.
public struct CookieSecretError: Error, Sendable, Hashable, CustomStringConvertible {
    public let length: Int

    public var description: String {
        "the cookie secret must be at least \(PreviewSessionCookie.minimumSecretLength) bytes (64 hex digits), got \(length)"
    }
}
