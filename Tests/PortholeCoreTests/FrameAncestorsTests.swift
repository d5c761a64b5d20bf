import PortholeCore
import Testing

@Suite struct FrameAncestorsTests {
    @Test(arguments: [
        ("https://dash.example.com", ["https://dash.example.com"]),
        ("'self' https://dash.example.com", ["'self'", "https://dash.example.com"]),
        ("'self', https://*.example.com:8443", ["'self'", "https://*.example.com:8443"]),
        ("*.example.com https:", ["*.example.com", "https:"]),
        ("'none'", ["'none'"]),
        ("http://localhost:3000/dashboard", ["http://localhost:3000/dashboard"]),
        ("https://*", ["https://*"]),
    ])
    func accepted(_ list: String, _ sources: [String]) throws {
        let parsed = try FrameAncestors(list)
        #expect(parsed.sources == sources)
        #expect(parsed.fieldLine == "Content-Security-Policy: frame-ancestors \(sources.joined(separator: " "))\r\n")
    }

    @Test(arguments: [
        ("", FrameAncestorsError.empty),
        (" , ", .empty),
        ("https://dash.example.com; script-src *", .malformed("https://dash.example.com;")),
        ("https://dash.example.com;", .malformed("https://dash.example.com;")),
        ("'unsafe-inline'", .malformed("'unsafe-inline'")),
        ("self", .malformed("self")) as (String, FrameAncestorsError),
        ("https://", .malformed("https://")),
        ("*.*.example.com", .malformed("*.*.example.com")),
        ("'none' 'self'", .noneWithOthers),
        ("none", .malformed("none")),  // a host named "none" is surely a missing pair of quotes
    ])
    func refused(_ list: String, _ error: FrameAncestorsError) {
        #expect(throws: error) { try FrameAncestors(list) }
    }
}

@Suite struct CrossSiteFrameHintsTests {
    @Test(arguments: [
        ("cross-site", "iframe", true),
        ("Cross-Site", "IFRAME", true),
        ("cross-site", "frame", true),
        ("same-site", "iframe", false),
        ("same-origin", "iframe", false),
        ("none", "iframe", false),
        ("cross-site", "document", false),
        ("cross-site", "empty", false),
    ])
    func crossSiteFrame(_ site: String, _ destination: String, _ expected: Bool) {
        var hints = RequestHints(method: .get)
        var site = site
        var destination = destination
        site.withUTF8 { hints.readSecFetchSite(UnsafeRawBufferPointer($0)) }
        destination.withUTF8 { hints.readSecFetchDest(UnsafeRawBufferPointer($0)) }
        #expect(hints.isCrossSiteFrame == expected)
    }
}
