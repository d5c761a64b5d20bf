/// Editing the query of an HTTP request target (`/path?a=1&b=2`). The proxy takes `preview_token` out of
/// the target so the token never reaches the previewed app (untrusted code, with its own logs and
/// analytics); everything else must reach it byte for byte, since apps sign and compare raw query strings.
public enum QueryString {
    /// Removes every `name` parameter (exact byte match of the raw name: `xpreview_token` and
    /// `preview%5Ftoken` are other parameters) and returns the first one's value, `%XX`-decoded.
    /// The `?` goes when nothing remains; a fragment, if a client sent one, is kept as it was.
    /// `+` is not turned into a space: tokens are base64url and never contain one.
    public static func removingParameter(_ name: String, from target: String) -> (target: String, value: String?) {
        let utf8 = target.utf8
        // A `?` inside a fragment does not start a query (RFC 3986 §3.5).
        let fragmentStart = utf8.firstIndex(of: UInt8(ascii: "#")) ?? utf8.endIndex
        guard let question = utf8[..<fragmentStart].firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        let queryStart = utf8.index(after: question)

        var kept: [Substring] = []
        var value: String?
        var removedAny = false
        var segmentStart = queryStart
        var index = queryStart
        while true {
            if index == fragmentStart || utf8[index] == UInt8(ascii: "&") {
                let segment = target[segmentStart..<index]
                if let segmentValue = parameterValue(segment, name: name) {
                    removedAny = true
                    if value == nil { value = percentDecoded(segmentValue) }
                } else {
                    kept.append(segment)
                }
                if index == fragmentStart { break }
                segmentStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        guard removedAny else { return (target, nil) }

        var result = String(target[..<question])
        let query = kept.joined(separator: "&")
        if !query.isEmpty {
            result += "?"
            result += query
        }
        result += target[fragmentStart...]
        return (result, value)
    }

    /// The raw value when `segment` is `name=value` or a bare `name`; `nil` for other parameters.
    private static func parameterValue(_ segment: Substring, name: String) -> Substring? {
        let utf8 = segment.utf8
        let equals = utf8.firstIndex(of: UInt8(ascii: "=")) ?? utf8.endIndex
        guard utf8[utf8.startIndex..<equals].elementsEqual(name.utf8) else { return nil }
        return equals == utf8.endIndex ? segment[equals...] : segment[utf8.index(after: equals)...]
    }

    /// Decodes `%XX`; a `%` not followed by two hex digits stays as it is rather than failing the request.
    static func percentDecoded(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
