import PortholeTestSupport
import Foundation
import Testing

/// The server as it is deployed: an unprivileged user with no capabilities (systemd's `porthole`
/// user, the image's `USER 10001`, Kubernetes' `runAsNonRoot`), or root in a container without
/// CAP_NET_ADMIN. A socket option that needs a capability once reset every connection there while
/// a suite running as root passed.
@Suite("Privileges")
struct PrivilegeTests {
    /// The `Uid:` and `CapEff:` lines of /proc/PID/status.
    private func identity(of pid: Int32) throws -> (uid: String, effectiveCapabilities: String) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> String {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) } ?? ""
        }
        return (field("Uid"), field("CapEff"))
    }

    @Test("the end-to-end server runs unprivileged, without capabilities, and serves HTTPS and plain HTTP")
    func unprivilegedServerServes() async throws {
        try await withProxy { env in
            let (uid, capabilities) = try identity(of: env.porthole.process.processIdentifier)
            if geteuid() == 0 {
                #expect(uid.hasPrefix("65534"), "the server must not run as root in the tests: Uid \(uid)")
            }
            #expect(capabilities == "0000000000000000", "the server must hold no capabilities: CapEff \(capabilities)")
            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)
            #expect(try await env.curl.get(env.host("pub"), "/echo", https: false).status == 200)
            let metrics = try await CommandResult.run(
                TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.porthole.adminPort)/metrics"]
            ).stdout
            #expect(metrics.contains("porthole_accept_failures_total 0"))
        }
    }

    @Test("as root without CAP_NET_ADMIN (a container's default) every listener serves", .enabled(if: geteuid() == 0))
    func rootWithoutNetAdminServes() async throws {
        try await withProxy(privileges: .rootWithoutNetAdmin) { env in
            let (uid, capabilities) = try identity(of: env.porthole.process.processIdentifier)
            #expect(uid.hasPrefix("0"))
            // CAP_NET_ADMIN is bit 12.
            let effective = UInt64(capabilities, radix: 16) ?? 0
            #expect(effective != 0 && effective & (1 << 12) == 0, "CapEff \(capabilities)")
            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)
            #expect(try await env.curl.get(env.host("pub"), "/echo", https: false).status == 200)
        }
    }
}
