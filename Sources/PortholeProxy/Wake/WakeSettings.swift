public import NIOCore
import PortholeNIOUtilities

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
        guard let parsed = PlainHTTPURL(url) else { throw .unsupportedURL(url) }
        guard secret.utf8.count >= 32 else { throw .shortSecret }
        self.url = url
        self.host = parsed.host
        self.port = parsed.port
        self.path = parsed.path.isEmpty ? "/" : parsed.path
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
