import Foundation
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
    /// Transactions that put resolved addresses in the kernel (a repeated answer needs none).
    public private(set) var resolvedTransactions = 0
    /// What the resolver sees of the sandboxes: replaced whenever the kernel's state is.
    public nonisolated let directory = ResolverDirectory()
    /// The addresses DNS answers opened, for the reports.
    private var resolved = ResolvedAddressBook()
    /// Until when (Unix seconds, at least) each resolved element is in the kernel, so a repeated
    /// answer needs no transaction; emptied with the table.
    private var inKernelUntil: [EgressRuleset.ResolvedElement: Int64] = [:]
    private var nextExpiryPrune: Int64 = 0
    /// The reports last published, by sandbox id: an unchanged report is published again only
    /// after `reportRefresh`, so readers can tell a live agent from a stopped one.
    private var published: [String: EgressReport] = [:]
    private let reporting: Reporting?

    /// How the agent reports what it enforces to the store (``EgressReport``).
    public struct Reporting: Sendable {
        /// The name reports carry: this host's.
        public var host: String
        /// How often changed reports are published.
        public var interval: Duration
        /// How old an unchanged report may grow before it is published again (seconds).
        public var refresh: Int64

        public init(host: String, interval: Duration = .seconds(5), refresh: Int64 = 60) {
            self.host = host
            self.interval = interval
            self.refresh = refresh
        }
    }

    public init(
        store: any PolicyStore, configuration: EgressConfiguration, logger: Logger, pollInterval: Duration = .milliseconds(250),
        reporting: Reporting? = nil
    ) throws {
        self.reporting = reporting
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.pollInterval = pollInterval
        self.session = try NftablesSession()
    }

    /// Rebuilds, then follows the change feed until the task is cancelled. Store and kernel
    /// failures are logged and retried every poll; they never end the loop.
    public func run() async throws {
        let clock = ContinuousClock()
        var nextReport = clock.now
        while !Task.isCancelled {
            var failed = true
            do {
                try await step()
                failed = false
            } catch let error as NftablesError {
                failures += 1
                logger.error("egress rules not applied; rebuilding the table next round", metadata: ["error": "\(error)"])
                needsRebuild = true
            } catch {
                // A round that failed part-way may have changed the agent's maps (who claims which
                // address) for records the kernel never got: only a full read puts them in step again.
                logger.error(
                    "policy store unreadable; the last applied egress rules stay in force, the table is rebuilt once it reads",
                    metadata: ["error": "\(error)"])
                needsRebuild = true
            }
            if let reporting, clock.now >= nextReport, !needsRebuild {
                nextReport = clock.now.advanced(by: reporting.interval)
                do {
                    try await publishReports(now: Self.unixNow())
                } catch {
                    logger.warning("egress reports not published; retrying", metadata: ["error": "\(error)"])
                }
            }
            if failed {
                try await Task.sleep(for: pollInterval)
            } else {
                // At once when the store hears of a write (PostgreSQL's NOTIFY), else next poll.
                await store.waitForChanges(after: cursor, timeout: pollInterval)
                try Task.checkCancellation()
            }
        }
    }

    /// Publishes the reports that changed since last published, or grew older than the refresh.
    public func publishReports(now: Int64) async throws {
        guard let reporting else { return }
        resolved.prune(now: now)
        var drops: [String: [SandboxEgress.Source: Int64]] = [:]
        for (reason, family) in EgressRuleset.dropSets {
            let json = try session.runJSON("list set inet \(configuration.tableName) drops_\(reason)_\(family)")
            drops[reason, default: [:]].merge(NftablesDropCounters.parse(json)) { $0 + $1 }
        }
        var due: [EgressReport] = []
        for (id, egress) in sandboxes {
            guard let source = egress.source, let entry = applied.entries[source] else { continue }
            let report = EgressReport(
                sandboxId: id, host: reporting.host, reportedAt: now, source: source.description, appliedClass: entry.egressClass,
                conflictsWith: (applied.conflicts[source] ?? []).filter { $0 != id },
                resolvedAddresses: resolved.addresses(of: source),
                droppedPackets: EgressReport.DroppedPackets(
                    blockedAll: drops["blocked"]?[source] ?? 0, neverReachable: drops["never"]?[source] ?? 0,
                    notAllowed: drops["refused"]?[source] ?? 0
                )
            )
            logNewDrops(report, since: published[id])
            if let last = published[id], last.saysTheSame(as: report), now - last.reportedAt < reporting.refresh { continue }
            due.append(report)
        }
        published = published.filter { sandboxes[$0.key] != nil }
        guard !due.isEmpty else { return }
        try await store.publish(due)
        for report in due { published[report.sandboxId] = report }
    }

    /// One line per sandbox and reason whose drops grew since the last report: what was refused
    /// is in the log within a report interval, without a line per packet.
    private func logNewDrops(_ report: EgressReport, since last: EgressReport?) {
        let now = report.droppedPackets
        let before = last?.droppedPackets ?? EgressReport.DroppedPackets()
        for (reason, count, previous) in [
            ("blocked_all", now.blockedAll, before.blockedAll), ("never_reachable", now.neverReachable, before.neverReachable),
            ("not_allowed", now.notAllowed, before.notAllowed),
        ] where count > previous {
            logger.notice(
                "sandbox packets dropped",
                metadata: ["sandbox": "\(report.sandboxId)", "reason": "\(reason)", "packets": "\(count - previous)", "total": "\(count)"]
            )
        }
    }

    static func unixNow() -> Int64 {
        Int64((Date().timeIntervalSince1970).rounded(.down))
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
        // Who claimed each of them before: an address that passes to another sandbox (deleted and
        // recreated within one round) starts afresh, as if it had left the table.
        var claimedBefore: [SandboxEgress.Source: Set<String>] = [:]
        for id in changes.ids {
            if let source = claimants[id], claimedBefore[source] == nil { claimedBefore[source] = claimantIDs(of: source) }
        }
        var organizations: [String: Organization?] = [:]
        for id in changes.ids {
            if let source = unclaim(id) { touched.insert(source) }
            if let policy = try await store.policy(id: id) {
                let egress = SandboxEgress.of(policy, organization: try await organization(of: policy, cache: &organizations))
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
        var text = EgressRuleset.update(configuration, from: before, to: after) ?? ""
        // What a sandbox resolved under its old domain list (or under its address, now gone) goes
        // with it. The book is updated only once the kernel took the change.
        var book = resolved
        var handedOver: [SandboxEgress.Source] = []
        var revoked = Set<SandboxEgress.Source>()
        for source in touched {
            let old = before.entries[source]
            let new = after.entries[source]
            let newClaimant = old != nil && new != nil && claimedBefore[source].map { $0 != claimantIDs(of: source) } == true
            if newClaimant { handedOver.append(source) }
            guard new == nil || newClaimant || old?.domains != new?.domains || old?.egressClass != new?.egressClass else { continue }
            text += EgressRuleset.revokeResolved(configuration, source: source, addresses: book.takeOwn(source))
            revoked.insert(source)
        }
        text += EgressRuleset.forgetDrops(of: handedOver, table: "inet \(configuration.tableName)")
        if !text.isEmpty {
            try session.run(text)
            transactions += 1
            logConflicts(after, before: before)
        }
        resolved = book
        // What was revoked is no longer in the kernel: a new answer must put it back.
        if !revoked.isEmpty {
            inKernelUntil = inKernelUntil.filter { element, _ in element.owner.map { !revoked.contains($0) } ?? true }
        }
        applied = state
        directory.update(
            Dictionary(
                uniqueKeysWithValues: touched.map { source in
                    (source, state.entries[source].map(ResolverDirectory.Entry.init))
                }))
        cursor = changes.latest
    }

    /// The organisation whose allow lists a restricted sandbox gets: read only for those, once per
    /// round. A change of an organisation's lists rewrites its sandboxes' records (the control
    /// plane does), so the change feed brings them here.
    private func organization(of policy: SandboxPolicy, cache: inout [String: Organization?]) async throws -> Organization? {
        guard let id = policy.organizationID, policy.organizationTier?.networkPolicyIsLocked ?? true else { return nil }
        if let cached = cache[id] { return cached }
        let found = try await store.organization(id: id)
        cache[id] = found
        return found
    }

    /// Reads every record and replaces the table in one transaction.
    public func rebuild() async throws {
        // The feed position first: a write during the listing is then seen again next round.
        let latest = try await store.changes(after: Int64.max).latest
        var all: [String: SandboxEgress] = [:]
        var after: String? = nil
        var organizations: [String: Organization?] = [:]
        while true {
            let page = try await store.list(label: nil, after: after, limit: 1000)
            for policy in page {
                let egress = SandboxEgress.of(policy, organization: try await organization(of: policy, cache: &organizations))
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
        // The table was replaced: its timeout sets start empty.
        resolved = ResolvedAddressBook()
        inKernelUntil = [:]
        directory.replace(with: state.resolverEntries)
        cursor = latest
        needsRebuild = false
        logConflicts(state, before: before)
        logger.info("egress table rebuilt", metadata: ["sandboxes": "\(all.count)", "table": "inet \(configuration.tableName)"])
    }

    /// Lets `source` reach what its resolver answered for `name`, before the answer is passed on:
    /// one transaction. Refused (false) unless the kernel still holds the policy the query was
    /// allowed under, `decidedUnder`: the source is gone, or its class or domain list changed
    /// while the answer was upstream (for a restricted sandbox the list is its organisation's, so
    /// a lowered tier or a cleared list closes a name for answers already on their way too).
    ///
    /// An element already in the kernel for at least as long as this answer needs is left as it
    /// is: a busy sandbox asking for the same name again (or a recursive upstream counting the TTL
    /// down) costs no transaction, and the kernel's timeout never ends before the answer's.
    func allowResolved(
        _ source: SandboxEgress.Source, name: String, addresses: [(bytes: [UInt8], ttl: UInt32)], in set: EgressRuleset.ResolvedSet,
        decidedUnder: ResolverDirectory.Entry
    ) throws -> Bool {
        guard decidedUnder.stillHolds(in: applied.entries[source]) else { return false }
        let now = Self.unixNow()
        var due: [(element: EgressRuleset.ResolvedElement, timeout: UInt32)] = []
        var opened: [(address: String, lifetime: UInt32)] = []
        for (bytes, ttl) in addresses {
            guard let element = EgressRuleset.resolvedElement(source: source, bytes: bytes, in: set) else { continue }
            let timeout = EgressRuleset.timeout(forTTL: ttl, configuration)
            opened.append((element.address, timeout))
            // Recorded in whole seconds from the second the transaction began, so never later
            // than the kernel's own expiry.
            if let until = inKernelUntil[element], until >= now + Int64(timeout) { continue }
            due.append((element, timeout))
        }
        if !due.isEmpty {
            try session.run(EgressRuleset.allowResolved(configuration, due))
            resolvedTransactions += 1
            for (element, timeout) in due { inKernelUntil[element] = now + Int64(timeout) }
            if now >= nextExpiryPrune {
                inKernelUntil = inKernelUntil.filter { $0.value > now }
                nextExpiryPrune = now + 60
            }
        }
        resolved.record(source, name: name, addresses: opened, shared: set != .own, now: now)
        return true
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
        text += "# HELP porthole_egress_resolved_transactions_total nftables transactions that put answered addresses in sets (repeated answers need none).\n"
        text += "# TYPE porthole_egress_resolved_transactions_total counter\nporthole_egress_resolved_transactions_total \(resolvedTransactions)\n"
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
