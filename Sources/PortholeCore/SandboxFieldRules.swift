/// The syntax of the admin API's fields, one rule per field. The patterns are written exactly as in the
/// OpenAPI document (ECMA-262 syntax, anchored), and the API checks with the same patterns, so a request
/// the document calls valid is never refused for its syntax and the other way round (a test compares
/// the two).
public enum SandboxFieldRules {
    /// DNS-label-safe, and short enough that `<port>-<id>` (a 5-digit port, a dash) is still one DNS label
    /// of at most 63 characters.
    public static let idPattern = "^[a-z0-9](?:[a-z0-9-]{0,55}[a-z0-9])?$"
    public static let idMaximumLength = 57

    /// A host name (whose last label starts with a letter, as every top-level domain does, so a
    /// mistyped address like `300.1.1.1` is not taken for a name), a strict dotted-quad IPv4 address, or
    /// an IPv6 literal (hexadecimal digits, dots and at least two colons, so `10.0.0.1:3000` is refused;
    /// not bracketed).
    public static let targetPattern =
        "^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        + "|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
        + "|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$"
    public static let targetMaximumLength = 253

    /// Label keys: what Kubernetes allows in a name segment plus `/` for prefixes.
    public static let labelKeyPattern = "^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$"
    /// What a label value may not hold: C0 and C1 control characters (NUL, line breaks, the escape
    /// sequences that rewrite a terminal) and the bidirectional marks, embeddings, overrides and
    /// isolates that make text display in another order than it is stored ("Trojan Source").
    /// Values are shown by `porthole sandbox list`, in logs and on dashboards.
    public static let labelValueForbiddenRanges = "\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069"
    /// Label values: anything else, free-form.
    public static let labelValuePattern = "^[^" + labelValueForbiddenRanges + "]*$"
    public static let labelValueMaximumLength = 256
    public static let maximumLabels = 32
    /// `key=value` in `GET /v1/sandboxes?label=`. The value stays free-form: it is only compared,
    /// never stored, and error messages quote it escaped (``shown(_:)``).
    public static let labelFilterPattern = "^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?=[\\s\\S]*$"
    public static let labelFilterMaximumLength = 320

    private static let ipv4 = "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    private static let cidr = ipv4 + "/(?:3[0-2]|[12][0-9]|[0-9])"
    private static let space = "[ \\t\\r\\n]*"
    /// Documents the allow-list syntax with the default limit of 5 entries; the API checks with
    /// ``NetworkAllowList/parse(_:maxEntries:)``, whose messages name the bad entry.
    public static let networkAllowListPattern = "^" + space + cidr + space + "(?:," + space + cidr + space + "){0,4}$"

    private static let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    /// Where an entry ends: the optional trailing dot, whitespace, then a comma or the end.
    private static let entryEnd = "\\.?" + space + "(?:,|$)"
    /// The last label of a name is not all digits (`1.2.3.999` is a mistyped address): one starting
    /// with a letter is fine as it is; one starting with a digit must not be digits to its end. (Split
    /// so a generator of examples, which reads a negative lookahead as nothing and filters afterwards,
    /// rarely has to throw one away.)
    private static let lastLabel = "(?:[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|(?![0-9]+" + entryEnd + ")[0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    /// At most 253 characters before the optional trailing dot (`*.` counted): refused when 253 name
    /// characters are followed by another, or by a dot that is not the trailing one.
    private static let nameLength = "(?![*A-Za-z0-9.-]{253}(?:[*A-Za-z0-9-]|\\.[*A-Za-z0-9.-]))"
    private static let domain = nameLength + "(?:\\*\\.(?:" + label + "\\.)+|(?:" + label + "\\.)*)" + lastLabel + "\\.?"
    /// Documents the domain allow-list syntax of ``DomainPattern/parse(_:)`` with the default limit of
    /// 10 entries (a list repeating an entry may name more, and is accepted: the limit counts distinct
    /// names). The API checks with ``DomainAllowList/parse(_:maxEntries:)``, whose messages name the
    /// bad entry; a test holds the two to the same answers.
    public static let domainAllowListPattern = "^" + space + domain + space + "(?:," + space + domain + space + "){0,9}$"

    public static let tiers = 1...4
    public static let ports = 1...65535
    public static let signedURLLifetimes: ClosedRange<Int64> = 1...SignedPreviewToken.maximumLifetime
    public static let defaultSignedURLLifetime: Int64 = 60
    public static let pageSizes = 1...500
    public static let defaultPageSize = 100

    // MARK: - Checks

    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count <= idMaximumLength && matches(id, idRegex)
    }

    public static func isValidTarget(_ target: String) -> Bool {
        target.unicodeScalars.count <= targetMaximumLength && matches(target, targetRegex)
    }

    public static func isValidLabelKey(_ key: String) -> Bool {
        matches(key, labelKeyRegex)
    }

    /// The label filter `key=value` split at its first `=`, or `nil` if it is malformed.
    public static func parseLabelFilter(_ text: String) -> (key: String, value: String)? {
        guard text.unicodeScalars.count <= labelFilterMaximumLength, matches(text, labelFilterRegex),
            let equals = text.firstIndex(of: "=")
        else { return nil }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    /// The reason `labels` is refused, naming the bad label, or `nil` if it is fine.
    public static func labelsProblem(_ labels: [String: String]) -> String? {
        if labels.count > maximumLabels {
            return "at most \(maximumLabels) labels are allowed, got \(labels.count)"
        }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            if !isValidLabelKey(key) {
                return "label key \"\(shown(key))\" is invalid: use 1–63 letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit"
            }
            if let problem = freeTextProblem(value, named: "the value of label \"\(key)\"") {
                return problem
            }
        }
        return nil
    }

    /// The rule of label values for any free text shown to people (API key names): at most
    /// ``labelValueMaximumLength`` characters, none that ``labelValuePattern`` forbids.
    public static func freeTextProblem(_ value: String, named name: String) -> String? {
        if value.unicodeScalars.count > labelValueMaximumLength {
            return "\(name) is longer than \(labelValueMaximumLength) characters"
        }
        if let forbidden = forbiddenLabelCharacter(in: value) {
            return "\(name) contains \(codePoint(forbidden)); it may not hold control characters "
                + "(U+0000–U+001F, U+007F–U+009F) or bidirectional formatting characters (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069)"
        }
        return nil
    }

    /// The first character of `value` that ``labelValuePattern`` forbids, if any.
    public static func forbiddenLabelCharacter(in value: String) -> Unicode.Scalar? {
        guard let match = try? labelValueForbiddenRegex.matchingSemantics(.unicodeScalar).firstMatch(in: value) else { return nil }
        return value.unicodeScalars[match.range].first
    }

    /// Text as an error message quotes it: cut at 64 characters so an absurdly long value does not
    /// bloat the message, and with every character ``labelValuePattern`` forbids written as
    /// `\u{…}`, so a message printed by the CLI or logged cannot rewrite a terminal or reorder text.
    public static func shown(_ text: String) -> String {
        var shown = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            guard index < 64 else { return shown + "…" }
            if forbiddenLabelCharacter(in: String(scalar)) != nil {
                shown += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    /// `U+202E`.
    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: - Private

    // Compiled once; `Regex` is a value type that does not mutate when matching.
    nonisolated(unsafe) private static let idRegex = try! Regex(idPattern)
    nonisolated(unsafe) private static let targetRegex = try! Regex(targetPattern)
    nonisolated(unsafe) private static let labelKeyRegex = try! Regex(labelKeyPattern)
    nonisolated(unsafe) private static let labelFilterRegex = try! Regex(labelFilterPattern)
    nonisolated(unsafe) private static let labelValueForbiddenRegex = try! Regex("[" + labelValueForbiddenRanges + "]")

    /// Unicode-scalar semantics, as ECMA-262 patterns in JSON Schema match code points, not grapheme
    /// clusters (Swift's default): `[\s\S]` must consume a combining mark on its own.
    private static func matches(_ text: String, _ regex: Regex<AnyRegexOutput>) -> Bool {
        (try? regex.matchingSemantics(.unicodeScalar).wholeMatch(in: text)) != nil
    }
}
