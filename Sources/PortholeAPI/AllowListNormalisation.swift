/// One allow-list entry the API stored in another spelling than it was given.
public struct AllowListNormalisation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The request field the entry came from: `networkAllowList` or `domainAllowList`. Always sent by
    /// this server; `nil` only in answers from one older than domain allow lists.
    public var field: String?
    public var original: String
    public var normalised: String

    public init(original: String, normalised: String, field: String? = nil) {
        self.field = field
        self.original = original
        self.normalised = normalised
    }

    public var description: String { "\(original) → \(normalised)" }
}
