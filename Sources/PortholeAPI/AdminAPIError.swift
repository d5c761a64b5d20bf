/// The body of every admin API error, `{status, code, message, field}`, and the error the Swift client
/// throws for it. `code` is stable for programs; `message` is a sentence a person can act on; `field`
/// names the request field at fault (`networkAllowList`, `port`, …) or is `null`.
public struct AdminAPIError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var field: String?

    public init(status: Int, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    private enum CodingKeys: String, CodingKey {
        case status, code, message, field
    }

    /// `field` is always present, `null` when no single field is to blame, so clients can rely on the shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        if let field {
            try container.encode(field, forKey: .field)
        } else {
            try container.encodeNil(forKey: .field)
        }
    }

    public var description: String {
        field.map { "\(message) (field \($0), \(code), HTTP \(status))" } ?? "\(message) (\(code), HTTP \(status))"
    }
}

// MARK: - The errors the API answers

extension AdminAPIError {
    /// 400 for a malformed or invalid request field.
    public static func invalid(_ field: String?, _ message: String, code: String = "invalid_field") -> AdminAPIError {
        AdminAPIError(status: 400, code: code, message: message, field: field)
    }

    /// 401. Says nothing about why (missing, malformed or wrong token): nothing else is revealed.
    public static let unauthorized = AdminAPIError(
        status: 401, code: "unauthorized", message: "a valid admin token is required: send Authorization: Bearer <admin token>"
    )

    public static func sandboxNotFound(_ id: String) -> AdminAPIError {
        AdminAPIError(status: 404, code: "sandbox_not_found", message: "no sandbox has id '\(id)'; create it first or check the id")
    }

    public static func sandboxExists(_ id: String) -> AdminAPIError {
        AdminAPIError(
            status: 409, code: "sandbox_exists",
            message: "a sandbox with id '\(id)' already exists; choose another id or update the existing sandbox", field: "id"
        )
    }

    /// 405; the caller sends `Allow` with the same methods.
    public static func methodNotAllowed(_ method: String, allowed: [String]) -> AdminAPIError {
        AdminAPIError(status: 405, code: "method_not_allowed", message: "\(method) is not allowed here; use \(allowed.joined(separator: " or "))")
    }

    public static func organizationNotFound(_ id: String) -> AdminAPIError {
        AdminAPIError(status: 404, code: "organization_not_found", message: "no organisation has id '\(id)'; create it first or check the id")
    }

    public static func apiKeyNotFound(_ id: String) -> AdminAPIError {
        AdminAPIError(status: 404, code: "api_key_not_found", message: "no API key has id '\(id)'")
    }

    /// 403 for network settings on an organisation tier that locks them.
    public static func networkPolicyLocked(_ message: String, field: String) -> AdminAPIError {
        AdminAPIError(status: 403, code: "network_policy_locked", message: message, field: field)
    }

    public static func storeUnavailable(_ message: String) -> AdminAPIError {
        AdminAPIError(status: 503, code: "store_unavailable", message: message)
    }
}
