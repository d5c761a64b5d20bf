/// The `Domain` attribute of a sandbox's `Set-Cookie` (RFC 6265 §5.2.3), which the proxy drops.
///
/// Every sandbox is a host under the same base domain, so `Domain=<base domain>` (or any parent of
/// the preview host) would reach every other sandbox's app and plant a cookie there, Porthole's own
/// session cookie included. Without the attribute a cookie is host-only: it goes back to the
/// preview host that set it and nowhere else, which is all an app in a sandbox may claim. (Large
/// preview platforms also put their base domain on the Public Suffix List; README says so.)
enum SetCookieDomain {
    /// Whether the `Set-Cookie` value in `value` has a `Domain` attribute.
    static func hasDomain(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Bool {
        var found = false
        forEachDomainAttribute(bytes, value) { _ in found = true }
        return found
    }

    /// Calls `body` with the range to delete for each `Domain` attribute, in order: from the `;`
    /// before it to the end of its value, so what remains is still `name=value; attr; attr`.
    /// Attribute names are case-insensitive and may be surrounded by whitespace; the first `;`
    /// ends the cookie's own `name=value`, so `a=domain=x` is no attribute.
    static func forEachDomainAttribute(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void) {
        guard var separator = bytes[value].firstIndex(of: ASCII.semicolon) else { return }
        while separator < value.upperBound {
            let end = bytes[(separator + 1)..<value.upperBound].firstIndex(of: ASCII.semicolon) ?? value.upperBound
            if isDomain(bytes, (separator + 1)..<end) { body(separator..<end) }
            separator = end
        }
    }

    /// `attribute` (between two `;`) is `Domain`, with or without a value.
    private static func isDomain(_ bytes: UnsafeRawBufferPointer, _ attribute: Range<Int>) -> Bool {
        var nameEnd = bytes[attribute].firstIndex(of: UInt8(ascii: "=")) ?? attribute.upperBound
        var nameStart = attribute.lowerBound
        while nameStart < nameEnd, bytes[nameStart] == ASCII.space || bytes[nameStart] == ASCII.tab { nameStart += 1 }
        while nameEnd > nameStart, bytes[nameEnd - 1] == ASCII.space || bytes[nameEnd - 1] == ASCII.tab { nameEnd -= 1 }
        return ASCII.equalsLowercase(bytes, nameStart..<nameEnd, "domain")
    }
}
