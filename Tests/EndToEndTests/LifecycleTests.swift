import PortholeTestSupport
import Foundation
import Testing

/// Drains, timeouts and metrics of the real binary.
@Suite("Lifecycle", .serialized)
struct LifecycleTests {
    @Test("SIGTERM: a streaming response in flight completes, a tunnel is closed after its grace, exit 0")
    func drainOnSIGTERM() async throws {
        try await withProxy(arguments: ["--drain-timeout", "20", "--tunnel-grace", "1"]) { env in
            let host = env.host("pub")
            let port = env.porthole.httpsPort
            let stream = try ChildProcess(
                TestPaths.which("curl"),
                ["-sSN", "--cacert", env.porthole.caFile, "--resolve", "\(host):\(port):127.0.0.1", "https://\(host):\(port)/sse"],
                name: "curl -N /sse"
            )
            defer { stream.stop() }
            try await stream.waitFor("the first event", timeout: .seconds(10)) { stdout, _ in stdout.contains("data: first") }

            let wsHost = env.host("pub", port: env.upstream.webSocketPort)
            let tunnel = try ChildProcess(
                TestPaths.which("python3"),
                [TestPaths.peers + "/websocket_client.py", "wss://\(wsHost):\(port)/", env.porthole.caFile, "127.0.0.1", String(port), "ping", "@hold"],
                name: "websocket holder"
            )
            defer { tunnel.stop() }
            try await tunnel.waitFor("the tunnel to open") { stdout, _ in stdout.contains("holding") }

            env.porthole.process.signal(SIGTERM)
            try await env.porthole.process.waitFor("the drain to start") { _, stderr in stderr.contains("draining") }
            // New connections are refused once the listeners close.
            #expect(
                try await eventually {
                    (try? await env.curl.get(host, "/echo").status) == nil
                })
            // The tunnel gets its grace period, then a clean close.
            try await tunnel.waitFor("the tunnel to be closed", timeout: .seconds(10)) { stdout, _ in stdout.contains("closed") }
            #expect(env.porthole.process.isRunning, "the in-flight stream must keep the server alive")

            let release = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.upstream.httpPort)/sse-release"])
            #expect(release.stdout == "released")
            #expect(try await stream.waitForExit(timeout: .seconds(10)) == 0)
            #expect(stream.standardOutput.contains("data: second"))
            #expect(try await env.porthole.process.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    @Test("a slowloris client is cut off after the header timeout while others are served")
    func slowloris() async throws {
        try await withProxy(arguments: ["--header-timeout", "1"]) { env in
            let slow = try RawConnection(port: env.porthole.httpPort)
            try slow.send("GET /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\nX-Slow: ")
            for _ in 0..<5 {
                #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)
            }
            let answer = await slow.readUntilClose()
            #expect(answer.hasPrefix("HTTP/1.1 408 "))
        }
    }

    @Test("a request body that stops, or drips, gets 408 and the connection is closed")
    func requestBodyTimeout() async throws {
        try await withProxy(arguments: ["--request-body-timeout", "1", "--request-body-min-rate", "1000"]) { env in
            let head = "POST /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\nContent-Length: 100\r\n\r\n"
            // One body byte, then silence: before, both connections stayed open for minutes.
            let stalled = try RawConnection(port: env.porthole.httpPort)
            let start = ContinuousClock.now
            try stalled.send(head + "x")
            let stalledAnswer = await stalled.readUntilClose()
            #expect(stalledAnswer.hasPrefix("HTTP/1.1 408 "), "\(stalledAnswer)")
            #expect(stalledAnswer.contains("Connection: close"))
            #expect(ContinuousClock.now - start < .seconds(10))

            // A byte every 300 ms is never a second of silence, but far below 1000 bytes/s.
            let drip = try RawConnection(port: env.porthole.httpPort)
            try drip.send(head)
            var dripAnswer = ""
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(300))
                do { try drip.send("y") } catch { break }  // closed by the proxy
                if drip.hasPendingInput { break }
            }
            dripAnswer = await drip.readUntilClose()
            #expect(dripAnswer.hasPrefix("HTTP/1.1 408 "), "\(dripAnswer)")

            // A body sent at once is unaffected.
            let whole = try RawConnection(port: env.porthole.httpPort)
            try whole.send(head + String(repeating: "z", count: 100))
            #expect(await whole.readResponses(1).first?.hasPrefix("HTTP/1.1 200 ") == true)
        }
    }

    @Test("access log lines carry no tokens or queries")
    func accessLog() async throws {
        try await withProxy { env in
            let token = env.tokens["priv"]!
            _ = try await env.curl.get(env.host("priv"), "/echo?preview_token=\(token)&x=1")
            _ = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "X-Preview-Token: \(token)"])
            // A token put into the path itself, as a path parameter or a segment.
            _ = try await env.curl.get(env.host("priv"), "/x;preview_token=\(token)", arguments: ["-H", "X-Preview-Token: \(token)"])
            _ = try await env.curl.get(env.host("priv"), "/files/\(token)/a", arguments: ["-H", "X-Preview-Token: \(token)"])
            let (stdout, _) = try await env.porthole.process.waitFor("four access log lines") { stdout, _ in
                stdout.split(separator: "\n").filter { $0.contains("\"sandbox\":\"priv\"") }.count >= 4
            }
            #expect(stdout.contains(#""path":"/x;[redacted]""#))
            #expect(stdout.contains(#""path":"/files/[redacted]""#))
            #expect(!stdout.contains(token))
            #expect(!stdout.contains("x=1"))
            let line = try #require(
                stdout.split(separator: "\n").first {
                    $0.contains("\"decision\":\"token\"") && $0.contains("\"path\":\"/echo\"")
                })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(json["status"] as? Int == 200)
            #expect(json["path"] as? String == "/echo")
            #expect(json["method"] as? String == "GET")
            #expect(json["port"] as? Int == env.upstream.httpPort)
        }
    }

    @Test("/metrics counters move as requests flow")
    func metrics() async throws {
        try await withProxy { env in
            func scrape() async throws -> String {
                try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.porthole.adminPort)/metrics"]).stdout
            }
            func value(_ text: String, _ series: String) -> Double {
                PrometheusText.value(of: series, in: text) ?? 0
            }
            let publicOK = #"porthole_requests_total{decision="public",status="2xx"}"#
            let denied = #"porthole_requests_total{decision="denied",status="4xx"}"#
            let before = try await scrape()
            #expect(before.contains("# TYPE porthole_requests_total counter"))
            for _ in 0..<3 { _ = try await env.curl.get(env.host("pub"), "/echo") }
            _ = try await env.curl.get(env.host("priv"), "/echo")
            let after = try await scrape()
            #expect(value(after, publicOK) - value(before, publicOK) == 3)
            #expect(value(after, denied) - value(before, denied) == 1)
            #expect(value(after, "porthole_tls_handshakes_total") >= 4)
            #expect(value(after, "porthole_client_sent_bytes_total") > value(before, "porthole_client_sent_bytes_total"))
            #expect(after.contains("porthole_request_duration_seconds_bucket"))
            #expect(value(after, "porthole_policy_cache_hits_total") > value(before, "porthole_policy_cache_hits_total"))
        }
    }

    @Test("SIGHUP swaps the certificate for new connections while an open one keeps working")
    func certificateReloadOnSIGHUP() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let port = env.porthole.httpsPort
            func serial() async throws -> String {
                let result = try await CommandResult.run(
                    "/bin/sh",
                    ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername \(host) </dev/null 2>/dev/null | openssl x509 -noout -serial"]
                )
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let first = try await serial()
            #expect(first.hasPrefix("serial="))
            // A connection that stays open across the reload (an SSE stream, held by the upstream).
            let stream = try ChildProcess(
                TestPaths.which("curl"),
                ["-sSN", "--cacert", env.porthole.caFile, "--resolve", "\(host):\(port):127.0.0.1", "https://\(host):\(port)/sse"],
                name: "curl -N /sse"
            )
            defer { stream.stop() }
            try await stream.waitFor("the first event") { stdout, _ in stdout.contains("data: first") }

            // A new certificate from the same development CA, in place of the old files.
            let generated = try await env.porthole.runAsServer(
                ["certs", "dev", "--force", "--cert-dir", env.porthole.certificateDirectory]
            )
            #expect(generated.status == 0, "\(generated.stderr)")
            env.porthole.process.signal(SIGHUP)
            #expect(try await eventually { try await serial() != first })

            _ = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.upstream.httpPort)/sse-release"])
            #expect(try await stream.waitForExit(timeout: .seconds(10)) == 0)
            #expect(stream.standardOutput.contains("data: second"))
            #expect(try await env.curl.get(host, "/echo").status == 200)
        }
    }

    @Test("SIGHUP reloads the config file; a bad one is refused and the running configuration stays")
    func configurationReloadOnSIGHUP() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/porthole.json"
        try #"{"base-domain": ["preview.localhost"]}"#.write(toFile: config, atomically: true, encoding: .utf8)
        try await withProxy(arguments: ["--config", config]) { env in
            func status(_ host: String) async throws -> Int {
                let connection = try RawConnection(port: env.porthole.httpPort)
                try connection.send("GET /echo HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                return Int(await connection.readUntilClose().dropFirst(9).prefix(3)) ?? 0
            }
            let otherHost = "\(env.upstream.httpPort)-pub.preview.example"
            #expect(try await status(otherHost) == 400)

            try #"{"base-domain": ["preview.localhost", "preview.example"]}"#.write(toFile: config, atomically: true, encoding: .utf8)
            env.porthole.process.signal(SIGHUP)
            #expect(try await eventually { try await status(otherHost) == 200 })

            try #"{"base-domain": ["preview.localhost"], "no-such-setting": 1}"#.write(toFile: config, atomically: true, encoding: .utf8)
            env.porthole.process.signal(SIGHUP)
            try await env.porthole.process.waitFor("the refusal") { _, stderr in stderr.contains("configuration reload refused") }
            #expect(try await status(otherHost) == 200)
            #expect(env.porthole.process.isRunning)
        }
    }

    @Test("reload metrics: a broken certificate is a failure, from SIGHUP or the file watch, never a reload")
    func reloadFailuresAreCounted() async throws {
        try await withProxy { env in
            func counters() async throws -> (reloads: Double, failures: Double) {
                let text = try await CommandResult.run(
                    TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.porthole.adminPort)/metrics"]
                ).stdout
                func value(_ series: String) -> Double {
                    PrometheusText.value(of: series, in: text) ?? -1
                }
                return (value("porthole_reloads_total"), value("porthole_reload_failures_total"))
            }
            /// Replaces the file whole (rename), so the file watch never sees it half written; 0644
            /// so that the unprivileged server can read it.
            func replace(_ path: String, with contents: Data) throws {
                let partial = path + ".partial"
                #expect(FileManager.default.createFile(atPath: partial, contents: contents, attributes: [.posixPermissions: 0o644]))
                #expect(rename(partial, path) == 0)
            }
            #expect(try await counters() == (0, 0))

            env.porthole.process.signal(SIGHUP)
            #expect(try await eventually { try await counters() == (1, 0) })

            let certificate = env.porthole.certificateDirectory + "/dev-cert.pem"
            let good = try #require(FileManager.default.contents(atPath: certificate))
            try replace(certificate, with: Data("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n".utf8))
            // The file watch (every 2 s) tries the broken file once.
            #expect(try await eventually(timeout: .seconds(10)) { try await counters() == (1, 1) })
            // SIGHUP with broken certificates fails as a whole, though the configuration took.
            env.porthole.process.signal(SIGHUP)
            try await env.porthole.process.waitFor("the refused reload") { _, stderr in
                stderr.components(separatedBy: "TLS certificate reload failed").count == 3
            }
            #expect(try await eventually { try await counters() == (1, 2) })
            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200, "the previous certificate still serves")

            try replace(certificate, with: good)
            #expect(try await eventually(timeout: .seconds(10)) { try await counters() == (2, 2) })
        }
    }

    @Test("a port in use fails the start with exit 1 and a message naming the listener and the address")
    func busyPort() async throws {
        // A port another Porthole already holds: the first one's HTTPS port.
        let first = try await PortholeProcess.start()
        defer { first.stop() }
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (flag, listener) in [("--https-port", "https"), ("--admin-port", "admin")] {
            var arguments = [
                "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0", "--admin-port", "0",
                "--data-dir", directory + "/data", "--cert-dir", directory + "/certs", "--log-level", "warning",
            ]
            let index = try #require(arguments.firstIndex(of: flag))
            arguments[index + 1] = String(first.httpsPort)
            let (executable, privileged) = try ServerPrivileges.unprivileged.command(
                binary: TestPaths.portholeBinary, arguments: arguments, directory: directory
            )
            let result = try await CommandResult.run(executable, privileged, timeout: .seconds(30))
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("the \(listener) listener cannot bind 127.0.0.1:\(first.httpsPort): the address is in use"), "\(result.stderr)")
            #expect(!result.stderr.contains("bind(descriptor:"))
        }
    }
}
