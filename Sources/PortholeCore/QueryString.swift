/// Editing the query of an HTTP request target (`/path?a=1&b=2`). The proxy takes `preview_token` out of
/// the target so the token never reaches the previewed app (untrusted code, with its own logs and
/// analytics); everything else must reach it byte for byte, since apps sign and compare raw query strings.
public enum QueryString {
    /// The query parameters that carry a preview token: Porthole's, and Daytona's name for it
    /// (`DAYTONA_SANDBOX_AUTH_KEY`), so that links made for Daytona open too.
    public static let previewTokenParameters = ["preview_token", "DAYTONA_SANDBOX_AUTH_KEY"]

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
                    if value == nil { value = PercentEncoding.decode(segmentValue) }
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
}
