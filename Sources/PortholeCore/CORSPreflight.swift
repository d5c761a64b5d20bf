/// A CORS preflight to a private preview, answered by Porthole itself.
///
/// Browsers send a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) without
/// credentials before a cross-origin request that carries a custom header such as
/// `X-Preview-Token`. Requiring a token on it would make every such call fail; forwarding it
/// without one would let anybody run the app's handlers for any method, path and body (apps that
/// answer `OPTIONS` with their ordinary handler: PHP, Django function views, Express `app.all`).
/// So Porthole answers it and nothing reaches the sandbox: it allows the requested method and
/// headers for the requesting origin, and the real request then needs its token as always.
///
/// Credentials (`Access-Control-Allow-Credentials: true`) are allowed only for an origin on the
/// same sandbox (another port of it): the app talking to itself. Any other origin gets a preflight
/// that lets it send the token header but never the browser's cookies, so a foreign page cannot
/// ride on a user's preview session (CSRF through a preflight Porthole said yes to).
public struct CORSPreflight: Sendable, Hashable {
    /// The `Origin` value, a serialised origin (`scheme://host[:port]`) or `null`.
    public let origin: String
    /// The `Access-Control-Request-Method` value, a method token.
    public let method: String
    /// The `Access-Control-Request-Headers` value, a comma-separated list of field names, if any.
    public let headers: String?
    /// The origin is a preview host of the same sandbox: credentials may be sent.
    public let allowsCredentials: Bool

    /// How long a browser may cache the answer (Chromium caps it at 7200 s).
    public static let maximumAge = 600

    /// A preflight only when every part is well formed: anything else is an ordinary request and
    /// needs a credential (fail closed). `nil` also for a request with a body, which no browser
    /// preflight has.
    public static func parse(
        origin: String?,
        requestMethod: String?,
        requestHeaders: String?,
        hasBody: Bool,
        sandboxID: String,
        baseDomains: [String]
    ) -> CORSPreflight? {
        guard !hasBody, let origin, let requestMethod, isSerializedOrigin(origin), isToken(requestMethod) else { return nil }
        var headers: String? = nil
        if let requestHeaders {
            let trimmed = trimmingSpaces(requestHeaders)
            guard isFieldNameList(trimmed) else { return nil }
            headers = trimmed.isEmpty ? nil : trimmed
        }
        return CORSPreflight(
            origin: origin,
            method: requestMethod,
            headers: headers,
            allowsCredentials: isSameSandbox(origin: origin, sandboxID: sandboxID, baseDomains: baseDomains)
        )
    }

    /// The header lines of the `204` answer, each ending in CRLF. Every value was validated to
    /// contain only token, list or origin characters, so nothing can break out of its line.
    public var responseFields: String {
        var fields = "Access-Control-Allow-Origin: \(origin)\r\nAccess-Control-Allow-Methods: \(method)\r\n"
        if let headers { fields += "Access-Control-Allow-Headers: \(headers)\r\n" }
        if allowsCredentials { fields += "Access-Control-Allow-Credentials: true\r\n" }
        fields += "Access-Control-Max-Age: \(Self.maximumAge)\r\n"
        // Each answer depends on these request fields: no cache may hand it to another origin.
        fields += "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
        return fields
    }

    // MARK: - Validation

    /// `null`, or `scheme "://" host [":" port]` with a lowercase-letter scheme and no path,
    /// userinfo, query or fragment (the Fetch standard's serialisation of an origin).
    static func isSerializedOrigin(_ origin: String) -> Bool {
        if origin == "null" { return true }
        let bytes = Array(origin.utf8)
        guard bytes.count <= 2048, let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return false }
        let scheme = bytes[..<colon]
        guard scheme.first.map(isLetter) == true, scheme.allSatisfy({ isLetter($0) || isDigit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
        else { return false }
        guard bytes.count > colon + 3, bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/") else { return false }
        let authority = bytes[(colon + 3)...]
        // Host name or IPv4 letters, digits, '-', '.', '_', an IPv6 literal's '[', ']', ':', and a port.
        return authority.allSatisfy { isLetter($0) || isDigit($0) || "-._[]:".utf8.contains($0) }
    }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.utf8.allSatisfy(isTokenByte)
    }

    /// Field names separated by commas and optional spaces (`x-preview-token, content-type`).
    static func isFieldNameList(_ text: String) -> Bool {
        guard text.utf8.count <= 1024 else { return false }
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = trimmingSpaces(String(element))
            guard name.isEmpty || name.utf8.allSatisfy(isTokenByte) else { return false }
        }
        return true
    }

    private static func isSameSandbox(origin: String, sandboxID: String, baseDomains: [String]) -> Bool {
        // Only over HTTPS: a page served over plain HTTP could be anybody's on the path.
        guard origin.hasPrefix("https://") else { return false }
        let authority = String(origin.dropFirst("https://".count))
        guard case .success(let host) = PreviewHost.parse(authority, baseDomains: baseDomains) else { return false }
        return host.sandboxID == sandboxID
    }

    private static func trimmingSpaces(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(text[first...last])
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// RFC 9110 §5.6.2 tchar.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}
