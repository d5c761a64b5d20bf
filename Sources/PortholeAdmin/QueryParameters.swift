/// The query of an admin request, `%XX`- and `+`-decoded (HTML form encoding, which is what HTTP
/// clients and schemathesis send). The first of repeated parameters wins.
struct QueryParameters: Sendable {
    private var values: [String: String] = [:]

    init(_ query: String?) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                name = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                name = pair
                value = ""
            }
            let key = Self.decoded(name)
            if values[key] == nil { values[key] = Self.decoded(value) }
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// Whole numbers only, written in plain decimal digits (an optional leading `-`).
    func integer(_ name: String, range: ClosedRange<Int64>) throws(AdminAPIError) -> Int64? {
        guard let text = values[name] else { return nil }
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        guard !digits.isEmpty, digits.count <= 18, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(text) else {
            throw .invalid(name, "\(name) must be a whole number \(range.lowerBound)…\(range.upperBound), got \"\(SandboxFieldRules.shown(text))\"")
        }
        guard range.contains(value) else {
            throw .invalid(name, "\(name) must be \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        return value
    }

    private static func decoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"),
                      let first = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), first != utf8.endIndex,
                      let second = utf8.index(first, offsetBy: 1, limitedBy: utf8.endIndex), second != utf8.endIndex,
                      let high = hexValue(utf8[first]), let low = hexValue(utf8[second]) {
                bytes.append(high << 4 | low)
                index = second
            } else {
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}

import PortholeCore
