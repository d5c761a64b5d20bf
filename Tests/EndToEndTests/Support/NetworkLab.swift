import PortholeTestSupport
import Foundation

/// Hosts of the egress tests, built from network namespaces on this machine (never the machine's
/// own network or firewall):
///
/// ```
///  sandbox n (ns <p>s<n>)            host (ns <p>h): porthole egress, routing       internet (ns <p>i)
///  eth0 10.77.n.2, fd77:n::2  ──veth──  psb<n> 10.77.n.1, fd77:n::1
///                                       wan0 192.0.2.1, 2001:db8:ffff::1  ──veth──  eth0 192.0.2.2, 2001:db8:ffff::2
///                                                                                    servers: 198.51.100.10, 203.0.113.10,
///                                                                                    169.254.169.254, 2001:db8:1::10
/// ```
/// Every remote address is in a documentation range (or the metadata address, to prove it is
/// never reached). `tearDown()` deletes the namespaces, and with them every link and table.
final class NetworkLab: Sendable {
    let prefix: String
    let sandboxCount: Int

    var host: String { prefix + "h" }
    var internet: String { prefix + "i" }
    func sandbox(_ number: Int) -> String { prefix + "s\(number)" }
    func sandboxIPv4(_ number: Int) -> String { "10.77.\(number).2" }
    func sandboxIPv6(_ number: Int) -> String { "fd77:\(number)::2" }

    static let servers = ["198.51.100.10", "203.0.113.10", "203.0.113.20", "169.254.169.254", "2001:db8:1::10"]
    /// The internet's authoritative DNS server (dnsmasq), and the host's resolver address.
    static let upstreamDNS = "192.0.2.53"
    static let resolver = "10.77.255.53"
    static let serverPort = 7000

    private init(prefix: String, sandboxCount: Int) {
        self.prefix = prefix
        self.sandboxCount = sandboxCount
    }

    static func build(sandboxes: Int) async throws -> NetworkLab {
        let lab = NetworkLab(prefix: "pl" + String(UInt32.random(in: 0 ... .max), radix: 16), sandboxCount: sandboxes)
        do {
            try await lab.setUp()
        } catch {
            await lab.tearDown()
            throw error
        }
        return lab
    }

    private func setUp() async throws {
        for namespace in [host, internet] + (1...sandboxCount).map(sandbox) {
            try await ip(["netns", "add", namespace])
            try await exec(namespace, ["ip", "link", "set", "lo", "up"])
        }
        try await exec(host, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try await exec(host, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        // Host to internet.
        try await exec(host, ["ip", "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", internet])
        try await exec(host, ["ip", "addr", "add", "192.0.2.1/24", "dev", "wan0"])
        try await exec(host, ["ip", "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "wan0", "nodad"])
        try await exec(host, ["ip", "link", "set", "wan0", "up"])
        try await exec(internet, ["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"])
        try await exec(internet, ["ip", "-6", "addr", "add", "2001:db8:ffff::2/64", "dev", "eth0", "nodad"])
        try await exec(internet, ["ip", "link", "set", "eth0", "up"])
        for server in Self.servers {
            let prefixLength = server.contains(":") ? "/128" : "/32"
            try await exec(internet, ["ip", "addr", "add", server + prefixLength, "dev", "lo"] + (server.contains(":") ? ["nodad"] : []))
        }
        for network in ["198.51.100.0/24", "203.0.113.0/24", "169.254.169.254/32"] {
            try await exec(host, ["ip", "route", "add", network, "via", "192.0.2.2"])
        }
        try await exec(host, ["ip", "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:ffff::2"])
        try await exec(internet, ["ip", "addr", "add", Self.upstreamDNS + "/32", "dev", "eth0"])
        try await exec(host, ["ip", "addr", "add", Self.resolver + "/32", "dev", "lo"])
        try await exec(internet, ["ip", "route", "add", "10.77.0.0/16", "via", "192.0.2.1"])
        try await exec(internet, ["ip", "-6", "route", "add", "fd77::/16", "via", "2001:db8:ffff::1"])
        // Host to each sandbox.
        for number in 1...sandboxCount {
            let namespace = sandbox(number)
            try await exec(host, ["ip", "link", "add", "psb\(number)", "type", "veth", "peer", "name", "eth0", "netns", namespace])
            try await exec(host, ["ip", "addr", "add", "10.77.\(number).1/24", "dev", "psb\(number)"])
            try await exec(host, ["ip", "-6", "addr", "add", "fd77:\(number)::1/64", "dev", "psb\(number)", "nodad"])
            try await exec(host, ["ip", "link", "set", "psb\(number)", "up"])
            try await exec(namespace, ["ip", "addr", "add", sandboxIPv4(number) + "/24", "dev", "eth0"])
            try await exec(namespace, ["ip", "-6", "addr", "add", sandboxIPv6(number) + "/64", "dev", "eth0", "nodad"])
            try await exec(namespace, ["ip", "link", "set", "eth0", "up"])
            try await exec(namespace, ["ip", "route", "add", "default", "via", "10.77.\(number).1"])
            try await exec(namespace, ["ip", "-6", "route", "add", "default", "via", "fd77:\(number)::1"])
        }
    }

    func tearDown() async {
        for namespace in [host, internet] + (1...sandboxCount).map(sandbox) {
            _ = try? await CommandResult.run(TestPaths.which("ip"), ["netns", "del", namespace])
        }
    }

    /// Runs `command` inside `namespace`; throws with its output when it fails.
    @discardableResult
    func exec(_ namespace: String, _ command: [String]) async throws -> CommandResult {
        try await ip(["netns", "exec", namespace] + command)
    }

    @discardableResult
    private func ip(_ arguments: [String]) async throws -> CommandResult {
        let result = try await CommandResult.run(TestPaths.which("ip"), arguments)
        guard result.status == 0 else {
            throw TestFailure("ip \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result
    }

    /// Starts a long-running process inside `namespace`.
    func start(_ namespace: String, _ command: [String], name: String) throws -> ChildProcess {
        try ChildProcess(TestPaths.which("ip"), ["netns", "exec", namespace] + command, name: name)
    }

    /// What a sandbox gets when it tries `address`: `reached`, `rejected` or `silent`.
    func probe(from number: Int, _ protocolName: String, _ address: String, port: Int = serverPort, source: String? = nil) async throws -> String {
        var command = ["python3", TestPaths.peers + "/netprobe.py", protocolName, address, String(port), "--timeout", "1"]
        if let source { command += ["--source", source] }
        let result = try await CommandResult.run(TestPaths.which("ip"), ["netns", "exec", sandbox(number)] + command)
        guard result.status == 0 else { throw TestFailure("netprobe failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// dnsmasq in the internet namespace, the authoritative server of some names.
    struct DNSServer: Sendable {
        let pidFile: String
        let log: String

        /// dnsmasq runs as a daemon (it closes every descriptor it inherited, which Foundation's
        /// Process takes for an exit and then waits on forever), so it is stopped by its pid file.
        func stop() {
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                FileHandle.standardError.write(Data("dnsmasq pid file \(pidFile) unreadable: it may still run\n".utf8))
                return
            }
            // SIGKILL: it inherits the test runner's blocked SIGTERM and would not stop otherwise.
            kill(pid, SIGKILL)
        }
    }

    /// Starts dnsmasq in the internet namespace as the authoritative server of `records` (name →
    /// IPv4 address, TTL `ttl`), logging every query it receives.
    /// `large`: names with many addresses each, for answers that do not fit UDP.
    func startDNS(records: [String: String], large: [String: [String]] = [:], ttl: Int = 60, directory: String) async throws -> DNSServer {
        let server = DNSServer(pidFile: directory + "/dnsmasq.pid", log: directory + "/dnsmasq.log")
        var command = [
            "dnsmasq", "--no-resolv", "--no-hosts", "--bind-interfaces",
            "--listen-address=\(Self.upstreamDNS)", "--port=53", "--local-ttl=\(ttl)", "--log-queries", "--log-facility=\(server.log)",
            "--user=root", "--pid-file=\(server.pidFile)",
        ]
        // ready.test: the readiness check's own name, so tests can count queries for theirs.
        for (name, address) in records.sorted(by: { $0.key < $1.key }) + [("ready.test", "192.0.2.53")] {
            command.append("--host-record=\(name),\(address)")
        }
        for (name, addresses) in large {
            command += addresses.map { "--host-record=\(name),\($0)" }
        }
        try await exec(internet, command)
        // Ready when it answers.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let result = try await CommandResult.run(
                TestPaths.which("ip"),
                ["netns", "exec", host, "python3", TestPaths.peers + "/dnsprobe.py", "ready.test", Self.upstreamDNS, "--timeout", "0.5"]
            )
            if result.stdout.hasPrefix("NOERROR") { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw TestFailure("dnsmasq did not answer: \((try? String(contentsOfFile: server.log, encoding: .utf8)) ?? "")")
    }

    /// What a sandbox's resolver says for `name` (any DNS server address: the table redirects it).
    func resolve(from number: Int, _ name: String, server: String = "198.51.100.53", tcp: Bool = false) async throws -> String {
        let command = ["python3", TestPaths.peers + "/dnsprobe.py", name, server, "--timeout", "1.5"] + (tcp ? ["--tcp"] : [])
        let result = try await CommandResult.run(TestPaths.which("ip"), ["netns", "exec", sandbox(number)] + command)
        guard result.status == 0 else { throw TestFailure("dnsprobe failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the echo servers of the internet namespace.
    func startServers() async throws -> ChildProcess {
        let servers = try start(internet, ["python3", "-u", TestPaths.peers + "/netserver.py", String(Self.serverPort)] + Self.servers, name: "netserver")
        try await servers.waitFor("servers ready") { stdout, _ in stdout.contains("ready") }
        return servers
    }
}
