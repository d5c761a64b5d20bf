/// An `http://host[:port][/path]` URL, the only kind ``OneShotHTTPRequest`` speaks: the admin API's
/// address for the CLI and Swift client, and the wake webhook's. One parser for both, so they
/// accept and refuse the same addresses.
public struct PlainHTTPURL: Sendable, Hashable {
    /// As written; an IPv6 address keeps its brackets (`[::1]`).
    public let host: String
    public let port: Int
    /// From the first `/` on (query included), or empty.
    public let path: String

    /// Nil for anything else: another scheme, no host, user information (`user@host`), a port
    /// outside 1–65535, or a path with spaces or control characters.
    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        var rest = Substring(text.dropFirst("http://".count))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[...close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let parsed = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = parsed
        }
        guard !host.isEmpty, !host.contains("@"), (1...65535).contains(port), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        self.host = host
        self.port = port
        self.path = path
    }
}
