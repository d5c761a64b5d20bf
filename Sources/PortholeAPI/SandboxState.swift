/// Whether a sandbox runs: only a started one is proxied.
public enum SandboxState: String, Sendable, Hashable, Codable {
    case started
    case stopped
    /// Created through the Daytona-compatible API without an address: waits for the platform's
    /// orchestrator to set its `target` (which starts it). Previews answer 503 meanwhile.
    case creating

    /// A state a caller may set (`started`, `stopped`): `creating` ends only by setting a target.
    public init?(settable name: String) {
        guard let state = SandboxState(rawValue: name), state != .creating else { return nil }
        self = state
    }
}
