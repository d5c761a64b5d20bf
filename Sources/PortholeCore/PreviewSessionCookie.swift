public import PortholeCrypto

/// The browser session Porthole sets after a browser opens a preview link with `?preview_token=`:
/// the token leaves the address bar (and the history, and `Referer`s) and the cookie carries the session.
///
/// Value: `base64url(payload) "." base64url(HMAC-SHA256(secret, context ‖ payload))`, where the payload binds
/// the sandbox, the port, the token generation and the expiry. Nothing secret is in it; the MAC makes it
/// unforgeable, the generation makes a token rotation revoke every session at once, and the port binding
/// keeps a session for one port from opening another (each `<port>-<id>` host is its own origin).
///
/// Payload layout (big-endian): version `1` (1 byte), port (2), token generation (4), expiry in unix
/// seconds (8), then the sandbox id bytes. Fixed-width fields first make the encoding unambiguous
/// without separators.
///
/// A session started from a signed preview URL (``SignedPreviewToken``) is version `2`: the same fields
/// plus the URL's 12-byte grant id before the sandbox id. Revoking the URL records the grant id in the
/// policy (``SandboxPolicy/revokedGrants``), which ends the session too; and such a session is issued
/// to expire no later than the URL, so the record can forget the grant once the URL has expired.
public enum PreviewSessionCookie {
    /// `__Host-`: a browser stores a cookie of this name only from a secure origin, with `Path=/` and
    /// without `Domain`, so no other host (another sandbox under the same base domain) can plant
    /// one (RFC 6265bis §4.1.3.2).
    public static let name = "__Host-porthole_session"
    /// The name before the `__Host-` prefix. Never accepted as a credential any more, but still cut
    /// out of requests before they reach a sandbox: browsers keep such a cookie until it expires.
    public static let legacyName = "porthole_session"

    /// Secrets shorter than the HMAC output would be the weakest link.
    public static let minimumSecretLength = 32

    private static let version: UInt8 = 1
    private static let grantVersion: UInt8 = 2
    private static let fixedPayloadLength = 1 + 2 + 4 + 8
    /// Domain separation: if the secret is ever shared with another signed value (signed URLs), a MAC
    /// over one can never be replayed as the other.
    private static let context: [UInt8] = Array("porthole-session-v1\u{0}".utf8)

    /// A cookie value valid until `expiresAt` (unix seconds, exclusive).
    public static func issue(sandboxID: String, port: UInt16, tokenGeneration: UInt32, expiresAt: Int64, secret: [UInt8]) -> String {
        issue(sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, expiresAt: expiresAt, grant: nil, secret: secret)
    }

    /// A cookie value valid until `expiresAt`, bound to the signed preview URL `grant` when given: it then
    /// stops verifying as soon as the grant is revoked. The caller caps `expiresAt` at the URL's expiry.
    public static func issue(
        sandboxID: String, port: UInt16, tokenGeneration: UInt32, expiresAt: Int64, grant: PreviewGrantID?, secret: [UInt8]
    ) -> String {
        precondition(secret.count >= minimumSecretLength, "the cookie secret must be at least \(minimumSecretLength) bytes")
        return issue(
            sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, expiresAt: expiresAt, grant: grant,
            key: HMACSHA256.Key(secret)
        )
    }

    /// ``issue(sandboxID:port:tokenGeneration:expiresAt:grant:secret:)`` with the secret prepared once
    /// (the proxy's per-request path).
    public static func issue(
        sandboxID: String, port: UInt16, tokenGeneration: UInt32, expiresAt: Int64, grant: PreviewGrantID? = nil, key: HMACSHA256.Key
    ) -> String {
        let payload = payload(sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, expiresAt: expiresAt, grant: grant)
        return Base64URL.encode(payload) + "." + Base64URL.encode(key.authenticationCode(for: context, payload))
    }

    /// True only for an untampered value issued with `secret` for this sandbox, port and token generation,
    /// not yet expired at `now`, and (for a session started from a signed preview URL) whose grant is not in
    /// `revokedGrants`. Anything malformed is simply false.
    public static func verify(
        _ value: some StringProtocol, sandboxID: String, port: UInt16, tokenGeneration: UInt32, now: Int64,
        revokedGrants: [String: Int64] = [:], secret: [UInt8]
    ) -> Bool {
        verify(
            utf8: value.utf8, sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, now: now,
            revokedGrants: revokedGrants, secret: secret
        )
    }

    /// Byte-level form of ``verify(_:sandboxID:port:tokenGeneration:now:revokedGrants:secret:)``.
    public static func verify(
        utf8 value: some Collection<UInt8>, sandboxID: String, port: UInt16, tokenGeneration: UInt32, now: Int64,
        revokedGrants: [String: Int64] = [:], secret: [UInt8]
    ) -> Bool {
        precondition(secret.count >= minimumSecretLength, "the cookie secret must be at least \(minimumSecretLength) bytes")
        return verify(
            utf8: value, sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, now: now,
            revokedGrants: revokedGrants, key: HMACSHA256.Key(secret)
        )
    }

    /// ``verify(utf8:sandboxID:port:tokenGeneration:now:revokedGrants:secret:)`` with the secret prepared
    /// once (the proxy's per-request path).
    public static func verify(
        utf8 value: some Collection<UInt8>, sandboxID: String, port: UInt16, tokenGeneration: UInt32, now: Int64,
        revokedGrants: [String: Int64] = [:], key: HMACSHA256.Key
    ) -> Bool {
        guard let session = session(utf8: value, sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, now: now, key: key)
        else { return false }
        if let grant = session.grant, revokedGrants[grant.description] != nil { return false }
        return true
    }

    /// A verified session: what the cookie was issued for, once its MAC, binding and expiry checked out.
    public struct Session: Sendable, Hashable {
        public let expiresAt: Int64
        /// The signed preview URL the session was started from; `nil` for a session from the preview token.
        public let grant: PreviewGrantID?
    }

    /// The session in `value` if it is untampered, issued with `secret` for this sandbox, port and token
    /// generation, and not expired at `now`; revocation of its grant is the caller's to check.
    public static func session(
        utf8 value: some Collection<UInt8>, sandboxID: String, port: UInt16, tokenGeneration: UInt32, now: Int64, secret: [UInt8]
    ) -> Session? {
        precondition(secret.count >= minimumSecretLength, "the cookie secret must be at least \(minimumSecretLength) bytes")
        return session(utf8: value, sandboxID: sandboxID, port: port, tokenGeneration: tokenGeneration, now: now, key: HMACSHA256.Key(secret))
    }

    /// ``session(utf8:sandboxID:port:tokenGeneration:now:secret:)`` with the secret prepared once.
    public static func session(
        utf8 value: some Collection<UInt8>, sandboxID: String, port: UInt16, tokenGeneration: UInt32, now: Int64, key: HMACSHA256.Key
    ) -> Session? {
        // Bounded before decoding: a cookie is attacker input and the real one is under 200 bytes.
        guard value.count <= 512, let dot = value.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        guard let payload = Base64URL.decode(utf8: value[..<dot]),
            let presentedMAC = Base64URL.decode(utf8: value[value.index(after: dot)...]),
            presentedMAC.count == HMACSHA256.byteCount,
            payload.count > fixedPayloadLength
        else { return nil }

        // The MAC first: nothing in an unauthenticated payload is trusted, not even its version.
        guard key.isAuthenticationCode(presentedMAC, for: context, payload) else { return nil }
        let grant: PreviewGrantID?
        let idOffset: Int
        switch payload[0] {
        case version:
            grant = nil
            idOffset = fixedPayloadLength
        case grantVersion:
            guard payload.count > fixedPayloadLength + PreviewGrantID.byteCount else { return nil }
            grant = PreviewGrantID(bytes: Array(payload[fixedPayloadLength..<(fixedPayloadLength + PreviewGrantID.byteCount)]))
            idOffset = fixedPayloadLength + PreviewGrantID.byteCount
        default:
            return nil
        }
        guard readInteger(payload, at: 1, as: UInt16.self) == port,
            readInteger(payload, at: 3, as: UInt32.self) == tokenGeneration,
            payload[idOffset...].elementsEqual(sandboxID.utf8)
        else { return nil }
        let expiresAt = Int64(bitPattern: readInteger(payload, at: 7, as: UInt64.self))
        guard now < expiresAt else { return nil }
        return Session(expiresAt: expiresAt, grant: grant)
    }

    /// `Set-Cookie` value for a session. Host-only on purpose (no `Domain`): with `Domain` the cookie would go
    /// to every sandbox under the preview domain, and each sandbox is untrusted code. `HttpOnly` keeps the
    /// previewed app's own scripts from reading it; `SameSite=Lax` still sends it on top-level navigations
    /// from links, which is how previews are opened. A negative `maxAge` is clamped to 0 (delete).
    ///
    /// `partitioned`: for a preview inside another site's frame (a dashboard embedding it), where
    /// browsers store no `SameSite=Lax` cookie. `SameSite=None; Partitioned` (CHIPS) keeps the session
    /// in that top-level site's partition only: it goes with the frame's requests under that
    /// dashboard and nowhere else, and a top-level visit gets its own `Lax` cookie.
    public static func setCookieHeaderValue(value: String, maxAge: Int64, partitioned: Bool = false) -> String {
        let sameSite = partitioned ? "SameSite=None; Partitioned" : "SameSite=Lax"
        return "\(name)=\(value); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; Secure; \(sameSite)"
    }

    /// `Set-Cookie` value that deletes the session, e.g. after a token rotation made it useless.
    public static var deletingSetCookieHeaderValue: String {
        setCookieHeaderValue(value: "", maxAge: 0)
    }

    // MARK: - Private

    private static func payload(sandboxID: String, port: UInt16, tokenGeneration: UInt32, expiresAt: Int64, grant: PreviewGrantID?) -> [UInt8] {
        var bytes: [UInt8] = [grant == nil ? version : grantVersion]
        bytes.reserveCapacity(fixedPayloadLength + PreviewGrantID.byteCount + sandboxID.utf8.count)
        appendInteger(port, to: &bytes)
        appendInteger(tokenGeneration, to: &bytes)
        appendInteger(UInt64(bitPattern: expiresAt), to: &bytes)
        if let grant { bytes.append(contentsOf: grant.bytes) }
        bytes.append(contentsOf: sandboxID.utf8)
        return bytes
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func readInteger<T: FixedWidthInteger & UnsignedInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
        var value: T = 0
        for byte in bytes[offset..<(offset + MemoryLayout<T>.size)] {
            value = value << 8 | T(byte)
        }
        return value
    }
}
