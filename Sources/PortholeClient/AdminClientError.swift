/// A failure to talk to the admin API at all (the API's own refusals are ``PortholeCore/AdminAPIError``s).
public struct AdminClientError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case invalidURL(String)
        case connectionFailed(url: String, reason: String)
        case timedOut(url: String)
        case invalidResponse(String)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static func invalidURL(_ url: String) -> Self { Self(.invalidURL(url)) }
    static func connectionFailed(url: String, reason: String) -> Self { Self(.connectionFailed(url: url, reason: reason)) }
    static func timedOut(url: String) -> Self { Self(.timedOut(url: url)) }
    static func invalidResponse(_ reason: String) -> Self { Self(.invalidResponse(reason)) }

    /// True when no connection could be made: nothing was sent, so nothing was changed.
    public var isConnectionFailure: Bool {
        if case .connectionFailed = base { return true }
        return false
    }

    public var description: String {
        switch base {
        case .invalidURL(let url):
            "\"\(url)\" is not an admin API URL; expected http://HOST:PORT, e.g. http://127.0.0.1:8081"
        case .connectionFailed(let url, let reason):
            "cannot connect to the admin API at \(url) (\(reason)); is `porthole serve` running?"
        case .timedOut(let url):
            "the admin API at \(url) did not answer in time"
        case .invalidResponse(let reason):
            "the admin API answered something unexpected: \(reason)"
        }
    }
}
