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
            let key = PercentEncoding.decode(name, plusAsSpace: true)
            if values[key] == nil { values[key] = PercentEncoding.decode(value, plusAsSpace: true) }
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
}

import PortholeCore
