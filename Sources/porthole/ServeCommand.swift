import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import PortholeAdmin
import PortholeCore
import PortholeProxy
import PortholeStore
import PortholeTLS
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the preview proxy.",
        discussion: """
            With no flags: HTTPS on :8443 for *.preview.localhost with a development certificate \
            (made in ./certs on first run), plain HTTP on :8080 redirecting to HTTPS, data in ./.porthole.
            Every setting is also an environment variable PORTHOLE_<NAME> (e.g. PORTHOLE_HTTPS_PORT) \
            and a key of the JSON config file (e.g. "https-port"); a flag wins over the variable, \
            which wins over the file.
            """
    )

    struct Options: ParsableArguments {
        @Option(help: "JSON config file of settings (keys are the flag names without --).")
        var config: String?
        @Option(help: "Address the public listeners bind to. (default: 0.0.0.0)")
        var bindAddress: String?
        @Option(help: "HTTPS listener port; 0 picks a free port (logged at start). (default: 8443)")
        var httpsPort: Int?
        @Option(help: "Plain HTTP listener port; 0 picks a free port; see --http-mode to turn it off. (default: 8080)")
        var httpPort: Int?
        @Option(help: "What plain HTTP does: redirect (308 to HTTPS), proxy (TLS ended by a load balancer) or off. (default: redirect)")
        var httpMode: String?
        @Option(help: "Admin API port; 0 picks a free port (logged at start, and written to <data-dir>/admin-url). (default: 8081)")
        var adminPort: Int?
        @Option(
            help:
                "Address the admin API binds to; it needs the admin token (PORTHOLE_ADMIN_TOKEN, else generated into <data-dir>/admin-token). (default: 127.0.0.1)"
        )
        var adminAddress: String?
        @Option(help: "Port shown in preview links and signed preview URLs (443 is left out). (default: the HTTPS port)")
        var previewPort: Int?
        @Option(help: "Most entries of a sandbox's network allow list. (default: 5)")
        var maxAllowListEntries: Int?
        @Option(help: "Most entries of a sandbox's domain allow list. (default: 10)")
        var maxDomainAllowListEntries: Int?
        @Option(help: "Base domain of preview hosts <port>-<sandboxId>.<base domain>; repeat for several. (default: preview.localhost)")
        var baseDomain: [String] = []
        @Option(help: "Directory for the database and generated secrets. (default: .porthole)")
        var dataDir: String?
        @Option(
            help:
                "Seconds the policy store may be unreachable before /readyz says not ready; meanwhile cached sandboxes are served and unknown ones get 503. (default: 10)"
        )
        var storeOutageGrace: Int?
        @Option(
            help:
                "The policy store shared by several instances: postgresql://user:password@host:5432/database?sslmode=verify-full. Prefer PORTHOLE_STORE or the config file: a flag shows in ps. (default: the SQLite file in --data-dir)"
        )
        var store: String?
        @Flag(
            help:
                "Make a new, empty policy database even though the data directory holds the secrets of an earlier start (its database was lost). Not needed on a first start."
        )
        var createStore = false
        @Option(
            help:
                "Directory of NAME-cert.pem (chain) + NAME-key.pem pairs, chosen by SNI; default-cert.pem (else the first) for clients without SNI; `porthole certs dev` makes dev-cert.pem/dev-key.pem. Reloaded on SIGHUP and when the files change. (default: certs)"
        )
        var certDir: String?
        @Option(help: "Event loop threads. (default: number of cores)")
        var threads: Int?
        @Option(help: "Port that always needs a preview token, even on public sandboxes; repeat for several.")
        var reservedPort: [Int] = []
        @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
        var logLevel: String?
        @Option(help: "Seconds an idle client keep-alive connection stays open. (default: 75)")
        var keepAliveTimeout: Int?
        @Option(help: "Seconds a client has to send a complete request head. (default: 30)")
        var headerTimeout: Int?
        @Option(help: "Seconds a request body may go without sending data; with --request-body-min-rate, 408 and both connections closed after. (default: 30)")
        var requestBodyTimeout: Int?
        @Option(
            help:
                "Bytes per second a request body must average: each byte buys 1/rate s beyond --request-body-timeout, never more than that timeout ahead. (default: 500)"
        )
        var requestBodyMinRate: Int?
        @Option(help: "Seconds to connect to a sandbox. (default: 5)")
        var upstreamConnectTimeout: Int?
        @Option(help: "Seconds for a sandbox to start answering a request. (default: 60)")
        var upstreamResponseTimeout: Int?
        @Option(help: "Seconds a client may take nothing of what it is sent (a shut TCP or HTTP/2 window) before it is cut off. (default: 60)")
        var sendTimeout: Int?
        @Option(help: "One JSON line per request on standard output: on or off. (default: on)")
        var accessLog: String?
        @Option(
            help:
                "Sites that may show previews in a frame, sent as Content-Security-Policy: frame-ancestors with every preview response: 'self', https://dash.example.com, *.example.com … (default: any)"
        )
        var frameAncestors: String?
        @Option(
            help:
                "Webhook that starts stopped sandboxes: POST {sandboxId, port, requestId} signed with PORTHOLE_WAKE_SECRET (X-Porthole-Signature), once per sandbox per --wake-timeout; http://host[:port]/path. (default: none, a stopped sandbox answers 503)"
        )
        var wakeUrl: String?
        @Option(help: "Seconds a request to a stopped sandbox is held while it is woken; browsers get a page that reloads itself. (default: 30)")
        var wakeTimeout: Int?
        @Option(help: "Offer HTTP/2 to browsers on the HTTPS listener (ALPN h2): on or off; read at start. (default: on)")
        var http2: String?
        @Option(help: "Compress responses (gzip, deflate) for clients that accept it: on or off. (default: on)")
        var compression: String?
        @Option(help: "zlib compression level, 1 (fastest) to 9 (smallest). (default: 5)")
        var compressionLevel: Int?
        @Option(help: "Responses whose Content-Length is below this many bytes are not compressed; unknown lengths are. (default: 1024)")
        var compressionMinLength: Int?
        @Option(
            help:
                "Media types compressed, comma-separated: type/subtype, type/* or *+suffix; text/event-stream only when named. (default: \(CompressibleTypes.default))"
        )
        var compressionTypes: String?
        @Option(help: "On SIGTERM, seconds /readyz reports draining before the listeners close. (default: 0)")
        var drainDelay: Int?
        @Option(help: "On SIGTERM, seconds in-flight requests get to finish before the rest is closed. (default: 30)")
        var drainTimeout: Int?
        @Option(help: "On SIGTERM, seconds open WebSocket tunnels get before they are closed. (default: 10)")
        var tunnelGrace: Int?
        @Option(help: "Client connections (across all threads) before new ones are closed at once; 0 = no cap. (default: 0)")
        var maxConnections: Int?
        @Option(help: "Requests in flight plus open tunnels per sandbox (across all threads) before 429; 0 = no cap. (default: 0)")
        var maxConnectionsPerSandbox: Int?
        @Option(
            help:
                "Listener whose connections start with a PROXY protocol v1/v2 header (from an L4 load balancer): https or http; repeat for both. Connections without one are closed."
        )
        var proxyProtocol: [String] = []
        @Option(help: "CIDRs (IPv4 or IPv6) of proxies whose X-Forwarded-For/-Proto are believed; repeat or comma-separate. Everyone else's are replaced.")
        var trustedProxies: [String] = []
        @Option(
            help:
                "Address of sandboxes created through the Daytona-compatible API (/api) without a porthole.dev/target label. (default: none; they wait in state creating until /v1 sets their target)"
        )
        var defaultTarget: String?
        @Option(help: "Organisation id that sandboxes created through the Daytona-compatible API belong to. (default: default)")
        var defaultOrg: String?
        @Option(
            help:
                "CIDRs sandbox targets may be in; repeat or comma-separate. Link-local (cloud metadata), unspecified, multicast and broadcast addresses and Porthole's own listeners are refused whatever this says. (default: \(UpstreamTargetPolicy.defaultAllowed): private ranges and loopback)"
        )
        var allowTarget: [String] = []
    }

    @OptionGroup var options: Options

    func run() async throws {
        let settings = try ServeSettings(options)
        var logger = Logger(label: "porthole")
        guard let level = Logger.Level(rawValue: settings.logLevel) else {
            throw ValidationError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        logger.logLevel = level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }

        let dataDirectory = DataDirectory(path: settings.dataDirectory)
        let location = try StoreLocation(store: settings.store, dataDirectory: dataDirectory)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let store: any PolicyStore
        let cookieSecret: CookieSecret
        let certificates: TLSCertificateStore
        do {
            store = try await location.open(
                group: group, logger: logger, mayCreate: settings.createStore,
                allowedBy: "pass --create-store (or set PORTHOLE_CREATE_STORE=true, or \"create-store\": true in the config file)"
            )
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        do {
            // After the database: a new data directory gets its database before any secret, so
            // secrets without a database always mean a lost database (`checkDatabase`).
            cookieSecret = try CookieSecret(
                await location.cookieSecret(configured: settings.cookieSecret, dataDirectory: dataDirectory, store: store)
            )
            certificates = try CertificateDirectory(path: settings.certificateDirectory).load(
                baseDomains: settings.baseDomains, applicationProtocols: settings.http2 ? ["h2", "http/1.1"] : ["http/1.1"], logger: logger
            )
        } catch {
            try? await store.close()
            try? await group.shutdownGracefully()
            throw error
        }
        logger.info("policy store", metadata: ["store": "\(location.description)"])
        let policies = PolicyCache(store: store, group: group, logger: logger)

        let proxyConfiguration = Self.proxyConfiguration(settings, cookieSecret: cookieSecret)

        let server = try ProxyServer(
            configuration: proxyConfiguration, group: group, policies: policies, certificates: certificates, logger: logger
        )
        let https = ProxyServer.Listener(
            host: settings.bindAddress, port: settings.httpsPort,
            role: .init(mode: .https, publicPort: settings.httpsPort, proxyProtocol: settings.proxyProtocolListeners.contains("https")))
        var plain: ProxyServer.Listener? = nil
        switch settings.httpMode {
        case .redirect:
            plain = .init(
                host: settings.bindAddress, port: settings.httpPort,
                role: .init(
                    mode: .redirectToHTTPS(httpsPort: settings.httpsPort), publicPort: settings.httpPort,
                    proxyProtocol: settings.proxyProtocolListeners.contains("http")))
        case .proxy:
            plain = .init(
                host: settings.bindAddress, port: settings.httpPort,
                role: .init(mode: .plainProxy, publicPort: settings.httpPort, proxyProtocol: settings.proxyProtocolListeners.contains("http")))
        case .off:
            break
        }

        let adminCredentials = AdminCredentials(dataDirectory: dataDirectory)
        let adminToken = try adminCredentials.token(configured: settings.adminToken, logger: logger)
        let admin = ProxyService.Admin(required: settings.adminPortIsExplicit, address: "\(settings.adminAddress):\(settings.adminPort)") {
            [logger] httpsPort, onListening in
            var controlPlaneConfiguration = ControlPlaneConfiguration(
                baseDomain: settings.baseDomains[0],
                previewPort: settings.previewPort ?? httpsPort,
                signingSecret: cookieSecret.bytes,
                maximumAllowListEntries: settings.maxAllowListEntries,
                maximumDomainAllowListEntries: settings.maxDomainAllowListEntries
            )
            controlPlaneConfiguration.storeOutageGrace = Int64(settings.storeOutageGrace)
            let controlPlane = SandboxControlPlane(store: store, cache: policies, configuration: controlPlaneConfiguration)
            return AdminServer(
                configuration: .init(host: settings.adminAddress, port: settings.adminPort),
                controlPlane: controlPlane,
                token: AdminToken(adminToken),
                daytona: DaytonaConfiguration(defaultTarget: settings.defaultTarget, organizationId: settings.defaultOrganization),
                hooks: .init(
                    isDraining: { server.isDraining },
                    metrics: { await server.renderMetrics() + PolicyCacheExposition.render(await policies.metrics) }
                ),
                group: group,
                logger: logger,
                onListening: { host, port in
                    server.ownListeners.add(port: port)
                    adminCredentials.writeURL(host: host, port: port, logger: logger)
                    await onListening()
                }
            )
        }

        let service = ProxyService(
            server: server, https: https, plain: plain,
            drainDelay: .seconds(settings.drainDelay), drainTimeout: .seconds(settings.drainTimeout),
            policies: policies, certificates: certificates,
            reloadConfiguration: Self.reloader(
                options: options, running: settings, cookieSecret: cookieSecret, server: server, logger: logger
            ),
            admin: admin, logger: logger
        )
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        var failure: (any Error)?
        do {
            try await serviceGroup.run()
        } catch {
            failure = error
        }
        adminCredentials.removeURL()
        try? await store.close()
        try? await group.shutdownGracefully()
        // A listener that cannot bind (port in use, no permission) must fail the process, not exit 0.
        if let failure { throw ServeError(failure) }
    }
}

extension ServeCommand {
    /// The data path's settings from resolved serve settings; used at start and on every reload.
    static func proxyConfiguration(_ settings: ServeSettings, cookieSecret: CookieSecret) -> ProxyConfiguration {
        var proxyConfiguration = ProxyConfiguration(cookieSecret: cookieSecret)
        proxyConfiguration.baseDomains = settings.baseDomains
        proxyConfiguration.reservedPorts = settings.reservedPorts
        proxyConfiguration.keepAliveTimeout = .seconds(Int64(settings.keepAliveTimeout))
        proxyConfiguration.headerTimeout = .seconds(Int64(settings.headerTimeout))
        proxyConfiguration.requestBodyTimeout = .seconds(Int64(settings.requestBodyTimeout))
        proxyConfiguration.requestBodyMinimumRate = settings.requestBodyMinimumRate
        proxyConfiguration.upstreamConnectTimeout = .seconds(Int64(settings.upstreamConnectTimeout))
        proxyConfiguration.upstreamResponseTimeout = .seconds(Int64(settings.upstreamResponseTimeout))
        proxyConfiguration.sendTimeout = .seconds(Int64(settings.sendTimeout))
        proxyConfiguration.accessLog = settings.accessLog
        proxyConfiguration.compression = settings.compression
        proxyConfiguration.frameAncestors = settings.frameAncestors
        proxyConfiguration.wake = settings.wake
        proxyConfiguration.tunnelGracePeriod = .seconds(Int64(settings.tunnelGrace))
        proxyConfiguration.maximumConnectionsPerSandbox = settings.maximumConnectionsPerSandbox
        proxyConfiguration.trustedProxies = settings.trustedProxies
        proxyConfiguration.upstreamTargets = settings.upstreamTargets
        proxyConfiguration.maximumConnections = settings.maximumConnections
        return proxyConfiguration
    }

    /// Re-reads flags, environment and the config file on SIGHUP. A configuration that does not
    /// validate is refused with a log line and the running one stays (`false`); settings that only a
    /// restart can change (listeners, data and certificate directories, threads) are named in the
    /// log. The reload metrics are counted by the caller, once per SIGHUP with the certificates.
    static func reloader(
        options: Options, running: ServeSettings, cookieSecret: CookieSecret, server: ProxyServer, logger: Logger
    ) -> @Sendable () async -> Bool {
        let options = UncheckedOptions(value: options)
        return {
            do {
                let fresh = try ServeSettings(options.value)
                var needsRestart: [String] = []
                if fresh.bindAddress != running.bindAddress { needsRestart.append("bind-address") }
                if fresh.httpsPort != running.httpsPort { needsRestart.append("https-port") }
                if fresh.httpPort != running.httpPort { needsRestart.append("http-port") }
                if fresh.httpMode != running.httpMode { needsRestart.append("http-mode") }
                if fresh.dataDirectory != running.dataDirectory { needsRestart.append("data-dir") }
                if fresh.certificateDirectory != running.certificateDirectory { needsRestart.append("cert-dir") }
                if fresh.threads != running.threads { needsRestart.append("threads") }
                if fresh.proxyProtocolListeners != running.proxyProtocolListeners { needsRestart.append("proxy-protocol") }
                if fresh.cookieSecret != running.cookieSecret { needsRestart.append("cookie-secret") }
                if fresh.store != running.store { needsRestart.append("store") }
                await server.apply(proxyConfiguration(fresh, cookieSecret: cookieSecret))
                if needsRestart.isEmpty {
                    logger.notice("configuration reloaded")
                } else {
                    logger.warning(
                        "configuration reloaded; these settings need a restart to change", metadata: ["settings": "\(needsRestart.joined(separator: ","))"])
                }
                return true
            } catch {
                logger.error("configuration reload refused; the running configuration stays", metadata: ["error": "\(error)"])
                return false
            }
        }
    }
}

/// The parsed command line is an immutable value; it is only read again on reload.
private struct UncheckedOptions: @unchecked Sendable {
    let value: ServeCommand.Options
}

/// Why `serve` stopped, as one line a person can act on (the exit status is then non-zero).
struct ServeError: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        description = "porthole stopped: \(error)"
    }
}
