/// An entry of an allow list that the parser accepted in another spelling than it stores
/// (`192.168.1.0/16` as `192.168.0.0/16`, `PyPI.org.` as `pypi.org`), so the API can tell the
/// caller instead of silently changing it.
public struct ListNormalization: Sendable, Hashable, CustomStringConvertible {
    public let original: String
    public let normalized: String

    public init(original: String, normalized: String) {
        self.original = original
        self.normalized = normalized
    }

    public var description: String { "\(original) → \(normalized)" }
}
