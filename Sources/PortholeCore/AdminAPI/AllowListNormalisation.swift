/// One allow-list entry the API stored in another spelling than it was given.
public struct AllowListNormalisation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var original: String
    public var normalised: String

    public init(original: String, normalised: String) {
        self.original = original
        self.normalised = normalised
    }

    public init(_ normalisation: NetworkAllowList.Normalisation) {
        self.init(original: normalisation.original, normalised: normalisation.normalised)
    }

    public var description: String { "\(original) → \(normalised)" }
}
