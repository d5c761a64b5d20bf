/// The four kinds of egress a sandbox can have (``SandboxEgress`` in PortholeCore decides which
/// from its record): the `class` of the egress API and of the agent's reports.
public enum EgressClass: String, Sendable, Hashable, CaseIterable, Codable {
    case blockAll = "block_all"
    case restricted
    case allowList = "allow_list"
    case open
}
