@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// Builds `POST / HTTP/1.1`, `Host: a`, then `lines`.
private func post(_ lines: String..., version: String = "HTTP/1.1") -> String {
    (["POST / \(version)", "Host: a"] + lines).map { $0 + "\r\n" }.joined() + "\r\n"
}

/// Request heads from the request-smuggling literature (Linhart et al. 2005, Kettle 2019, and the
/// TE.TE obfuscations since): each is either refused or framed one way only, never left ambiguous.
@Suite struct RequestSmugglingTests {
    @Test(
        arguments: [
            // CL.TE and TE.CL: both framings present. RFC 9112 §6.1 lets a server pick TE; a proxy that
            // forwards both lets the upstream pick the other, so both orders are refused.
            ("CL.TE", post("Content-Length: 13", "Transfer-Encoding: chunked"), HeadOutcome.refused(.contentLengthWithTransferEncoding)),
            ("TE.CL", post("Transfer-Encoding: chunked", "Content-Length: 3"), .refused(.contentLengthWithTransferEncoding)),
            ("CL 0 with TE", post("Content-Length: 0", "Transfer-Encoding: chunked"), .refused(.contentLengthWithTransferEncoding)),
            ("tab OWS with CL", post("Content-Length: 4", "Transfer-Encoding:\tchunked"), .refused(.contentLengthWithTransferEncoding)),
            ("gzip, chunked with CL", post("Transfer-Encoding: gzip, chunked", "Content-Length: 4"), .refused(.contentLengthWithTransferEncoding)),
            ("HTTP/1.0 CL.TE", post("Content-Length: 4", "Transfer-Encoding: chunked", version: "HTTP/1.0"), .refused(.contentLengthWithTransferEncoding)),

            // TE.TE: one side is made not to see the Transfer-Encoding.
            ("space before colon", post("Content-Length: 4", "Transfer-Encoding : chunked"), .refused(.invalidHeaderName)),
            ("tab before colon", post("Content-Length: 4", "Transfer-Encoding\t: chunked"), .refused(.invalidHeaderName)),
            ("xchunked", post("Content-Length: 4", "Transfer-Encoding: xchunked"), .refused(.unsupportedTransferEncoding)),
            ("chunked then x", post("Transfer-Encoding: chunked", "Transfer-encoding: x"), .refused(.unsupportedTransferEncoding)),
            ("x then chunked", post("Transfer-Encoding: x", "Transfer-Encoding: chunked"), .refused(.unsupportedTransferEncoding)),
            ("chunked twice in two lines", post("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), .refused(.unsupportedTransferEncoding)),
            ("chunked twice in one line", post("Transfer-Encoding: chunked, chunked"), .refused(.unsupportedTransferEncoding)),
            ("chunked then identity", post("Transfer-Encoding: chunked, identity"), .refused(.unsupportedTransferEncoding)),
            ("quoted chunked", post("Content-Length: 4", "Transfer-Encoding: \"chunked\""), .refused(.unsupportedTransferEncoding)),
            ("Kelvin sign", post("Transfer-Encoding: chun\u{212A}ed"), .refused(.unsupportedTransferEncoding)),
            ("vertical tab before value", post("Content-Length: 4", "Transfer-Encoding: \u{0B}chunked"), .refused(.invalidHeaderValue)),
            ("form feed after value", post("Content-Length: 4", "Transfer-Encoding: chunked\u{0C}"), .refused(.invalidHeaderValue)),
            ("NUL after value", post("Transfer-Encoding: chunked\u{0}"), .refused(.invalidHeaderValue)),
            ("obs-fold before TE", post("X: y", " Transfer-Encoding: chunked"), .refused(.obsoleteLineFolding)),
            ("obs-fold continuing TE", post("Transfer-Encoding: gzip", " chunked"), .refused(.obsoleteLineFolding)),
            ("bare LF hides TE", post("X: y\nTransfer-Encoding: chunked", "Content-Length: 4"), .refused(.bareLineFeedOrCarriageReturn)),
            ("bare CR hides TE", post("X: y\rTransfer-Encoding: chunked", "Content-Length: 4"), .refused(.bareLineFeedOrCarriageReturn)),
            ("LF inside name", post("Transfer-Encoding\n: chunked"), .refused(.bareLineFeedOrCarriageReturn)),
            ("TE in HTTP/1.0", post("Transfer-Encoding: chunked", version: "HTTP/1.0"), .refused(.transferEncodingInHTTP10)),

            // Content-Length disagreements.
            ("CL.CL", post("Content-Length: 4", "Content-Length: 40"), .refused(.conflictingContentLength)),
            ("CL list", post("Content-Length: 4, 40"), .refused(.invalidContentLength)),
            ("CL list of equal values", post("Content-Length: 4, 4"), .refused(.invalidContentLength)),
            ("CL with sign", post("Content-Length: +4"), .refused(.invalidContentLength)),
            ("CL overflow to small", post("Content-Length: 18446744073709551620"), .refused(.invalidContentLength)),
            ("CL with NUL in name", post("Content-Length\u{0}: 4"), .refused(.invalidHeaderName)),

            // Accepted, and framed exactly one way.
            ("tab OWS is legal", post("Transfer-Encoding:\tchunked"), .accepted(.chunked)),
            ("no OWS", post("Transfer-Encoding:chunked"), .accepted(.chunked)),
            ("upper case", post("TRANSFER-ENCODING: CHUNKED"), .accepted(.chunked)),
            ("trailing OWS", post("Transfer-Encoding: chunked \t "), .accepted(.chunked)),
            ("codings before chunked", post("Transfer-Encoding: gzip, chunked"), .accepted(.chunked)),
            ("identical CLs", post("Content-Length: 4", "Content-Length: 4"), .accepted(.contentLength(4))),
            ("CL with OWS", post("Content-Length:\t4 "), .accepted(.contentLength(4))),
            // Underscores make a different field name; Porthole frames by the real Content-Length.
            ("underscore TE", post("Content-Length: 4", "Transfer_Encoding: chunked"), .accepted(.contentLength(4))),
            ("underscore CL", post("Content_Length: 4"), .accepted(.none)),
        ] as [(String, String, HeadOutcome)])
    /// As the proxy receives them: `ASCII.headEnd` first (which refuses bare LF), then `RequestHead.parse`.
    func isRefusedOrFramedOneWay(_ name: String, _ head: String, _ expected: HeadOutcome) {
        #expect(Wire.receiveRequest(head) == expected, "\(name)")
    }

    @Test func everyAcceptedHeadCarriesAtMostOneFramingField() throws {
        let heads = [
            post("Transfer-Encoding:\tchunked"),
            post("Content-Length: 4", "Content-Length: 4"),
            post("Content-Length: 4", "Transfer_Encoding: chunked"),
        ]
        for text in heads {
            let parsed = try Wire.request(text)
            let lengths = parsed.head.fields.filter { $0.kind == .contentLength }
            let codings = parsed.head.fields.filter { $0.kind == .transferEncoding }
            #expect(lengths.isEmpty || codings.isEmpty)
            #expect(codings.count <= 1)
        }
    }
}
