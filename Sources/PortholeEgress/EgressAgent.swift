public import Logging
public import PortholeCore
public import PortholeStore

/// Keeps Porthole's nftables table in step with the policy store: rebuilds it at start (one
/// transaction that replaces whatever was there), then follows the store's change feed and turns
/// each batch of changes into one transaction of element additions and deletions.
///
/// When the agent stops, the table stays in the kernel with the last state it applied: sandboxes
/// keep exactly their limits, and a restart replaces the table atomically. A failed transaction
/// changes nothing (the kernel applies all of it or none); the agent logs nft's message, then
/// rebuilds the whole table from the store on its next round.
public actor EgressAgent {
    private let store: any PolicyStore
    private let configuration: EgressConfiguration
    private let logger: Logger
    private let pollInterval: Duration
    private let session: NftablesSession

    /// Every record's egress, by sandbox id.
    private var sandboxes: [String: SandboxEgress] = [:]
    /// The source address each record claims, and the records that claim each address: so a
    /// change recomputes only the addresses it touched.
    private var claimants: [String: SandboxEgress.Source] = [:]
    private var bySource: [SandboxEgress.Source: Set<String>] = [:]
    /// What the kernel holds, as last applied.
    private var applied = EgressState()
    private var cursor: Int64 = 0
    private var needsRebuild = true
    /// Changes applied so far (rebuilds included), for tests and metrics.
    public private(set) var transactions = 0
    /// Transactions the kernel refused.
    public private(set) var failures = 0
    /// What the resolver sees of the sandboxes: replaced whenever the kernel's state is.
    public nonisolated let directory = ResolverDirectory()

    public init(
        store: any PolicyStore, configuration: EgressConfiguration, logger: Logger, pollInterval: Duration = .milliseconds(250)
    ) throws {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.pollInterval = pollInterval
        self.session = try NftablesSession()
    }

    /// Rebuilds, then follows the change feed until the task is cancelled. Store and kernel
    /// failures are logged and retried every poll; they never end the loop.
    public func run() async throws {
        while !Task.isCancelled {
            do {
                try await step()
            } catch let error as NftablesError {
                failures += 1
                logger.error("egress rules not applied; rebuilding the table next round", metadata: ["error": "\(error)"])
                needsRebuild = true
            } catch {
                logger.error("policy store unreadable; the last applied egress rules stay in force", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// One round: a full rebuild when needed, else the changes since the last round.
    public func step() async throws {
        if needsRebuild {
            try await rebuild()
            return
        }
        let changes = try await store.changes(after: cursor)
        guard changes.isComplete else {
            needsRebuild = true
            try await rebuild()
            return
        }
        guard !changes.ids.isEmpty else {
            cursor = changes.latest
            return
        }
        // Only the addresses the changed records claimed before or claim now are recomputed.
        var touched = Set<SandboxEgress.Source>()
        for id in changes.ids {
            if let source = unclaim(id) { touched.insert(source) }
            if let policy = try await store.policy(id: id) {
                let egress = SandboxEgress.of(policy)
                record(egress)
                if let source = egress.source {
                    claim(id, source)
                    touched.insert(source)
                }
            } else {
                sandboxes[id] = nil
            }
        }
        var state = applied
        for source in touched {
            let claims = claimantIDs(of: source).compactMap { sandboxes[$0] }
            state.set(source, claimedBy: claims)
        }
        let before = applied.restricted(to: touched)
        let after = state.restricted(to: touched)
        if let update = EgressRuleset.update(configuration, from: before, to: after) {
            try session.run(update)
            transactions += 1
            logConflicts(after, before: before)
        }
        applied = state
        directory.update(Dictionary(uniqueKeysWithValues: touched.map { source in
            (source, state.entries[source].map { ResolverDirectory.Entry(egressClass: $0.egressClass, domains: $0.domains) })
        }))
        cursor = changes.latest
    }

    /// Reads every record and replaces the table in one transaction.
    public func rebuild() async throws {
        // The feed position first: a write during the listing is then seen again next round.
        let latest = try await store.changes(after: Int64.max).latest
        var all: [String: SandboxEgress] = [:]
        var after: String? = nil
        while true {
            let page = try await store.list(label: nil, after: after, limit: 1000)
            for policy in page {
                let egress = SandboxEgress.of(policy)
                all[policy.id] = egress
                if let reason = egress.unenforceableReason {
                    logger.warning("sandbox has no egress", metadata: ["sandbox": "\(policy.id)", "reason": "\(reason)"])
                }
            }
            guard page.count == 1000, let last = page.last else { break }
            after = last.id
        }
        let state = EgressState(all.values)
        try session.run(EgressRuleset.replaceTable(configuration, state: state))
        transactions += 1
        let before = applied
        sandboxes = all
        claimants = all.compactMapValues(\.source)
        bySource = Dictionary(grouping: claimants.keys, by: { claimants[$0]! }).mapValues(Set.init)
        applied = state
        directory.replace(with: state.resolverEntries)
        cursor = latest
        needsRebuild = false
        logConflicts(state, before: before)
        logger.info("egress table rebuilt", metadata: ["sandboxes": "\(all.count)", "table": "inet \(configuration.tableName)"])
    }

    /// Lets `source` reach what its resolver answered, before the answer is passed on: one
    /// transaction. Refused for a source the kernel no longer knows (its record changed meanwhile).
    public func allowResolved(_ source: SandboxEgress.Source, addresses: [(bytes: [UInt8], ttl: UInt32)], essential: Bool) throws {
        guard applied.entries[source] != nil else { return }
        let text = EgressRuleset.allowResolved(configuration, source: source, addresses: addresses, essential: essential)
        guard !text.isEmpty else { return }
        try session.run(text)
    }

    /// Prometheus text: the table's drop counters by reason, sandboxes by class, transactions.
    public func metricsText() -> String {
        var text = "# HELP porthole_egress_packets_dropped_total Packets from sandboxes dropped or refused, by reason.\n"
        text += "# TYPE porthole_egress_packets_dropped_total counter\n"
        let counters = (try? session.runJSON("list counters table inet \(configuration.tableName)")).map(NftablesCounters.parse) ?? [:]
        for reason in ["unknown_source", "blocked_all", "never_reachable", "not_allowed"] {
            text += "porthole_egress_packets_dropped_total{reason=\"\(reason)\"} \(counters[reason] ?? 0)\n"
        }
        text += "# HELP porthole_egress_sandboxes Source addresses in the table, by class.\n# TYPE porthole_egress_sandboxes gauge\n"
        var byClass: [SandboxEgress.Class: Int] = [:]
        for entry in applied.entries.values { byClass[entry.egressClass, default: 0] += 1 }
        for egressClass in SandboxEgress.Class.allCases {
            text += "porthole_egress_sandboxes{class=\"\(egressClass.rawValue)\"} \(byClass[egressClass] ?? 0)\n"
        }
        text += "# HELP porthole_egress_address_conflicts Addresses claimed by more than one record (blocked).\n"
        text += "# TYPE porthole_egress_address_conflicts gauge\nporthole_egress_address_conflicts \(applied.conflicts.count)\n"
        text += "# HELP porthole_egress_transactions_total nftables transactions applied (rebuilds included).\n"
        text += "# TYPE porthole_egress_transactions_total counter\nporthole_egress_transactions_total \(transactions)\n"
        text += "# HELP porthole_egress_failures_total nftables transactions the kernel refused (the table is rebuilt after).\n"
        text += "# TYPE porthole_egress_failures_total counter\nporthole_egress_failures_total \(failures)\n"
        return text
    }

    /// The egress currently applied for `id`, if the agent knows the sandbox.
    public func egress(of id: String) -> SandboxEgress? {
        sandboxes[id]
    }

    private func record(_ egress: SandboxEgress) {
        if let reason = egress.unenforceableReason, sandboxes[egress.sandboxID] != egress {
            logger.warning("sandbox has no egress", metadata: ["sandbox": "\(egress.sandboxID)", "reason": "\(reason)"])
        }
        sandboxes[egress.sandboxID] = egress
    }

    /// Forgets which address `id` claimed; returns it.
    private func unclaim(_ id: String) -> SandboxEgress.Source? {
        guard let source = claimants.removeValue(forKey: id) else { return nil }
        bySource[source]?.remove(id)
        if bySource[source]?.isEmpty == true { bySource[source] = nil }
        return source
    }

    private func claim(_ id: String, _ source: SandboxEgress.Source) {
        claimants[id] = source
        bySource[source, default: []].insert(id)
    }

    /// The ids of the records that claim `source` now.
    private func claimantIDs(of source: SandboxEgress.Source) -> Set<String> {
        bySource[source] ?? []
    }

    private func logConflicts(_ state: EgressState, before: EgressState) {
        for (source, ids) in state.conflicts where before.conflicts[source] != ids {
            logger.warning(
                "several sandboxes claim one address: it gets no egress until only one does",
                metadata: ["address": "\(source)", "sandboxes": "\(ids.joined(separator: ","))"]
            )
        }
    }
}
