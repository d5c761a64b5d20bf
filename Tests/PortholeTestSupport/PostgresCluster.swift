import Foundation
import NIOConcurrencyHelpers

/// A throwaway PostgreSQL cluster for one test: `initdb` into a temporary directory as an
/// unprivileged user (PostgreSQL refuses root), the server started on 127.0.0.1 and a free port, a
/// password (SCRAM) for TCP connections as production has, and a `porthole` database. `stop()`
/// kills the server and removes the directory; ``with(_:)`` does it whatever the test does.
public final class PostgresCluster: Sendable {
    public let directory: String
    public let port: Int
    public let password: String
    /// The postmaster, run in the foreground: `pg_ctl start` leaves a daemon holding the socket
    /// Foundation's `Process` watches for the child's exit, and the start would never return.
    private let server = NIOLockedValueBox<ChildProcess?>(nil)

    /// The store URL Porthole takes.
    public var url: String { url(database: "porthole") }

    public func url(database: String) -> String {
        "postgresql://porthole:\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// The store URL over the cluster's UNIX socket (no password: local connections are trusted),
    /// for processes in another network namespace, where 127.0.0.1 is not this one.
    public var socketURL: String { "postgresql://porthole@/porthole?host=\(directory)&port=\(port)" }

    private var dataDirectory: String { directory + "/data" }

    /// The CA that signed the server's certificate, when the cluster serves TLS.
    public let certificateAuthority: String?

    /// The store URL asking for TLS with `mode`, trusting `rootCertificate` (default: the cluster's CA).
    public func tlsURL(mode: String = "verify-full", rootCertificate: String? = nil) -> String {
        let root = rootCertificate ?? certificateAuthority ?? ""
        return "postgresql://porthole:\(password)@127.0.0.1:\(port)/porthole?sslmode=\(mode)&sslrootcert=\(root)"
    }

    private init(directory: String, port: Int, password: String, certificateAuthority: String? = nil) {
        self.directory = directory
        self.port = port
        self.password = password
        self.certificateAuthority = certificateAuthority
    }

    /// Whether this machine has PostgreSQL's server programs (Debian's postgresql package).
    public static var isInstalled: Bool { binary("initdb") != nil }

    public static func with<T>(tls: Bool = false, _ body: (PostgresCluster) async throws -> T) async throws -> T {
        let cluster = try await start(tls: tls)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// With `tls`, the server also speaks TLS with a certificate for 127.0.0.1 and localhost, signed
    /// by a CA of its own (``certificateAuthority``), made with openssl.
    public static func start(tls: Bool = false) async throws -> PostgresCluster {
        guard let initdb = binary("initdb") else { throw TestFailure("PostgreSQL is not installed (apt-get install postgresql)") }
        let directory = try TestPaths.temporaryDirectory(prefix: "porthole-pg-")
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let cluster = PostgresCluster(
            directory: directory, port: try TestPaths.freePort(), password: password,
            certificateAuthority: tls ? directory + "/ca.pem" : nil
        )
        do {
            if tls { try await cluster.makeCertificates() }
            try password.write(toFile: directory + "/password", atomically: true, encoding: .utf8)
            try await cluster.runAsPostgres(
                initdb,
                [
                    "-D", cluster.dataDirectory, "-U", "porthole", "--pwfile", directory + "/password",
                    "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C",
                ])
            try await cluster.startServer()
            try await cluster.psql("CREATE DATABASE porthole")
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    /// Starts the server (again), waiting until it accepts connections.
    public func startServer() async throws {
        guard let postgres = Self.binary("postgres") else { throw TestFailure("postgres not found") }
        // No fsyncs: a test cluster is thrown away, and only a machine crash would lose what the
        // kernel holds. Commits still reach the WAL, so a stop (SIGQUIT) and start loses nothing.
        let arguments =
            [
                "-D", dataDirectory, "-p", String(port), "-k", directory, "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "full_page_writes=off",
            ]
            + (certificateAuthority == nil
                ? []
                : [
                    "-c", "ssl=on", "-c", "ssl_cert_file=\(directory)/server.pem", "-c", "ssl_key_file=\(directory)/server-key.pem",
                ])
        let (executable, fullArguments) = try ServerPrivileges.unprivileged.command(binary: postgres, arguments: arguments, directory: directory)
        let process = try ChildProcess(executable, fullArguments, name: "postgres")
        server.withLockedValue { $0 = process }
        try await process.waitFor("PostgreSQL to accept connections", timeout: .seconds(60)) { _, stderr in
            stderr.contains("database system is ready to accept connections")
        }
    }

    /// Stops the server at once (SIGQUIT: connections are cut, as in a crash), keeping its data.
    public func stopServer() async {
        guard
            let process = server.withLockedValue({ server in
                defer { server = nil }
                return server
            })
        else { return }
        process.signal(SIGQUIT)
        _ = try? await process.waitForExit(timeout: .seconds(10))
        process.stop()
    }

    /// Runs SQL as the cluster's superuser over its UNIX socket.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let psql = Self.binary("psql") ?? TestPaths.which("psql")
        let result = try await CommandResult.run(
            psql, ["-h", directory, "-p", String(port), "-U", "porthole", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]
        )
        guard result.status == 0 else { throw TestFailure("psql \(sql): \(result.stderr)") }
        return result.stdout
    }

    public func stop() async {
        await stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The server log, for failure messages.
    public var log: String {
        server.withLockedValue { $0?.standardError } ?? ""
    }

    private func runAsPostgres(_ program: String, _ arguments: [String]) async throws {
        let (executable, fullArguments) = try ServerPrivileges.unprivileged.command(binary: program, arguments: arguments, directory: directory)
        let result = try await CommandResult.run(executable, fullArguments)
        guard result.status == 0 else {
            throw TestFailure("\(program) failed (\(result.status)): \(result.stderr)\(result.stdout)\n\(log)")
        }
    }

    /// A CA, and a server certificate it signs for 127.0.0.1 and localhost (the key readable by
    /// the server's user only, as PostgreSQL demands).
    private func makeCertificates() async throws {
        let openssl = TestPaths.which("openssl")
        func run(_ arguments: [String]) async throws {
            let result = try await CommandResult.run(openssl, arguments)
            guard result.status == 0 else { throw TestFailure("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        try await run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=porthole test database CA", "-keyout", directory + "/ca-key.pem", "-out", directory + "/ca.pem",
        ])
        try await run([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", directory + "/server-key.pem", "-out", directory + "/server.csr",
        ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        try await run([
            "x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", directory + "/san.ext", "-out", directory + "/server.pem",
        ])
        chmod(directory + "/server-key.pem", 0o600)
    }

    /// The newest installed version's server program, or one on the PATH.
    static func binary(_ name: String) -> String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let path = "/usr/lib/postgresql/\(version)/bin/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let onPath = TestPaths.which(name)
        return FileManager.default.isExecutableFile(atPath: onPath) ? onPath : nil
    }
}
