import ArgumentParser
import NIOCore
import PortholeCore
import PortholeProxy

/// Everything `porthole serve` runs with, after flags, environment and config file are resolved.
struct ServeSettings {
    /// Every setting name, as flag (`--name`), variable (`PORTHOLE_NAME`) and config key (`name`).
    static let names = [
        "bind-address", "https-port", "http-port", "http-mode", "admin-port", "base-domain", "data-dir",
        "cert-dir", "threads", "reserved-port", "log-level", "keep-alive-timeout", "header-timeout",
        "request-body-timeout", "request-body-min-rate",
        "upstream-connect-timeout", "upstream-response-timeout", "send-timeout", "cookie-secret",
        "admin-address", "admin-token", "preview-port", "max-allow-list-entries", "max-domain-allow-list-entries",
        "access-log", "drain-delay", "drain-timeout", "tunnel-grace", "max-connections", "max-connections-per-sandbox",
        "proxy-protocol", "trusted-proxies", "allow-target", "create-store", "store", "store-outage-grace",
        "http2", "compression", "compression-level", "compression-min-length", "compression-types", "frame-ancestors",
        "wake-url", "wake-secret", "wake-timeout", "default-target", "default-org",
    ]

    enum HTTPMode: String {
        case redirect
        case proxy
        case off
    }

    var bindAddress: String
    var httpsPort: Int
    var httpPort: Int
    var httpMode: HTTPMode
    var adminPort: Int
    /// Set by flag, variable or config file (not the default): then failing to bind it is fatal.
    var adminPortIsExplicit: Bool
    var baseDomains: [String]
    var dataDirectory: String
    /// A `postgresql://` URL, or `nil` for the SQLite file in the data directory.
    var store: String?
    /// Seconds the store may be unreachable before readiness fails.
    var storeOutageGrace: Int
    /// Whether a new, empty database may be made in a data directory that already holds the
    /// secrets of an earlier start (see ``DataDirectory/checkDatabase(mayCreate:allowedBy:)``).
    var createStore: Bool
    var certificateDirectory: String
    var threads: Int
    var reservedPorts: Set<UInt16>
    var logLevel: String
    var keepAliveTimeout: Int
    var headerTimeout: Int
    /// Seconds without request-body progress before 408 (extended by the minimum rate).
    var requestBodyTimeout: Int
    /// Bytes per second a request body must average.
    var requestBodyMinimumRate: Int
    var upstreamConnectTimeout: Int
    var upstreamResponseTimeout: Int
    var sendTimeout: Int
    /// Hex; when absent a secret is generated once into the data directory.
    var cookieSecret: String?
    /// Address of the admin API listener.
    var adminAddress: String
    /// The admin API's bearer token; when absent one is generated once into the data directory.
    var adminToken: String?
    /// Port shown in preview links; `nil`: the HTTPS listener's.
    var previewPort: Int?
    var maxAllowListEntries: Int
    var maxDomainAllowListEntries: Int
    var accessLog: Bool
    /// ALPN offers `h2` on the HTTPS listener (read at start: a reload does not change it).
    var http2: Bool
    var compression: CompressionSettings
    var frameAncestors: FrameAncestors?
    var wake: WakeSettings?
    /// Seconds between readiness turning to draining and the listeners closing (balancers notice).
    var drainDelay: Int
    /// Seconds in-flight exchanges get to finish before the rest is closed.
    var drainTimeout: Int
    /// Seconds open tunnels (WebSocket) get during a drain.
    var tunnelGrace: Int
    var maximumConnections: Int
    var maximumConnectionsPerSandbox: Int
    /// Listeners (`https`, `http`) whose connections start with a PROXY protocol header.
    var proxyProtocolListeners: Set<String>
    var trustedProxies: TrustedProxies
    var upstreamTargets: UpstreamTargetPolicy
    /// Address of sandboxes created through the Daytona-compatible API without a target label.
    var defaultTarget: String?
    /// Organisation id the Daytona-compatible API reports.
    var defaultOrganization: String

    init(_ options: ServeCommand.Options) throws {
        let source = try SettingsSource(configPath: options.config)
        bindAddress = source.string("bind-address", flag: options.bindAddress, default: "0.0.0.0")
        httpsPort = try source.int("https-port", flag: options.httpsPort, default: 8443, range: 0...65535)
        httpPort = try source.int("http-port", flag: options.httpPort, default: 8080, range: 0...65535)
        let modeText = source.string("http-mode", flag: options.httpMode, default: "redirect")
        guard let mode = HTTPMode(rawValue: modeText) else {
            throw ValidationError("http-mode must be redirect, proxy or off, got \"\(modeText)\"")
        }
        httpMode = mode
        adminPort = try source.int("admin-port", flag: options.adminPort, default: 8081, range: 0...65535)
        adminPortIsExplicit = source.optionalString("admin-port", flag: options.adminPort.map(String.init)) != nil
        baseDomains = source.list("base-domain", flags: options.baseDomain, default: ["preview.localhost"])
            .map { $0.lowercased().trimmingSuffix(".") }
        for domain in baseDomains where domain.isEmpty || domain.contains(where: { $0 == "/" || $0 == ":" || $0 == " " }) {
            throw ValidationError("base-domain \"\(domain)\" is not a domain name (expected e.g. preview.example.com)")
        }
        dataDirectory = source.string("data-dir", flag: options.dataDir, default: ".porthole")
        store = source.optionalString("store", flag: options.store)
        storeOutageGrace = try source.int("store-outage-grace", flag: options.storeOutageGrace, default: 10, range: 0...86_400)
        createStore = try source.bool("create-store", flag: options.createStore, default: false)
        certificateDirectory = source.string("cert-dir", flag: options.certDir, default: "certs")
        threads = try source.int("threads", flag: options.threads, default: System.coreCount, range: 1...256)
        var reserved = Set<UInt16>()
        for text in source.list("reserved-port", flags: options.reservedPort.map(String.init), default: []) {
            guard let port = UInt16(text), port > 0 else {
                throw ValidationError("reserved-port must be a port number 1…65535, got \"\(text)\"")
            }
            reserved.insert(port)
        }
        reservedPorts = reserved
        logLevel = source.string("log-level", flag: options.logLevel, default: "info")
        keepAliveTimeout = try source.int("keep-alive-timeout", flag: options.keepAliveTimeout, default: 75, range: 1...3600)
        headerTimeout = try source.int("header-timeout", flag: options.headerTimeout, default: 30, range: 1...600)
        requestBodyTimeout = try source.int("request-body-timeout", flag: options.requestBodyTimeout, default: 30, range: 1...3600)
        requestBodyMinimumRate = try source.int("request-body-min-rate", flag: options.requestBodyMinRate, default: 500, range: 1...1_000_000_000)
        upstreamConnectTimeout = try source.int("upstream-connect-timeout", flag: options.upstreamConnectTimeout, default: 5, range: 1...120)
        upstreamResponseTimeout = try source.int("upstream-response-timeout", flag: options.upstreamResponseTimeout, default: 60, range: 1...3600)
        sendTimeout = try source.int("send-timeout", flag: options.sendTimeout, default: 60, range: 1...3600)
        cookieSecret = source.optionalString("cookie-secret", flag: nil)
        adminAddress = source.string("admin-address", flag: options.adminAddress, default: "127.0.0.1")
        // Like the cookie secret, never a flag: flags show in `ps` and shell history.
        adminToken = source.optionalString("admin-token", flag: nil)
        previewPort =
            source.optionalString("preview-port", flag: options.previewPort.map(String.init)) == nil
            ? nil : try source.int("preview-port", flag: options.previewPort, default: 443, range: 1...65535)
        maxAllowListEntries = try source.int("max-allow-list-entries", flag: options.maxAllowListEntries, default: 5, range: 1...64)
        maxDomainAllowListEntries = try source.int(
            "max-domain-allow-list-entries", flag: options.maxDomainAllowListEntries, default: DomainAllowList.defaultMaxEntries, range: 1...64
        )
        let accessLogText = source.string("access-log", flag: options.accessLog, default: "on")
        guard accessLogText == "on" || accessLogText == "off" else {
            throw ValidationError("access-log must be on or off, got \"\(accessLogText)\"")
        }
        accessLog = accessLogText == "on"
        if let list = source.optionalString("frame-ancestors", flag: options.frameAncestors) {
            do {
                frameAncestors = try FrameAncestors(list)
            } catch {
                throw ValidationError(error.description)
            }
        } else {
            frameAncestors = nil
        }
        let wakeTimeout = try source.int("wake-timeout", flag: options.wakeTimeout, default: 30, range: 1...600)
        if let url = source.optionalString("wake-url", flag: options.wakeUrl) {
            // Like the cookie secret, never a flag: flags show in `ps` and shell history.
            guard let secret = source.optionalString("wake-secret", flag: nil) else {
                throw ValidationError(WakeSettingsError.missingSecret.description)
            }
            do {
                wake = try WakeSettings(url: url, secret: secret, holdTimeout: .seconds(Int64(wakeTimeout)))
            } catch {
                throw ValidationError(error.description)
            }
        } else {
            wake = nil
        }
        let http2Text = source.string("http2", flag: options.http2, default: "on")
        guard http2Text == "on" || http2Text == "off" else {
            throw ValidationError("http2 must be on or off, got \"\(http2Text)\"")
        }
        http2 = http2Text == "on"
        compression = CompressionSettings()
        let compressionText = source.string("compression", flag: options.compression, default: "on")
        guard compressionText == "on" || compressionText == "off" else {
            throw ValidationError("compression must be on or off, got \"\(compressionText)\"")
        }
        compression.isEnabled = compressionText == "on"
        compression.level = Int32(
            try source.int(
                "compression-level", flag: options.compressionLevel, default: Int(compression.level),
                range: Int(CompressionSettings.levels.lowerBound)...Int(CompressionSettings.levels.upperBound)))
        compression.minimumBytes = Int64(
            try source.int("compression-min-length", flag: options.compressionMinLength, default: Int(compression.minimumBytes), range: 0...1_073_741_824))
        if let types = source.optionalString("compression-types", flag: options.compressionTypes) {
            do {
                compression.types = try CompressibleTypes(types)
            } catch {
                throw ValidationError(error.description)
            }
        }
        drainDelay = try source.int("drain-delay", flag: options.drainDelay, default: 0, range: 0...3600)
        drainTimeout = try source.int("drain-timeout", flag: options.drainTimeout, default: 30, range: 0...3600)
        tunnelGrace = try source.int("tunnel-grace", flag: options.tunnelGrace, default: 10, range: 0...3600)
        maximumConnections = try source.int("max-connections", flag: options.maxConnections, default: 0, range: 0...10_000_000)
        proxyProtocolListeners = []
        for name in source.list("proxy-protocol", flags: options.proxyProtocol, default: []) {
            guard name == "https" || name == "http" else {
                throw ValidationError("proxy-protocol names listeners: https, http (or both, comma-separated), got \"\(name)\"")
            }
            proxyProtocolListeners.insert(name)
        }
        let trusted = source.list("trusted-proxies", flags: options.trustedProxies, default: []).joined(separator: ",")
        do {
            trustedProxies = trusted.isEmpty ? .none : try TrustedProxies.parse(trusted)
        } catch {
            throw ValidationError("trusted-proxies: \(error)")
        }
        let allowedTargets = source.list("allow-target", flags: options.allowTarget, default: [UpstreamTargetPolicy.defaultAllowed])
            .joined(separator: ",")
        do {
            upstreamTargets = UpstreamTargetPolicy(allowed: try AddressRanges.parse(allowedTargets, noun: "allowed target"))
        } catch {
            throw ValidationError("allow-target: \(error)")
        }
        defaultTarget = source.optionalString("default-target", flag: options.defaultTarget)
        if let defaultTarget, !SandboxFieldRules.isValidTarget(defaultTarget) {
            throw ValidationError(
                "default-target must be an address: an IPv4 or IPv6 literal (no brackets, no port) or a host name, got \"\(SandboxFieldRules.shown(defaultTarget))\""
            )
        }
        defaultOrganization = source.string("default-org", flag: options.defaultOrg, default: "default")
        guard SandboxFieldRules.isValidID(defaultOrganization) else {
            throw ValidationError(
                "default-org must be 1–\(SandboxFieldRules.idMaximumLength) lowercase letters, digits or '-', got \"\(SandboxFieldRules.shown(defaultOrganization))\""
            )
        }
        maximumConnectionsPerSandbox = try source.int(
            "max-connections-per-sandbox", flag: options.maxConnectionsPerSandbox, default: 0, range: 0...10_000_000
        )
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
