import PortholeCore

/// Realistic inputs: what a Chromium page load sends to a preview and what a dev server answers.
enum Fixtures {
    static let baseDomains = ["preview.localhost"]

    /// An 11-byte sandbox id, stored inline by `String` (no allocation when parsed).
    static let host = "3000-sandbox1234.preview.localhost:8443"
    /// A UUID sandbox id, as Daytona-style control planes hand out: too long to store inline.
    static let uuidHost = "3000-c0ffee42-7d1e-4b6a-9f3e-2a5d8c1b0e97.preview.localhost:8443"

    static let sandboxID = "sandbox1234"
    static let port: UInt16 = 3000
    /// 25 November 2026, 14:56 UTC.
    static let now: Int64 = 1_795_618_560
    /// A 43-character token, the shape ``PreviewToken/generate()`` returns.
    static let previewToken = "q8JmT3x0Vd6bR1nLw2ZcYp4Hs7Fk9Ea5Gu0Ij3Ko6Mt"
    static let cookieSecret: [UInt8] = Array(repeating: 0x5A, count: 32)
    static let rules = AccessRules(reservedPorts: [22_222], cookieSecret: cookieSecret)

    /// A page load (431 bytes): what `RequestHead.parse` and `RequestHeadWriter.write` see most.
    static let request = requestHead(cookie: "theme=dark; _ga=GA1.1.1234567890.1732540000")

    /// The same with Porthole's session cookie among the page's own, which the writer strips.
    static let requestWithSessionCookie = requestHead(
        cookie: "theme=dark; \(PreviewSessionCookie.name)=\(sessionCookie); _ga=GA1.1.1234567890.1732540000"
    )

    /// A Vite-like answer to the page load.
    static let response: [UInt8] = Array(
        ("HTTP/1.1 200 OK\r\n"
            + "Content-Type: text/html; charset=utf-8\r\n"
            + "Content-Length: 1234\r\n"
            + "Cache-Control: no-cache\r\n"
            + "ETag: W/\"4d2-18c3f0a2b1e\"\r\n"
            + "Date: Wed, 25 Nov 2026 14:56:00 GMT\r\n"
            + "Vary: Origin\r\n"
            + "Connection: keep-alive\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "\r\n").utf8
    )

    /// A valid session cookie for port 3000 of the sandbox, as the token exchange issues it.
    static let sessionCookie = PreviewSessionCookie.issue(
        sandboxID: sandboxID,
        port: port,
        tokenGeneration: 1,
        expiresAt: now + AccessRules.defaultCookieLifetime,
        secret: cookieSecret
    )

    private static func requestHead(cookie: String) -> [UInt8] {
        Array(
            ("GET / HTTP/1.1\r\n"
                + "Host: \(host)\r\n"
                + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
                + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                + "Accept-Encoding: gzip, deflate, br, zstd\r\n"
                + "Accept-Language: en-US,en;q=0.9\r\n"
                + "Sec-Fetch-Mode: navigate\r\n"
                + "Cookie: \(cookie)\r\n"
                + "Connection: keep-alive\r\n"
                + "\r\n").utf8
        )
    }
}
