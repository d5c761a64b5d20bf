/// An entry of an allow list that the parser accepted in another spelling than it stores
/// (`192.168.1.0/16` as `192.168.0.0/16`, `PyPI.org.` as `pypi.org`), so the API can tell the
/// caller instead of silently changing it.
public struct ListNormalisation: Sendable, Hashable, CustomStringConvertible {
    public let original: String
    public let normalised: String

    public init(original: String, normalised: String) {
        self.original = original
        self.normalised = normalised
    }

    public var description: String { "\(original) → \(normalised)" }
}
