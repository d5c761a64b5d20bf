/// The routing key of one preview request, parsed from its `Host` header:
/// `<port>-<sandboxId>.<baseDomain>`, e.g. `3000-abc123.preview.localhost` → port 3000 of sandbox `abc123`.
///
/// Parsing runs on every request, so the byte-level overload allocates nothing but the sandbox id
/// (and not even that for ids of 15 bytes or fewer, which Swift stores inline).
public struct PreviewHost: Sendable, Hashable {
    /// The sandbox port the request is for, 1…65535.
    public let port: UInt16
    /// Lowercase, `[a-z0-9-]`, not starting or ending with `-`.
    public let sandboxID: String
    /// The configured base domain the host matched (as configured, lowercase).
    public let baseDomain: String

    public init(port: UInt16, sandboxID: String, baseDomain: String) {
        self.port = port
        self.sandboxID = sandboxID
        self.baseDomain = baseDomain
    }

    /// The canonical host name of this preview, without a port: `3000-abc.preview.localhost`.
    public var hostName: String {
        "\(port)-\(sandboxID).\(baseDomain)"
    }
}

// MARK: - Parsing

extension PreviewHost {
    /// A DNS label is at most 63 octets (RFC 1035 §2.3.4).
    static let maximumLabelLength = 63

    /// Parses a `Host` header value. `baseDomains` are lowercase, without leading or trailing dots.
    public static func parse(_ host: String, baseDomains: [String]) -> Result<PreviewHost, PreviewHostError> {
        var host = host
        return host.withUTF8 { parse(UnsafeRawBufferPointer($0), baseDomains: baseDomains) }
    }

    /// Parses the raw bytes of a `Host` header value; the proxy's hot path.
    public static func parse(_ host: UnsafeRawBufferPointer, baseDomains: [String]) -> Result<PreviewHost, PreviewHostError> {
        func failure(_ reason: PreviewHostError.Reason, detail: UnsafeRawBufferPointer? = nil) -> Result<PreviewHost, PreviewHostError> {
            .failure(PreviewHostError(reason: reason, detail: detail.map(Self.detailText), baseDomains: baseDomains))
        }

        let name: UnsafeRawBufferPointer
        switch strippedHostName(host) {
        case .valid(let stripped): name = stripped
        case .invalid(let reason): return failure(reason)
        }

        if baseDomains.contains(where: { asciiCaseInsensitiveEquals(name, $0) }) {
            return failure(.bareBaseDomain)
        }
        guard let firstDot = name.firstIndex(of: UInt8(ascii: ".")) else {
            return failure(.notUnderBaseDomain)
        }
        let label = UnsafeRawBufferPointer(rebasing: name[..<firstDot])
        let rest = UnsafeRawBufferPointer(rebasing: name[(firstDot + 1)...])

        guard let baseDomain = baseDomains.first(where: { asciiCaseInsensitiveEquals(rest, $0) }) else {
            // Say "one label too many" rather than "wrong domain" when that is what happened:
            // `3000-abc.x.preview.localhost` is a common mistake with nested dev domains.
            if baseDomains.contains(where: { asciiCaseInsensitiveHasDotSuffix(rest, $0) }) {
                return failure(.extraLabels)
            }
            return failure(.notUnderBaseDomain)
        }

        guard !label.isEmpty else { return failure(.emptyLabel) }
        guard label.count <= maximumLabelLength else { return failure(.labelTooLong) }
        guard let dash = label.firstIndex(of: UInt8(ascii: "-")) else { return failure(.missingSeparator) }

        let portDigits = UnsafeRawBufferPointer(rebasing: label[..<dash])
        let port: UInt16
        switch parsePort(portDigits) {
        case .valid(let value): port = value
        case .invalid(let reason): return failure(reason, detail: portDigits)
        }

        let id = UnsafeRawBufferPointer(rebasing: label[(dash + 1)...])
        guard !id.isEmpty else { return failure(.missingSandboxID) }
        guard id.first != UInt8(ascii: "-"), id.last != UInt8(ascii: "-") else { return failure(.sandboxIDHyphen) }
        // No character check here: `strippedHostName` admitted only letters, digits, `-` and `.`,
        // and a label holds no dot, so the id is already `[A-Za-z0-9-]`.

        let sandboxID = String(unsafeUninitializedCapacity: id.count) { buffer in
            for (offset, byte) in id.enumerated() {
                buffer[offset] = ASCIIByte.lowercased(byte)
            }
            return id.count
        }
        return .success(PreviewHost(port: port, sandboxID: sandboxID, baseDomain: baseDomain))
    }

    /// True when `host` (minus an optional `:port` and a single trailing dot) is exactly one of the base domains.
    /// The proxy answers health checks on the bare base domain.
    public static func isBaseDomain(_ host: String, baseDomains: [String]) -> Bool {
        var host = host
        return host.withUTF8 { isBaseDomain(UnsafeRawBufferPointer($0), baseDomains: baseDomains) }
    }

    /// Byte-level form of `isBaseDomain(_:baseDomains:)` taking a `String`.
    public static func isBaseDomain(_ host: UnsafeRawBufferPointer, baseDomains: [String]) -> Bool {
        guard case .valid(let name) = strippedHostName(host) else { return false }
        return baseDomains.contains(where: { asciiCaseInsensitiveEquals(name, $0) })
    }
}

// MARK: - Byte helpers

extension PreviewHost {
    /// `Result` needs an `Error`; a reason is not one until it is wrapped with the base domains.
    private enum Parsed<Value> {
        case valid(Value)
        case invalid(PreviewHostError.Reason)
    }

    /// Validates the characters of a `Host` value and strips the optional `:port` and one trailing dot.
    private static func strippedHostName(_ host: UnsafeRawBufferPointer) -> Parsed<UnsafeRawBufferPointer> {
        guard !host.isEmpty else { return .invalid(.empty) }
        if host.first == UInt8(ascii: "[") { return .invalid(.ipLiteral) }

        var colon: Int?
        for (offset, byte) in host.enumerated() {
            if byte >= 0x80 { return .invalid(.nonASCII) }
            if byte == UInt8(ascii: ":") {
                // Two colons can only be an unbracketed IPv6 literal.
                if colon != nil { return .invalid(.ipLiteral) }
                colon = offset
                continue
            }
            guard isHostByte(byte) else { return .invalid(.invalidCharacter) }
        }

        var end = host.count
        if let colon {
            let digits = UnsafeRawBufferPointer(rebasing: host[(colon + 1)...])
            guard isValidHeaderPort(digits) else { return .invalid(.invalidHeaderPort) }
            end = colon
        }
        if end > 0, host[end - 1] == UInt8(ascii: ".") {
            end -= 1
        }
        let name = UnsafeRawBufferPointer(rebasing: host[..<end])
        guard !name.isEmpty else { return .invalid(.empty) }
        // Empty labels (`..`, a leading dot, two trailing dots) are never valid DNS names.
        if name.first == UInt8(ascii: ".") || name.last == UInt8(ascii: ".") { return .invalid(.emptyLabel) }
        var previousWasDot = false
        for byte in name {
            let isDot = byte == UInt8(ascii: ".")
            if isDot && previousWasDot { return .invalid(.emptyLabel) }
            previousWasDot = isDot
        }
        return .valid(name)
    }

    /// The `:port` of the Host header is ignored (the listener already knows it), but it must still be a port.
    /// Leading zeros are tolerated here because RFC 3986 §3.2.3 allows them and nothing depends on the value.
    private static func isValidHeaderPort(_ digits: UnsafeRawBufferPointer) -> Bool {
        guard !digits.isEmpty else { return false }
        var value: UInt32 = 0
        for byte in digits {
            guard isDigit(byte) else { return false }
            value = value * 10 + UInt32(byte - UInt8(ascii: "0"))
            if value > UInt32(UInt16.max) { return false }
        }
        return value >= 1
    }

    /// The port in the first label is strict: one spelling per port, so one host name per preview
    /// (`03000-abc` and `3000-abc` must not be two origins of the same sandbox port).
    private static func parsePort(_ digits: UnsafeRawBufferPointer) -> Parsed<UInt16> {
        guard !digits.isEmpty else { return .invalid(.missingPort) }
        for byte in digits where !isDigit(byte) {
            return .invalid(.portNotNumeric)
        }
        if digits.count > 1, digits.first == UInt8(ascii: "0") { return .invalid(.portLeadingZero) }
        // More than five digits is out of range whatever they are; stopping here also rules out overflow.
        guard digits.count <= 5 else { return .invalid(.portOutOfRange) }
        var value: UInt32 = 0
        for byte in digits {
            value = value * 10 + UInt32(byte - UInt8(ascii: "0"))
        }
        guard value >= 1, value <= UInt32(UInt16.max) else { return .invalid(.portOutOfRange) }
        return .valid(UInt16(value))
    }

    /// Bounded copy of the offending bytes for the error message (they are ASCII: the host passed the character check).
    private static func detailText(_ bytes: UnsafeRawBufferPointer) -> String {
        let limit = 16
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return bytes.count > limit ? text + "…" : text
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isSandboxIDByte(_ byte: UInt8) -> Bool {
        let lower = ASCIIByte.lowercased(byte)
        return isDigit(lower) || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || lower == UInt8(ascii: "-")
    }

    /// Letters, digits, `-` and `.`: everything a preview host name can contain. Underscores are not allowed
    /// in host names (RFC 952/1123) and could never match a base domain or a sandbox id anyway.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        isSandboxIDByte(byte) || byte == UInt8(ascii: ".")
    }

    private static func asciiCaseInsensitiveEquals(_ bytes: UnsafeRawBufferPointer, _ domain: String) -> Bool {
        let utf8 = domain.utf8
        guard bytes.count == utf8.count else { return false }
        for (byte, expected) in zip(bytes, utf8) where ASCIIByte.lowercased(byte) != ASCIIByte.lowercased(expected) {
            return false
        }
        return true
    }

    /// True when `bytes` ends with `.` + `domain`.
    private static func asciiCaseInsensitiveHasDotSuffix(_ bytes: UnsafeRawBufferPointer, _ domain: String) -> Bool {
        let count = domain.utf8.count
        guard bytes.count > count + 1 else { return false }
        let dot = bytes.count - count - 1
        guard bytes[dot] == UInt8(ascii: ".") else { return false }
        return asciiCaseInsensitiveEquals(UnsafeRawBufferPointer(rebasing: bytes[(dot + 1)...]), domain)
    }
}
