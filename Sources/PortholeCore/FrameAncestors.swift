/// Which pages may show previews in a frame: the operator's `--frame-ancestors`, sent as
/// `Content-Security-Policy: frame-ancestors …` with every preview response (CSP Level 3 §6.4.2).
/// A platform lists its own dashboard so no other site can frame (and clickjack) its previews.
/// A sandbox's own `Content-Security-Policy` still applies too: browsers enforce every policy.
public struct FrameAncestors: Sendable, Hashable, CustomStringConvertible {
    /// The sources, as given: `'self'`, `'none'`, a scheme (`https:`) or a host source
    /// (`https://dash.example.com`, `*.example.com`, `https://dash.example.com:8443`).
    public let sources: [String]

    /// The field line, CRLF included, that goes into response heads.
    public let fieldLine: String

    public var description: String { sources.joined(separator: " ") }

    /// Parses sources separated by spaces or commas.
    public init(_ list: String) throws(FrameAncestorsError) {
        let sources = list.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
        guard !sources.isEmpty else { throw .empty }
        for source in sources {
            guard Self.isSource(source) else { throw .malformed(source) }
        }
        if sources.contains("'none'") && sources.count > 1 { throw .noneWithOthers }
        self.sources = sources
        fieldLine = "Content-Security-Policy: frame-ancestors \(sources.joined(separator: " "))\r\n"
    }

    private static func isSource(_ source: String) -> Bool {
        if source == "'self'" || source == "'none'" { return true }
        // Valid host names, but surely the keywords without their quotes.
        if source.lowercased() == "self" || source.lowercased() == "none" { return false }
        let bytes = Array(source.utf8)
        // Printable ASCII without the characters that would end the directive or the field.
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\"") })
        else { return false }
        // A scheme source: `https:`.
        if bytes.last == UInt8(ascii: ":") {
            return bytes.count > 1
                && bytes.dropLast().allSatisfy { ASCIIByte.lowercased($0) >= UInt8(ascii: "a") && ASCIIByte.lowercased($0) <= UInt8(ascii: "z") }
        }
        // A host source: [scheme://]host[:port][/path], host `*`, `*.name` or a name.
        var rest = Substring(source)
        let parts = source.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard !parts[0].isEmpty,
                parts[0].utf8.allSatisfy({ ASCIIByte.lowercased($0) >= UInt8(ascii: "a") && ASCIIByte.lowercased($0) <= UInt8(ascii: "z") })
            else { return false }
            rest = parts[1]
        }
        let hostEnd = rest.firstIndex(where: { $0 == ":" || $0 == "/" }) ?? rest.endIndex
        let host = rest[..<hostEnd]
        guard !host.isEmpty else { return false }
        let name = host.hasPrefix("*.") ? host.dropFirst(2) : host
        guard host == "*" || (!name.isEmpty && !name.contains("*") && !name.hasPrefix(".") && !name.hasSuffix(".")) else { return false }
        return true
    }
}

/// A `--frame-ancestors` value that cannot be used.
public enum FrameAncestorsError: Error, Equatable, CustomStringConvertible {
    case empty
    case malformed(String)
    case noneWithOthers

    public var description: String {
        switch self {
        case .empty:
            "frame-ancestors is empty; give the sites that may frame previews, like https://dash.example.com"
        case .malformed(let source):
            "frame-ancestors source \"\(source)\" is not 'self' or 'none' (with their quotes), a scheme like https: or a host like https://dash.example.com"
        case .noneWithOthers:
            "frame-ancestors 'none' cannot be combined with other sources"
        }
    }
}
