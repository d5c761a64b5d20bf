import PortholeTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Porthole behind a real HAProxy in TCP mode sending PROXY protocol v2, as several instances
/// run behind a balancer.
@Suite("Behind HAProxy", .serialized)
struct LoadBalancerTests {
    @Test("PROXY v2 carries the client's address to the sandbox; the health check sees the drain")
    func haproxyProxyProtocol() async throws {
        let haproxy = TestPaths.which("haproxy")
        try #require(FileManager.default.isExecutableFile(atPath: haproxy), "haproxy is not installed (.ci/run installs it)")
        try await withProxy(arguments: ["--proxy-protocol", "http", "--drain-delay", "5", "--drain-timeout", "5"]) { env in
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let frontendPort = try Self.freePort()
            let statsSocket = directory + "/stats.sock"
            let config = """
                global
                    stats socket \(statsSocket) level admin
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                frontend preview
                    bind 127.0.0.1:\(frontendPort)
                    default_backend porthole
                backend porthole
                    option httpchk
                    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host preview.localhost
                    http-check expect status 200
                    server p1 127.0.0.1:\(env.porthole.httpPort) send-proxy-v2 check check-send-proxy inter 200ms fall 1 rise 1

                """
            try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
            let balancer = try ChildProcess(haproxy, ["-db", "-f", directory + "/haproxy.cfg"], name: "haproxy")
            defer { balancer.stop() }
            #expect(try await eventually(timeout: .seconds(10)) { Self.serverStatus(statsSocket) == "UP" })

            // The client connects from 127.0.0.2; HAProxy reaches Porthole from 127.0.0.1.
            let result = try await CommandResult.run(
                TestPaths.which("curl"),
                [
                    "-sS", "--interface", "127.0.0.2", "-H", "Host: \(env.host("pub"))", "-H", "X-Forwarded-For: 6.6.6.6",
                    "http://127.0.0.1:\(frontendPort)/echo",
                ]
            )
            #expect(result.stdout.contains("[\"X-Forwarded-For\", \"127.0.0.2\"]"), "\(result.stdout) \(result.stderr)")

            env.porthole.process.signal(SIGTERM)
            #expect(try await eventually(timeout: .seconds(4)) { Self.serverStatus(statsSocket) == "DOWN" })
            #expect(try await env.porthole.process.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    /// The backend server's status from HAProxy's stats socket ("UP", "DOWN", …).
    static func serverStatus(_ socketPath: String) -> String? {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        let command = Array("show stat\n".utf8)
        _ = command.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            output += chunk[0..<count]
        }
        // CSV: pxname,svname,…; field 18 (index 17) is status.
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") where line.hasPrefix("porthole,p1,") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if fields.count > 17 { return String(fields[17]).split(separator: " ").first.map(String.init) }
        }
        return nil
    }

    /// A port that was free a moment ago (HAProxy cannot bind port 0 and report it).
    static func freePort() throws -> Int {
        try TestPaths.freePort()
    }
}
