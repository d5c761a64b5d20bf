import PortholeTestSupport
import Foundation
import Testing

/// The Daytona SDK from PyPI, unchanged (`Peers/daytona_sdk.py`), pointed at `porthole serve` with
/// only `DAYTONA_API_URL` / `DAYTONA_API_KEY`: the network-limits and preview documentation's
/// examples work, and what Porthole does not do fails with the SDK's own error classes.
@Suite("Daytona SDK", .serialized)
struct DaytonaSDKTests {
    private func sdk(_ env: ProxyEnvironment, _ scenario: String, key: String? = nil, environment: [String: String] = [:]) async throws
        -> [String: Any]
    {
        let adminToken = try String(contentsOfFile: env.porthole.dataDirectory + "/admin-token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let arguments = [
            TestPaths.peers + "/daytona_sdk.py", scenario, "http://127.0.0.1:\(env.porthole.adminPort)/api", env.porthole.caFile,
            String(env.porthole.httpsPort), String(env.upstream.httpPort),
        ]
        let result = try await CommandResult.run(
            TestPaths.which("python3"), arguments, environment: environment.merging(["DAYTONA_API_KEY": key ?? adminToken]) { $1 },
            timeout: .seconds(120)
        )
        #expect(result.status == 0, "\(result.stderr)")
        return try result.json()
    }

    private func withDaytonaProxy(defaultTarget: Bool = true, _ body: (ProxyEnvironment) async throws -> Void) async throws {
        try await withProxy(sandboxes: [], arguments: defaultTarget ? ["--default-target", "127.0.0.1"] : [], body)
    }

    @Test("network limits: block all, the documentation's allow list, the defaults, changes, and the errors of bad lists")
    func networkLimits() async throws {
        try await withDaytonaProxy { env in
            let out = try await sdk(env, "network")
            #expect(out["blockAll"] as? String == "true null started")
            #expect(out["allowList"] as? String == "false 208.80.154.232/32,199.16.156.103/32,192.168.1.0/24 started")
            #expect(out["default"] as? String == "false null started")
            #expect(out["updated"] as? String == "false 10.0.0.0/8 started")
            #expect(out["blockedAgain"] as? String == "true null started")
            let badCIDR = out["badCIDR"] as? [String: Any] ?? [:]
            #expect(badCIDR["class"] as? String == "DaytonaBadRequestError" && badCIDR["status"] as? Int == 400, "\(badCIDR)")
            #expect((badCIDR["message"] as? String ?? "").contains("10.0.0.300/8"), "the message names the bad entry")
            let six = out["sixCIDRs"] as? [String: Any] ?? [:]
            #expect(six["class"] as? String == "DaytonaBadRequestError" && (six["message"] as? String ?? "").contains("at most 5"), "\(six)")
        }
    }

    @Test("preview links of ports 3000/8000/5050, a request with the token, set_public, signed URLs until expired")
    func previews() async throws {
        try await withDaytonaProxy { env in
            let out = try await sdk(env, "preview")
            let links = out["links"] as? [String: String] ?? [:]
            for port in ["3000", "8000", "5050"] {
                let url = links[port] ?? ""
                #expect(url.hasPrefix("https://\(port)-") && url.hasSuffix(".preview.localhost:\(env.porthole.httpsPort)"), "\(url)")
            }
            #expect(out["tokensEqual"] as? Bool == true)
            #expect(out["withToken"] as? Int == 200 && out["withPreviewTokenHeader"] as? Int == 200)
            #expect(out["withoutToken"] as? Int == 401)
            #expect(out["queryAlias"] as? Int == 200, "?DAYTONA_SANDBOX_AUTH_KEY= is the preview token")
            #expect(out["publicAfterSet"] as? Bool == true && out["publicAfterRefresh"] as? Bool == true)
            #expect(out["publicWithoutToken"] as? Int == 200)
            #expect(out["signedPort"] as? Int == env.upstream.httpPort)
            #expect(out["signedBefore"] as? Int == 200)
            #expect(out["signedAfter"] as? Int == 403, "an expired signed URL stops working")
        }
    }

    @Test("labels: set, list by one or several, read; a deleted sandbox reads as destroyed")
    func labels() async throws {
        try await withDaytonaProxy { env in
            let out = try await sdk(env, "labels")
            #expect(out["setLabels"] as? [String: String] == ["team": "docs", "env": "dev", "owner": "ada"])
            #expect(out["listedDev"] as? [Bool] == [true, false])
            #expect(out["listedTeam"] as? Bool == true)
            #expect(out["got"] as? String == "ada")
            #expect(out["deletedState"] as? String == "destroyed")
        }
    }

    @Test("errors: an unknown id is DaytonaNotFoundError, a wrong key DaytonaAuthenticationError, the toolbox 501 with a reason")
    func errors() async throws {
        try await withDaytonaProxy { env in
            let out = try await sdk(env, "errors")
            let unknown = out["unknownID"] as? [String: Any] ?? [:]
            #expect(unknown["class"] as? String == "DaytonaNotFoundError" && unknown["status"] as? Int == 404, "\(unknown)")
            let exec = out["exec"] as? [String: Any] ?? [:]
            #expect(exec["status"] as? Int == 501 && (exec["message"] as? String ?? "").contains("does not run sandboxes"), "\(exec)")

            let wrong = try await sdk(env, "wrong-key", key: "not-the-key-not-the-key-0000")
            let wrongKey = wrong["wrongKey"] as? [String: Any] ?? [:]
            #expect(wrongKey["class"] as? String == "DaytonaAuthenticationError" && wrongKey["status"] as? Int == 401, "\(wrongKey)")
        }
    }

    @Test("without a target the sandbox is creating, the SDK polls, and the orchestrator's /v1 target starts it")
    func creating() async throws {
        try await withDaytonaProxy(defaultTarget: false) { env in
            let out = try await sdk(env, "creating")
            #expect(out["stateBefore"] as? String == "creating")
            #expect(out["fetchBefore"] as? Int == 503, "a sandbox without an address answers 503")
            #expect(out["stateAfterPatch"] as? String == "started")
            #expect(out["created"] as? String == "started", "the SDK's create returned once the sandbox started")
            #expect(out["fetchAfter"] as? Int == 200)
            #expect(out["labelled"] as? String == "started", "the porthole.dev/target label names the address")
            #expect(out["labelledFetch"] as? Int == 200)
        }
    }

    @Test("an organisation's API key: its sandboxes take its tier (2: network settings refused), it sees only them, revoked it opens nothing")
    func organizationKey() async throws {
        try await withProxy(sandboxes: [SandboxSpec(id: "priv")], arguments: ["--default-target", "127.0.0.1"]) { env in
            #expect(try await env.porthole.cli(["create", "restricted", "--tier", "2"], command: "org").status == 0)
            func key() async throws -> [String: Any] {
                let created = try await env.porthole.cli(["create", "--org", "restricted", "--json"], command: "api-key")
                #expect(created.status == 0, "\(created.stderr)")
                return try created.json()
            }
            let working = try await key()["key"] as? String ?? ""
            let revoked = try await key()
            let revokedID = (revoked["apiKey"] as? [String: Any])?["id"] as? String ?? ""
            #expect(try await env.porthole.cli(["revoke", revokedID], command: "api-key").status == 0)

            let out = try await sdk(
                env, "organization", key: working, environment: ["OTHER_SANDBOX": "priv", "REVOKED_KEY": revoked["key"] as? String ?? ""]
            )
            let message = "organisation tier 2 has restricted network access that cannot be overridden at the sandbox level"
            for name in ["blockAll", "allowList", "update"] {
                let refused = out[name] as? [String: Any] ?? [:]
                #expect(refused["class"] as? String == "DaytonaForbiddenError" && refused["status"] as? Int == 403, "\(name): \(refused)")
                #expect((refused["message"] as? String ?? "").contains(message), "\(name): \(refused)")
            }
            let targetLabel = out["targetLabel"] as? [String: Any] ?? [:]
            #expect(targetLabel["class"] as? String == "DaytonaForbiddenError" && targetLabel["status"] as? Int == 403, "\(targetLabel)")
            #expect((targetLabel["message"] as? String ?? "").contains("porthole.dev/target"), "\(targetLabel)")
            #expect(out["ownOrganization"] as? String == "restricted")
            #expect(out["listed"] as? [Bool] == [true], "only its own sandbox: \(out)")
            let other = out["other"] as? [String: Any] ?? [:]
            #expect(other["class"] as? String == "DaytonaNotFoundError", "\(other)")
            #expect(out["fetch"] as? Int == 200)
            let revokedCall = out["revoked"] as? [String: Any] ?? [:]
            #expect(revokedCall["class"] as? String == "DaytonaAuthenticationError", "\(revokedCall)")
        }
    }

    @Test("AsyncDaytona: the same calls through the asynchronous client")
    func asyncClient() async throws {
        try await withDaytonaProxy { env in
            let out = try await sdk(env, "async")
            #expect(out["blockAll"] as? Bool == true)
            #expect(out["fetch"] as? Int == 200)
            #expect(out["updated"] as? String == "false 192.168.1.0/24 started")
            #expect(out["afterDelete"] as? String == "destroyed")
        }
    }
}
