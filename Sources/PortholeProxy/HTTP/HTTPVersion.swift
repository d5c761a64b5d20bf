/// The two HTTP/1 versions Porthole speaks; anything else is refused with 505.
@_spi(Benchmarks) public enum HTTPVersion: Sendable, Hashable {
    case http10
    case http11

    /// HTTP-version syntax, `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3): well-formed but unsupported
    /// versions get 505, anything else 400.
    static func isWellFormed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard range.count == 8 else { return false }
        let base = range.lowerBound
        return bytes[base] == UInt8(ascii: "H") && bytes[base + 1] == UInt8(ascii: "T")
            && bytes[base + 2] == UInt8(ascii: "T") && bytes[base + 3] == UInt8(ascii: "P")
            && bytes[base + 4] == UInt8(ascii: "/") && bytes[base + 5] &- UInt8(ascii: "0") < 10
            && bytes[base + 6] == UInt8(ascii: ".") && bytes[base + 7] &- UInt8(ascii: "0") < 10
    }

    /// Parses exactly `HTTP/1.0` or `HTTP/1.1` (case-sensitive, RFC 9112 §2.3).
    static func parse(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPVersion? {
        guard range.count == 8 else { return nil }
        let base = range.lowerBound
        guard bytes[base] == UInt8(ascii: "H"), bytes[base + 1] == UInt8(ascii: "T"),
            bytes[base + 2] == UInt8(ascii: "T"), bytes[base + 3] == UInt8(ascii: "P"),
            bytes[base + 4] == UInt8(ascii: "/"), bytes[base + 5] == UInt8(ascii: "1"),
            bytes[base + 6] == UInt8(ascii: ".")
        else { return nil }
        switch bytes[base + 7] {
        case UInt8(ascii: "1"): return .http11
        case UInt8(ascii: "0"): return .http10
        default: return nil
        }
    }
}
