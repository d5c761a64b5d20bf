import PortholeTestSupport
import Foundation
import Testing

/// `porthole egress` against a real kernel: its table in a "host" network namespace that routes
/// sandbox namespaces to an "internet" namespace, real TCP, UDP and ICMP from inside the sandboxes
/// (NetworkLab). The agent runs as deploy/ runs it: `nobody` with CAP_NET_ADMIN only; the policies
/// come from a real `porthole serve` through its admin API.
@Suite("Egress", .serialized, .enabled(if: geteuid() == 0, "network namespaces need root"))
struct EgressTests {
    final class Environment {
        let lab: NetworkLab
        let porthole: PortholeProcess
        var agent: ChildProcess
        /// dnsmasq's query log, when the test has a DNS server.
        var dnsLog = ""

        init(lab: NetworkLab, porthole: PortholeProcess, agent: ChildProcess) {
            self.lab = lab
            self.porthole = porthole
            self.agent = agent
        }

        /// The agent's /metrics, read inside the host namespace.
        func metrics() async throws -> String {
            try await lab.exec(lab.host, ["curl", "-sS", "http://127.0.0.1:9464/metrics"]).stdout
        }

        func probe(_ sandbox: Int, _ protocolName: String, _ address: String, port: Int = NetworkLab.serverPort, source: String? = nil) async throws -> String {
            try await lab.probe(from: sandbox, protocolName, address, port: port, source: source)
        }
    }

    /// A sandbox record: the lab's sandbox `number`, by its IPv4 (or IPv6) address.
    struct Record {
        var id: String
        var sandbox: Int
        var flags: [String] = []
        var ipv6 = false
    }

    static func startAgent(
        _ lab: NetworkLab, _ porthole: PortholeProcess, resolver: Bool = false, minimumTTL: Int = 1, extra: [String] = []
    ) async throws -> ChildProcess {
        var egress = ["egress", "--data-dir", porthole.dataDirectory, "--sandbox-interface", "psb*", "--metrics-address", "127.0.0.1:9464"]
        if resolver {
            // By default a 1-second floor and grace, so the test sees a resolved address expire.
            egress += [
                "--resolver-address", NetworkLab.resolver, "--upstream-dns", NetworkLab.upstreamDNS,
                "--dns-minimum-ttl", String(minimumTTL), "--dns-grace", "1",
            ]
        }
        egress += extra
        let (executable, arguments) = try ServerPrivileges.egressAgent.command(
            binary: TestPaths.portholeBinary, arguments: egress, directory: porthole.directory
        )
        let agent = try lab.start(lab.host, [executable] + arguments, name: "porthole egress")
        try await agent.waitFor("the table") { _, stderr in
            stderr.contains("egress table rebuilt") && (!resolver || stderr.contains("resolver listening"))
        }
        return agent
    }

    func withEgress(
        sandboxes: Int, organizations: [[String]] = [], records: [Record], resolver: Bool = false, dns: [String: String] = [:],
        largeDNS: [String: [String]] = [:],
        minimumTTL: Int = 1, agentFiles: [String: String] = [:], agentArguments: [String] = [],
        _ body: (Environment) async throws -> Void
    ) async throws {
        let lab = try await NetworkLab.build(sandboxes: sandboxes)
        var dnsLogText = ""
        do {
            let servers = try await lab.startServers()
            defer { servers.stop() }
            let porthole = try await PortholeProcess.start()
            defer { porthole.stop() }
            var dnsServer: NetworkLab.DNSServer? = nil
            defer { dnsServer?.stop() }
            if !dns.isEmpty {
                let started = try await lab.startDNS(records: dns, large: largeDNS, ttl: 1, directory: porthole.directory)
                dnsServer = started
                dnsLogText = started.log
            }
            for arguments in organizations {
                let created = try await porthole.cli(arguments, command: "org")
                guard created.status == 0 else { throw TestFailure("org \(arguments): \(created.stderr)") }
            }
            for record in records {
                let target = record.ipv6 ? lab.sandboxIPv6(record.sandbox) : lab.sandboxIPv4(record.sandbox)
                let created = try await porthole.cli(["create", "--id", record.id, "--target", target] + record.flags)
                guard created.status == 0 else { throw TestFailure("create \(record.id): \(created.stderr)") }
            }
            // Files the agent reads (as nobody): beside the data directory, world-readable.
            for (name, text) in agentFiles {
                let path = porthole.directory + "/" + name
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o644)
            }
            let extra = agentArguments.map { $0.replacingOccurrences(of: "{dir}", with: porthole.directory) }
            let agent = try await Self.startAgent(lab, porthole, resolver: resolver, minimumTTL: minimumTTL, extra: extra)
            let environment = Environment(lab: lab, porthole: porthole, agent: agent)
            environment.dnsLog = dnsLogText
            defer { environment.agent.stop() }
            try await body(environment)
        } catch {
            await lab.tearDown()
            throw error
        }
        await lab.tearDown()
    }

    @Test("each class: open reaches everything but the never set, block-all nothing, an allow list only its networks")
    func classes() async throws {
        try await withEgress(
            sandboxes: 4,
            records: [
                Record(id: "open", sandbox: 1),
                Record(id: "blocked", sandbox: 2, flags: ["--network-block-all"]),
                Record(id: "listed", sandbox: 3, flags: ["--network-allow-list", "198.51.100.0/24"]),
                Record(id: "tier1", sandbox: 4, flags: ["--tier", "1"]),
            ]
        ) { env async throws in
            for protocolName in ["tcp", "udp", "icmp"] {
                let got = try await env.probe(1, protocolName, "198.51.100.10")
                #expect(got == "reached", "open \(protocolName): \(got)")
                #expect(try await env.probe(1, protocolName, "203.0.113.10") == "reached", "open \(protocolName)")
                #expect(try await env.probe(2, protocolName, "198.51.100.10") == "silent", "blocked \(protocolName)")
                #expect(try await env.probe(3, protocolName, "198.51.100.10") == "reached", "listed \(protocolName)")
                #expect(try await env.probe(3, protocolName, "203.0.113.10") == "rejected", "listed \(protocolName)")
                #expect(try await env.probe(4, protocolName, "198.51.100.10") == "rejected", "tier 1 \(protocolName)")
            }
            // Never reachable, whatever the class: the metadata address, the host itself.
            #expect(try await env.probe(1, "tcp", "169.254.169.254") == "silent")
            #expect(try await env.probe(1, "icmp", "10.77.1.1") == "silent")
            #expect(try await env.probe(1, "icmp", "192.0.2.1") == "silent")
            // The records' own addresses only: the open sandbox's IPv6 address has no record.
            #expect(try await env.probe(1, "tcp", "2001:db8:1::10") == "silent")
            // The drops are counted by reason, the sandboxes by class.
            let metrics = try await env.metrics()
            for reason in ["blocked_all", "not_allowed", "never_reachable", "unknown_source"] {
                #expect(!metrics.contains("porthole_egress_packets_dropped_total{reason=\"\(reason)\"} 0\n"), "\(reason): \(metrics)")
            }
            #expect(metrics.contains("porthole_egress_sandboxes{class=\"allow_list\"} 1\n"))
            #expect(metrics.contains("porthole_egress_sandboxes{class=\"restricted\"} 1\n"))
        }
    }

    @Test("identity: a spoofed or unknown source address gets nothing; IPv6 follows the same rules")
    func identityAndIPv6() async throws {
        try await withEgress(
            sandboxes: 3,
            records: [
                Record(id: "open", sandbox: 1),
                Record(id: "neighbour", sandbox: 2),
                Record(id: "six", sandbox: 3, ipv6: true),
            ]
        ) { env async throws in
            // Sandbox 1 takes sandbox 2's address (also open): its packets do not route back
            // through its own link, so they are dropped.
            try await env.lab.exec(env.lab.sandbox(1), ["ip", "addr", "add", "10.77.2.2/32", "dev", "eth0"])
            #expect(try await env.probe(1, "tcp", "198.51.100.10", source: "10.77.2.2") == "silent")
            // An address on its own link that no record names.
            try await env.lab.exec(env.lab.sandbox(1), ["ip", "addr", "add", "10.77.1.99/24", "dev", "eth0"])
            #expect(try await env.probe(1, "tcp", "198.51.100.10", source: "10.77.1.99") == "silent")
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "reached")
            // IPv6 sandbox: open over IPv6, and its IPv4 address (no record) has no network.
            #expect(try await env.probe(3, "tcp", "2001:db8:1::10") == "reached")
            #expect(try await env.probe(3, "icmp", "2001:db8:1::10") == "reached")
            #expect(try await env.probe(3, "tcp", "198.51.100.10") == "silent")
            let blocked = try await env.porthole.cli(["network", "six", "--block-all", "true"])
            #expect(blocked.status == 0, "\(blocked.stderr)")
            #expect(try await eventually(timeout: .seconds(3)) { try await env.probe(3, "tcp", "2001:db8:1::10") == "silent" })
        }
    }

    @Test("a change through the admin API is in the kernel within a second; a restart of the agent opens no window")
    func changesAndRestart() async throws {
        try await withEgress(sandboxes: 1, records: [Record(id: "sb", sandbox: 1)]) { env async throws in
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "reached")
            let start = ContinuousClock.now
            let changed = try await env.porthole.cli(["network", "sb", "--block-all", "true"])
            #expect(changed.status == 0, "\(changed.stderr)")
            let answered = ContinuousClock.now
            // Poll the kernel's table (not the network) for the moment the element changed.
            var inKernel: Duration? = nil
            while ContinuousClock.now - answered < .seconds(3) {
                let map = try await env.lab.exec(env.lab.host, ["nft", "list", "map", "inet", "porthole", "class_v4"])
                if map.stdout.contains("10.77.1.2 : jump block_all") {
                    inKernel = ContinuousClock.now - answered
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let delay = try #require(inKernel, "the change never reached the kernel")
            #expect(delay < .seconds(1), "from the API's answer to the kernel: \(delay) (API call took \(answered - start))")
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "silent")

            // The agent stops: the table stays in force. It starts again: still in force, rebuilt.
            env.agent.stop()
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "silent")
            env.agent = try await Self.startAgent(env.lab, env.porthole)
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "silent")
            // Changes made while it was away are applied at its start.
            env.agent.stop()
            let reopened = try await env.porthole.cli(["network", "sb", "--block-all", "false"])
            #expect(reopened.status == 0)
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "silent")
            env.agent = try await Self.startAgent(env.lab, env.porthole)
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "reached")
            // A deleted record takes the sandbox's network with it.
            let deleted = try await env.porthole.cli(["delete", "sb"])
            #expect(deleted.status == 0)
            #expect(try await eventually(timeout: .seconds(3)) { try await env.probe(1, "tcp", "198.51.100.10") == "silent" })
        }
    }

    @Test("DNS goes to Porthole's resolver: names outside the lists are refused and never leave, answers open the way for their TTL")
    func resolver() async throws {
        let dns = ["pypi.org": "203.0.113.20", "blocked.example": "203.0.113.10", "open.example": "198.51.100.10"]
        try await withEgress(
            sandboxes: 4,
            records: [
                Record(id: "open", sandbox: 1),
                Record(id: "listed", sandbox: 2, flags: ["--network-allow-list", "192.0.2.0/24", "--domain-allow-list", "open.example"]),
                Record(id: "tier1", sandbox: 3, flags: ["--tier", "1"]),
                Record(id: "blocked", sandbox: 4, flags: ["--network-block-all"]),
            ], resolver: true, dns: dns, largeDNS: ["many.example": (100..<200).map { "203.0.113.\($0)" }]
        ) { env async throws in
            let lab = env.lab
            // An answer too large for UDP (100 addresses): truncated over UDP, whole over TCP,
            // which the resolver then fetches upstream over TCP too.
            #expect(try await lab.resolve(from: 1, "many.example") == "NOERROR TC")
            let whole = try await lab.resolve(from: 1, "many.example", tcp: true)
            #expect(whole.hasPrefix("NOERROR ") && whole.split(separator: ",").count == 100, "\(whole)")
            // Restricted: nothing before a lookup; an essential name opens its address (over UDP
            // to any server address: the table redirects it), for its TTL (1 s + 1 s grace here).
            #expect(try await env.probe(3, "tcp", "203.0.113.20") == "rejected")
            #expect(try await lab.resolve(from: 3, "pypi.org") == "NOERROR 203.0.113.20")
            #expect(try await env.probe(3, "tcp", "203.0.113.20") == "reached")
            try await Task.sleep(for: .seconds(3))
            #expect(try await env.probe(3, "tcp", "203.0.113.20") == "rejected", "the address expires with its TTL")
            #expect(try await lab.resolve(from: 3, "pypi.org", tcp: true) == "NOERROR 203.0.113.20", "DNS over TCP")
            // A name on no list: REFUSED, and the upstream server never hears of it.
            #expect(try await lab.resolve(from: 3, "blocked.example") == "REFUSED")
            #expect(try await lab.resolve(from: 2, "blocked.example") == "REFUSED")
            #expect(try await lab.resolve(from: 3, "secret-data.attacker.example") == "REFUSED")
            // A domain allow list: only what the sandbox itself resolved, for as long as the answer lives.
            #expect(try await env.probe(2, "tcp", "198.51.100.10") == "rejected")
            #expect(try await lab.resolve(from: 2, "open.example") == "NOERROR 198.51.100.10")
            #expect(try await env.probe(2, "tcp", "198.51.100.10") == "reached")
            #expect(try await env.probe(3, "tcp", "198.51.100.10") == "rejected", "another sandbox's answer opens nothing for it")
            // Allow list: essential names too.
            #expect(try await lab.resolve(from: 2, "pypi.org") == "NOERROR 203.0.113.20")
            #expect(try await env.probe(2, "tcp", "203.0.113.20") == "reached")
            // Open: any name; DNS over TLS around the resolver is dropped.
            #expect(try await lab.resolve(from: 1, "blocked.example") == "NOERROR 203.0.113.10")
            #expect(try await env.probe(1, "tcp", "198.51.100.10", port: 853) == "silent")
            // Block-all: no DNS at all.
            #expect(try await lab.resolve(from: 4, "pypi.org") == "silent")
            // Only the open sandbox's lookup of blocked.example reached the upstream server.
            let log = (try? String(contentsOfFile: env.dnsLog, encoding: .utf8)) ?? ""
            #expect(log.components(separatedBy: "query[A] blocked.example").count - 1 == 1, "\(log)")
            #expect(!log.contains("attacker.example"))
            let metrics = try await env.metrics()
            #expect(metrics.contains("porthole_egress_dns_queries_total{outcome=\"name_not_allowed\"} 3\n"), "\(metrics)")
            #expect(!metrics.contains("porthole_egress_dns_queries_total{outcome=\"answered\"} 0\n"))
        }
    }

    @Test("the organisation list opens its networks and names to restricted sandboxes only; a changed domain list revokes what was resolved")
    func organizationListAndRevocation() async throws {
        let dns = ["org.example": "203.0.113.10", "mine.example": "203.0.113.20"]
        try await withEgress(
            sandboxes: 2,
            records: [
                Record(id: "restricted", sandbox: 1, flags: ["--tier", "2"]),
                Record(id: "listed", sandbox: 2, flags: ["--domain-allow-list", "mine.example"]),
            ], resolver: true, dns: dns, minimumTTL: 300,
            agentFiles: ["organization.txt": "# the operator's list\n198.51.100.10/32\norg.example\n"],
            agentArguments: ["--organization-allow-list", "{dir}/organization.txt", "--essential-services", "none"]
        ) { env async throws in
            let lab = env.lab
            // Restricted: the organisation's network, and its name once resolved.
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "reached")
            #expect(try await env.probe(1, "tcp", "203.0.113.10") == "rejected")
            #expect(try await lab.resolve(from: 1, "org.example") == "NOERROR 203.0.113.10")
            #expect(try await env.probe(1, "tcp", "203.0.113.10") == "reached")
            #expect(try await lab.resolve(from: 1, "mine.example") == "REFUSED", "another sandbox's list is not the organisation's")
            // Allow list (tier 3): the organisation list is not for it.
            #expect(try await env.probe(2, "tcp", "198.51.100.10") == "rejected")
            #expect(try await lab.resolve(from: 2, "org.example") == "REFUSED")
            // Its own name opens its address, with a 300 s lifetime here...
            #expect(try await lab.resolve(from: 2, "mine.example") == "NOERROR 203.0.113.20")
            #expect(try await env.probe(2, "tcp", "203.0.113.20") == "reached")
            // ...until its domain list changes: then what it resolved goes, within a second.
            let changed = try await env.porthole.cli(["network", "listed", "--domain-allow-list", "other.example"])
            #expect(changed.status == 0, "\(changed.stderr)")
            #expect(try await eventually(timeout: .seconds(3)) { try await env.probe(2, "tcp", "203.0.113.20") == "rejected" })
        }
    }

    @Test("an organisation's own allow lists open to its restricted sandboxes only, and a change of them reaches the kernel")
    func organizationOwnAllowLists() async throws {
        let dns = ["mine.example": "203.0.113.20"]
        try await withEgress(
            sandboxes: 2,
            organizations: [["create", "acme", "--tier", "2", "--network-allow-list", "198.51.100.10/32", "--domain-allow-list", "mine.example"]],
            records: [
                Record(id: "member", sandbox: 1, flags: ["--org", "acme"]),
                Record(id: "stranger", sandbox: 2, flags: ["--tier", "2"]),
            ], resolver: true, dns: dns, minimumTTL: 300, agentArguments: ["--essential-services", "none"]
        ) { env async throws in
            let lab = env.lab
            #expect(try await env.probe(1, "tcp", "198.51.100.10") == "reached")
            #expect(try await env.probe(2, "tcp", "198.51.100.10") == "rejected", "another restricted sandbox does not get acme's list")
            #expect(try await lab.resolve(from: 1, "mine.example") == "NOERROR 203.0.113.20")
            #expect(try await env.probe(1, "tcp", "203.0.113.20") == "reached")
            #expect(try await lab.resolve(from: 2, "mine.example") == "REFUSED")
            #expect(try await env.probe(1, "tcp", "203.0.113.10") == "rejected", "nothing else")
            let egress = try await env.porthole.cli(["egress", "member", "--json"])
            #expect(egress.stdout.contains("198.51.100.10/32") && egress.stdout.contains("mine.example"), "\(egress.stdout)")

            // acme's lists change: its sandboxes follow within a second, resolved names included.
            let changed = try await env.porthole.cli(
                ["set-allow-list", "acme", "--network-allow-list", "", "--domain-allow-list", "other.example"], command: "org")
            #expect(changed.status == 0, "\(changed.stderr)")
            #expect(try await eventually(timeout: .seconds(3)) { try await env.probe(1, "tcp", "198.51.100.10") == "rejected" })
            #expect(try await eventually(timeout: .seconds(3)) { try await env.probe(1, "tcp", "203.0.113.20") == "rejected" })
        }
    }

    @Test("GET /v1/sandboxes/{id}/egress shows what the agent enforces: resolved addresses with their lifetime, drops by reason")
    func reports() async throws {
        let dns = ["mine.example": "203.0.113.20"]
        try await withEgress(
            sandboxes: 3,
            records: [
                Record(id: "listed", sandbox: 1, flags: ["--domain-allow-list", "mine.example"]),
                Record(id: "blocked", sandbox: 2, flags: ["--network-block-all"]),
                Record(id: "open", sandbox: 3),
            ], resolver: true, dns: dns, minimumTTL: 300, agentArguments: ["--report-interval", "1"]
        ) { env async throws in
            let lab = env.lab
            #expect(try await lab.resolve(from: 1, "mine.example") == "NOERROR 203.0.113.20")
            #expect(try await env.probe(1, "tcp", "203.0.113.20") == "reached")
            // Asked again while the address is in the kernel for as long as the answer needs: no
            // new transaction. (dnsmasq answers TTL 1 here, floored to 300 s, so each new second
            // needs one more second of lifetime: at most one transaction per second.)
            let before = try await env.metrics()
            let firstSecond = Int(Date().timeIntervalSince1970)
            for _ in 0..<5 { #expect(try await lab.resolve(from: 1, "mine.example") == "NOERROR 203.0.113.20") }
            let seconds = Int(Date().timeIntervalSince1970) - firstSecond + 1
            let after = try await env.metrics()
            let transactions = try #require(Self.metric(before, "porthole_egress_resolved_transactions_total"), "\(before)")
            #expect(transactions == 1)
            let more = (Self.metric(after, "porthole_egress_resolved_transactions_total") ?? 99) - transactions
            #expect(more <= min(seconds, 5), "5 answers over \(seconds) s took \(more) transactions")
            for _ in 0..<2 { #expect(try await env.probe(1, "tcp", "198.51.100.10") == "rejected") }
            #expect(try await env.probe(1, "tcp", "169.254.169.254") == "silent")
            for _ in 0..<3 { #expect(try await env.probe(2, "udp", "198.51.100.10") == "silent") }

            func egress(_ id: String) async throws -> [String: Any] {
                let result = try await env.porthole.cli(["egress", id, "--json"])
                guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
                    throw TestFailure("egress \(id): \(result.stderr)")
                }
                return object
            }
            func drops(_ object: [String: Any]) -> [String: Int] {
                let enforcement = object["enforcement"] as? [String: Any]
                return (enforcement?["droppedPackets"] as? [String: Int]) ?? [:]
            }
            // Reported within a couple of report intervals.
            #expect(
                try await eventually(timeout: .seconds(5)) {
                    let listed = drops(try await egress("listed"))
                    return listed["notAllowed"] ?? 0 >= 2 && listed["neverReachable"] ?? 0 >= 1
                })
            let listed = try await egress("listed")
            let enforcement = try #require(listed["enforcement"] as? [String: Any], "\(listed)")
            #expect(enforcement["appliedClass"] as? String == "allow_list")
            #expect(drops(listed)["blockedAll"] == 0)
            let resolved = try #require(enforcement["resolvedAddresses"] as? [[String: Any]])
            #expect(resolved.count == 1)
            #expect(resolved.first?["name"] as? String == "mine.example")
            #expect(resolved.first?["address"] as? String == "203.0.113.20")
            #expect(resolved.first?["shared"] as? Bool == false)
            let lifetime = resolved.first?["expiresInSeconds"] as? Int ?? 0
            #expect(lifetime > 250 && lifetime <= 301, "300 s floor plus 1 s grace: \(lifetime)")
            #expect(try await eventually(timeout: .seconds(5)) { drops(try await egress("blocked"))["blockedAll"] ?? 0 >= 3 })
            // The open sandbox dropped nothing; the human-readable form says the same as the JSON.
            #expect(try await eventually(timeout: .seconds(5)) { try await egress("open")["enforcement"] is [String: Any] })
            #expect(drops(try await egress("open")) == ["blockedAll": 0, "neverReachable": 0, "notAllowed": 0])
            let text = try await env.porthole.cli(["egress", "listed"])
            #expect(text.stdout.contains("mine.example 203.0.113.20"), "\(text.stdout)")
            // A deleted sandbox's report goes with it; one recreated at the address starts from zero.
            #expect(try await env.porthole.cli(["delete", "listed"]).status == 0)
            #expect(try await env.porthole.cli(["create", "--id", "again", "--target", lab.sandboxIPv4(1), "--domain-allow-list", "mine.example"]).status == 0)
            #expect(
                try await eventually(timeout: .seconds(3)) { try await env.probe(1, "tcp", "203.0.113.20") == "rejected" },
                "what the deleted sandbox resolved is not the new one's")
            #expect(try await eventually(timeout: .seconds(5)) { try await egress("again")["enforcement"] is [String: Any] })
            #expect(drops(try await egress("again"))["notAllowed"] ?? 0 <= 1, "the counters of the address started again")
        }
    }

    @Test("on a shared PostgreSQL store the agent follows changes made through any writer, within a second")
    func sharedStore() async throws {
        try #require(PostgresCluster.isInstalled, "PostgreSQL is not installed (.ci/run installs it)")
        try await PostgresCluster.with { cluster in
            let lab = try await NetworkLab.build(sandboxes: 1)
            do {
                let servers = try await lab.startServers()
                defer { servers.stop() }
                let porthole = try await PortholeProcess.start(environment: ["PORTHOLE_STORE": cluster.url])
                defer { porthole.stop() }
                #expect(try await porthole.cli(["create", "--id", "sb", "--target", lab.sandboxIPv4(1)]).status == 0)
                // The agent is in the host namespace, where 127.0.0.1 is not this one: the UNIX socket.
                let agent = try await Self.startAgent(lab, porthole, extra: ["--store", cluster.socketURL])
                defer { agent.stop() }
                #expect(try await lab.probe(from: 1, "tcp", "198.51.100.10") == "reached")

                // Written directly to the database by another writer (the CLI with --store)...
                let direct = try await CommandResult.run(
                    TestPaths.portholeBinary, ["sandbox", "network", "sb", "--block-all", "true", "--store", cluster.url]
                )
                #expect(direct.status == 0, "\(direct.stderr)")
                #expect(try await eventually(timeout: .seconds(1)) { try await Self.inKernel(lab, "10.77.1.2 : jump block_all") })
                #expect(try await lab.probe(from: 1, "tcp", "198.51.100.10") == "silent")
                // ...and through the instance's admin API.
                #expect(try await porthole.cli(["network", "sb", "--block-all", "false"]).status == 0)
                #expect(try await eventually(timeout: .seconds(1)) { try await Self.inKernel(lab, "10.77.1.2 : jump open") })
                #expect(try await lab.probe(from: 1, "tcp", "198.51.100.10") == "reached")
            } catch {
                await lab.tearDown()
                throw error
            }
            await lab.tearDown()
        }
    }

    /// The value of an unlabelled metric in Prometheus text.
    static func metric(_ text: String, _ name: String) -> Int? {
        PrometheusText.value(of: name, in: text).map { Int($0) }
    }

    static func inKernel(_ lab: NetworkLab, _ element: String) async throws -> Bool {
        try await lab.exec(lab.host, ["nft", "list", "map", "inet", "porthole", "class_v4"]).stdout.contains(element)
    }

    @Test("1,000 sandboxes loaded, then one changed: only its elements change in the kernel")
    func oneOfAThousand() async throws {
        try await withEgress(sandboxes: 1, records: []) { env async throws in
            try await Self.changeOneOfAThousand(env)
        }
    }

    private static func changeOneOfAThousand(_ env: Environment) async throws {
        // 1,000 records through the admin API on one keep-alive connection.
        let data = env.porthole.dataDirectory
        let url = try String(contentsOfFile: data + "/admin-url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let token = try String(contentsOfFile: data + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let created = try await CommandResult.run(
            TestPaths.which("python3"), [TestPaths.peers + "/create_many.py", url, token, "1000"], timeout: .seconds(120)
        )
        #expect(created.stdout.contains("created"), "\(created.stderr)")
        let lab = env.lab
        let loaded = try await eventually(timeout: .seconds(5)) {
            let map = try await lab.exec(lab.host, ["nft", "list", "map", "inet", "porthole", "class_v4"])
            return map.stdout.contains("10.78.3.250 : jump")
        }
        #expect(loaded, "the agent loads all 1,000")
        let monitor = try lab.start(lab.host, ["nft", "monitor", "elements"], name: "nft monitor")
        do {
            // A marker change first, so the monitor is known to be listening.
            _ = try await env.porthole.cli(["network", "many0999", "--block-all", "true"])
            try await monitor.waitFor("the marker change") { stdout, _ in stdout.contains("10.78.3.250 : jump block_all") }
            let before = monitor.standardOutput.count
            // The change under test: many0000 (allow list) becomes block-all.
            _ = try await env.porthole.cli(["network", "many0000", "--block-all", "true"])
            try await monitor.waitFor("the change") { stdout, _ in stdout.contains("10.78.0.1 : jump block_all") }
            try await Task.sleep(for: .milliseconds(600))  // two more polls: nothing else may follow
            let lines = String(monitor.standardOutput.dropFirst(before)).split(separator: "\n").map(String.init)
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(line.contains("10.78.0.1 "), "only the changed sandbox's elements: \(line)")
            }
        } catch {
            monitor.stop()
            throw error
        }
        monitor.stop()
    }

}
