/// One header line of a parsed head, as byte ranges into the head buffer (no Strings on the hot path).
@_spi(Benchmarks) public struct HeaderField: Sendable, Hashable {
    public var name: Range<Int>
    public var value: Range<Int>
    /// Just past the line's CRLF: `name.lowerBound..<lineEnd` is the whole line as it came.
    public var lineEnd: Int
    public var kind: Kind
    /// Set when `Connection` names this field: it is hop-by-hop and must not be forwarded.
    public var listedInConnection: Bool = false

    /// The whole field line, CRLF included, for copying it unchanged.
    public var line: Range<Int> { name.lowerBound..<lineEnd }

    /// The fields the proxy acts on; everything else is `.other` and forwarded untouched.
    public enum Kind: Sendable, Hashable {
        case host
        case contentLength
        case transferEncoding
        case connection
        case keepAlive
        case proxyConnection
        case te
        case upgrade
        case previewToken
        case cookie
        case accept
        case secFetchMode
        case secFetchSite
        case secFetchDest
        case accessControlRequestMethod
        case accessControlRequestHeaders
        case origin
        case xForwardedFor
        case xForwardedProto
        case xForwardedHost
        case xForwardedPort
        case expect
        /// RFC 7239 `Forwarded`: removed, since the proxy sets the X-Forwarded-* fields itself.
        case forwarded
        /// `X-Real-IP`, `X-Client-IP`, `True-Client-IP`, `CF-Connecting-IP`: claims of the client's
        /// address that apps believe; kept only from trusted proxies, like X-Forwarded-For.
        case clientAddressClaim
        /// `Via`: the proxies a request passed; forwarded, and checked for this Porthole's own pseudonym.
        case via
        /// `Set-Cookie` from a sandbox: its `Domain` attribute is dropped (``SetCookieDomain``).
        case setCookie
        // What `hostRewrite` maps (``LocalOriginMapping``).
        case referer
        case location
        case contentLocation
        case refresh
        // What response compression looks at (``ResponseCompression``).
        case acceptEncoding
        case range
        case contentEncoding
        case contentType
        case cacheControl
        case etag
        case acceptRanges
        /// A name with `_` that no standard field has: `Transfer_Encoding` and `Content_Length`
        /// lookalikes are read as the real thing by servers that fold `_` into `-` (CGI, PHP,
        /// WSGI). Not forwarded upstream, as nginx does by default (`underscores_in_headers off`).
        case underscored
        case other
    }

    /// Classifies a field name by length first, so most names cost one switch and no byte compare.
    static func classify(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> Kind {
        switch name.count {
        case 2:
            if ASCII.equalsLowercase(bytes, name, "te") { return .te }
        case 3:
            if ASCII.equalsLowercase(bytes, name, "via") { return .via }
        case 4:
            if ASCII.equalsLowercase(bytes, name, "host") { return .host }
            if ASCII.equalsLowercase(bytes, name, "etag") { return .etag }
        case 5:
            if ASCII.equalsLowercase(bytes, name, "range") { return .range }
        case 6:
            if ASCII.equalsLowercase(bytes, name, "cookie") { return .cookie }
            if ASCII.equalsLowercase(bytes, name, "accept") { return .accept }
            if ASCII.equalsLowercase(bytes, name, "expect") { return .expect }
            if ASCII.equalsLowercase(bytes, name, "origin") { return .origin }
        case 7:
            if ASCII.equalsLowercase(bytes, name, "upgrade") { return .upgrade }
            if ASCII.equalsLowercase(bytes, name, "referer") { return .referer }
            if ASCII.equalsLowercase(bytes, name, "refresh") { return .refresh }
        case 8:
            if ASCII.equalsLowercase(bytes, name, "location") { return .location }
        case 9:
            if ASCII.equalsLowercase(bytes, name, "forwarded") { return .forwarded }
            if ASCII.equalsLowercase(bytes, name, "x-real-ip") { return .clientAddressClaim }
        case 10:
            if ASCII.equalsLowercase(bytes, name, "connection") { return .connection }
            if ASCII.equalsLowercase(bytes, name, "keep-alive") { return .keepAlive }
            if ASCII.equalsLowercase(bytes, name, "set-cookie") { return .setCookie }
        case 11:
            if ASCII.equalsLowercase(bytes, name, "x-client-ip") { return .clientAddressClaim }
        case 12:
            if ASCII.equalsLowercase(bytes, name, "content-type") { return .contentType }
        case 13:
            if ASCII.equalsLowercase(bytes, name, "cache-control") { return .cacheControl }
            if ASCII.equalsLowercase(bytes, name, "accept-ranges") { return .acceptRanges }
        case 14:
            if ASCII.equalsLowercase(bytes, name, "content-length") { return .contentLength }
            if ASCII.equalsLowercase(bytes, name, "true-client-ip") { return .clientAddressClaim }
            if ASCII.equalsLowercase(bytes, name, "sec-fetch-mode") { return .secFetchMode }
            if ASCII.equalsLowercase(bytes, name, "sec-fetch-site") { return .secFetchSite }
            if ASCII.equalsLowercase(bytes, name, "sec-fetch-dest") { return .secFetchDest }
        case 15:
            if ASCII.equalsLowercase(bytes, name, "x-forwarded-for") { return .xForwardedFor }
            if ASCII.equalsLowercase(bytes, name, "x-preview-token") { return .previewToken }
            if ASCII.equalsLowercase(bytes, name, "accept-encoding") { return .acceptEncoding }
        case 16:
            if ASCII.equalsLowercase(bytes, name, "proxy-connection") { return .proxyConnection }
            if ASCII.equalsLowercase(bytes, name, "x-forwarded-host") { return .xForwardedHost }
            if ASCII.equalsLowercase(bytes, name, "x-forwarded-port") { return .xForwardedPort }
            if ASCII.equalsLowercase(bytes, name, "cf-connecting-ip") { return .clientAddressClaim }
            if ASCII.equalsLowercase(bytes, name, "content-encoding") { return .contentEncoding }
            if ASCII.equalsLowercase(bytes, name, "content-location") { return .contentLocation }
        case 17:
            if ASCII.equalsLowercase(bytes, name, "transfer-encoding") { return .transferEncoding }
            if ASCII.equalsLowercase(bytes, name, "x-forwarded-proto") { return .xForwardedProto }
        case 23:
            if ASCII.equalsLowercase(bytes, name, "x-daytona-preview-token") { return .previewToken }
        case 29:
            if ASCII.equalsLowercase(bytes, name, "access-control-request-method") { return .accessControlRequestMethod }
        case 30:
            if ASCII.equalsLowercase(bytes, name, "access-control-request-headers") { return .accessControlRequestHeaders }
        default:
            break
        }
        return .other
    }
}
