import Foundation
import PortholeTestSupport
import Testing

/// A stopped sandbox woken through the platform's webhook (Peers/wake_receiver.py checks the
/// signature, then starts the sandbox through the admin API).
@Suite("Waking stopped sandboxes", .serialized)
struct WakeTests {
    static let secret = String(repeating: "w", count: 40)

    @Test("requests to a stopped sandbox wait while the platform starts it, and a browser's page reloads itself into the app")
    func wakeThroughTheWebhook() async throws {
        let receiver = try ChildProcess(TestPaths.which("python3"), ["-u", TestPaths.peers + "/wake_receiver.py", Self.secret], name: "wake_receiver.py")
        defer { receiver.stop() }
        let (ready, _) = try await receiver.waitFor("ready line") { stdout, _ in stdout.contains("\n") }
        let receiverPort = try #require(Int(ready.split(separator: "\n")[0].split(separator: " ").last ?? ""))
        let arguments = ["--wake-url", "http://127.0.0.1:\(receiverPort)/wake", "--wake-timeout", "5"]
        try await withProxy(sandboxes: [SandboxSpec(id: "pub", flags: ["--public"])], arguments: arguments, environment: ["PORTHOLE_WAKE_SECRET": Self.secret])
        {
            env in
            let token = try String(contentsOfFile: env.porthole.dataDirectory + "/admin-token", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let configure = try await CommandResult.run(
                TestPaths.which("curl"),
                [
                    "-sS", "-X", "POST", "--data", "{\"adminUrl\": \"http://127.0.0.1:\(env.porthole.adminPort)\", \"adminToken\": \"\(token)\"}",
                    "http://127.0.0.1:\(receiverPort)/configure",
                ])
            #expect(configure.status == 0)
            // Through the admin API, whose writes reach this process's cache at once.
            try await stop(env, token: token)

            // Three programmatic requests at once: held, one webhook call, all answered by the app.
            async let first = env.curl.get(env.host("pub"), "/echo")
            async let second = env.curl.get(env.host("pub"), "/echo")
            async let third = env.curl.get(env.host("pub"), "/echo")
            let answers = try await [first, second, third]
            #expect(answers.map(\.status) == [200, 200, 200], "\(answers.map(\.text))")
            let calls = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(receiverPort)/calls"])
            let list = try #require(try JSONSerialization.jsonObject(with: Data(calls.stdout.utf8)) as? [[String: Any]])
            #expect(list.count == 1, "\(list)")
            #expect(list.first?["sandboxId"] as? String == "pub")
            #expect(list.first?["port"] as? Int == env.upstream.httpPort)

            // Stopped again: a browser gets the starting page, which reloads itself into the app.
            try await stop(env, token: token)
            let artifacts = NSTemporaryDirectory() + "porthole-test-artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            let origin = "https://\(env.host("pub", port: env.upstream.webSocketPort)):\(env.porthole.httpsPort)"
            let browser = try await CommandResult.run(
                TestPaths.which("python3"), [TestPaths.peers + "/browser_wake.py", origin, artifacts + "/sandbox-starting.png"],
                timeout: .seconds(90))
            #expect(browser.status == 0, "\(browser.stderr)")
            let output = try browser.json()
            let firstAnswer = try #require(output["first"] as? [String: Any], "\(output)")
            #expect(firstAnswer["status"] as? Int == 503)
            #expect(output["final"] as? String == "echo: hello from the page", "\(output)")
        }
    }

    private func stop(_ env: ProxyEnvironment, token: String) async throws {
        let stopped = try await CommandResult.run(
            TestPaths.which("curl"),
            [
                "-sS", "-X", "PATCH", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
                "--data", "{\"state\": \"stopped\"}", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:\(env.porthole.adminPort)/v1/sandboxes/pub",
            ])
        #expect(stopped.stdout == "200", "\(stopped.stderr)")
    }
}
