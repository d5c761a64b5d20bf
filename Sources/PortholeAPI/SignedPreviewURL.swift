/// `POST /v1/sandboxes/{id}/ports/{port}/signed-preview-url`: a URL that opens the preview without any
/// header until `expiresAt`.
public struct SignedPreviewURL: Sendable, Hashable, Codable {
    public var sandboxId: String
    public var port: Int
    /// `https://<port>-<id>.<base domain>[:port]/?preview_token=<token>`.
    public var url: String
    /// The signed token in the URL; pass it to `…/signed-preview-url/{token}/expire` to revoke the URL.
    public var token: String
    /// Unix seconds.
    public var expiresAt: Int64

    public init(sandboxId: String, port: Int, url: String, token: String, expiresAt: Int64) {
        self.sandboxId = sandboxId
        self.port = port
        self.url = url
        self.token = token
        self.expiresAt = expiresAt
    }
}
