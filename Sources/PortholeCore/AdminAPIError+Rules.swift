public import PortholeAPI

extension AdminAPIError {
    /// 415 for a body whose `Content-Type` (`nil`: none) is not JSON; the type sent is quoted as
    /// ``SandboxFieldRules/shown(_:)`` quotes any input.
    public static func unsupportedMediaType(_ contentType: String?) -> AdminAPIError {
        let sent = contentType.map { "it was sent as \"\(SandboxFieldRules.shown($0))\"" } ?? "it was sent without a Content-Type"
        return AdminAPIError(
            status: 415, code: "unsupported_media_type",
            message: "the request body must be JSON, sent with Content-Type: application/json; \(sent)"
        )
    }
}
