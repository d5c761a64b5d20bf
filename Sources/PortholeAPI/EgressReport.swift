/// What an egress agent last saw in the kernel for one sandbox. The agent (`porthole egress`, on the
/// host that runs the sandbox) publishes it to the policy store; the admin API shows it with the
/// sandbox's effective egress (`GET /v1/sandboxes/{id}/egress`). The record says what *should*
/// hold; the report what *does*, as of ``reportedAt``.
public struct EgressReport: Sendable, Hashable, Codable {
    /// An address the sandbox may reach because its own DNS query was answered with it.
    public struct ResolvedAddress: Sendable, Hashable, Codable {
        /// The name the sandbox asked for.
        public var name: String
        public var address: String
        /// When the address leaves the set (Unix seconds): the answer's TTL, floored, plus the grace.
        public var expiresAt: Int64
        /// In the set shared by every restricted and allow-list sandbox (an essential service or
        /// the organisation list), rather than the sandbox's own.
        public var shared: Bool

        public init(name: String, address: String, expiresAt: Int64, shared: Bool) {
            self.name = name
            self.address = address
            self.expiresAt = expiresAt
            self.shared = shared
        }
    }

    /// Packets from the sandbox the filter dropped or refused, by reason, since the agent last
    /// built its table (a start, or a rebuild after an inconsistency).
    public struct DroppedPackets: Sendable, Hashable, Codable {
        /// The sandbox is blocked: everything it sent.
        public var blockedAll: Int64
        /// To the never-reachable set: link-local and metadata, the host itself, the operator's list.
        public var neverReachable: Int64
        /// Off its allow list (allow-list and restricted sandboxes), refused with ICMP.
        public var notAllowed: Int64

        public init(blockedAll: Int64 = 0, neverReachable: Int64 = 0, notAllowed: Int64 = 0) {
            self.blockedAll = blockedAll
            self.neverReachable = neverReachable
            self.notAllowed = notAllowed
        }
    }

    public var sandboxId: String
    /// The agent's host name.
    public var host: String
    /// When the agent wrote this report (Unix seconds). Agents refresh unchanged reports every
    /// minute, so an old one means the agent stopped.
    public var reportedAt: Int64
    /// The source address the kernel matches.
    public var source: String
    /// The class the kernel applies to that address: the record's, or `block_all` while several
    /// records claim it.
    public var appliedClass: EgressClass
    /// The other sandboxes claiming the same address (sorted); empty normally.
    public var conflictsWith: [String]
    public var resolvedAddresses: [ResolvedAddress]
    public var droppedPackets: DroppedPackets

    public init(
        sandboxId: String, host: String, reportedAt: Int64, source: String, appliedClass: EgressClass,
        conflictsWith: [String] = [], resolvedAddresses: [ResolvedAddress] = [], droppedPackets: DroppedPackets = .init()
    ) {
        self.sandboxId = sandboxId
        self.host = host
        self.reportedAt = reportedAt
        self.source = source
        self.appliedClass = appliedClass
        self.conflictsWith = conflictsWith
        self.resolvedAddresses = resolvedAddresses
        self.droppedPackets = droppedPackets
    }

    /// Whether `other` says the same, whenever it was written.
    public func saysTheSame(as other: EgressReport) -> Bool {
        var copy = other
        copy.reportedAt = reportedAt
        return copy == self
    }
}
