/// `GET /v1/sandboxes/{id}/ports/{port}/preview-link`: the preview URL of one port and the token that
/// opens it (in `X-Preview-Token`, or once as `?preview_token=` in a browser).
public struct PreviewLink: Sendable, Hashable, Codable {
    public var sandboxId: String
    public var port: Int
    /// `https://<port>-<id>.<base domain>`, with the public port when it is not 443.
    public var url: String
    public var token: String

    public init(sandboxId: String, port: Int, url: String, token: String) {
        self.sandboxId = sandboxId
        self.port = port
        self.url = url
        self.token = token
    }
}
