public import PortholeCrypto

/// Operator-wide settings of the access decision.
public struct AccessRules: Sendable {
    /// Ports that always need a token, even on a public sandbox (e.g. the sandbox's own terminal or
    /// agent API: making an app public must not publish a shell).
    public var reservedPorts: Set<UInt16>
    /// Key of the session cookie MAC, at least ``PreviewSessionCookie/minimumSecretLength`` bytes.
    /// Fixed for the rules' lifetime (a reload builds new rules), so `cookieKey` cannot go stale.
    public let cookieSecret: [UInt8]
    /// `cookieSecret` prepared for the per-request MAC checks.
    public let cookieKey: HMACSHA256.Key
    /// Seconds a session cookie stays valid after the token-for-cookie exchange.
    public var cookieLifetime: Int64

    public static let defaultCookieLifetime: Int64 = 86_400

    public init(reservedPorts: Set<UInt16> = [], cookieSecret: [UInt8], cookieLifetime: Int64 = defaultCookieLifetime) {
        precondition(
            cookieSecret.count >= PreviewSessionCookie.minimumSecretLength,
            "the cookie secret must be at least \(PreviewSessionCookie.minimumSecretLength) bytes"
        )
        precondition(cookieLifetime > 0, "the cookie lifetime must be positive")
        self.reservedPorts = reservedPorts
        self.cookieSecret = cookieSecret
        self.cookieKey = HMACSHA256.Key(cookieSecret)
        self.cookieLifetime = cookieLifetime
    }
}
