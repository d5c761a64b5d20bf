import PortholeCore
import Testing

@Suite("ErrorResponse")
struct ErrorResponseTests {
    static func json(_ response: ErrorResponse) -> String {
        String(decoding: response.body(html: false), as: UTF8.self)
    }

    static func html(_ response: ErrorResponse) -> String {
        String(decoding: response.body(html: true), as: UTF8.self)
    }

    @Test func jsonHasTheExactShape() {
        #expect(
            Self.json(.sandboxNotFound("abc"))
                == #"{"status":404,"code":"sandbox_not_found","message":"sandbox abc does not exist; check the preview link"}"#)
        #expect(
            Self.json(.upstreamRefused(port: 3000, sandbox: "abc"))
                == #"{"status":502,"code":"upstream_unreachable","message":"nothing is listening on port 3000 of sandbox abc"}"#)
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        ("say \"hi\"", #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        ("line\nbreak\r\ttab", #""line\nbreak\r\ttab""#),
        ("\u{8}\u{C}", #""\b\f""#),
        ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}", "\"\u{7F}\""),
        ("</script><b>", #""</script><b>""#),
        ("é ∆ 🚀", "\"é ∆ 🚀\""),
        ("'single'", #""'single'""#),
        ("/slash", #""/slash""#),
    ])
    func jsonEscapesMessages(_ message: String, _ literal: String) {
        let response = ErrorResponse(status: 400, code: "bad_request", message: message)
        #expect(Self.json(response) == #"{"status":400,"code":"bad_request","message":"# + literal + "}")
    }

    @Test func jsonEscapesTheCodeToo() {
        let response = ErrorResponse(status: 500, code: "a\"b", message: "m")
        #expect(Self.json(response) == #"{"status":500,"code":"a\"b","message":"m"}"#)
    }

    @Test func htmlIsASmallEscapedPage() {
        let response = ErrorResponse(status: 404, code: "sandbox_not_found", message: "no <script>alert(\"x\") & 'y'</script> here")
        let page = Self.html(response)
        #expect(page.hasPrefix("<!doctype html>"))
        #expect(page.contains("<title>404 Not Found</title>"))
        #expect(page.contains("<h1>404 Not Found</h1>"))
        #expect(page.contains("<p>no &lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt; here</p>"))
        #expect(page.contains("sandbox_not_found"))
        #expect(!page.contains("<script"))
        // Self-contained: no external resources that could fail (or leak) while the proxy is in trouble.
        #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="))
        #expect(page.contains("<meta charset=\"utf-8\">"))
        #expect(page.hasSuffix("</html>\n"))
    }

    @Test func htmlEscapesTheCode() {
        let page = Self.html(ErrorResponse(status: 400, code: "<x>", message: "m"))
        #expect(page.contains("&lt;x&gt;"))
        #expect(!page.contains("<x>"))
    }

    @Test func htmlTitleUsesClassNameForUnknownStatus() {
        #expect(Self.html(ErrorResponse(status: 418, code: "teapot", message: "m")).contains("<title>418 Client Error</title>"))
    }

    @Test func contentTypes() {
        let response = ErrorResponse.storeUnavailable
        #expect(response.contentType(html: true) == "text/html; charset=utf-8")
        #expect(response.contentType(html: false) == "application/json; charset=utf-8")
    }

    @Test(arguments: [
        (101, "Switching Protocols"), (200, "OK"), (204, "No Content"),
        (301, "Moved Permanently"), (302, "Found"), (303, "See Other"), (304, "Not Modified"), (305, "Use Proxy"),
        (306, "Unused"), (307, "Temporary Redirect"), (308, "Permanent Redirect"),
        (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"), (408, "Request Timeout"),
        (413, "Content Too Large"), (421, "Misdirected Request"), (429, "Too Many Requests"),
        (431, "Request Header Fields Too Large"),
        (500, "Internal Server Error"), (501, "Not Implemented"), (502, "Bad Gateway"), (503, "Service Unavailable"),
        (504, "Gateway Timeout"), (505, "HTTP Version Not Supported"),
        (100, "Informational"), (299, "Success"), (399, "Redirection"), (418, "Client Error"), (599, "Server Error"),
        (600, "Unknown"), (99, "Unknown"), (0, "Unknown"), (-1, "Unknown"),
    ])
    func reasonPhrases(_ status: Int, _ phrase: String) {
        #expect(ErrorResponse.reasonPhrase(status) == phrase)
    }

    @Test(arguments: [
        (ErrorResponse.badHost("bad host text"), 400, "bad_host", "bad host text"),
        (.sandboxNotFound("abc"), 404, "sandbox_not_found", "sandbox abc does not exist; check the preview link"),
        (.sandboxStopped("abc"), 503, "sandbox_stopped", "sandbox abc is stopped; start it and reload this page"),
        (.upstreamRefused(port: 5173, sandbox: "abc"), 502, "upstream_unreachable", "nothing is listening on port 5173 of sandbox abc"),
        (.upstreamTimeout(port: 1, sandbox: "abc"), 504, "upstream_timeout", "port 1 of sandbox abc did not respond in time"),
        (
            .upstreamFailed(port: 65535, sandbox: "abc"), 502, "upstream_failed",
            "the connection to port 65535 of sandbox abc failed before a complete response"
        ),
        (.badRequest("no Host header"), 400, "bad_request", "no Host header"),
        (.headersTooLarge, 431, "headers_too_large", "the request headers are too large; clear this site's cookies or send fewer headers"),
        (.storeUnavailable, 503, "store_unavailable", "the preview service cannot load sandbox settings right now; retry shortly"),
    ])
    func proxyErrors(_ response: ErrorResponse, _ status: Int, _ code: String, _ message: String) {
        #expect(response.status == status)
        #expect(response.code == code)
        #expect(response.message == message)
    }

    @Test func badHostCarriesTheParserMessage() {
        guard case .failure(let error) = PreviewHost.parse("65536-abc.preview.localhost", baseDomains: ["preview.localhost"]) else {
            Issue.record("expected a parse failure")
            return
        }
        let json = Self.json(.badHost(error.message))
        #expect(
            json.hasPrefix(
                #"{"status":400,"code":"bad_host","message":"port 65536 is out of range 1-65535; expected a host of the form <port>-<sandboxId>.preview.localhost"#
            ))
    }

    @Test func sandboxStoppedMatchesTheAccessDenial() {
        #expect(ErrorResponse(AccessDenial.sandboxStopped("abc")) == .sandboxStopped("abc"))
    }
}
