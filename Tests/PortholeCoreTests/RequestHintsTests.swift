import PortholeCore
import Testing

/// The one rule for "is this a navigation" and "does the client want an HTML page", as the proxy
/// calls it. Where the proxy and Core once disagreed, the case is marked and the choice explained.
@Suite("RequestHints")
struct RequestHintsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var method = "GET"
        var upgrade = false
        var preflight = false
        var mode: String?
        var accept: String?
        let kind: RequestKind
        let html: Bool
        var testDescription: String {
            "\(method) upgrade=\(upgrade) preflight=\(preflight) mode=\(mode ?? "-") accept=\(accept ?? "-")"
        }
    }

    static let cases: [Case] = [
        Case(mode: "navigate", kind: .navigation, html: true),
        Case(mode: "Navigate", kind: .navigation, html: true),
        Case(mode: " navigate\t", kind: .navigation, html: true),
        Case(method: "HEAD", mode: "navigate", kind: .navigation, html: true),
        Case(accept: "text/html,application/xhtml+xml,*/*;q=0.8", kind: .navigation, html: true),
        // Media types are case-insensitive (RFC 9110 §8.3.1); the proxy once matched bytes exactly.
        Case(accept: "TEXT/HTML", kind: .navigation, html: true),
        // HEAD is GET without the body (RFC 9110 §9.3.2): the same navigation. The proxy once said GET only.
        Case(method: "HEAD", accept: "text/html", kind: .navigation, html: true),
        // `q=0` means "not acceptable" (RFC 9110 §12.4.2); the proxy once took any mention of text/html.
        Case(accept: "text/html;q=0", kind: .other, html: false),
        Case(accept: "text/html; q=0.0", kind: .other, html: false),
        Case(accept: "text/html ; Q=0", kind: .other, html: false),
        Case(accept: "text/html;q=0.000", kind: .other, html: false),
        Case(accept: "text/html;q=0.5", kind: .navigation, html: true),
        Case(accept: "text/html;q=0.001", kind: .navigation, html: true),
        Case(accept: "text/html;q=1;q=0", kind: .other, html: false),
        Case(accept: "text/html;q=nonsense", kind: .navigation, html: true),
        Case(accept: "application/json, text/html;q=0.1", kind: .navigation, html: true),
        Case(accept: "application/json, text/html;q=0", kind: .other, html: false),
        Case(accept: "text/html;level=1", kind: .navigation, html: true),
        Case(accept: "application/xhtml+xml", kind: .navigation, html: true),
        Case(accept: "text/htmlx", kind: .other, html: false),
        Case(accept: "xtext/html", kind: .other, html: false),
        Case(accept: "", kind: .other, html: false),
        Case(accept: ",,", kind: .other, html: false),
        Case(accept: "application/json", kind: .other, html: false),
        Case(accept: "*/*", kind: .other, html: false),
        // Sec-Fetch-Mode wins over Accept for navigations, not for the error page's format.
        Case(mode: "cors", accept: "text/html", kind: .other, html: true),
        Case(mode: "no-cors", kind: .other, html: false),
        Case(mode: "navigatex", kind: .other, html: false),
        Case(mode: "websocket", kind: .other, html: false),
        Case(accept: "application/json", kind: .other, html: false),
        Case(mode: "navigate", accept: "application/json", kind: .navigation, html: true),
        // A form POST is never replayed as a GET by the token exchange; its error page is still HTML.
        Case(method: "POST", mode: "navigate", kind: .other, html: true),
        Case(method: "POST", accept: "text/html", kind: .other, html: true),
        Case(kind: .other, html: false),
        Case(method: "OPTIONS", preflight: true, kind: .preflight, html: false),
        Case(method: "OPTIONS", kind: .other, html: false),
        Case(upgrade: true, mode: "websocket", kind: .upgrade, html: false),
        Case(upgrade: true, mode: "navigate", accept: "text/html", kind: .upgrade, html: true),
        Case(method: "OPTIONS", upgrade: true, preflight: true, kind: .upgrade, html: false),
        // Methods are case-sensitive (RFC 9110 §9.1).
        Case(method: "get", mode: "navigate", kind: .other, html: true),
    ]

    @Test(arguments: cases)
    func classifies(_ testCase: Case) {
        let hints = RequestHints(
            method: testCase.method, isUpgrade: testCase.upgrade, isPreflight: testCase.preflight,
            secFetchMode: testCase.mode, accept: testCase.accept
        )
        #expect(hints.kind == testCase.kind)
        #expect(hints.prefersHTML == testCase.html)
    }

    /// Repeated `Accept` fields are one list: any of them may accept HTML. A repeated
    /// `Sec-Fetch-Mode` counts as its last value.
    @Test func repeatedFieldsAccumulate() {
        var hints = RequestHints(method: .get)
        read(&hints, accept: "application/json")
        read(&hints, accept: "text/html")
        read(&hints, accept: "text/html;q=0")
        #expect(hints.acceptsHTML)
        read(&hints, mode: "navigate")
        read(&hints, mode: "cors")
        #expect(hints.kind == .other)
    }

    private func read(_ hints: inout RequestHints, accept: String) {
        var text = accept
        text.withUTF8 { hints.readAccept(UnsafeRawBufferPointer($0)) }
    }

    private func read(_ hints: inout RequestHints, mode: String) {
        var text = mode
        text.withUTF8 { hints.readSecFetchMode(UnsafeRawBufferPointer($0)) }
    }
}
