/// `%XX` escapes of URI components (RFC 3986 §2.1), the one codec behind the proxy's query edit,
/// the admin API's query parameters and the client's paths.
public enum PercentEncoding {
    /// Decodes `%XX` (either case); a `%` not followed by two hex digits stays as it is rather than
    /// failing. With `plusAsSpace`, `+` is a space, as in HTML form encoding.
    public static func decode(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = ASCIIByte.hexValue(bytes[index + 1]), let low = ASCIIByte.hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Every byte but the unreserved ones (`A–Z a–z 0–9 - . _ ~`) as `%XX`, so the result can stand
    /// as a path segment or a query name or value without changing the URI's shape.
    public static func encode(_ text: some StringProtocol) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
