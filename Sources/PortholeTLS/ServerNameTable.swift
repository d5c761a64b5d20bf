/// Which certificate answers which TLS server name (SNI).
///
/// Built once per ``TLSContext`` from the certificates' DNS names. Exact names win over wildcards;
/// a wildcard `*.preview.localhost` covers exactly one more label (`a.preview.localhost`, not
/// `preview.localhost` nor `a.b.preview.localhost`), as RFC 6125 §6.4.3 has clients match it, so the
/// server never picks a certificate the client would then reject. The first certificate to claim a
/// name keeps it.
public struct ServerNameTable: Sendable, Hashable {
    private var exact: [String: Int] = [:]
    private var wildcard: [String: Int] = [:]

    public init() {}

    /// Registers the names of the certificate at `index`; names a client could never match are ignored.
    public mutating func add(names: [String], forCertificateAt index: Int) {
        for name in names {
            let name = Self.normalize(name)
            if name.hasPrefix("*.") {
                let suffix = String(name.dropFirst(2))
                // "*.com"-style or partial-label wildcards ("f*.example") are never honoured by clients.
                guard suffix.contains("."), !suffix.contains("*") else { continue }
                if self.wildcard[suffix] == nil { self.wildcard[suffix] = index }
            } else if !name.isEmpty, !name.contains("*") {
                if self.exact[name] == nil { self.exact[name] = index }
            }
        }
    }

    /// The index of the certificate for `serverName`, or nil when the default certificate should answer.
    public func certificateIndex(forServerName serverName: String) -> Int? {
        let name = Self.normalize(serverName)
        if let index = self.exact[name] { return index }
        guard let dot = name.firstIndex(of: "."), dot != name.startIndex else { return nil }
        return self.wildcard[String(name[name.index(after: dot)...])]
    }

    /// DNS names compare case-insensitively and a trailing dot names the same host (RFC 4343, RFC 1034 §3.1).
    static func normalize(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
