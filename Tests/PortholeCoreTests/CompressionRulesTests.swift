import PortholeCore
import Testing

@Suite struct AcceptEncodingTests {
    @Test(
        arguments: [
            // (field values, preferred coding)
            ([], nil),
            (["gzip"], ContentCoding.gzip),
            (["GZIP"], .gzip),
            (["x-gzip"], .gzip),
            (["deflate"], .deflate),
            (["gzip, deflate, br, zstd"], .gzip),  // what Chromium sends
            (["deflate, gzip"], .gzip),  // a tie goes to gzip, whatever the order
            (["gzip;q=0.5, deflate"], .deflate),
            (["gzip ; q=0.5 , deflate;q=0.6"], .deflate),
            (["deflate;q=0.9", "gzip"], .gzip),  // repeated fields are one list
            (["gzip;q=0"], nil),
            (["gzip;q=0.000, deflate;q=0"], nil),
            (["identity"], nil),
            (["br, zstd"], nil),
            (["*"], .gzip),
            (["*;q=0"], nil),
            (["*, gzip;q=0"], .deflate),  // an explicit refusal beats the wildcard
            (["*;q=0.1, deflate;q=0.2"], .deflate),
            (["gzip;q=garbage"], .gzip),  // a malformed weight does not refuse
            ([" , ,gzip"], .gzip),
            (["gzipx, xgzip"], nil),
        ] as [([String], ContentCoding?)])
    func preferredCoding(_ values: [String], _ expected: ContentCoding?) {
        var accepted = AcceptEncoding()
        for var value in values { value.withUTF8 { accepted.read(UnsafeRawBufferPointer($0)) } }
        #expect(accepted.preferred == expected)
    }
}

@Suite struct CompressibleTypesTests {
    @Test(arguments: [
        ("text/html", true),
        ("text/html; charset=utf-8", true),
        ("TEXT/CSS", true),
        ("text/javascript;charset=UTF-8", true),
        ("application/javascript", true),
        ("application/json", true),
        ("application/ld+json", true),
        ("application/manifest+json", true),
        ("application/rss+xml", true),
        ("image/svg+xml", true),
        ("application/wasm", true),
        ("font/ttf", true),
        ("  text/plain  ", true),
        ("text/event-stream", false),  // only when named
        ("Text/Event-Stream; charset=utf-8", false),
        ("image/png", false),
        ("image/jpeg", false),
        ("font/woff2", false),
        ("application/zip", false),
        ("application/octet-stream", false),
        ("video/mp4", false),
        ("", false),
        ("text", false),
        ("+json", false),
    ])
    func defaultList(_ contentType: String, _ expected: Bool) {
        #expect(CompressibleTypes.default.contains(contentType) == expected)
    }

    @Test func anOperatorCanNameTheEventStream() throws {
        let types = try CompressibleTypes("text/event-stream, application/json")
        #expect(types.contains("text/event-stream"))
        #expect(types.contains("application/json"))
        #expect(!types.contains("text/html"))
        #expect(types.description == "text/event-stream, application/json")
    }

    @Test(arguments: [
        ("text/*, ", CompressibleTypesError.emptyEntry("text/*, ")),
        ("text", .malformed("text")),
        ("*/*", .malformed("*/*")),
        ("*", .malformed("*")),
        ("text/ht*ml", .malformed("text/ht*ml")),
        ("text/html; charset=utf-8", .malformed("text/html; charset=utf-8")),
        ("*+js/on", .malformed("*+js/on")),
        ("a/b/c", .malformed("a/b/c")),
    ])
    func malformedListsAreRefusedByName(_ list: String, _ error: CompressibleTypesError) {
        #expect(throws: error) { try CompressibleTypes(list) }
    }
}

@Suite struct CacheControlTests {
    @Test(arguments: [
        ("no-transform", true),
        ("public, max-age=60, No-Transform", true),
        ("no-transform=1", false),
        ("no-store", false),
        ("max-age=0,no-transform", true),
        ("", false),
    ])
    func noTransform(_ value: String, _ expected: Bool) {
        var text = value
        #expect(text.withUTF8 { CacheControl.hasNoTransform(UnsafeRawBufferPointer($0)) } == expected)
    }
}
