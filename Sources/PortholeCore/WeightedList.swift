/// Comma-separated field values whose elements carry parameters and a `q=` weight (RFC 9110
/// §5.6.1, §12.4.2): `Accept`, `Accept-Encoding`, and (without weights) `Cache-Control`.
enum WeightedList {
    /// A `q=` parameter's weight in thousandths (`0`, `0.0` … `1.000`), `nil` for other
    /// parameters. A malformed weight counts as 1: it does not refuse what it follows.
    static func thousandths(_ parameter: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard parameter.count >= 2, ASCIIByte.lowercased(parameter.first!) == UInt8(ascii: "q") else { return nil }
        var rest = parameter.dropFirst().drop { $0 == 0x20 || $0 == 0x09 }
        guard rest.first == UInt8(ascii: "=") else { return nil }
        rest = rest.dropFirst().drop { $0 == 0x20 || $0 == 0x09 }
        guard let leading = rest.first, leading == UInt8(ascii: "0") || leading == UInt8(ascii: "1") else { return 1000 }
        var thousandths = leading == UInt8(ascii: "1") ? 1000 : 0
        rest = rest.dropFirst()
        guard rest.first == UInt8(ascii: ".") else { return rest.isEmpty ? thousandths : 1000 }
        var scale = 100
        for byte in rest.dropFirst() {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), scale > 0 else { return 1000 }
            thousandths += Int(byte - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        return min(thousandths, 1000)
    }

    /// Calls `body` with each comma-separated element of a field value: the element's name
    /// (trimmed, before any `;`) and its weight (1000 when it has no `q`).
    static func forEachElement(_ value: UnsafeRawBufferPointer, _ body: (_ name: Slice<UnsafeRawBufferPointer>, _ thousandths: Int) -> Void) {
        var start = 0
        while start <= value.count {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.count
            let element = value[start..<end]
            let nameEnd = element.firstIndex(of: UInt8(ascii: ";")) ?? element.endIndex
            let name = ASCIIByte.trimmingWhitespace(element[element.startIndex..<nameEnd])
            if !name.isEmpty {
                var weight = 1000
                var separator = nameEnd
                while separator < element.endIndex {
                    let parameterStart = separator + 1
                    let parameterEnd = element[parameterStart...].firstIndex(of: UInt8(ascii: ";")) ?? element.endIndex
                    if let quality = thousandths(ASCIIByte.trimmingWhitespace(element[parameterStart..<parameterEnd])) {
                        weight = quality
                    }
                    separator = parameterEnd
                }
                body(name, weight)
            }
            start = end + 1
        }
    }
}
