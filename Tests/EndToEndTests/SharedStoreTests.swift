import PortholeTestSupport
import Foundation
import Testing

/// Two `porthole serve` instances on one PostgreSQL store behind a real HAProxy (round robin), as
/// the recommended deployment runs them: a change made through either is in force through the
/// other on its next request.
@Suite("Several instances, one PostgreSQL store", .serialized, .enabled(if: PostgresCluster.isInstalled, "PostgreSQL is not installed"))
struct SharedStoreTests {
    final class Environment: Sendable {
        let cluster: PostgresCluster
        let upstream: Upstream
        let a: PortholeProcess
        let b: PortholeProcess
        let balancerPort: Int

        init(cluster: PostgresCluster, upstream: Upstream, a: PortholeProcess, b: PortholeProcess, balancerPort: Int) {
            self.cluster = cluster
            self.upstream = upstream
            self.a = a
            self.b = b
            self.balancerPort = balancerPort
        }

        var host: String { "\(upstream.httpPort)-shared.preview.localhost" }

        /// The status of GET / on the sandbox through `instance` (plain HTTP), with `headers`.
        func status(via instance: PortholeProcess, _ path: String = "/echo", headers: [String] = []) async throws -> Int {
            try await Self.status(port: instance.httpPort, host: host, path: path, headers: headers)
        }

        /// The same through HAProxy: consecutive requests alternate between the instances.
        func statusThroughBalancer(_ path: String = "/echo", headers: [String] = []) async throws -> Int {
            try await Self.status(port: balancerPort, host: host, path: path, headers: headers)
        }

        /// `porthole_policy_change_feed_age_seconds` from the instance's /metrics (-1 when absent).
        func changeFeedAge(of instance: PortholeProcess) async throws -> Double {
            let metrics = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(instance.adminPort)/metrics"]).stdout
            return PrometheusText.value(of: "porthole_policy_change_feed_age_seconds", in: metrics) ?? -1
        }

        static func status(port: Int, host: String, path: String, headers: [String]) async throws -> Int {
            let result = try await CommandResult.run(
                TestPaths.which("curl"),
                ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-H", "Host: \(host)"]
                    + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)\(path)"]
            )
            guard let status = Int(result.stdout), status != 0 else { throw TestFailure("curl: \(result.stderr)") }
            return status
        }
    }

    func withInstances(_ body: (Environment) async throws -> Void) async throws {
        let haproxy = TestPaths.which("haproxy")
        try #require(FileManager.default.isExecutableFile(atPath: haproxy), "haproxy is not installed (.ci/run installs it)")
        try await PostgresCluster.with { cluster in
            let upstream = try await Upstream.start()
            defer { upstream.stop() }
            // The URL in the environment, not a flag: flags show in ps.
            let environment = ["PORTHOLE_STORE": cluster.url]
            let a = try await PortholeProcess.start(environment: environment)
            defer { a.stop() }
            let b = try await PortholeProcess.start(environment: environment)
            defer { b.stop() }
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let port = try TestPaths.freePort()
            let config = """
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                frontend preview
                    bind 127.0.0.1:\(port)
                    default_backend porthole
                backend porthole
                    balance roundrobin
                    server a 127.0.0.1:\(a.httpPort)
                    server b 127.0.0.1:\(b.httpPort)

                """
            try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
            let balancer = try ChildProcess(haproxy, ["-db", "-f", directory + "/haproxy.cfg"], name: "haproxy")
            defer { balancer.stop() }
            let environmentValue = Environment(cluster: cluster, upstream: upstream, a: a, b: b, balancerPort: port)
            // HAProxy is up when it forwards: an unknown sandbox is Porthole's own 404.
            var up = false
            for _ in 0..<100 where !up {
                up = (try? await Environment.status(port: port, host: "1-nothing.preview.localhost", path: "/", headers: [])) == 404
                if !up { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(up, "HAProxy did not start")
            try await body(environmentValue)
        }
    }

    @Test("create, rotate, public/private, signed URLs, tier and delete: each through one instance, in force through the other at once")
    func changesCrossInstances() async throws {
        try await withInstances { env async throws in
            // Created through A; used through the balancer (both instances) at once.
            let created = try await env.a.cli(["create", "--id", "shared", "--target", "127.0.0.1", "--json"])
            let token = try #require(try created.json()["previewToken"] as? String, "\(created.stderr)")
            for _ in 0..<4 {
                #expect(try await env.statusThroughBalancer(headers: ["X-Preview-Token: \(token)"]) == 200)
            }
            #expect(try await env.status(via: env.b) == 401, "private: no token, no entry")

            // Rotated through B: the old token is refused through A on its very next request.
            let rotated = try await env.b.cli(["rotate-token", "shared", "--json"])
            let newToken = try #require(try rotated.json()["previewToken"] as? String)
            #expect(try await env.status(via: env.a, headers: ["X-Preview-Token: \(token)"]) == 403)
            #expect(try await env.status(via: env.a, headers: ["X-Preview-Token: \(newToken)"]) == 200)

            // Public through A, open through B; private again through B, closed through A.
            #expect(try await env.a.cli(["set-public", "shared", "true"]).status == 0)
            #expect(try await env.status(via: env.b) == 200)
            #expect(try await env.b.cli(["set-public", "shared", "false"]).status == 0)
            #expect(try await env.status(via: env.a) == 401)

            // A signed URL made by A opens through B (one signing secret, kept in the database);
            // revoked through B, it is refused through A.
            let signed = try await env.a.cli(["signed-url", "shared", String(env.upstream.httpPort), "--json"])
            let signedToken = try #require(try signed.json()["token"] as? String, "\(signed.stderr)")
            #expect(try await env.status(via: env.b, "/echo?preview_token=\(signedToken)") == 200)
            #expect(try await env.b.cli(["expire-signed-url", "shared", String(env.upstream.httpPort), signedToken]).status == 0)
            #expect(try await env.status(via: env.a, "/echo?preview_token=\(signedToken)") == 403)

            // The organisation tier changed through A; B's egress view of the record follows.
            #expect(try await env.a.cli(["update", "shared", "--tier", "1"]).status == 0)
            let egress = try await env.b.cli(["egress", "shared", "--json"])
            #expect(try egress.json()["class"] as? String == "restricted")

            // Deleted through B: unknown through A.
            #expect(try await env.b.cli(["delete", "shared"]).status == 0)
            #expect(try await env.status(via: env.a, headers: ["X-Preview-Token: \(newToken)"]) == 404)
        }
    }

    @Test("the database goes away: cached sandboxes keep working, unknown ones get 503, and it all comes back without a restart")
    func outage() async throws {
        try await withInstances { env async throws in
            let created = try await env.a.cli(["create", "--id", "shared", "--target", "127.0.0.1", "--public", "--json"])
            #expect(created.status == 0, "\(created.stderr)")
            for _ in 0..<4 { #expect(try await env.statusThroughBalancer() == 200) }
            // Each event loop of each instance caches for itself: warm every one (NIO hands
            // accepted connections to its loops in turn, so eight in a row reach them all).
            for instance in [env.a, env.b] {
                for _ in 0..<8 {
                    #expect(try await Environment.status(port: instance.httpPort, host: env.host, path: "/echo", headers: []) == 200)
                }
            }

            await env.cluster.stopServer()
            var failures = 0
            for _ in 0..<20 where try await env.statusThroughBalancer() != 200 { failures += 1 }
            #expect(failures == 0, "known sandboxes are served from the cache")
            let unknown = try await Environment.status(port: env.balancerPort, host: "80-unknown.preview.localhost", path: "/", headers: [])
            #expect(unknown == 503, "never a wrong allow, never a 404 that is a guess")
            #expect(try await env.a.cli(["create", "--id", "later", "--target", "127.0.0.1"]).status != 0, "writes fail")
            // The metric says how stale the cache may be by now.
            let age = try await env.changeFeedAge(of: env.a)
            #expect(age >= 0.5, "porthole_policy_change_feed_age_seconds \(age)")

            try await env.cluster.startServer()
            // Back without restarting Porthole: writes work, and a change made now reaches the other instance.
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    try await env.a.cli(["create", "--id", "later", "--target", "127.0.0.1", "--public"]).status == 0
                })
            #expect(
                try await eventually(timeout: .seconds(5)) {
                    try await Environment.status(port: env.b.httpPort, host: "\(env.upstream.httpPort)-later.preview.localhost", path: "/echo", headers: [])
                        == 200
                })
            #expect(try await env.b.cli(["set-public", "shared", "false"]).status == 0)
            #expect(try await eventually(timeout: .seconds(2)) { try await env.status(via: env.a) == 401 })
        }
    }

    @Test("porthole store migrate: a data directory's sandboxes, tokens and signing secret move to PostgreSQL and keep working")
    func migrate() async throws {
        try await PostgresCluster.with { cluster in
            let upstream = try await Upstream.start()
            defer { upstream.stop() }
            // An embedded store, written by the CLI without a server, and a signed URL made from it.
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let created = try await PortholeProcess.cli(["create", "--id", "moved", "--target", "127.0.0.1", "--json"], directory: directory)
            let token = try #require(try created.json()["previewToken"] as? String, "\(created.stderr)")
            let signed = try await PortholeProcess.cli(["signed-url", "moved", String(upstream.httpPort), "--json"], directory: directory)
            let signedToken = try #require(try signed.json()["token"] as? String)
            for index in 0..<3 {
                _ = try await PortholeProcess.cli(["create", "--id", "bulk-\(index)", "--target", "127.0.0.1"], directory: directory)
            }

            let binary = TestPaths.portholeBinary
            let migrate = try await CommandResult.run(binary, ["store", "migrate", "--from", directory + "/data", "--to", cluster.url])
            #expect(migrate.status == 0, "\(migrate.stderr)")
            #expect(migrate.stdout.contains("copied 4 sandboxes and the cookie secret"), "\(migrate.stdout)")
            #expect(!migrate.stdout.contains(cluster.password) && !migrate.stderr.contains(cluster.password))
            // Never into a store that already holds sandboxes.
            let again = try await CommandResult.run(binary, ["store", "migrate", "--from", directory + "/data", "--to", cluster.url])
            #expect(again.status != 0 && again.stderr.contains("already holds sandboxes"), "\(again.stderr)")

            let server = try await PortholeProcess.start(environment: ["PORTHOLE_STORE": cluster.url])
            defer { server.stop() }
            let host = "\(upstream.httpPort)-moved.preview.localhost"
            #expect(try await Environment.status(port: server.httpPort, host: host, path: "/echo", headers: ["X-Preview-Token: \(token)"]) == 200)
            #expect(
                try await Environment.status(port: server.httpPort, host: host, path: "/echo?preview_token=\(signedToken)", headers: []) == 200,
                "signed before the move, valid after it: the secret moved too")
        }
    }
}
