/// Finds a key that appears twice in one object of a JSON text.
///
/// JSONDecoder keeps one of the two values and drops the other without a word, so
/// `{"public": false, "public": true}` means whatever this decoder picks while a gateway, an audit
/// log or the client's own checks may have read the other one. RFC 8259 §4 leaves such objects'
/// meaning open; the admin API refuses them instead.
///
/// Runs only on text that JSONDecoder has accepted, so it only has to follow strings and
/// brackets. Keys are compared after unescaping and as Swift strings compare (canonical
/// equivalence), which is how the decoder's dictionary would have merged them: `"a"` and
/// `"\u0061"` are the same key.
enum JSONDuplicateKey {
    /// The keys leading to the first repeated key, ending with it (`["labels", "team"]`); `nil` if
    /// every object's keys are distinct.
    static func find(in bytes: [UInt8]) -> [String]? {
        var containers: [Container] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let parentKey = containers.last?.currentKey
                containers.append(Container(isObject: bytes[index] == UInt8(ascii: "{"), name: parentKey))
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                containers.removeLast()
                index += 1
            case UInt8(ascii: ","):
                if let last = containers.indices.last, containers[last].isObject { containers[last].expectsKey = true }
                index += 1
            case UInt8(ascii: "\""):
                let (string, end) = Self.string(in: bytes, from: index)
                index = end
                guard let last = containers.indices.last, containers[last].isObject, containers[last].expectsKey else { continue }
                containers[last].expectsKey = false
                containers[last].currentKey = string
                guard containers[last].keys.insert(string).inserted else {
                    return containers.compactMap(\.name) + [string]
                }
            default:
                index += 1
            }
        }
        return nil
    }

    private struct Container {
        var isObject: Bool
        /// The key this container is the value of, if its parent is an object.
        var name: String?
        var keys: Set<String> = []
        var currentKey: String?
        /// After `{` or `,` in an object, the next string is a key.
        var expectsKey = true
    }

    /// The unescaped string starting at the quote at `start`, and the index after its closing quote.
    private static func string(in bytes: [UInt8], from start: Int) -> (String, Int) {
        var utf8: [UInt8] = []
        var index = start + 1
        var pendingHighSurrogate: UInt32?
        func append(_ scalar: Unicode.Scalar) {
            utf8.append(contentsOf: Array(String(scalar).utf8))
        }
        func flushSurrogate() {
            if pendingHighSurrogate != nil { append("\u{FFFD}") }
            pendingHighSurrogate = nil
        }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            guard bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                flushSurrogate()
                utf8.append(bytes[index])
                index += 1
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            guard escaped == UInt8(ascii: "u") else {
                flushSurrogate()
                switch escaped {
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                default: utf8.append(escaped)  // \" \\ \/
                }
                continue
            }
            guard index + 4 <= bytes.count, let unit = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                continue  // not reached for text JSONDecoder accepted
            }
            index += 4
            switch unit {
            case 0xD800...0xDBFF:
                flushSurrogate()
                pendingHighSurrogate = unit
            case 0xDC00...0xDFFF:
                if let high = pendingHighSurrogate, let scalar = Unicode.Scalar(0x10000 + (high - 0xD800) << 10 + (unit - 0xDC00)) {
                    append(scalar)
                } else {
                    flushSurrogate()
                    append("\u{FFFD}")
                }
                pendingHighSurrogate = nil
            default:
                flushSurrogate()
                append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            }
        }
        flushSurrogate()
        return (String(decoding: utf8, as: UTF8.self), index + 1)
    }
}
