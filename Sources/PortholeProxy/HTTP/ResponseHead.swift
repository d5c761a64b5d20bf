import PortholeCore

/// A parsed response head from an upstream: status, framing and whether the upstream keeps the
/// connection open. Ranges point into the buffer it was parsed from.
@_spi(Benchmarks) public struct ResponseHead: Sendable {
    public var status: Int = 0
    public var version: HTTPVersion = .http11
    /// End of the status line, just past its CRLF.
    public var statusLineEnd: Int = 0
    public var fields: [HeaderField] = []
    public var framing: MessageFraming = .none
    /// The upstream will close after this response (or we must not reuse the connection).
    public var upstreamCloses = false
    /// Fields that must not reach the client: `Connection`, `Keep-Alive`, `Proxy-Connection` and
    /// those named in `Connection`. When false the head can be forwarded byte for byte.
    public var hasHopByHopFields = false
    /// A 204 that carries Content-Length or Transfer-Encoding anyway: those fields must not reach
    /// the client (RFC 9110 §8.6, RFC 9112 §6.1), whose parser might wait for a body. (Interim
    /// 1xx responses are relayed as they came.)
    public var hasForbiddenFramingFields = false
    /// A `Set-Cookie` with a `Domain` attribute: the head is rewritten without it (``SetCookieDomain``).
    public var hasCookieDomains = false
    /// What response compression needs to know (``ResponseCompression``): a `Content-Encoding`
    /// field (of any value), the first `Content-Type` value, `Cache-Control: no-transform`.
    public var isContentEncoded = false
    public var contentType: Range<Int>?
    public var forbidsTransform = false
    /// A `Location`, `Content-Location` or `Refresh` that may point at the dev server's own
    /// origin (`http://localhost:<port>`): with `hostRewrite` it is mapped back (``LocalOriginMapping``).
    public var mayHoldLocalOrigins = false

    // No reservation up front: an idle connection that never sent a request holds no field storage.
    public init() {}

    /// Parses `bytes[0..<end]` (end just past CRLFCRLF). `requestWasHEAD` and the status decide
    /// whether a body follows (RFC 9112 §6.3).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, end: Int, requestWasHEAD: Bool) throws(HTTPParseError) {
        fields.removeAll(keepingCapacity: true)
        framing = .none
        upstreamCloses = false
        hasHopByHopFields = false
        hasForbiddenFramingFields = false
        hasCookieDomains = false
        isContentEncoded = false
        contentType = nil
        forbidsTransform = false
        mayHoldLocalOrigins = false

        // Status line: HTTP-version SP 3DIGIT SP [reason] CRLF.
        guard end >= 14, let parsedVersion = HTTPVersion.parse(bytes, 0..<8) else { throw .malformedStatusLine }
        version = parsedVersion
        guard bytes[8] == ASCII.space else { throw .malformedStatusLine }
        var code = 0
        for index in 9..<12 {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .malformedStatusLine }
            code = code * 10 + Int(digit)
        }
        guard code >= 100, code <= 999 else { throw .malformedStatusLine }
        status = code
        var index = 12
        if bytes[index] == ASCII.space {
            index += 1
            while index < end && ASCII.isFieldValue(bytes[index]) { index += 1 }
        }
        guard index + 1 < end, bytes[index] == ASCII.cr, bytes[index + 1] == ASCII.lf else {
            throw .malformedStatusLine
        }
        statusLineEnd = index + 2
        try HeaderFieldsParser.parse(bytes, from: statusLineEnd, to: end, into: &fields)
        try interpretFields(bytes, requestWasHEAD: requestWasHEAD)
    }

    private mutating func interpretFields(_ bytes: UnsafeRawBufferPointer, requestWasHEAD: Bool) throws(HTTPParseError) {
        var contentLength: Int64?
        var chunked = false
        var sawTransferEncoding = false
        var sawClose = false
        var sawKeepAlive = false
        var sawConnection = false
        for field in fields {
            switch field.kind {
            case .contentLength:
                let value = try HeaderFieldsParser.contentLength(bytes, field.value)
                if let existing = contentLength, existing != value { throw .conflictingContentLength }
                contentLength = value
            case .transferEncoding:
                guard !sawTransferEncoding else { throw .unsupportedTransferEncoding }
                sawTransferEncoding = true
                // A final coding other than chunked means the body runs until close (RFC 9112 §6.3).
                chunked = ASCII.lastListElementIsChunked(bytes, field.value)
                if !chunked { sawClose = true }
            case .connection:
                sawConnection = true
                hasHopByHopFields = true
                ASCII.forEachListElement(bytes, field.value) { option in
                    if ASCII.equalsLowercase(bytes, option, "close") { sawClose = true }
                    if ASCII.equalsLowercase(bytes, option, "keep-alive") { sawKeepAlive = true }
                }
            case .keepAlive, .proxyConnection:
                hasHopByHopFields = true
            case .setCookie:
                if !hasCookieDomains { hasCookieDomains = SetCookieDomain.hasDomain(bytes, field.value) }
            case .contentEncoding:
                isContentEncoded = true
            case .contentType:
                if contentType == nil { contentType = field.value }
            case .location, .contentLocation, .refresh:
                if !mayHoldLocalOrigins { mayHoldLocalOrigins = LocalOriginMapping.mayHoldLocalOrigin(UnsafeRawBufferPointer(rebasing: bytes[field.value])) }
            case .cacheControl:
                if !forbidsTransform { forbidsTransform = CacheControl.hasNoTransform(UnsafeRawBufferPointer(rebasing: bytes[field.value])) }
            default:
                break
            }
        }
        if sawTransferEncoding && contentLength != nil { throw .contentLengthWithTransferEncoding }
        if sawConnection { HeaderFieldsParser.markConnectionOptions(bytes, &fields) }
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty.
        upstreamCloses = sawClose || (version == .http10 && (!sawKeepAlive || sawTransferEncoding))

        if status == 204 || (status >= 100 && status < 200) {
            framing = .none
            hasForbiddenFramingFields = status == 204 && (contentLength != nil || sawTransferEncoding)
        } else if requestWasHEAD || status == 304 {
            framing = .none
        } else if chunked {
            framing = .chunked
        } else if let contentLength, !sawTransferEncoding {
            framing = contentLength == 0 ? .none : .contentLength(contentLength)
        } else {
            framing = .untilClose
            upstreamCloses = true
        }
    }
}
