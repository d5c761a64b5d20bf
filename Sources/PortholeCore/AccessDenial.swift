/// Why a request was refused, with the HTTP status, a stable machine code and a message that tells
/// the user what to do.
public struct AccessDenial: Sendable, Hashable {
    public let status: Int
    /// `token_missing`, `token_invalid`, `preview_link_expired`, `preview_link_revoked` or `sandbox_stopped`.
    public let code: String
    public let message: String

    private init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// No credential at all: 401, and the message says how to present one.
    public static let tokenMissing = AccessDenial(
        status: 401,
        code: "token_missing",
        message: "this preview is private; pass its preview token in the X-Preview-Token header or the ?preview_token= query parameter"
    )

    /// A token was presented and it is wrong (or was rotated): 403.
    public static let tokenInvalid = AccessDenial(
        status: 403,
        code: "token_invalid",
        message: "the preview token is not valid for this sandbox; it may have been rotated, get a new preview link"
    )

    /// Only a session cookie was presented and it does not verify (expired, token rotated, other port): 403.
    public static let sessionInvalid = AccessDenial(
        status: 403,
        code: "token_invalid",
        message: "preview session expired or revoked; open the preview link again"
    )

    /// A genuine signed preview URL past its expiry: 403, and the message says to ask for a new link.
    public static let signedURLExpired = AccessDenial(
        status: 403,
        code: "preview_link_expired",
        message: "this signed preview link has expired; ask for a new one"
    )

    /// A signed preview URL revoked through the admin API: 403.
    public static let signedURLRevoked = AccessDenial(
        status: 403,
        code: "preview_link_revoked",
        message: "this signed preview link has been revoked; ask for a new one"
    )

    /// 503: the sandbox exists but is not running, so there is nothing to proxy to.
    public static func sandboxStopped(_ sandboxID: String) -> AccessDenial {
        let response = ErrorResponse.sandboxStopped(sandboxID)
        return AccessDenial(status: response.status, code: response.code, message: response.message)
    }

    /// 503: the sandbox has no address yet.
    public static func sandboxCreating(_ sandboxID: String) -> AccessDenial {
        let response = ErrorResponse.sandboxCreating(sandboxID)
        return AccessDenial(status: response.status, code: response.code, message: response.message)
    }

    /// The proxy's error response for this denial.
    public var errorResponse: ErrorResponse {
        ErrorResponse(status: status, code: code, message: message)
    }
}
