/// Why a request was let through; useful for metrics and access logs.
public enum AccessGrant: String, Sendable, Hashable {
    /// Public sandbox, port not reserved.
    case `public`
    /// Valid `X-Preview-Token` header.
    case token
    /// Valid `?preview_token=` on a request that is not a browser navigation.
    case queryToken = "query_token"
    /// Valid signed preview URL token in `?preview_token=` on a request that is not a browser navigation.
    case signedURL = "signed_url"
    /// Valid session cookie.
    case cookie
}
