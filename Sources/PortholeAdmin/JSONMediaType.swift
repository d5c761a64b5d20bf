/// Whether a request's `Content-Type` says its body is JSON: `application/json` or any
/// `application/…+json` (RFC 6839 structured syntax suffix), case-insensitive, with parameters.
///
/// A body sent as anything else is refused (415) rather than parsed anyway: a form or `text/plain`
/// post is what a browser may send cross-site without a preflight, and a client that mislabels its
/// body has likely mistaken the API. JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), so a
/// `charset` other than UTF-8 is refused too; other parameters are ignored.
enum JSONMediaType {
    static func accepts(_ contentType: String) -> Bool {
        var parts = contentType.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        let mediaType = trimmed(parts.next() ?? "").lowercased()
        guard let slash = mediaType.firstIndex(of: "/"), mediaType[..<slash] == "application" else { return false }
        let subtype = mediaType[mediaType.index(after: slash)...]
        guard subtype.allSatisfy(isTokenCharacter),
            subtype == "json" || (subtype.hasSuffix("+json") && subtype.count > "+json".count)
        else { return false }
        while let parameter = parts.next() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard trimmed(pair[0]).lowercased() == "charset" else { continue }
            var value = pair.count == 2 ? trimmed(pair[1]).lowercased() : ""
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard value == "utf-8" || value == "utf8" else { return false }
        }
        return true
    }

    /// Optional whitespace (RFC 9110 §5.6.3) around the parts.
    private static func trimmed(_ text: Substring) -> String {
        var text = text
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }

    /// `tchar` of RFC 9110 §5.6.2.
    private static func isTokenCharacter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(ascii)
        }
    }
}
