/// Why a `Host` header is not a preview host. The message states what was wrong and the expected form,
/// and never echoes the raw header (it is attacker-controlled and ends up in error pages and logs).
public struct PreviewHostError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, comparable in tests and usable as a metrics label.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case empty
            case ipLiteral = "ip_literal"
            case nonASCII = "non_ascii"
            case invalidCharacter = "invalid_character"
            case invalidHeaderPort = "invalid_header_port"
            case emptyLabel = "empty_label"
            case bareBaseDomain = "bare_base_domain"
            case notUnderBaseDomain = "not_under_base_domain"
            case extraLabels = "extra_labels"
            case labelTooLong = "label_too_long"
            case missingSeparator = "missing_separator"
            case missingPort = "missing_port"
            case portNotNumeric = "port_not_numeric"
            case portLeadingZero = "port_leading_zero"
            case portOutOfRange = "port_out_of_range"
            case missingSandboxID = "missing_sandbox_id"
            case sandboxIDHyphen = "sandbox_id_hyphen"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Stable snake_case name.
        public var description: String { base.rawValue }

        public static let empty = Reason(.empty)
        public static let ipLiteral = Reason(.ipLiteral)
        public static let nonASCII = Reason(.nonASCII)
        public static let invalidCharacter = Reason(.invalidCharacter)
        public static let invalidHeaderPort = Reason(.invalidHeaderPort)
        public static let emptyLabel = Reason(.emptyLabel)
        public static let bareBaseDomain = Reason(.bareBaseDomain)
        public static let notUnderBaseDomain = Reason(.notUnderBaseDomain)
        public static let extraLabels = Reason(.extraLabels)
        public static let labelTooLong = Reason(.labelTooLong)
        public static let missingSeparator = Reason(.missingSeparator)
        public static let missingPort = Reason(.missingPort)
        public static let portNotNumeric = Reason(.portNotNumeric)
        public static let portLeadingZero = Reason(.portLeadingZero)
        public static let portOutOfRange = Reason(.portOutOfRange)
        public static let missingSandboxID = Reason(.missingSandboxID)
        public static let sandboxIDHyphen = Reason(.sandboxIDHyphen)

        fileprivate func problem(detail: String?) -> String {
            switch base {
            case .empty: "the host is empty"
            case .ipLiteral: "an IP address is not a preview host"
            case .nonASCII: "the host contains non-ASCII characters"
            case .invalidCharacter: "the host contains a character other than letters, digits, '-' and '.'"
            case .invalidHeaderPort: "the port after ':' must be a number from 1 to 65535"
            case .emptyLabel: "the host contains an empty label"
            case .bareBaseDomain: "the host has no <port>-<sandboxId> label"
            case .notUnderBaseDomain: "the host is not under a preview domain"
            case .extraLabels: "the host has more than one label before the preview domain"
            case .labelTooLong: "the first label is longer than 63 characters"
            case .missingSeparator: "the first label has no '-' between port and sandbox id"
            case .missingPort: "the port before '-' is missing"
            case .portNotNumeric: "port \(quoted(detail)) is not a number"
            case .portLeadingZero: "port \(quoted(detail)) has a leading zero"
            case .portOutOfRange: "port \(detail ?? "") is out of range 1-65535"
            case .missingSandboxID: "the sandbox id after '-' is missing"
            case .sandboxIDHyphen: "the sandbox id must not start or end with '-'"
            }
        }

        private func quoted(_ text: String?) -> String {
            "\"\(text ?? "")\""
        }
    }

    public let reason: Reason
    /// The configured base domains, so the message can show the expected form.
    public let baseDomains: [String]
    private let detail: String?

    init(reason: Reason, detail: String? = nil, baseDomains: [String]) {
        self.reason = reason
        self.detail = detail
        self.baseDomains = baseDomains
    }

    /// Built on demand: the error path of a flood of bad requests should not format strings nobody reads.
    public var message: String {
        let forms = baseDomains.map { "<port>-<sandboxId>.\($0)" }
        let expected: String
        switch forms.count {
        case 0: expected = "expected a host of the form <port>-<sandboxId>.<preview domain>"
        case 1: expected = "expected a host of the form \(forms[0])"
        default: expected = "expected a host of the form \(forms.joined(separator: " or "))"
        }
        return "\(reason.problem(detail: detail)); \(expected), e.g. 3000-abc123.\(baseDomains.first ?? "preview.localhost")"
    }

    public var description: String { message }
}
