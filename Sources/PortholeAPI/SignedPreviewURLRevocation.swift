/// `POST …/signed-preview-url/{token}/expire`: the URL, and every browser session it started, no longer opens.
public struct SignedPreviewURLRevocation: Sendable, Hashable, Codable {
    public var sandboxId: String
    public var port: Int
    /// The grant id the revocation recorded.
    public var grantId: String
    /// When the URL would have expired (unix seconds); the revocation is kept until then.
    public var expiresAt: Int64
    /// Always true: the URL no longer opens (already-expired URLs included).
    public var revoked: Bool

    public init(sandboxId: String, port: Int, grantId: String, expiresAt: Int64, revoked: Bool = true) {
        self.sandboxId = sandboxId
        self.port = port
        self.grantId = grantId
        self.expiresAt = expiresAt
        self.revoked = revoked
    }
}
