/// Why a head or a chunked body was refused. Every case closes the connection: after a framing error the
/// byte stream can no longer be trusted (RFC 9112 §11.2, request smuggling).
@_spi(Benchmarks) public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Reason: Hashable, Sendable {
        case malformedRequestLine
        case malformedStatusLine
        case unsupportedVersion
        case invalidHeaderName
        case invalidHeaderValue
        case obsoleteLineFolding
        case bareLineFeedOrCarriageReturn
        case missingHost
        case duplicateHost
        case invalidContentLength
        case conflictingContentLength
        case contentLengthWithTransferEncoding
        case unsupportedTransferEncoding
        case transferEncodingInHTTP10
        case invalidChunkSize
        case invalidChunkFraming
        case trailersTooLarge
        case headTooLarge
    }

    private let reason: Reason

    private init(_ reason: Reason) { self.reason = reason }

    public static let malformedRequestLine = Self(.malformedRequestLine)
    public static let malformedStatusLine = Self(.malformedStatusLine)
    public static let unsupportedVersion = Self(.unsupportedVersion)
    public static let invalidHeaderName = Self(.invalidHeaderName)
    public static let invalidHeaderValue = Self(.invalidHeaderValue)
    public static let obsoleteLineFolding = Self(.obsoleteLineFolding)
    public static let bareLineFeedOrCarriageReturn = Self(.bareLineFeedOrCarriageReturn)
    public static let missingHost = Self(.missingHost)
    public static let duplicateHost = Self(.duplicateHost)
    public static let invalidContentLength = Self(.invalidContentLength)
    public static let conflictingContentLength = Self(.conflictingContentLength)
    public static let contentLengthWithTransferEncoding = Self(.contentLengthWithTransferEncoding)
    public static let unsupportedTransferEncoding = Self(.unsupportedTransferEncoding)
    public static let transferEncodingInHTTP10 = Self(.transferEncodingInHTTP10)
    public static let invalidChunkSize = Self(.invalidChunkSize)
    public static let invalidChunkFraming = Self(.invalidChunkFraming)
    public static let trailersTooLarge = Self(.trailersTooLarge)
    public static let headTooLarge = Self(.headTooLarge)

    /// HTTP status the proxy answers with when a client sends this.
    public var status: Int {
        switch reason {
        case .headTooLarge: 431
        case .unsupportedVersion: 505
        case .unsupportedTransferEncoding: 501
        default: 400
        }
    }

    /// Machine-readable code for error bodies.
    public var code: String {
        switch reason {
        case .headTooLarge: "headers_too_large"
        case .unsupportedVersion: "http_version_not_supported"
        case .unsupportedTransferEncoding: "transfer_encoding_not_supported"
        default: "bad_request"
        }
    }

    public var description: String {
        switch reason {
        case .malformedRequestLine: "malformed request line: expected `METHOD /target HTTP/1.1`"
        case .malformedStatusLine: "malformed status line from upstream"
        case .unsupportedVersion: "only HTTP/1.0 and HTTP/1.1 are supported"
        case .invalidHeaderName: "invalid header field name"
        case .invalidHeaderValue: "invalid character in a header field value"
        case .obsoleteLineFolding: "obsolete line folding in header fields is not accepted"
        case .bareLineFeedOrCarriageReturn: "header lines must end with CRLF"
        case .missingHost: "HTTP/1.1 requests must carry a Host header"
        case .duplicateHost: "more than one Host header"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length headers"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding are present"
        case .unsupportedTransferEncoding: "only chunked is supported as the final transfer coding"
        case .transferEncodingInHTTP10: "Transfer-Encoding is not allowed in HTTP/1.0"
        case .invalidChunkSize: "invalid chunk size in chunked body"
        case .invalidChunkFraming: "invalid chunked body framing"
        case .trailersTooLarge: "chunked trailer section too large"
        case .headTooLarge: "request header section too large"
        }
    }
}
