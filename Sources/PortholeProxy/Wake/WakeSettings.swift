public import NIOCore

/// Waking stopped sandboxes through the platform's webhook (``WakeWebhook``).
public struct WakeSettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// `http://host[:port]/path`: where the webhook is posted.
    public let url: String
    let host: String
    let port: Int
    let path: String
    /// Signs every call (`X-Porthole-Signature`); the platform checks it with the same secret.
    let secret: [UInt8]
    /// How long a programmatic request is held for its sandbox to start; also the least time
    /// between two calls for one sandbox.
    public var holdTimeout: TimeAmount

    /// Without the secret: settings may end up in a log line.
    public var description: String { "wake(url: \(url), holdTimeout: \(holdTimeout))" }
    public var debugDescription: String { description }

    /// `url` must be `http://host[:port][/path]`; `secret` at least 32 bytes.
    public init(url: String, secret: String, holdTimeout: TimeAmount = .seconds(30)) throws(WakeSettingsError) {
        guard url.hasPrefix("http://") else { throw .unsupportedURL(url) }
        var rest = Substring(url.dropFirst("http://".count))
        var path = "/"
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else { throw .unsupportedURL(url) }
            port = parsed
            host = String(rest[..<colon])
        }
        guard !host.isEmpty, !host.contains("@"), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .unsupportedURL(url) }
        guard secret.utf8.count >= 32 else { throw .shortSecret }
        self.url = url
        self.host = host
        self.port = port
        self.path = path
        self.secret = Array(secret.utf8)
        self.holdTimeout = holdTimeout
    }
}

public enum WakeSettingsError: Error, Equatable, CustomStringConvertible {
    case unsupportedURL(String)
    case shortSecret
    case missingSecret

    public var description: String {
        switch self {
        case .unsupportedURL(let url):
            "wake-url \"\(url)\" is not http://host[:port]/path (https is not supported yet: point it at the orchestrator's internal address)"
        case .shortSecret:
            "wake-secret must be at least 32 characters (it signs every wake call)"
        case .missingSecret:
            "wake-url needs wake-secret (PORTHOLE_WAKE_SECRET or the config file's \"wake-secret\", never a flag): it signs every wake call"
        }
    }
}
