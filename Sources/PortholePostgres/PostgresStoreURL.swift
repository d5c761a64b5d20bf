import Foundation

/// `postgresql://user:password@host:5432/database?sslmode=verify-full&sslrootcert=/etc/ca.pem`, as
/// libpq reads it (also `postgres://`). The parts Porthole uses, checked; anything else is an
/// error that names it rather than a setting silently ignored.
///
/// - `sslmode`: `disable`, `prefer` (libpq's default: TLS when the server offers it, unverified),
///   `require` (TLS, unverified), `verify-ca` (TLS, the chain checked), `verify-full` (the chain and
///   the host name checked).
/// - `sslrootcert`: a PEM file of the CAs to trust (default: the system's).
/// - `host=/run/postgresql` as a query parameter: a UNIX socket directory instead of TCP (and
///   `port=5433` for its socket file's number, as libpq takes it).
public struct PostgresStoreURL: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// The socket file (`<directory>/.s.PGSQL.<port>`).
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    public var rootCertificatePath: String?

    /// Whether `text` names a PostgreSQL store rather than a file path.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    public static func parse(_ text: String) throws(PostgresStoreURLError) -> PostgresStoreURL {
        guard isPostgresURL(text), let components = URLComponents(string: text) else {
            throw PostgresStoreURLError("the store URL must look like postgresql://user:password@host:5432/database")
        }
        guard let username = components.user, !username.isEmpty else {
            throw PostgresStoreURLError("the store URL names no user (postgresql://USER:password@host/database)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreURLError("the store URL names no database (postgresql://user:password@host/DATABASE)")
        }
        var tlsMode = TLSMode.prefer
        var rootCertificatePath: String?
        var socketDirectory: String?
        var portParameter: Int?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw PostgresStoreURLError(
                        "sslmode \"\(value)\" is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                tlsMode = mode
            case "sslrootcert":
                rootCertificatePath = value
            case "port":
                guard let port = Int(value) else { throw PostgresStoreURLError("the port parameter \"\(value)\" is not a number") }
                portParameter = port
            case "host":
                guard value.hasPrefix("/") else {
                    throw PostgresStoreURLError("the host parameter must be a UNIX socket directory (an absolute path)")
                }
                socketDirectory = value
            default:
                throw PostgresStoreURLError(
                    "the store URL parameter \"\(item.name)\" is not supported (sslmode, sslrootcert, host and port are)"
                )
            }
        }
        let port = portParameter ?? components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresStoreURLError("the store URL's port \(port) is outside 1–65535") }
        let endpoint: Endpoint
        if let socketDirectory {
            endpoint = .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        } else {
            var host = components.host ?? ""
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw PostgresStoreURLError("the store URL names no host (postgresql://user:password@HOST/database)") }
            endpoint = .tcp(host: host, port: port)
        }
        if case .unixSocket = endpoint {
            // PostgreSQL has no TLS over UNIX sockets: `prefer` falls back, a demand cannot be met.
            guard tlsMode == .disable || tlsMode == .prefer else {
                throw PostgresStoreURLError("sslmode \(tlsMode.rawValue) cannot be met over a UNIX socket")
            }
            tlsMode = .disable
        }
        return PostgresStoreURL(
            endpoint: endpoint, username: username, password: components.password, database: database, tlsMode: tlsMode,
            rootCertificatePath: rootCertificatePath
        )
    }

    /// The URL without its password: what logs and errors may show.
    public var description: String {
        let user = password == nil ? username : "\(username):***"
        switch endpoint {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "postgresql://\(user)@\(shown):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
        case .unixSocket(let path):
            return "postgresql://\(user)@/\(database) (socket \(path))"
        }
    }
}

/// Why a store URL was refused. Never contains the password.
public struct PostgresStoreURLError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
