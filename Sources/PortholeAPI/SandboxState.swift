/// Whether a sandbox runs: only a started one is proxied.
public enum SandboxState: String, Sendable, Hashable, Codable {
    case started
    case stopped
}
