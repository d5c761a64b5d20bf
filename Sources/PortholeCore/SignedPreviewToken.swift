public import PortholeCrypto

/// The token of a signed preview URL (`https://<port>-<id>.<domain>/?preview_token=<token>`): it opens one
/// port of one sandbox without any header until it expires, and it is stateless, so the proxy checks it
/// from the cached policy with one HMAC and no store read.
///
/// Value: `base64url(payload) "." base64url(HMAC-SHA256(secret, context ‖ payload))` under the cookie
/// secret, with its own domain-separation context so a session cookie can never be replayed as a
/// signed token or the other way round. Payload (big-endian): version `1` (1 byte), port (2), token
/// generation (4), expiry in unix seconds (8), grant id (12), then the sandbox id bytes.
///
/// - The token generation binds the URL to the current preview token: rotating the token (the
///   "revoke everything" action) ends every signed URL and every session at once.
/// - The grant id lets one URL be revoked alone before it expires: revocation stores it in the policy
///   (``SandboxPolicy/revokedGrants``) until the URL would have expired anyway.
public enum SignedPreviewToken {
    /// The longest validity the admin API grants (one day); tokens are checked against their own expiry.
    public static let maximumLifetime: Int64 = 86_400

    private static let version: UInt8 = 1
    private static let fixedPayloadLength = 1 + 2 + 4 + 8 + PreviewGrantID.byteCount
    private static let context: [UInt8] = Array("porthole-signed-preview-url-v1\u{0}".utf8)

    /// What a token says once its MAC checked out.
    public struct Claims: Sendable, Hashable {
        public let sandboxID: String
        public let port: UInt16
        public let tokenGeneration: UInt32
        /// Unix seconds, exclusive.
        public let expiresAt: Int64
        public let grant: PreviewGrantID

        public init(sandboxID: String, port: UInt16, tokenGeneration: UInt32, expiresAt: Int64, grant: PreviewGrantID) {
            self.sandboxID = sandboxID
            self.port = port
            self.tokenGeneration = tokenGeneration
            self.expiresAt = expiresAt
            self.grant = grant
        }
    }

    /// Why a presented value is not a usable signed token for a request.
    public enum Rejection: Error, Sendable, Hashable {
        /// Not a signed token at all, or signed with another secret, or for another sandbox, port or
        /// token generation.
        case invalid
        /// Genuine, but past its expiry.
        case expired
        /// Genuine and unexpired, but revoked through the admin API.
        case revoked
    }

    public static func issue(_ claims: Claims, secret: [UInt8]) -> String {
        precondition(secret.count >= PreviewSessionCookie.minimumSecretLength, "the signing secret is too short")
        var payload: [UInt8] = [version]
        payload.reserveCapacity(fixedPayloadLength + claims.sandboxID.utf8.count)
        append(claims.port, to: &payload)
        append(claims.tokenGeneration, to: &payload)
        append(UInt64(bitPattern: claims.expiresAt), to: &payload)
        payload.append(contentsOf: claims.grant.bytes)
        payload.append(contentsOf: claims.sandboxID.utf8)
        return Base64URL.encode(payload) + "." + Base64URL.encode(HMACSHA256.Key(secret).authenticationCode(for: context, payload))
    }

    /// The claims of an untampered token signed with `secret`, expired or not; `nil` for anything else.
    public static func claims(of value: some StringProtocol, secret: [UInt8]) -> Claims? {
        precondition(secret.count >= PreviewSessionCookie.minimumSecretLength, "the signing secret is too short")
        return claims(of: value, key: HMACSHA256.Key(secret))
    }

    /// ``claims(of:secret:)`` with the secret prepared once (the proxy's per-request path).
    public static func claims(of value: some StringProtocol, key: HMACSHA256.Key) -> Claims? {
        let utf8 = value.utf8
        // A real token is under 200 bytes; bound attacker input before decoding it.
        guard utf8.count <= 512, let dot = utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        guard let payload = Base64URL.decode(utf8: utf8[..<dot]),
            let presentedMAC = Base64URL.decode(utf8: utf8[utf8.index(after: dot)...]),
            presentedMAC.count == HMACSHA256.byteCount,
            payload.count > fixedPayloadLength
        else { return nil }
        guard key.isAuthenticationCode(presentedMAC, for: context, payload), payload[0] == version else { return nil }
        let grantStart = 1 + 2 + 4 + 8
        guard let grant = PreviewGrantID(bytes: Array(payload[grantStart..<(grantStart + PreviewGrantID.byteCount)])) else { return nil }
        // The id is checked against the policy by the caller; here it only has to be text.
        let sandboxID = String(decoding: payload[fixedPayloadLength...], as: UTF8.self)
        return Claims(
            sandboxID: sandboxID,
            port: read(payload, at: 1, as: UInt16.self),
            tokenGeneration: read(payload, at: 3, as: UInt32.self),
            expiresAt: Int64(bitPattern: read(payload, at: 7, as: UInt64.self)),
            grant: grant
        )
    }

    /// Checks a presented token against the request's sandbox policy and port.
    public static func verify(
        _ value: some StringProtocol, policy: SandboxPolicy, port: UInt16, now: Int64, secret: [UInt8]
    ) -> Result<Claims, Rejection> {
        precondition(secret.count >= PreviewSessionCookie.minimumSecretLength, "the signing secret is too short")
        return verify(value, policy: policy, port: port, now: now, key: HMACSHA256.Key(secret))
    }

    /// ``verify(_:policy:port:now:secret:)`` with the secret prepared once (the proxy's per-request path).
    public static func verify(
        _ value: some StringProtocol, policy: SandboxPolicy, port: UInt16, now: Int64, key: HMACSHA256.Key
    ) -> Result<Claims, Rejection> {
        guard let claims = claims(of: value, key: key),
            claims.sandboxID == policy.id,
            claims.port == port,
            claims.tokenGeneration == policy.tokenGeneration
        else { return .failure(.invalid) }
        guard now < claims.expiresAt else { return .failure(.expired) }
        guard policy.revokedGrants[claims.grant.description] == nil else { return .failure(.revoked) }
        return .success(claims)
    }

    // MARK: - Private

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func read<T: FixedWidthInteger & UnsignedInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
        var value: T = 0
        for byte in bytes[offset..<(offset + MemoryLayout<T>.size)] {
            value = value << 8 | T(byte)
        }
        return value
    }
}
