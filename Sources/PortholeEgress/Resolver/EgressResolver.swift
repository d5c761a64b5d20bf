import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PortholeCore
import PortholeDNS

/// Porthole's own resolver, which every DNS packet from a sandbox is redirected to (the egress
/// table DNATs UDP and TCP port 53 from sandbox interfaces to it, whatever the sandbox's
/// resolv.conf says).
///
/// For each query, from its source address:
/// - an unknown source, a block-all sandbox, or one over its query rate: REFUSED;
/// - an open sandbox: forwarded, answered as the upstream answered;
/// - an allow-list or restricted sandbox: the name (and every name of the CNAME chain the answer
///   follows) must be on the sandbox's domain allow list or the essential services (allow list),
///   or on the essential services (restricted). Otherwise REFUSED, and the name is **never sent
///   upstream**: a lookup of `<secret>.attacker.example` leaks nothing. When allowed, the answered
///   A/AAAA addresses go into the sandbox's set (or the shared essential set) with the record's
///   TTL (at least `minimumTTL`, plus `grace`) **before** the answer is passed on, so the first
///   connection never races its rule.
final class EgressResolver: Sendable {
    /// Inserts the addresses answered for `name` into `set` for a sandbox, if the sandbox's policy
    /// is still `decidedUnder` (what the query was allowed by); false when it changed meanwhile.
    typealias Allow =
        @Sendable (
            _ source: SandboxEgress.Source, _ name: String, _ addresses: [(bytes: [UInt8], ttl: UInt32)], _ set: EgressRuleset.ResolvedSet,
            _ decidedUnder: ResolverDirectory.Entry
        ) async throws -> Bool

    let directory: ResolverDirectory
    private let essentialServices: DomainAllowList
    private let organizationDomains: DomainAllowList
    private let upstream: DNSUpstreamClient
    private let allow: Allow
    private let limiter: QueryRateLimiter
    private let logger: Logger
    private let refusalLog = NIOLockedValueBox(RefusalLogLimiter())
    let counters: ResolverCounters

    init(
        directory: ResolverDirectory, essentialServices: DomainAllowList, organizationDomains: DomainAllowList, upstream: DNSUpstreamClient,
        rateLimit: Int, counters: ResolverCounters, allow: @escaping Allow, logger: Logger
    ) {
        self.counters = counters
        self.directory = directory
        self.essentialServices = essentialServices
        self.organizationDomains = organizationDomains
        self.upstream = upstream
        self.allow = allow
        self.limiter = QueryRateLimiter(rate: rateLimit, burst: rateLimit * 2)
        self.logger = logger
    }

    /// The answer to `bytes` from `client`, or `nil` to say nothing (not a query at all).
    func answer(_ bytes: [UInt8], from client: SocketAddress, overTCP: Bool) async -> [UInt8]? {
        let query: DNSQuery
        do {
            query = try DNSQuery.parse(bytes)
        } catch {
            counters.count(.malformed)
            return DNSResponse.reply(toMalformedQuery: bytes, error: error)
        }
        guard let address = client.ipAddress, let source = SandboxEgress.source(of: address),
            let entry = directory.entry(for: source)
        else {
            return refuse(query, .unknownSource, client: client)
        }
        guard entry.egressClass != .blockAll else { return refuse(query, .blocked, client: client) }
        guard limiter.admit(source) else { return refuse(query, .rateLimited, client: client) }

        let rule = NameRule(
            egressClass: entry.egressClass, domains: entry.domains, essential: essentialServices, organization: organizationDomains
        )
        guard rule.allows(query.name) != nil else { return refuse(query, .nameNotAllowed, client: client) }

        let exchanged: (answer: [UInt8], id: UInt16)
        let response: DNSResponse
        do {
            var answer = try await upstream.exchange(timeout: .seconds(2)) { id in query.encodedForUpstream(id: id) }
            var parsed = try DNSResponse.parse(answer.answer, answering: query, upstreamID: answer.id)
            if parsed.isTruncated {
                // Too big for UDP: a UDP client is told so (TC) and asks again over TCP; a TCP
                // client gets the whole answer, fetched over TCP (RFC 7766).
                guard overTCP else {
                    counters.count(.answered)
                    return DNSResponse.truncated(for: query)
                }
                answer = try await upstream.exchangeOverTCP(timeout: .seconds(3)) { id in query.encodedForUpstream(id: id) }
                parsed = try DNSResponse.parse(answer.answer, answering: query, upstreamID: answer.id)
            }
            exchanged = answer
            response = parsed
        } catch {
            counters.count(.upstreamFailed)
            logger.debug("upstream DNS failed", metadata: ["name": "\(query.name)", "error": "\(error)"])
            return DNSResponse.serverFailure(for: query)
        }
        if entry.egressClass != .open {
            // Every name of the chain decided where the addresses point: each must be allowed, and
            // the narrowest list any of them needed decides the set (a sandbox's own name that
            // CNAMEs to a CDN wildcard of the essential list opens the address to it alone).
            var set = EgressRuleset.ResolvedSet.essential
            for name in response.chain {
                guard let kind = rule.allows(name) else { return refuse(query, .nameNotAllowed, client: client) }
                set = set.narrowed(by: kind)
            }
            if !response.addresses.isEmpty {
                do {
                    // The upstream may take seconds: a policy tightened meanwhile (a tier lowered, a
                    // list cleared) must not get this answer's addresses into the kernel.
                    let addresses = response.addresses.map { ($0.address, $0.ttl) }
                    guard try await allow(source, query.name.description, addresses, set, entry) else {
                        counters.count(.policyChanged)
                        return DNSResponse.serverFailure(for: query)
                    }
                } catch {
                    // Not in the kernel: answering would leave the sandbox with an address it cannot reach.
                    counters.count(.upstreamFailed)
                    logger.error("could not allow resolved addresses", metadata: ["name": "\(query.name)", "error": "\(error)"])
                    return DNSResponse.serverFailure(for: query)
                }
            }
        }
        counters.count(.answered)
        let reply = DNSResponse.forwarded(exchanged.answer, to: query)
        if !overTCP && reply.count > query.maximumUDPResponseSize { return DNSResponse.truncated(for: query) }
        return reply
    }

    private func refuse(_ query: DNSQuery, _ reason: ResolverCounters.Outcome, client: SocketAddress) -> [UInt8] {
        counters.count(reason)
        let address = client.ipAddress ?? "\(client)"
        let key = RefusalLogLimiter.Key(client: address, reason: reason.rawValue)
        let now = DispatchTime.now().uptimeNanoseconds
        if let suppressed = refusalLog.withLockedValue({ $0.admit(key, now: now) }) {
            var metadata: Logger.Metadata = ["client": "\(address)", "name": "\(query.name)", "reason": "\(reason.rawValue)"]
            if suppressed > 0 { metadata["earlier_refusals_not_logged"] = "\(suppressed)" }
            logger.notice("DNS query refused", metadata: metadata)
        }
        return DNSResponse.refused(for: query)
    }

    /// Which list lets a sandbox resolve a name: the set its addresses go into.
    struct NameRule {
        let egressClass: SandboxEgress.Class
        let domains: DomainAllowList?
        let essential: DomainAllowList
        let organization: DomainAllowList

        func allows(_ name: DNSName) -> EgressRuleset.ResolvedSet? {
            let text = name.description
            switch egressClass {
            case .open: return .own
            case .blockAll: return nil
            case .allowList:
                if domains?.allows(text) == true { return .own }
                return essential.allows(text) ? .essential : nil
            case .restricted:
                if essential.allows(text) { return .essential }
                if organization.allows(text) { return .organization }
                // Its own organisation's names (the deployment's are shared by every restricted sandbox).
                return domains?.allows(text) == true ? .own : nil
            }
        }
    }
}

/// What the resolver did with queries, for `/metrics` and tests.
public final class ResolverCounters: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case answered
        case unknownSource = "unknown_source"
        case blocked
        case rateLimited = "rate_limited"
        case nameNotAllowed = "name_not_allowed"
        case malformed
        case upstreamFailed = "upstream_failed"
        /// The sandbox's policy changed while its query was upstream: SERVFAIL, so the client asks
        /// again and is answered under the new policy.
        case policyChanged = "policy_changed"
    }

    private let counts = NIOLockedValueBox<[Outcome: Int]>([:])

    func count(_ outcome: Outcome) {
        counts.withLockedValue { $0[outcome, default: 0] += 1 }
    }

    public init() {}

    public var snapshot: [Outcome: Int] { counts.withLockedValue { $0 } }

    /// Prometheus text of the counts.
    public var prometheusText: String {
        let counts = snapshot
        var text = "# HELP porthole_egress_dns_queries_total DNS queries from sandboxes, by what the resolver did.\n"
        text += "# TYPE porthole_egress_dns_queries_total counter\n"
        for outcome in Outcome.allCases {
            text += "porthole_egress_dns_queries_total{outcome=\"\(outcome.rawValue)\"} \(counts[outcome] ?? 0)\n"
        }
        return text
    }
}
