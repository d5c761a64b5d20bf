import PortholeCore

/// What the proxy accepts as a request's method and target (RFC 9112 §3.2), decided once per
/// request right after the head is parsed.
///
/// Porthole is a reverse proxy: it serves origin-form targets (`/path?query`) and `OPTIONS *`.
/// An absolute-form target (`http://host/path`) is accepted when its authority is the Host field
/// (RFC 9112 §3.2.2 lets the target's authority win; refusing a mismatch keeps routing on one
/// host), and is then forwarded in origin-form. CONNECT and TRACE are not implemented for any
/// resource (RFC 9110 §15.6.2: 501): CONNECT would make the proxy a tunnel to anywhere, and
/// TRACE would echo credentials back to scripts.
enum RequestTargetCheck {
    enum Outcome: Equatable {
        case accept
        /// Absolute-form with the right authority: forward this range of the target (its path and query).
        case acceptOriginForm(Range<Int>)
        case refuse(ErrorResponse)
    }

    static func check(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer) -> Outcome {
        if ASCII.equalsUppercase(bytes, head.method, "CONNECT") || ASCII.equalsUppercase(bytes, head.method, "TRACE") {
            let method = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.method]), as: UTF8.self)
            return .refuse(
                ErrorResponse(
                    status: 501, code: "method_not_supported",
                    message: "\(method) is not supported: this is a reverse proxy for previews"
                ))
        }
        let target = head.target
        let first = bytes[target.lowerBound]
        if first == UInt8(ascii: "/") { return .accept }
        if first == UInt8(ascii: "*") && target.count == 1 {
            return head.isOPTIONS ? .accept : .refuse(.badRequest("the target * is only for OPTIONS"))
        }
        // absolute-form: scheme "://" authority path-abempty [ "?" query ]
        guard let authority = authorityRange(bytes, target) else {
            return .refuse(.badRequest("the request target must be a path (origin-form), e.g. GET /index.html"))
        }
        var pathStart = authority.upperBound
        while pathStart < target.upperBound && bytes[pathStart] != UInt8(ascii: "/") && bytes[pathStart] != UInt8(ascii: "?") {
            pathStart += 1
        }
        guard pathStart < target.upperBound, bytes[pathStart] == UInt8(ascii: "/") else {
            return .refuse(.badRequest("an absolute request target needs a path, e.g. http://host/"))
        }
        guard let hostField = head.hostField, equalsIgnoringCase(bytes, authority, head.fields[hostField].value)
        else {
            return .refuse(.badRequest("the request target names another host than the Host field"))
        }
        return .acceptOriginForm(pathStart..<target.upperBound)
    }

    /// A Host value fit to be copied into a `Location`: a name or IPv4 address (letters, digits,
    /// `-`, `.`) or a bracketed IPv6 literal, then an optional `:port`. Nothing else: no `/ ? @ \`
    /// that would make the redirect point somewhere else, and not empty.
    static func isValidHost(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty, range.count <= 261 else { return false }
        var index = range.lowerBound
        if bytes[index] == UInt8(ascii: "[") {
            while index < range.upperBound && bytes[index] != UInt8(ascii: "]") {
                let byte = bytes[index]
                guard index == range.lowerBound || isHexDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") else { return false }
                index += 1
            }
            guard index < range.upperBound else { return false }
            index += 1
        } else {
            let start = index
            while index < range.upperBound && bytes[index] != UInt8(ascii: ":") {
                let byte = bytes[index]
                let lower = byte | 0x20
                guard
                    (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                else { return false }
                index += 1
            }
            guard index > start else { return false }
        }
        guard index < range.upperBound else { return true }
        guard bytes[index] == UInt8(ascii: ":"), index + 1 < range.upperBound, range.upperBound - index - 1 <= 5 else { return false }
        var port = 0
        for position in (index + 1)..<range.upperBound {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return false }
            port = port * 10 + Int(digit)
        }
        return port <= 65535
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f"))
    }

    /// The authority of `scheme://authority…`, if the target has that shape.
    private static func authorityRange(_ bytes: UnsafeRawBufferPointer, _ target: Range<Int>) -> Range<Int>? {
        var index = target.lowerBound
        while index < target.upperBound && (isSchemeByte(bytes[index])) { index += 1 }
        guard index > target.lowerBound, index + 2 < target.upperBound,
            bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"), bytes[index + 2] == UInt8(ascii: "/")
        else { return nil }
        let start = index + 3
        var end = start
        while end < target.upperBound && bytes[end] != UInt8(ascii: "/") && bytes[end] != UInt8(ascii: "?") { end += 1 }
        return start..<end
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        guard lhs.count == rhs.count, !lhs.isEmpty else { return false }
        var right = rhs.lowerBound
        for left in lhs {
            let a = bytes[left]
            let b = bytes[right]
            if a != b && !((a | 0x20) == (b | 0x20) && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z")) { return false }
            right += 1
        }
        return true
    }
}
