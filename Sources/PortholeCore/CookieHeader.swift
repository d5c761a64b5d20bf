/// Reading and editing the value of a request's `Cookie:` header (RFC 6265 §4.2.1 / §5.4:
/// `name=value` pairs separated by `;` and optional whitespace). The proxy strips its own session
/// cookie before forwarding, so the previewed app (untrusted code) never sees it, while every other
/// cookie must reach the app exactly as the browser sent it.
public enum CookieHeader {
    /// The value of the first cookie called `name` (exact, case-sensitive name match), whitespace around it
    /// trimmed and quotes, if any, kept. `nil` when there is none.
    public static func find(name: String, in header: String) -> Substring? {
        for pair in pairs(in: header) where matches(pair, name: name) {
            return value(of: pair)
        }
        return nil
    }

    /// Every value of cookies called `name`, in header order. Browsers send several same-named cookies
    /// when they differ in path or domain, e.g. a cookie a sibling preview set on the parent domain
    /// next to the host-only one Porthole set; the caller should accept the request if any of them verifies.
    public static func values(name: String, in header: String) -> [Substring] {
        pairs(in: header).filter { matches($0, name: name) }.map(value(of:))
    }

    /// The header without any cookie called `name`, every other byte kept (order, spacing, odd separators);
    /// `nil` when no cookie remains, so the caller drops the header instead of sending it empty.
    public static func removing(name: String, from header: String) -> String? {
        let segments = pairs(in: header)
        let kept = segments.filter { !matches($0, name: name) }
        if kept.count == segments.count {
            return isBlank(header[...]) ? nil : header
        }
        var result = ""
        result.reserveCapacity(header.utf8.count)
        for segment in kept {
            if result.isEmpty {
                // The new first cookie loses the space that separated it from the removed one before it.
                result += trimmingLeadingWhitespace(segment)
            } else {
                result += ";"
                result += segment
            }
        }
        return isBlank(result[...]) ? nil : result
    }

    // MARK: - Private

    /// The raw segments between `;` separators, whitespace included.
    private static func pairs(in header: String) -> [Substring] {
        // Split on bytes: `;` is ASCII, and a Character split could merge it with a following combining mark.
        let utf8 = header.utf8
        var segments: [Substring] = []
        var start = utf8.startIndex
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: ";") {
                segments.append(header[start..<index])
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        segments.append(header[start..<utf8.endIndex])
        return segments
    }

    private static func matches(_ pair: Substring, name: String) -> Bool {
        var pair = pair
        return pair.withUTF8 { bytes in isPair(UnsafeRawBufferPointer(bytes), 0..<bytes.count, named: name) }
    }

    /// The one rule for "this segment of a Cookie header is the cookie called `name`", used by the
    /// authorisation (through ``values(name:in:)``) and by the proxy when it strips the cookie
    /// before forwarding, so that whatever authenticates is always removed: optional whitespace,
    /// `name` exactly (case-sensitive), optional whitespace, `=`. A segment without `=` is a
    /// nameless value (RFC 6265bis §5.6), never a match.
    public static func isPair(_ bytes: UnsafeRawBufferPointer, _ segment: Range<Int>, named name: String) -> Bool {
        var index = segment.lowerBound
        while index < segment.upperBound && isSpace(bytes[index]) { index += 1 }
        for byte in name.utf8 {
            guard index < segment.upperBound, bytes[index] == byte else { return false }
            index += 1
        }
        while index < segment.upperBound && isSpace(bytes[index]) { index += 1 }
        return index < segment.upperBound && bytes[index] == UInt8(ascii: "=")
    }

    private static func value(of pair: Substring) -> Substring {
        let utf8 = pair.utf8
        let equals = utf8.firstIndex(of: UInt8(ascii: "="))!
        let valueBytes = trimmed(utf8[utf8.index(after: equals)...])
        return pair[valueBytes.startIndex..<valueBytes.endIndex]
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }

    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var bytes = bytes
        while let first = bytes.first, isSpace(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isSpace(last) { bytes = bytes.dropLast() }
        return bytes
    }

    private static func trimmingLeadingWhitespace(_ text: Substring) -> Substring {
        let utf8 = text.utf8
        let start = utf8.firstIndex(where: { !isSpace($0) }) ?? utf8.endIndex
        return text[start...]
    }

    private static func isBlank(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { isSpace($0) || $0 == UInt8(ascii: ";") }
    }
}
