/// The body of an error response the proxy produces itself (as opposed to one from the sandbox):
/// JSON for programs, a small self-contained HTML page for people in a browser.
public struct ErrorResponse: Sendable, Hashable {
    public var status: Int
    /// Stable snake_case code for programs and metrics, e.g. `sandbox_not_found`.
    public var code: String
    /// A sentence a user can act on.
    public var message: String
    /// A page that reloads itself after this many seconds (`Refresh`), e.g. while a sandbox starts.
    public var refreshSeconds: Int?

    public init(status: Int, code: String, message: String, refreshSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.refreshSeconds = refreshSeconds
    }

    public init(_ denial: AccessDenial) {
        self.init(status: denial.status, code: denial.code, message: denial.message)
    }

    /// `{"status":404,"code":"sandbox_not_found","message":"..."}`, or the HTML page.
    public func body(html: Bool) -> [UInt8] {
        html ? Array(htmlPage.utf8) : Array(json.utf8)
    }

    public func contentType(html: Bool) -> String {
        html ? "text/html; charset=utf-8" : "application/json; charset=utf-8"
    }

    private var json: String {
        "{\"status\":\(status),\"code\":\(TextEscaping.jsonString(code)),\"message\":\(TextEscaping.jsonString(message))}"
    }

    /// No external resources: the page must render even when every request but this one fails.
    private var htmlPage: String {
        let title = TextEscaping.html("\(status) \(Self.reasonPhrase(status))")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:4rem 1.5rem;color:#222;background:#fafafa}\
            main{max-width:40rem;margin:0 auto}h1{font-size:1.5rem;margin:0 0 1rem}\
            p.code{color:#777;font:13px ui-monospace,monospace}</style>
            </head>
            <body>
            <main>
            <h1>\(title)</h1>
            <p>\(TextEscaping.html(message))</p>
            <p class="code">\(TextEscaping.html(code)) · Porthole</p>
            </main>
            </body>
            </html>

            """
    }
}

// MARK: - Reason phrases

extension ErrorResponse {
    /// RFC 9110 §15 reason phrases for the statuses the proxy produces or passes through;
    /// other codes get their class name.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: "Switching Protocols"
        case 200: "OK"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 305: "Use Proxy"
        case 306: "Unused"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 421: "Misdirected Request"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 508: "Loop Detected"
        case 100..<200: "Informational"
        case 200..<300: "Success"
        case 300..<400: "Redirection"
        case 400..<500: "Client Error"
        case 500..<600: "Server Error"
        default: "Unknown"
        }
    }
}

// MARK: - The proxy's errors

extension ErrorResponse {
    /// 400: the Host header is not a preview host; pass ``PreviewHostError/message``.
    public static func badHost(_ message: String) -> ErrorResponse {
        ErrorResponse(status: 400, code: "bad_host", message: message)
    }

    public static func sandboxNotFound(_ sandboxID: String) -> ErrorResponse {
        ErrorResponse(status: 404, code: "sandbox_not_found", message: "sandbox \(sandboxID) does not exist; check the preview link")
    }

    public static func sandboxStopped(_ sandboxID: String) -> ErrorResponse {
        ErrorResponse(status: 503, code: "sandbox_stopped", message: "sandbox \(sandboxID) is stopped; start it and reload this page")
    }

    /// 503: the sandbox exists but has no address yet (``SandboxState/creating``).
    public static func sandboxCreating(_ sandboxID: String) -> ErrorResponse {
        ErrorResponse(
            status: 503, code: "sandbox_creating", message: "sandbox \(sandboxID) is being created; this page reloads by itself", refreshSeconds: 2)
    }

    /// 503 for a browser while a stopped sandbox is being woken (``WakeWebhook``): the page reloads
    /// itself (`Refresh`) until the sandbox answers.
    public static func sandboxStarting(_ sandboxID: String) -> ErrorResponse {
        ErrorResponse(
            status: 503, code: "sandbox_starting", message: "sandbox \(sandboxID) is starting; this page reloads by itself", refreshSeconds: 2)
    }

    /// 503: the sandbox was asked to start and did not within the hold time.
    public static func sandboxDidNotStart(_ sandboxID: String, seconds: Int64) -> ErrorResponse {
        ErrorResponse(
            status: 503, code: "sandbox_stopped", message: "sandbox \(sandboxID) is stopped and did not start within \(seconds) s; retry shortly")
    }

    /// Seconds a client should wait before retrying, for `Retry-After` (503s only): as soon as a
    /// self-reloading page reloads, else 10.
    public var retryAfterSeconds: Int? {
        guard status == 503 else { return nil }
        return refreshSeconds ?? 10
    }

    /// 502: the connection to the sandbox port was refused.
    public static func upstreamRefused(port: UInt16, sandbox sandboxID: String) -> ErrorResponse {
        ErrorResponse(status: 502, code: "upstream_unreachable", message: "nothing is listening on port \(port) of sandbox \(sandboxID)")
    }

    /// 504: the sandbox port accepted nothing or answered nothing in time.
    public static func upstreamTimeout(port: UInt16, sandbox sandboxID: String) -> ErrorResponse {
        ErrorResponse(status: 504, code: "upstream_timeout", message: "port \(port) of sandbox \(sandboxID) did not respond in time")
    }

    /// 502: the connection failed some other way (reset, malformed response).
    public static func upstreamFailed(port: UInt16, sandbox sandboxID: String) -> ErrorResponse {
        ErrorResponse(
            status: 502, code: "upstream_failed",
            message: "the connection to port \(port) of sandbox \(sandboxID) failed before a complete response"
        )
    }

    /// 502: the sandbox's target is not an address the proxy may connect to (`--allow-target`).
    public static func upstreamTargetRefused(sandbox sandboxID: String) -> ErrorResponse {
        ErrorResponse(
            status: 502, code: "target_not_allowed",
            message: "sandbox \(sandboxID) points at an address this proxy does not connect to; the operator's log says why"
        )
    }

    /// 508 (RFC 5842): the request came back to this proxy through a sandbox target.
    public static let loopDetected = ErrorResponse(
        status: 508, code: "loop_detected",
        message: "this request already passed through this proxy: a sandbox target leads back to a Porthole listener"
    )

    public static func badRequest(_ message: String) -> ErrorResponse {
        ErrorResponse(status: 400, code: "bad_request", message: message)
    }

    public static let requestBodyTimeout = ErrorResponse(
        status: 408, code: "request_timeout",
        message: "the request body did not arrive in time (too long without data, or too slow overall)"
    )

    public static let headersTooLarge = ErrorResponse(
        status: 431, code: "headers_too_large", message: "the request headers are too large; clear this site's cookies or send fewer headers"
    )

    /// 503: the policy is not cached and the store cannot be reached; failing closed is the point.
    public static let storeUnavailable = ErrorResponse(
        status: 503, code: "store_unavailable", message: "the preview service cannot load sandbox settings right now; retry shortly"
    )
}
