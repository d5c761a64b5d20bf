/// One allow-list entry the API stored in another spelling than it was given.
public struct AllowListNormalization: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The request field the entry came from: `networkAllowList` or `domainAllowList`. Always sent by
    /// this server; `nil` only in answers from one older than domain allow lists.
    public var field: String?
    public var original: String
    public var normalized: String

    public init(original: String, normalized: String, field: String? = nil) {
        self.field = field
        self.original = original
        self.normalized = normalized
    }

    public var description: String { "\(original) → \(normalized)" }

    /// The wire keeps the spelling it was published with (Swift identifiers are American).
    private enum CodingKeys: String, CodingKey {
        case field, original
        case normalized = "normalised"
    }
}
