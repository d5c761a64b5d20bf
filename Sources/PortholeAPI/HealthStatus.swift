/// `/healthz` and `/readyz`.
public struct HealthStatus: Sendable, Hashable, Codable {
    /// `ok`; from `/readyz` also `unavailable` (the store does not answer) or `draining` (shutting down).
    public var status: String

    public init(status: String) {
        self.status = status
    }
}
