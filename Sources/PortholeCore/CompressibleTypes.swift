/// The media types whose responses are worth compressing: a list of patterns, `type/subtype`,
/// `type/*` or `*+suffix` (any type whose subtype ends in `+suffix`, like `*+json`), matched
/// without case against a `Content-Type` without its parameters.
///
/// `text/event-stream` is matched only when listed by its full name: a compressed server-sent
/// event stream needs a flush per event, which the proxy does, but some clients and intermediaries
/// buffer compressed streams; it stays plain unless an operator asks.
public struct CompressibleTypes: Sendable, Hashable, CustomStringConvertible {
    private enum Pattern: Sendable, Hashable {
        case exact([UInt8])
        case type([UInt8])
        case suffix([UInt8])
    }

    private let patterns: [Pattern]
    public let description: String

    /// Text, scripts, JSON, XML, SVG, WebAssembly and the uncompressed font formats; not images,
    /// audio, video, archives or WOFF fonts, which are compressed already.
    public static let `default` = try! CompressibleTypes(
        "text/*, application/javascript, application/x-javascript, application/ecmascript, application/json, "
            + "application/xml, application/wasm, image/svg+xml, image/x-icon, font/ttf, font/otf, *+json, *+xml"
    )

    /// Parses a comma-separated list of patterns.
    public init(_ list: String) throws(CompressibleTypesError) {
        var patterns: [Pattern] = []
        for entry in CommaSeparatedList.entries(list) {
            let lowered = Array(entry.lowercased().utf8)
            guard !lowered.isEmpty else { throw .emptyEntry(list) }
            guard lowered.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") }) else { throw .malformed(String(entry)) }
            if lowered.first == UInt8(ascii: "*") {
                guard lowered.count > 2, lowered[1] == UInt8(ascii: "+"), !lowered[2...].contains(UInt8(ascii: "/")) else {
                    throw .malformed(String(entry))
                }
                patterns.append(.suffix(Array(lowered[1...])))
                continue
            }
            let parts = lowered.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[0].contains(UInt8(ascii: "*")) else {
                throw .malformed(String(entry))
            }
            if parts[1].elementsEqual("*".utf8) {
                patterns.append(.type(Array(parts[0]) + [UInt8(ascii: "/")]))
            } else if parts[1].contains(UInt8(ascii: "*")) {
                throw .malformed(String(entry))
            } else {
                patterns.append(.exact(lowered))
            }
        }
        self.patterns = patterns
        self.description = CommaSeparatedList.entries(list).joined(separator: ", ")
    }

    /// Whether a `Content-Type` field value (parameters allowed) is one of the listed types.
    public func contains(_ contentType: UnsafeRawBufferPointer) -> Bool {
        let end = contentType.firstIndex(of: UInt8(ascii: ";")) ?? contentType.count
        let mediaType = ASCIIByte.trimmingWhitespace(contentType[0..<end])
        guard !mediaType.isEmpty else { return false }
        let isEventStream = ASCIIByte.equalsIgnoringCase(mediaType, "text/event-stream")
        for pattern in patterns {
            switch pattern {
            case .exact(let name):
                if Self.equal(mediaType, name) { return true }
            case .type(let prefix):
                if !isEventStream, mediaType.count > prefix.count, Self.equal(mediaType.prefix(prefix.count), prefix) { return true }
            case .suffix(let suffix):
                if !isEventStream, mediaType.count > suffix.count, Self.equal(mediaType.suffix(suffix.count), suffix) { return true }
            }
        }
        return false
    }

    private static func equal(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: [UInt8]) -> Bool {
        bytes.count == lowercase.count && zip(bytes, lowercase).allSatisfy { ASCIIByte.lowercased($0) == $1 }
    }
}

extension CompressibleTypes {
    /// The same test on text: for callers that hold strings, and for tests.
    public func contains(_ contentType: String) -> Bool {
        var text = contentType
        return text.withUTF8 { contains(UnsafeRawBufferPointer($0)) }
    }
}

/// A `--compression-types` list that cannot be read.
public enum CompressibleTypesError: Error, Equatable, CustomStringConvertible {
    case emptyEntry(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .emptyEntry(let list):
            "compression types \"\(list)\" has an empty entry; give media types separated by commas, like text/*, application/json, *+json"
        case .malformed(let entry):
            "compression type \"\(entry)\" is not a media type pattern; use type/subtype, type/* or *+suffix"
        }
    }
}
