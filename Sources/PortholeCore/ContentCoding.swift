/// The content codings Porthole compresses responses with (RFC 9110 §8.4.1).
public enum ContentCoding: Sendable, Hashable {
    case gzip
    /// The zlib format (RFC 1950), which is what HTTP's `deflate` names.
    case deflate

    /// The coding's name in `Content-Encoding`.
    public var token: StaticString {
        switch self {
        case .gzip: "gzip"
        case .deflate: "deflate"
        }
    }
}

/// What a request's `Accept-Encoding` fields allow (RFC 9110 §12.5.3), read field by field.
///
/// A coding is acceptable when it is listed with a weight above zero, or when it is not listed and
/// `*` is, with a weight above zero. No field at all accepts nothing but `identity` here: a client
/// that did not ask gets the response as the sandbox sent it.
public struct AcceptEncoding: Sendable, Hashable {
    private var gzip: Int?
    private var deflate: Int?
    private var any: Int?

    public init() {}

    /// Reads one `Accept-Encoding` field value; repeated fields are one list.
    public mutating func read(_ value: UnsafeRawBufferPointer) {
        WeightedList.forEachElement(value) { name, weight in
            if ASCIIByte.equalsIgnoringCase(name, "gzip") || ASCIIByte.equalsIgnoringCase(name, "x-gzip") {
                gzip = max(gzip ?? 0, weight)
            } else if ASCIIByte.equalsIgnoringCase(name, "deflate") {
                deflate = max(deflate ?? 0, weight)
            } else if name.count == 1 && name.first == UInt8(ascii: "*") {
                any = max(any ?? 0, weight)
            }
        }
    }

    /// The coding to use: the one with the higher weight, gzip on a tie (it is what every client
    /// decodes, and `deflate` has a history of ambiguity); `nil` when neither is acceptable.
    public var preferred: ContentCoding? {
        let gzipWeight = gzip ?? any ?? 0
        let deflateWeight = deflate ?? any ?? 0
        if gzipWeight == 0 && deflateWeight == 0 { return nil }
        return gzipWeight >= deflateWeight ? .gzip : .deflate
    }
}

extension AcceptEncoding {
    /// The same from field values as text: for callers that hold strings, and for tests.
    public init(_ values: String...) {
        self.init()
        for var value in values { value.withUTF8 { read(UnsafeRawBufferPointer($0)) } }
    }
}
