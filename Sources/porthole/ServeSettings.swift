import ArgumentParser
import NIOCore
import PortholeProxy

/// Everything `porthole serve` runs with, after flags, environment and config file are resolved.
struct ServeSettings {
    /// Every setting name, as flag (`--name`), variable (`PORTHOLE_NAME`) and config key (`name`).
    static let names = [
        "bind-address", "https-port", "http-port", "http-mode", "admin-port", "base-domain", "data-dir",
        "cert-dir", "threads", "reserved-port", "log-level", "keep-alive-timeout", "header-timeout",
        "upstream-connect-timeout", "upstream-response-timeout", "cookie-secret",
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
    var baseDomains: [String]
    var dataDirectory: String
    var certificateDirectory: String
    var threads: Int
    var reservedPorts: Set<UInt16>
    var logLevel: String
    var keepAliveTimeout: Int
    var headerTimeout: Int
    var upstreamConnectTimeout: Int
    var upstreamResponseTimeout: Int
    /// Hex; when absent a secret is generated once into the data directory.
    var cookieSecret: String?

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
        baseDomains = source.list("base-domain", flags: options.baseDomain, default: ["preview.localhost"])
            .map { $0.lowercased().trimmingSuffix(".") }
        for domain in baseDomains where domain.isEmpty || domain.contains(where: { $0 == "/" || $0 == ":" || $0 == " " }) {
            throw ValidationError("base-domain \"\(domain)\" is not a domain name (expected e.g. preview.example.com)")
        }
        dataDirectory = source.string("data-dir", flag: options.dataDir, default: ".porthole")
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
        upstreamConnectTimeout = try source.int("upstream-connect-timeout", flag: options.upstreamConnectTimeout, default: 5, range: 1...120)
        upstreamResponseTimeout = try source.int("upstream-response-timeout", flag: options.upstreamResponseTimeout, default: 60, range: 1...3600)
        cookieSecret = source.optionalString("cookie-secret", flag: nil)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
