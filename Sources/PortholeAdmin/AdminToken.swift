import PortholeCore
import PortholeCrypto

/// The admin API's bearer token, compared in constant time.
///
/// Both sides are MACed under a per-process random key and the MACs compared: the comparison then
/// takes the same time whatever the presented value is, its length included (a plain byte comparison
/// would return early on a length mismatch and reveal the token's length).
public struct AdminToken: Sendable {
    private let key: [UInt8]
    private let expected: [UInt8]

    /// The shortest token accepted from the environment or a file: 128 bits of base64url.
    public static let minimumLength = 22

    public init(_ token: String) {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.key = key
        self.expected = HMACSHA256.authenticationCode(for: Array(token.utf8), key: key)
    }

    /// A fresh token for the data directory: 32 random bytes, base64url, never starting with "-"
    /// (`--admin-token -x…` would read as an option on a command line).
    public static func generate() -> String {
        while true {
            let token = PreviewToken.generate()
            if !token.hasPrefix("-") { return token }
        }
    }

    public func matches(_ presented: some StringProtocol) -> Bool {
        ConstantTime.equals(HMACSHA256.authenticationCode(for: Array(presented.utf8), key: key), expected)
    }

    /// Checks an `Authorization` header value: `Bearer <token>`, the scheme case-insensitive (RFC 9110 §11.1).
    public func authorizes(authorizationHeader value: String?) -> Bool {
        guard let token = Self.bearerToken(authorizationHeader: value) else { return false }
        return matches(token)
    }

    /// The credential of `Bearer <credential>`, or `nil` for another scheme or none.
    static func bearerToken(authorizationHeader value: String?) -> Substring? {
        guard let value else { return nil }
        let utf8 = value.utf8
        guard utf8.count > 7, let space = utf8.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let scheme = value[..<space]
        guard scheme.lowercased() == "bearer" else { return nil }
        return value[space...].drop { $0 == " " }
    }
}
