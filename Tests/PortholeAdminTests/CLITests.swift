import PortholeTestSupport
import Foundation
import Testing

/// `porthole sandbox …` against the running server (found through the data directory), and without one.
@Suite("porthole sandbox", .serialized)
struct CLITests {
    @Test("every command, as JSON and as tables")
    func commands() async throws {
        try await withServer { server, upstream in
            let created = try await server.cli([
                "create", "--id", "cli", "--target", "127.0.0.1", "--label", "team=a", "--label", "env=dev",
                "--network-allow-list", "192.168.1.0/16,10.0.0.0/24", "--json",
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let json = try created.json()
            let token = try #require(json["previewToken"] as? String)
            #expect(json["networkAllowList"] as? String == "192.168.0.0/16,10.0.0.0/24")
            #expect((json["normalisations"] as? [[String: String]])?.first?["normalised"] == "192.168.0.0/16")
            #expect(json["public"] as? Bool == false)
            // It went through the API: the server logged it.
            #expect(server.process.standardError.contains("route=/v1/sandboxes status=201"))

            let table = try await server.cli(["create", "--id", "cli-2", "--target", "127.0.0.1", "--public", "--network-allow-list", "192.168.1.0/16"])
            #expect(table.status == 0)
            #expect(table.stdout.hasPrefix("ID"))
            #expect(table.stdout.contains("cli-2"))
            #expect(table.stdout.contains("note: network allow list entry 192.168.1.0/16 was stored as 192.168.0.0/16"))
            #expect(table.stdout.contains("preview token: "))

            let get = try await server.cli(["get", "cli"])
            #expect(get.status == 0 && get.stdout.contains("NETWORK ALLOW LIST") && get.stdout.contains("192.168.0.0/16,10.0.0.0/24"))
            let getJSON = try await server.cli(["get", "cli", "--json"])
            #expect(try getJSON.json()["previewToken"] as? String == token)

            let list = try await server.cli(["list", "--label", "team=a", "--json"])
            #expect(try list.jsonArray().map { $0["id"] as? String } == ["cli"])
            let listTable = try await server.cli(["list"])
            #expect(listTable.stdout.split(separator: "\n").count == 3)

            let update = try await server.cli(["update", "cli", "--public", "true", "--host-rewrite", "true", "--tier", "4", "--label", "team=b", "--json"])
            let updated = try update.json()
            #expect(updated["public"] as? Bool == true && updated["hostRewrite"] as? Bool == true && updated["tier"] as? Int == 4)
            #expect(updated["labels"] as? [String: String] == ["team": "b"])

            let setPublic = try await server.cli(["set-public", "cli", "false", "--json"])
            #expect(try setPublic.json()["public"] as? Bool == false)

            let network = try await server.cli(["network", "cli", "--block-all", "true", "--clear-allow-list", "--json"])
            let networkJSON = try network.json()
            #expect(networkJSON["networkBlockAll"] as? Bool == true)
            #expect(networkJSON["networkAllowList"] is NSNull)
            let networkShow = try await server.cli(["network", "cli"])
            #expect(networkShow.stdout.contains("NETWORK BLOCK ALL") && networkShow.stdout.contains("true"))

            let link = try await server.cli(["preview-link", "cli", "3000", "--json"])
            #expect(try link.json()["url"] as? String == "https://3000-cli.preview.localhost:\(server.httpsPort)")
            #expect(try link.json()["token"] as? String == token)
            let linkTable = try await server.cli(["preview-link", "cli", "3000"])
            #expect(linkTable.stdout.contains("URL") && linkTable.stdout.contains(token))

            let signed = try await server.cli(["signed-url", "cli", String(upstream.port), "--expires-in", "120", "--json"])
            let signedJSON = try signed.json()
            let signedToken = try #require(signedJSON["token"] as? String)
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port, path: "/?preview_token=\(signedToken)").status == 200)
            let expire = try await server.cli(["expire-signed-url", "cli", String(upstream.port), signedToken])
            #expect(expire.status == 0 && expire.stdout.hasPrefix("revoked signed URL"))
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port, path: "/?preview_token=\(signedToken)").status == 403)

            let rotate = try await server.cli(["rotate-token", "cli", "--json"])
            let newToken = try #require(try rotate.json()["previewToken"] as? String)
            #expect(newToken != token)
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port, headers: ["X-Preview-Token: \(token)"]).status == 403)
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port, headers: ["X-Preview-Token: \(newToken)"]).status == 200)

            let stop = try await server.cli(["set-state", "cli", "stopped", "--json"])
            #expect(try stop.json()["state"] as? String == "stopped")
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port).status == 503)

            let delete = try await server.cli(["delete", "cli"])
            #expect(delete.status == 0 && delete.stdout == "deleted cli\n")
            #expect(try await server.proxy(sandbox: "cli", port: upstream.port).status == 404)

            // The same id again (another tenant could take it): what was signed for the deleted
            // sandbox opens nothing of the new one.
            #expect(try await server.cli(["create", "--id", "reborn", "--target", "127.0.0.1"]).status == 0)
            let kept = try await server.cli(["signed-url", "reborn", String(upstream.port), "--expires-in", "3600", "--json"])
            let keptToken = try #require(try kept.json()["token"] as? String)
            #expect(try await server.proxy(sandbox: "reborn", port: upstream.port, path: "/?preview_token=\(keptToken)").status == 200)
            #expect(try await server.cli(["delete", "reborn"]).status == 0)
            #expect(try await server.cli(["create", "--id", "reborn", "--target", "127.0.0.1"]).status == 0)
            #expect(try await server.proxy(sandbox: "reborn", port: upstream.port, path: "/?preview_token=\(keptToken)").status == 403)
        }
    }

    @Test("domain allow lists: create, network, clear, shown in get, list and JSON; refusals exit 1")
    func domainAllowLists() async throws {
        try await withServer { server, _ in
            let created = try await server.cli(["create", "--id", "names", "--target", "127.0.0.1", "--domain-allow-list", "PyPI.org.,*.github.com"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("pypi.org,*.github.com"))
            #expect(created.stdout.contains("note: domain allow list entry PyPI.org. was stored as pypi.org\n"))
            #expect(try await server.client().sandbox(id: "names").domainAllowList == "pypi.org,*.github.com")

            let get = try await server.cli(["get", "names"])
            #expect(get.stdout.contains("DOMAIN ALLOW LIST") && get.stdout.contains("pypi.org,*.github.com"), "\(get.stdout)")
            #expect(try await server.cli(["get", "names", "--json"]).json()["domainAllowList"] as? String == "pypi.org,*.github.com")

            let network = try await server.cli(["network", "names", "--allow-list", "10.0.0.0/8", "--domain-allow-list", "registry.npmjs.org"])
            #expect(network.status == 0, "\(network.stderr)")
            #expect(network.stdout.contains("DOMAIN ALLOW LIST") && network.stdout.contains("registry.npmjs.org"))
            // The table shows what the lists let it reach: networks, then names.
            let list = try await server.cli(["list"])
            #expect(list.stdout.contains("10.0.0.0/8,registry.npmjs.org"), "\(list.stdout)")

            let egress = try await server.cli(["egress", "names"])
            #expect(egress.status == 0, "\(egress.stderr)")
            #expect(egress.stdout.contains("CLASS") && egress.stdout.contains("allow_list") && egress.stdout.contains("registry.npmjs.org"))
            #expect(egress.stdout.contains("ESSENTIAL SERVICES") && egress.stdout.contains("10.0.0.0/8"), "\(egress.stdout)")
            let egressJSON = try await server.cli(["egress", "names", "--json"]).json()
            #expect(egressJSON["class"] as? String == "allow_list" && egressJSON["domains"] as? [String] == ["registry.npmjs.org"])
            #expect(egressJSON["source"] as? String == "127.0.0.1" && egressJSON["essentialServices"] as? Bool == true)

            let clear = try await server.cli(["network", "names", "--clear-domain-allow-list", "--json"])
            let clearedJSON = try clear.json()
            #expect(clearedJSON["domainAllowList"] is NSNull && clearedJSON["networkAllowList"] as? String == "10.0.0.0/8")

            let bad = try await server.cli(["network", "names", "--domain-allow-list", "*.com"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("\"*.com\" is not a valid domain name: the wildcard is too broad") && bad.stderr.contains("(field: domainAllowList)"))
            let locked = try await server.cli(["create", "--target", "127.0.0.1", "--tier", "2", "--domain-allow-list", "pypi.org"])
            #expect(locked.status == 1 && locked.stderr.contains("organisation tier 2 has restricted network access"))
            let both = try await server.cli(["network", "names", "--domain-allow-list", "pypi.org", "--clear-domain-allow-list"])
            #expect(both.status == 2)
        }
    }

    @Test("exit status: 1 with the API's message for refusals, 2 for usage errors")
    func exitCodes() async throws {
        try await withServer { server, _ in
            let missing = try await server.cli(["get", "nope"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "error: no sandbox has id 'nope'; create it first or check the id\n")
            #expect(missing.stdout.isEmpty)

            let locked = try await server.cli(["create", "--target", "127.0.0.1", "--tier", "1", "--network-allow-list", "10.0.0.0/8"])
            #expect(locked.status == 1)
            #expect(locked.stderr.contains("organisation tier 1 has restricted network access that cannot be overridden at the sandbox level"))

            let badList = try await server.cli(["create", "--target", "127.0.0.1", "--network-allow-list", "300.1.1.1/8"])
            #expect(badList.status == 1 && badList.stderr.contains("\"300.1.1.1/8\" is not a valid IPv4 CIDR"))

            let badPort = try await server.cli(["preview-link", "x", "70000"])
            #expect(badPort.status == 1 && badPort.stderr.contains("port must be 1…65535"))

            for usage in [["create"], ["get"], ["set-public", "x", "maybe"], ["set-state", "x", "paused"], ["bogus"], ["list", "--label", "novalue"]] {
                let result = try await server.cli(usage)
                #expect(result.status == 2, "\(usage): \(result.status) \(result.stderr)")
            }

            let wrongToken = try await server.cli(["list"], environment: ["PORTHOLE_ADMIN_TOKEN": "wrong-token-wrong-token-wrong"])
            #expect(wrongToken.status == 1 && wrongToken.stderr.contains("admin token"))

            let noServer = try await CommandResult.run(
                TestPaths.portholeBinary, ["sandbox", "list", "--admin-url", "http://127.0.0.1:1", "--admin-token", "x"]
            )
            #expect(noServer.status == 1 && noServer.stderr.contains("cannot connect to the admin API"))

            // Run where there is neither a server's data directory nor a token: it says so.
            let elsewhere = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: elsewhere) }
            let lost = try await CommandResult.run(
                TestPaths.which("env"),
                [
                    "-u", "PORTHOLE_ADMIN_TOKEN", "-u", "PORTHOLE_DATA_DIR", "-u", "PORTHOLE_ADMIN_URL",
                    "-u", "PORTHOLE_STORE", "-C", elsewhere, TestPaths.portholeBinary, "sandbox", "list",
                ]
            )
            #expect(lost.status == 2)
            #expect(lost.stderr.contains("no Porthole server or data directory here (.porthole does not exist)"), "\(lost.stderr)")
        }
    }

    @Test("--admin-url and --admin-token reach a server without its data directory")
    func explicitServer() async throws {
        try await withServer { server, _ in
            let scratch = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let result = try await CommandResult.run(
                TestPaths.portholeBinary,
                [
                    "sandbox", "create", "--id", "remote", "--target", "127.0.0.1", "--json", "--admin-url", server.adminURL,
                    // `=`: a token may start with "-" (base64url), which would read as an option.
                    "--admin-token=\(server.adminToken)",
                ]
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try await server.client().sandbox(id: "remote").id == "remote")
        }
    }

    @Test("without a server the CLI writes the data directory, and the server serves it on start")
    func directMode() async throws {
        let upstream = try await Upstream.start()
        defer { upstream.stop() }
        let directory = try TestPaths.temporaryDirectory()
        func cli(_ arguments: [String]) async throws -> CommandResult {
            try await PortholeProcess.cli(arguments, directory: directory)
        }
        let created = try await cli(["create", "--id", "early", "--target", "127.0.0.1", "--public", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        // The same validation as the API.
        let locked = try await cli(["create", "--target", "127.0.0.1", "--tier", "2", "--network-block-all"])
        #expect(locked.status == 1 && locked.stderr.contains("organisation tier 2"))
        let signed = try await cli(["signed-url", "early", String(upstream.port), "--json"])
        #expect(signed.status == 0)

        let server = try await PortholeProcess.start(directory: directory)
        defer { server.stop() }
        #expect(try await server.proxy(sandbox: "early", port: upstream.port).status == 200)
        // Signed with the data directory's cookie secret, which the server uses too.
        _ = try await cli(["set-public", "early", "false"])
        let token = try #require(try signed.json()["token"] as? String)
        #expect(try await server.proxy(sandbox: "early", port: upstream.port, path: "/?preview_token=\(token)").status == 200)
        #expect(try await server.proxy(sandbox: "early", port: upstream.port).status == 401)
    }
}
