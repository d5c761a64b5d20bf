import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import PortholeCore
import PortholeEgress
import PortholeStore
import ServiceLifecycle

struct EgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress",
        abstract: "Enforce the sandboxes' network limits in the kernel (nftables); run on every host that runs sandboxes.",
        discussion: """
            Keeps the nftables table inet porthole in step with the policy store that porthole serve \
            writes: rebuilt at start in one transaction, then every change within a second, as element \
            changes in one transaction. Needs CAP_NET_ADMIN. When it stops, the table stays in force. \
            Every setting is also an environment variable PORTHOLE_<NAME> and a key of the JSON config file.
            """
    )

    @Option(help: "JSON config file of settings (keys are the flag names without --).")
    var config: String?
    @Option(help: "Directory of the policy store that porthole serve writes. (default: .porthole)")
    var dataDir: String?
    @Option(
        help:
            "The shared policy store: a postgresql:// URL, as porthole serve --store. Prefer PORTHOLE_STORE or the config file: a flag shows in ps. (default: the SQLite file in --data-dir)"
    )
    var store: String?
    @Option(help: "Host interface (nft pattern, e.g. psb*) that sandbox traffic enters on; repeat for several. Required.")
    var sandboxInterface: [String] = []
    @Option(help: "CIDR no sandbox may reach whatever its policy (besides link-local, multicast and the host's own addresses); repeat or comma-separate.")
    var egressDeny: [String] = []
    @Option(
        help:
            "Address of this host where Porthole's resolver listens (UDP and TCP 53); all sandbox DNS is redirected to it. One IPv4 and/or one IPv6. Without it, sandboxes have no name-based access (domain lists, essential services)."
    )
    var resolverAddress: [String] = []
    @Option(
        help:
            "Upstream DNS server ADDR or ADDR:PORT ([v6]:PORT) the resolver forwards allowed names to; repeat for several. (default: the nameservers of /etc/resolv.conf)"
    )
    var upstreamDns: [String] = []
    @Option(
        help:
            "The essential services that restricted and allow-list sandboxes may reach by name: default (the built-in list), none, or a file of one name or *.name per line."
    )
    var essentialServices: String?
    @Option(
        help:
            "What restricted sandboxes (tiers 1 and 2) may reach besides the essential services: none (the default), or a file of one CIDR, address, name or *.name per line."
    )
    var organizationAllowList: String?
    @Option(
        help:
            "Seconds between reports of what the agent enforces (resolved addresses, drop counters) to the store, shown by GET /v1/sandboxes/{id}/egress; 0 turns them off. (default: 5)"
    )
    var reportInterval: Int?
    @Option(help: "DNS queries per second one sandbox may make (twice that in a burst); more are REFUSED. (default: 100)")
    var dnsRateLimit: Int?
    @Option(help: "Seconds a resolved address stays reachable at least, whatever its TTL says. (default: 30)")
    var dnsMinimumTtl: Int?
    @Option(help: "Seconds added to every resolved address's TTL: the client connects a moment after the answer. (default: 10)")
    var dnsGrace: Int?
    @Option(help: "HOST:PORT for GET /metrics (Prometheus) and /healthz; off when absent. (e.g. 127.0.0.1:9464)")
    var metricsAddress: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    static let settingNames = [
        "data-dir", "store", "sandbox-interface", "egress-deny", "resolver-address", "upstream-dns", "essential-services",
        "organization-allow-list", "report-interval", "dns-rate-limit", "dns-minimum-ttl", "dns-grace", "metrics-address", "log-level",
    ]

    func run() async throws {
        let source = try SettingsSource(configPath: config, known: Self.settingNames)
        let levelText = source.string("log-level", flag: logLevel, default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "porthole.egress")
        logger.logLevel = level

        let directory = DataDirectory(path: source.string("data-dir", flag: dataDir, default: ".porthole"))
        let denied: AddressRanges
        do {
            denied = try AddressRanges.parse(source.list("egress-deny", flags: egressDeny, default: []).joined(separator: ","), noun: "egress-deny entry")
        } catch {
            throw ValidationError("egress-deny: \(error)")
        }
        var configuration: EgressConfiguration
        do {
            configuration = try EgressConfiguration(
                sandboxInterfaces: source.list("sandbox-interface", flags: sandboxInterface, default: []),
                deniedNetworks: denied,
                resolverAddresses: source.list("resolver-address", flags: resolverAddress, default: [])
            )
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.dnsMinimumTTL = UInt32(try source.int("dns-minimum-ttl", flag: dnsMinimumTtl, default: 30, range: 1...86_400))
        configuration.dnsGrace = UInt32(try source.int("dns-grace", flag: dnsGrace, default: 10, range: 0...3600))
        let organization = try Self.organizationAllowList(source.string("organization-allow-list", flag: organizationAllowList, default: "none"))
        configuration.organizationNetworks = organization.networks
        let reportSeconds = try source.int("report-interval", flag: reportInterval, default: 5, range: 0...3600)
        // Never a new, empty store: the agent follows the one porthole serve (or the CLI) writes.
        let location: StoreLocation
        do {
            location = try StoreLocation(store: source.optionalString("store", flag: store), dataDirectory: directory)
        } catch {
            throw ValidationError("\(error)")
        }
        if case .sqlite = location, !FileManager.default.fileExists(atPath: directory.databasePath) {
            throw EgressCommandError(
                "no policy store at \(directory.databasePath): porthole egress follows the store porthole serve writes; point --data-dir at its data directory, or --store at its database"
            )
        }
        let store = try await location.open(group: MultiThreadedEventLoopGroup.singleton, logger: logger, mayCreate: false, allowedBy: "")
        let agent: EgressAgent
        do {
            let host = ProcessInfo.processInfo.hostName
            agent = try EgressAgent(
                store: store, configuration: configuration, logger: logger,
                reporting: reportSeconds == 0 ? nil : EgressAgent.Reporting(host: host, interval: .seconds(reportSeconds))
            )
        } catch {
            try? await store.close()
            throw EgressCommandError("\(error)")
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: EgressService(agent: agent))]
        let resolverCounters = ResolverCounters()
        if let metrics = source.optionalString("metrics-address", flag: metricsAddress) {
            guard let colon = metrics.lastIndex(of: ":"), let port = Int(metrics[metrics.index(after: colon)...]), (0...65535).contains(port) else {
                throw ValidationError("metrics-address must be HOST:PORT, got \"\(metrics)\"")
            }
            let host = String(metrics[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let hasResolver = configuration.hasResolver
            services.append(
                .init(
                    service: MetricsService(host: host, port: port, logger: logger) {
                        await agent.metricsText() + (hasResolver ? resolverCounters.prometheusText : "")
                    }))
        }
        if configuration.hasResolver {
            let upstreams = try Self.upstreams(source.list("upstream-dns", flags: upstreamDns, default: []))
            let essential = try Self.essentialServices(source.string("essential-services", flag: essentialServices, default: "default"))
            let rate = try source.int("dns-rate-limit", flag: dnsRateLimit, default: 100, range: 1...1_000_000)
            let listen = [configuration.resolverIPv4?.description, configuration.resolverIPv6?.description].compactMap { $0 }
            services.append(
                .init(
                    service: ResolverService(
                        agent: agent, listen: listen, upstreams: upstreams, essential: essential, organization: organization.domains, rate: rate,
                        counters: resolverCounters, logger: logger
                    )))
        } else {
            logger.warning("no --resolver-address: sandboxes have no name-based access (domain lists, essential services, organisation names)")
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info("porthole egress is running", metadata: ["interfaces": "\(configuration.sandboxInterfaces.joined(separator: ","))"])
        defer { logger.info("porthole egress stopped; the table stays in force") }
        do {
            try await group.run()
        } catch {
            try? await store.close()
            throw error
        }
        try? await store.close()
    }
}

extension EgressCommand {
    /// `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53`, `[2001:db8::53]:5353`; none given: the
    /// nameservers of /etc/resolv.conf.
    static func upstreams(_ entries: [String]) throws -> [SocketAddress] {
        var texts = entries
        if texts.isEmpty {
            let resolvConf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            texts = resolvConf.split(separator: "\n").compactMap { line in
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                return words.count >= 2 && words[0] == "nameserver" ? String(words[1]) : nil
            }
        }
        guard !texts.isEmpty else {
            throw ValidationError("no --upstream-dns and no nameserver in /etc/resolv.conf: the resolver has nowhere to forward to")
        }
        return try texts.map { text in
            var host = text
            var port = 53
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()) {
                    port = parsed
                } else if !rest.isEmpty {
                    throw ValidationError("upstream-dns \"\(text)\": expected [IPv6]:PORT")
                }
            } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
                host = String(text[..<colon])
                guard let parsed = Int(text[text.index(after: colon)...]) else {
                    throw ValidationError("upstream-dns \"\(text)\": the port is not a number")
                }
                port = parsed
            }
            guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: host, port: port) else {
                throw ValidationError(
                    "upstream-dns \"\(text)\" is not an IP address with an optional port (names cannot be resolved before the resolver exists)")
            }
            return address
        }
    }

    static func organizationAllowList(_ setting: String) throws -> OrganizationAllowList {
        guard setting != "none" else { return .none }
        guard let text = try? String(contentsOfFile: setting, encoding: .utf8) else {
            throw ValidationError("organization-allow-list: cannot read \(setting) (or say none)")
        }
        do {
            return try OrganizationAllowList.parseLines(text)
        } catch {
            throw ValidationError("organization-allow-list \(setting): \(error)")
        }
    }

    static func essentialServices(_ setting: String) throws -> DomainAllowList {
        switch setting {
        case "default": return DomainAllowList.defaultEssentialServices
        case "none": return DomainAllowList(entries: [])
        default:
            guard let text = try? String(contentsOfFile: setting, encoding: .utf8) else {
                throw ValidationError("essential-services: cannot read \(setting) (or say default or none)")
            }
            do {
                return try DomainAllowList.parseLines(text)
            } catch {
                throw ValidationError("essential-services \(setting): \(error)")
            }
        }
    }
}

/// The resolver as a service: it answers until the graceful shutdown, then closes its sockets.
private struct ResolverService: Service {
    let agent: EgressAgent
    let listen: [String]
    let upstreams: [SocketAddress]
    let essential: DomainAllowList
    let organization: DomainAllowList
    let rate: Int
    let counters: ResolverCounters
    let logger: Logger

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let resolver = try await EgressResolverService.start(
            agent: agent, listen: listen, upstreams: upstreams, essentialServices: essential, organizationDomains: organization, rateLimit: rate,
            counters: counters, group: group, logger: logger
        )
        try? await gracefulShutdown()
        await resolver.close()
    }
}

/// `/metrics` and `/healthz` until the graceful shutdown.
private struct MetricsService: Service {
    let host: String
    let port: Int
    let logger: Logger
    let render: @Sendable () async -> String

    func run() async throws {
        let (channel, bound) = try await EgressMetricsServer.start(
            host: host, port: port, group: MultiThreadedEventLoopGroup.singleton, render: render
        )
        logger.info("metrics listening", metadata: ["address": "\(host):\(bound)"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// The agent as a service: it runs until a SIGTERM or SIGINT, then stops between two rounds.
private struct EgressService: Service {
    let agent: EgressAgent

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await agent.run()
            } catch is CancellationError {
                // A graceful shutdown: the table stays as it is.
            }
        }
    }
}

struct EgressCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
