/// What `hostRewrite` maps between the preview's origin and the dev server's own, so an app that
/// checks `Origin` against `Host`, or builds redirects from `Host`, works behind the preview
/// (as nginx's `proxy_redirect default` does for `Location`):
///
/// - requests: an `Origin` equal to the preview origin, and a `Referer` under it, are presented
///   as `http://localhost:<port>` (the `Host` the sandbox sees);
/// - responses: `Location`, `Content-Location` and `Refresh` URLs under `http(s)://localhost:<port>`
///   or `http(s)://127.0.0.1:<port>` go back to the preview origin.
///
/// Byte-level: the proxy calls these on field values as they sit in the head buffer.
public enum LocalOriginMapping {
    /// Whether `value` (an `Origin` field) is `<scheme>://<host>`, `host` being the request's
    /// `Host` field; scheme and host compare without case.
    public static func isPreviewOrigin(_ value: UnsafeRawBufferPointer, scheme: StaticString, host: UnsafeRawBufferPointer) -> Bool {
        prefixLength(value, scheme: scheme, host: host) == value.count
    }

    /// The length of the `<scheme>://<host>` that `value` (a `Referer`) starts with, when what
    /// follows ends the origin (nothing, `/`, `?` or `#`); else nil.
    public static func previewOriginPrefix(_ value: UnsafeRawBufferPointer, scheme: StaticString, host: UnsafeRawBufferPointer) -> Int? {
        guard let length = prefixLength(value, scheme: scheme, host: host), endsOrigin(value, at: length) else { return nil }
        return length
    }

    /// The length of the `http(s)://localhost:<port>` or `http(s)://127.0.0.1:<port>` that `value`
    /// (a `Location` or `Content-Location`) starts with, when what follows ends the origin; else nil.
    public static func localOriginPrefix(_ value: UnsafeRawBufferPointer, port: UInt16) -> Int? {
        for local in ["http://localhost:", "http://127.0.0.1:", "https://localhost:", "https://127.0.0.1:"] as [StaticString] {
            let literal = UnsafeRawBufferPointer(start: local.utf8Start, count: local.utf8CodeUnitCount)
            guard value.count > literal.count, ASCIIByte.equalsIgnoringCase(value[0..<literal.count], local) else { continue }
            var index = literal.count
            var number = 0
            while index < value.count, index - literal.count < 5, let digit = decimal(value[index]) {
                number = number * 10 + digit
                index += 1
            }
            guard index > literal.count, number == Int(port), endsOrigin(value, at: index) else { return nil }
            return index
        }
        return nil
    }

    /// Where the URL of a `Refresh` value (`5; url=http://…`) starts, after `url=` in any case.
    public static func refreshURLStart(_ value: UnsafeRawBufferPointer) -> Int? {
        guard let semicolon = value.firstIndex(of: UInt8(ascii: ";")) else { return nil }
        var index = semicolon + 1
        while index < value.count, value[index] == 0x20 || value[index] == 0x09 { index += 1 }
        guard value.count >= index + 4, ASCIIByte.equalsIgnoringCase(value[index..<index + 3], "url") else { return nil }
        index += 3
        while index < value.count, value[index] == 0x20 || value[index] == 0x09 { index += 1 }
        guard index < value.count, value[index] == UInt8(ascii: "=") else { return nil }
        index += 1
        while index < value.count, value[index] == 0x20 || value[index] == 0x09 { index += 1 }
        return index
    }

    /// Whether a value may hold a local dev-server URL at all: a cheap test made while parsing
    /// every response head, so only those that do are rewritten.
    public static func mayHoldLocalOrigin(_ value: UnsafeRawBufferPointer) -> Bool {
        guard value.count >= 17 else { return false }
        var index = 0
        while index + 3 <= value.count {
            if value[index] == UInt8(ascii: ":") && value[index + 1] == UInt8(ascii: "/") && value[index + 2] == UInt8(ascii: "/") {
                let rest = value[(index + 3)...]
                if rest.count >= 10
                    && (ASCIIByte.equalsIgnoringCase(rest.prefix(10), "localhost:") || ASCIIByte.equalsIgnoringCase(rest.prefix(10), "127.0.0.1:"))
                {
                    return true
                }
            }
            index += 1
        }
        return false
    }

    private static func prefixLength(_ value: UnsafeRawBufferPointer, scheme: StaticString, host: UnsafeRawBufferPointer) -> Int? {
        let schemeLength = scheme.utf8CodeUnitCount
        let length = schemeLength + 3 + host.count
        guard !host.isEmpty, value.count >= length, ASCIIByte.equalsIgnoringCase(value[0..<schemeLength], scheme),
            value[schemeLength] == UInt8(ascii: ":"), value[schemeLength + 1] == UInt8(ascii: "/"), value[schemeLength + 2] == UInt8(ascii: "/")
        else { return nil }
        for offset in 0..<host.count where ASCIIByte.lowercased(value[schemeLength + 3 + offset]) != ASCIIByte.lowercased(host[offset]) {
            return nil
        }
        return length
    }

    private static func endsOrigin(_ value: UnsafeRawBufferPointer, at index: Int) -> Bool {
        index == value.count || value[index] == UInt8(ascii: "/") || value[index] == UInt8(ascii: "?") || value[index] == UInt8(ascii: "#")
    }

    private static func decimal(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
