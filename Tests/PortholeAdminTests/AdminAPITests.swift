import PortholeTestSupport
import Foundation
import PortholeClient
import PortholeCore
import Testing

/// Every endpoint of the admin API and every validation error, through PortholeClient against the
/// real server.
@Suite("Admin API", .serialized)
struct AdminAPITests {
    @Test("create, read, list, update, delete")
    func sandboxLifecycle() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            #expect(try await client.health().status == "ok")
            #expect(try await client.readiness().status == "ok")

            let created = try await client.createSandbox(SandboxCreateRequest(id: "web-1", target: "10.1.2.3", labels: ["team": "a"]))
            // The platform's defaults.
            #expect(created.id == "web-1")
            #expect(!created.isPublic)
            #expect(!created.networkBlockAll)
            #expect(created.networkAllowList == nil)
            #expect(created.tier == 3)
            #expect(!created.hostRewrite)
            #expect(created.state == .started)
            #expect(created.previewToken.count == 43)
            #expect(created.normalizations == nil)
            #expect(try await client.sandbox(id: "web-1") == created)

            // An id is generated when absent: DNS-label-safe.
            let generated = try await client.createSandbox(SandboxCreateRequest(target: "sandbox.internal", labels: ["team": "b"]))
            #expect(SandboxFieldRules.isValidID(generated.id))
            #expect(generated.id.count == 12)

            let updated = try await client.updateSandbox(
                id: "web-1", SandboxUpdateRequest(target: "fd00::7", isPublic: true, labels: ["team": "c"], hostRewrite: true, state: .stopped)
            )
            #expect(updated.target == "fd00::7")
            #expect(updated.isPublic && updated.hostRewrite && updated.state == .stopped)
            #expect(updated.labels == ["team": "c"])
            #expect(updated.previewToken == created.previewToken)
            #expect(updated.createdAt == created.createdAt)
            #expect(try await client.sandbox(id: "web-1") == SandboxRecord(from: updated))

            try await client.deleteSandbox(id: "web-1")
            await #expect(throws: AdminAPIError.sandboxNotFound("web-1")) { try await client.sandbox(id: "web-1") }
            let again = await #expect(throws: AdminAPIError.self) { try await client.deleteSandbox(id: "web-1") }
            #expect(again?.status == 404)
        }
    }

    @Test("list filters by label and pages by id")
    func listing() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            for index in 0..<7 {
                _ = try await client.createSandbox(
                    SandboxCreateRequest(id: "box-\(index)", target: "127.0.0.1", labels: ["parity": index % 2 == 0 ? "even" : "odd"])
                )
            }
            let first = try await client.listSandboxes(limit: 3)
            #expect(first.items.map(\.id) == ["box-0", "box-1", "box-2"])
            #expect(first.nextCursor == "box-2")
            let second = try await client.listSandboxes(cursor: first.nextCursor, limit: 3)
            #expect(second.items.map(\.id) == ["box-3", "box-4", "box-5"])
            let last = try await client.listSandboxes(cursor: second.nextCursor, limit: 3)
            #expect(last.items.map(\.id) == ["box-6"])
            #expect(last.nextCursor == nil)

            #expect(try await client.allSandboxes(label: ("parity", "odd")).map(\.id) == ["box-1", "box-3", "box-5"])
            #expect(try await client.allSandboxes(label: ("parity", "none")).isEmpty)
            #expect(try await client.allSandboxes().count == 7)

            let badLimit = await #expect(throws: AdminAPIError.self) { try await client.listSandboxes(limit: 0) }
            #expect(badLimit?.status == 400 && badLimit?.field == "limit")
            let badLabel = await #expect(throws: AdminAPIError.self) { try await client.listSandboxes(label: ("bad key", "x")) }
            #expect(badLabel?.field == "label")
        }
    }

    @Test("public/{true|false}, network settings, preview links, rotation")
    func sandboxActions() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            let created = try await client.createSandbox(SandboxCreateRequest(id: "app", target: "127.0.0.1"))

            #expect(try await client.setPublic(id: "app", true).isPublic)
            #expect(try await client.setPublic(id: "app", false).isPublic == false)

            let blocked = try await client.setNetworkSettings(id: "app", NetworkSettingsRequest(networkBlockAll: true))
            #expect(blocked.networkBlockAll)
            let listed = try await client.setNetworkSettings(
                id: "app", NetworkSettingsRequest(networkBlockAll: false, networkAllowList: .set("10.0.0.0/8"))
            )
            #expect(!listed.networkBlockAll && listed.networkAllowList == "10.0.0.0/8")
            let cleared = try await client.setNetworkSettings(id: "app", NetworkSettingsRequest(networkAllowList: .clear))
            #expect(cleared.networkAllowList == nil)

            let link = try await client.previewLink(id: "app", port: 3000)
            #expect(
                link
                    == PreviewLink(
                        sandboxId: "app", port: 3000, url: "https://3000-app.preview.localhost:\(server.httpsPort)", token: created.previewToken
                    ))

            let rotated = try await client.rotatePreviewToken(id: "app")
            #expect(rotated.previewToken != created.previewToken)
            #expect(rotated.tokenGeneration == created.tokenGeneration &+ 1)
            #expect(try await client.previewLink(id: "app", port: 3000).token == rotated.previewToken)

            let signed = try await client.signedPreviewURL(id: "app", port: 8000)
            #expect(signed.url == "https://8000-app.preview.localhost:\(server.httpsPort)/?preview_token=\(signed.token)")
            let now = Int64(Date().timeIntervalSince1970)
            #expect((now + 55...now + 65).contains(signed.expiresAt))  // default 60 s
            let long = try await client.signedPreviewURL(id: "app", port: 8000, expiresInSeconds: 86_400)
            #expect(long.expiresAt >= now + 86_390)

            let revocation = try await client.expireSignedPreviewURL(id: "app", port: 8000, token: signed.token)
            #expect(revocation.revoked && revocation.sandboxId == "app" && revocation.port == 8000 && revocation.expiresAt == signed.expiresAt)
            // Idempotent.
            #expect(try await client.expireSignedPreviewURL(id: "app", port: 8000, token: signed.token).revoked)
            // Another port's or sandbox's token is not this URL's.
            let other = await #expect(throws: AdminAPIError.self) {
                try await client.expireSignedPreviewURL(id: "app", port: 3000, token: signed.token)
            }
            #expect(other?.status == 404 && other?.code == "signed_url_not_found")

            let document = try await client.openAPIDocument()
            let object = try #require(try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any])
            #expect(object["openapi"] as? String == "3.1.0")
        }
    }

    @Test("the preview link shows --preview-port, and leaves out 443")
    func previewPort() async throws {
        try await withServer(arguments: ["--preview-port", "443", "--base-domain", "preview.example.com"]) { server, _ in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "app", target: "127.0.0.1"))
            #expect(try await client.previewLink(id: "app", port: 3000).url == "https://3000-app.preview.example.com")
        }
    }

    @Test("the seed examples: isolated, internal-only, and a public web app with three ports")
    func seedFlows() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            let isolated = try await client.createSandbox(
                SandboxCreateRequest(id: "untrusted-code", target: "10.20.0.5", networkBlockAll: true, labels: ["purpose": "isolated"])
            )
            #expect(isolated.networkBlockAll && !isolated.isPublic && isolated.networkAllowList == nil)

            let internalOnly = try await client.createSandbox(
                SandboxCreateRequest(id: "internal-only", target: "10.20.0.6", networkAllowList: "10.0.0.0/8,172.16.0.0/12")
            )
            #expect(internalOnly.networkAllowList == "10.0.0.0/8,172.16.0.0/12")
            #expect(internalOnly.normalizations == nil)
            // refreshData: what is stored reads back the same.
            #expect(try await client.sandbox(id: "internal-only").networkAllowList == "10.0.0.0/8,172.16.0.0/12")

            let web = try await client.createSandbox(
                SandboxCreateRequest(id: "web-app", target: "10.20.0.7", isPublic: true, labels: ["app": "shop"])
            )
            #expect(web.isPublic)
            for port in [3000, 8000, 5050] {
                let link = try await client.previewLink(id: "web-app", port: port)
                #expect(link.url == "https://\(port)-web-app.preview.localhost:\(server.httpsPort)")
                #expect(link.token == web.previewToken)
            }
            #expect(try await client.allSandboxes(label: ("app", "shop")).map(\.id) == ["web-app"])
        }
    }

    @Test("network allow lists: strict entries named in the error, normalization reported, at most 5")
    func allowListValidation() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            let bad: [(String, String)] = [
                ("1.2.3.4/abc", "\"1.2.3.4/abc\" is not a valid IPv4 CIDR"),
                ("300.1.1.1/8", "\"300.1.1.1/8\" is not a valid IPv4 CIDR"),
                ("10.0.0.0", "\"10.0.0.0\" is not a valid IPv4 CIDR"),
                ("10.0.0.0/33", "\"10.0.0.0/33\" is not a valid IPv4 CIDR"),
                ("10.0.0.0/8,,172.16.0.0/12", "entry 2 of the network allow list is empty"),
                ("", "the network allow list is empty"),
                ("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8", "at most 5 entries are allowed, got 6"),
            ]
            for (list, message) in bad {
                let error = await #expect(throws: AdminAPIError.self, "\(list)") {
                    try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", networkAllowList: list))
                }
                #expect(error?.status == 400)
                #expect(error?.code == "invalid_network_allow_list")
                #expect(error?.field == "networkAllowList")
                #expect(error?.message.contains(message) == true, "\(error?.message ?? "") should contain \(message)")
            }
            // The familiar example with host bits set: accepted, normalized, and the change reported.
            let normalized = try await client.createSandbox(
                SandboxCreateRequest(id: "norm", target: "127.0.0.1", networkAllowList: " 192.168.1.0/16 ,\t10.0.0.0/24 ")
            )
            #expect(normalized.networkAllowList == "192.168.0.0/16,10.0.0.0/24")
            #expect(
                normalized.normalizations == [
                    AllowListNormalization(original: "192.168.1.0/16", normalized: "192.168.0.0/16", field: "networkAllowList")
                ])
            // Through network-settings as well.
            let viaSettings = try await client.setNetworkSettings(id: "norm", NetworkSettingsRequest(networkAllowList: .set("172.16.5.4/12")))
            #expect(viaSettings.networkAllowList == "172.16.0.0/12")
            #expect(viaSettings.normalizations?.first?.normalized == "172.16.0.0/12")
            let error = await #expect(throws: AdminAPIError.self) {
                try await client.setNetworkSettings(id: "norm", NetworkSettingsRequest(networkAllowList: .set("10.0.0.0/8, 1.2.3.4/abc")))
            }
            #expect(error?.field == "networkAllowList" && error?.message.contains("1.2.3.4/abc") == true)
        }
    }

    @Test("domain allow lists: set on create, PATCH and network-settings, null clears, 400 names the entry, normalization reported")
    func domainAllowLists() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            let created = try await client.createSandbox(
                SandboxCreateRequest(id: "names", target: "10.20.0.7", domainAllowList: " PyPI.org. , *.github.com ")
            )
            #expect(created.domainAllowList == "pypi.org,*.github.com")
            #expect(created.networkAllowList == nil && !created.networkBlockAll)
            #expect(created.normalizations == [AllowListNormalization(original: "PyPI.org.", normalized: "pypi.org", field: "domainAllowList")])
            #expect(try await client.sandbox(id: "names") == SandboxRecord(from: created))
            let plain = try await client.createSandbox(SandboxCreateRequest(id: "plain", target: "10.20.0.8"))
            #expect(plain.domainAllowList == nil)

            // PATCH sets it beside the network list (both reported), leaves it alone when absent, and null clears it.
            let patched = try await client.updateSandbox(
                id: "names", SandboxUpdateRequest(networkAllowList: .set("192.168.1.0/16"), domainAllowList: .set("GitHub.com, *.github.com"))
            )
            #expect(patched.networkAllowList == "192.168.0.0/16" && patched.domainAllowList == "github.com,*.github.com")
            #expect(
                patched.normalizations == [
                    AllowListNormalization(original: "192.168.1.0/16", normalized: "192.168.0.0/16", field: "networkAllowList"),
                    AllowListNormalization(original: "GitHub.com", normalized: "github.com", field: "domainAllowList"),
                ])
            #expect(try await client.updateSandbox(id: "names", SandboxUpdateRequest(isPublic: true)).domainAllowList == "github.com,*.github.com")
            let cleared = try await client.updateSandbox(id: "names", SandboxUpdateRequest(domainAllowList: .clear))
            #expect(cleared.domainAllowList == nil && cleared.networkAllowList == "192.168.0.0/16")
            #expect(try await client.sandbox(id: "names").domainAllowList == nil)

            // network-settings likewise.
            let viaSettings = try await client.setNetworkSettings(id: "names", NetworkSettingsRequest(domainAllowList: .set("registry.npmjs.org")))
            #expect(viaSettings.domainAllowList == "registry.npmjs.org" && viaSettings.networkAllowList == "192.168.0.0/16")
            #expect(viaSettings.normalizations == nil)
            #expect(try await client.setNetworkSettings(id: "names", NetworkSettingsRequest(domainAllowList: .clear)).domainAllowList == nil)

            // 400 with the parser's message, naming the field, from every write; nothing is written.
            let writes: [(String, @Sendable (String) async throws -> SandboxRecord)] = [
                ("create", { try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", domainAllowList: $0)) }),
                ("PATCH", { try await client.updateSandbox(id: "plain", SandboxUpdateRequest(domainAllowList: .set($0))) }),
                ("network-settings", { try await client.setNetworkSettings(id: "plain", NetworkSettingsRequest(domainAllowList: .set($0))) }),
            ]
            let bad: [(String, String)] = [
                ("*.com", #"domainAllowList: "*.com" is not a valid domain name: the wildcard is too broad; give at least two labels after "*.""#),
                ("pypi.org, 10.0.0.1", #""10.0.0.1" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList"#),
                ("1.2.3.999", #"the last label "999" is all digits"#),
                ("pypi.org,,a.com", "entry 2 of the domain allow list is empty"),
                ("", "the domain allow list is empty"),
                ("bad_name.com", "unexpected character '_'"),
                ("a.*.com", "'*' may only stand alone as the first label"),
                ((1...11).map { "n\($0).example" }.joined(separator: ","), "at most 10 entries are allowed, got 11"),
            ]
            for (list, message) in bad {
                for (operation, write) in writes {
                    let error = await #expect(throws: AdminAPIError.self, "\(operation) \(list)") { try await write(list) }
                    #expect(error?.status == 400 && error?.code == "invalid_domain_allow_list" && error?.field == "domainAllowList")
                    #expect(error?.message.contains(message) == true, "\(operation): \(error?.message ?? "") should contain \(message)")
                }
            }
            #expect(try await client.sandbox(id: "plain") == plain)
            #expect(try await client.allSandboxes().count == 2)

            // Raw JSON: null on create is the default; anything but a string or null is 400.
            let auth = "Authorization: Bearer \(server.adminToken)"
            let echoed = try await Curl.get(
                url: server.adminURL + "/v1/sandboxes", method: "POST", headers: [auth, "Content-Type: application/json"],
                body: #"{"id":"echo","target":"127.0.0.1","domainAllowList":null}"#
            )
            #expect(echoed.status == 201 && echoed.text.contains(#""domainAllowList":null"#), "\(echoed.text)")
            let wrongType = try await Curl.get(
                url: server.adminURL + "/v1/sandboxes/echo/network-settings", method: "POST", headers: [auth, "Content-Type: application/json"],
                body: #"{"domainAllowList":["pypi.org"]}"#
            )
            #expect(wrongType.status == 400 && wrongType.text.contains(#""field":"domainAllowList""#), "\(wrongType.text)")
        }
    }

    @Test("GET …/egress answers what SandboxEgress decides from the record: every class, both lists, a host-name target")
    func effectiveEgress() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "open", target: "10.20.0.2"))
            _ = try await client.createSandbox(
                SandboxCreateRequest(id: "lists", target: "fd00::3", networkAllowList: "192.168.1.0/16", domainAllowList: "PyPI.org,*.github.com")
            )
            _ = try await client.createSandbox(SandboxCreateRequest(id: "names", target: "::ffff:10.20.0.4", domainAllowList: "pypi.org"))
            _ = try await client.createSandbox(SandboxCreateRequest(id: "tier-1", target: "10.20.0.5", tier: 1))
            _ = try await client.createSandbox(
                SandboxCreateRequest(id: "blocked", target: "10.20.0.6", networkBlockAll: true, domainAllowList: "pypi.org")
            )
            _ = try await client.createSandbox(SandboxCreateRequest(id: "named", target: "sandbox.internal", domainAllowList: "pypi.org"))

            let open = try await client.egress(id: "open")
            #expect(open.sandboxId == "open" && open.egressClass == .open && open.source == "10.20.0.2")
            #expect(open.networks.isEmpty && open.domains.isEmpty && !open.essentialServices && open.unenforceable == nil)

            let lists = try await client.egress(id: "lists")
            #expect(lists.egressClass == .allowList && lists.source == "fd00::3")
            #expect(lists.networks == ["192.168.0.0/16"] && lists.domains == ["pypi.org", "*.github.com"] && lists.essentialServices)

            let names = try await client.egress(id: "names")
            #expect(names.egressClass == .allowList && names.source == "10.20.0.4" && names.networks.isEmpty && names.domains == ["pypi.org"])

            let restricted = try await client.egress(id: "tier-1")
            #expect(restricted.egressClass == .restricted && restricted.essentialServices && restricted.domains.isEmpty)

            let blocked = try await client.egress(id: "blocked")
            #expect(blocked.egressClass == .blockAll && !blocked.essentialServices && blocked.domains.isEmpty)

            let named = try await client.egress(id: "named")
            #expect(named.source == nil && named.unenforceable?.contains("not an IPv4 or IPv6 address") == true)

            // It follows the record: the next answer after a change.
            _ = try await client.setNetworkSettings(id: "names", NetworkSettingsRequest(domainAllowList: .clear))
            #expect(try await client.egress(id: "names").egressClass == .open)

            // The wire form: every key, nulls explicit, the class as documented.
            let raw = try await Curl.get(url: server.adminURL + "/v1/sandboxes/named/egress", headers: ["Authorization: Bearer \(server.adminToken)"])
            let json = try #require(try JSONSerialization.jsonObject(with: raw.body) as? [String: Any])
            #expect(Set(json.keys) == ["sandboxId", "class", "source", "networks", "domains", "essentialServices", "unenforceable", "enforcement"])
            #expect(json["class"] as? String == "allow_list" && json["source"] is NSNull && json["domains"] as? [String] == ["pypi.org"])
            // No egress agent runs here: nothing is reported.
            #expect(json["enforcement"] is NSNull)
            #expect(raw.header("Cache-Control") == "no-store")

            await #expect(throws: AdminAPIError.sandboxNotFound("nope")) { try await client.egress(id: "nope") }
            let badID = await #expect(throws: AdminAPIError.self) { try await client.egress(id: "Not_An_Id") }
            #expect(badID?.status == 400 && badID?.field == "id")
        }
    }

    @Test("configured allow-list limits")
    func allowListLimit() async throws {
        try await withServer(arguments: ["--max-allow-list-entries", "2", "--max-domain-allow-list-entries", "2"]) { server, _ in
            let error = await #expect(throws: AdminAPIError.self) {
                try await server.client().createSandbox(SandboxCreateRequest(target: "127.0.0.1", networkAllowList: "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8"))
            }
            #expect(error?.message.contains("at most 2 entries are allowed, got 3") == true)
            let domains = await #expect(throws: AdminAPIError.self) {
                try await server.client().createSandbox(SandboxCreateRequest(target: "127.0.0.1", domainAllowList: "a.com,b.com,c.com"))
            }
            #expect(domains?.field == "domainAllowList" && domains?.message == "domainAllowList: at most 2 entries are allowed, got 3")
            // Repeating an entry costs the firewall nothing: counted once.
            let repeated = try await server.client().createSandbox(SandboxCreateRequest(target: "127.0.0.1", domainAllowList: "a.com,b.com,A.com"))
            #expect(repeated.domainAllowList == "a.com,b.com")
        }
    }

    @Test("tiers 1 and 2 cannot override network settings (403); tiers 3 and 4 can")
    func tiers() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            for tier in [1, 2] {
                let message = "organisation tier \(tier) has restricted network access that cannot be overridden at the sandbox level"
                let blockAll = await #expect(throws: AdminAPIError.self) {
                    try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", networkBlockAll: true, tier: tier))
                }
                #expect(blockAll == AdminAPIError(status: 403, code: "network_policy_locked", message: message, field: "networkBlockAll"))
                let allowList = await #expect(throws: AdminAPIError.self) {
                    try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", networkAllowList: "10.0.0.0/8", tier: tier))
                }
                #expect(allowList == AdminAPIError(status: 403, code: "network_policy_locked", message: message, field: "networkAllowList"))
                let domains = await #expect(throws: AdminAPIError.self) {
                    try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", domainAllowList: "pypi.org", tier: tier))
                }
                #expect(domains == AdminAPIError(status: 403, code: "network_policy_locked", message: message, field: "domainAllowList"))

                // The defaults are fine, and echoing them back is too.
                let locked = try await client.createSandbox(
                    SandboxCreateRequest(id: "tier-\(tier)", target: "127.0.0.1", networkBlockAll: false, tier: tier)
                )
                #expect(locked.tier == tier)
                let update = await #expect(throws: AdminAPIError.self) {
                    try await client.setNetworkSettings(id: "tier-\(tier)", NetworkSettingsRequest(networkAllowList: .set("10.0.0.0/8")))
                }
                #expect(update?.status == 403 && update?.message == message)
                let domainUpdate = await #expect(throws: AdminAPIError.self) {
                    try await client.setNetworkSettings(id: "tier-\(tier)", NetworkSettingsRequest(domainAllowList: .set("pypi.org")))
                }
                #expect(domainUpdate == AdminAPIError(status: 403, code: "network_policy_locked", message: message, field: "domainAllowList"))
                let domainPatch = await #expect(throws: AdminAPIError.self) {
                    try await client.updateSandbox(id: "tier-\(tier)", SandboxUpdateRequest(domainAllowList: .set("pypi.org")))
                }
                #expect(domainPatch?.status == 403 && domainPatch?.field == "domainAllowList")
                // Clearing what is not there is echoing the default: fine.
                #expect(try await client.setNetworkSettings(id: "tier-\(tier)", NetworkSettingsRequest(domainAllowList: .clear)).domainAllowList == nil)
                let patch = await #expect(throws: AdminAPIError.self) {
                    try await client.updateSandbox(id: "tier-\(tier)", SandboxUpdateRequest(networkBlockAll: true))
                }
                #expect(patch?.status == 403 && patch?.message == message)
                #expect(try await client.sandbox(id: "tier-\(tier)").networkBlockAll == false)
            }
            for tier in [3, 4] {
                let custom = try await client.createSandbox(
                    SandboxCreateRequest(id: "tier-\(tier)", target: "127.0.0.1", networkBlockAll: true, networkAllowList: "10.0.0.0/8", tier: tier)
                )
                #expect(custom.networkBlockAll && custom.networkAllowList == "10.0.0.0/8")
                let names = try await client.createSandbox(
                    SandboxCreateRequest(id: "names-\(tier)", target: "127.0.0.1", domainAllowList: "pypi.org", tier: tier)
                )
                #expect(names.domainAllowList == "pypi.org")
            }
            // A sandbox with only a domain list cannot move to a locked tier with it either.
            let namesDown = await #expect(throws: AdminAPIError.self) {
                try await client.updateSandbox(id: "names-3", SandboxUpdateRequest(tier: 1))
            }
            #expect(namesDown?.status == 403 && namesDown?.field == "domainAllowList")
            #expect(try await client.updateSandbox(id: "names-3", SandboxUpdateRequest(domainAllowList: .clear, tier: 1)).tier == 1)
            // Moving a sandbox with custom settings down to a locked tier is refused too.
            let downgrade = await #expect(throws: AdminAPIError.self) {
                try await client.updateSandbox(id: "tier-3", SandboxUpdateRequest(tier: 2))
            }
            #expect(downgrade?.status == 403)
            let moved = try await client.updateSandbox(
                id: "tier-3", SandboxUpdateRequest(networkBlockAll: false, networkAllowList: .clear, tier: 2)
            )
            #expect(moved.tier == 2 && moved.networkAllowList == nil)
            for tier in [0, 5] {
                let error = await #expect(throws: AdminAPIError.self) {
                    try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", tier: tier))
                }
                #expect(error?.status == 400 && error?.field == "tier")
            }
        }
    }

    @Test("ids, targets, labels, ports, expiries: 400 naming the field")
    func fieldValidation() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "ok", target: "127.0.0.1"))
            for id in ["UPPER", "-dash", "dash-", "under_score", String(repeating: "a", count: 58), ""] {
                let error = await #expect(throws: AdminAPIError.self, "\(id)") {
                    try await client.createSandbox(SandboxCreateRequest(id: id, target: "127.0.0.1"))
                }
                #expect(error?.status == 400 && error?.field == "id" && error?.code == "invalid_id")
            }
            let taken = await #expect(throws: AdminAPIError.self) { try await client.createSandbox(SandboxCreateRequest(id: "ok", target: "127.0.0.1")) }
            #expect(taken?.status == 409 && taken?.code == "sandbox_exists")

            for target in ["http://10.0.0.1", "10.0.0.1:3000", "300.1.1.1", "has space", ""] {
                let error = await #expect(throws: AdminAPIError.self, "\(target)") {
                    try await client.createSandbox(SandboxCreateRequest(target: target))
                }
                #expect(error?.status == 400 && error?.field == "target")
            }
            let label = await #expect(throws: AdminAPIError.self) {
                try await client.createSandbox(SandboxCreateRequest(target: "127.0.0.1", labels: ["bad key": "x"]))
            }
            #expect(label?.field == "labels" && label?.message.contains("bad key") == true)

            for port in [0, 65536, -1] {
                let error = await #expect(throws: AdminAPIError.self, "\(port)") { try await client.previewLink(id: "ok", port: port) }
                #expect(error?.status == 400 && error?.field == "port" && error?.code == "invalid_port")
            }
            for seconds in [0, 86_401] {
                let error = await #expect(throws: AdminAPIError.self, "\(seconds)") {
                    try await client.signedPreviewURL(id: "ok", port: 3000, expiresInSeconds: seconds)
                }
                #expect(error?.status == 400 && error?.field == "expiresInSeconds")
            }
            let missing = await #expect(throws: AdminAPIError.self) { try await client.previewLink(id: "nope", port: 3000) }
            #expect(missing == AdminAPIError.sandboxNotFound("nope"))
        }
    }

    @Test("raw bodies: unknown fields, wrong types, bad JSON, oversized bodies, wrong methods and paths")
    func rawRequests() async throws {
        try await withServer { server, _ in
            let auth = "Authorization: Bearer \(server.adminToken)"
            let url = server.adminURL + "/v1/sandboxes"
            func post(_ body: String, to target: String = url, method: String = "POST") async throws -> (CurlResponse, [String: Any]) {
                let response = try await Curl.get(url: target, method: method, headers: [auth, "Content-Type: application/json"], body: body)
                let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
                return (response, json)
            }

            let (unknown, unknownBody) = try await post(#"{"target":"127.0.0.1","publik":true}"#)
            #expect(unknown.status == 400)
            #expect(unknownBody["code"] as? String == "unknown_field")
            #expect(unknownBody["field"] as? String == "publik")
            #expect(Set(unknownBody.keys) == ["status", "code", "message", "field"])

            let (wrongType, wrongTypeBody) = try await post(#"{"target":"127.0.0.1","public":1}"#)
            #expect(wrongType.status == 400 && wrongTypeBody["field"] as? String == "public")
            let (noTarget, noTargetBody) = try await post(#"{"public":true}"#)
            #expect(noTarget.status == 400 && noTargetBody["code"] as? String == "missing_field" && noTargetBody["field"] as? String == "target")
            let (notJSON, notJSONBody) = try await post("{target:")
            #expect(notJSON.status == 400 && notJSONBody["code"] as? String == "invalid_json")
            #expect(notJSONBody["field"] is NSNull)
            let (array, _) = try await post("[]")
            #expect(array.status == 400)
            let (empty, _) = try await post("")
            #expect(empty.status == 400)

            let padding = String(repeating: "x", count: 70_000)
            let (large, largeBody) = try await post(#"{"target":"127.0.0.1","labels":{"a":"\#(padding)"}}"#)
            #expect(large.status == 413 && largeBody["code"] as? String == "body_too_large")

            _ = try await post(#"{"id":"patched","target":"127.0.0.1"}"#)
            let (patchUnknown, patchBody) = try await post(#"{"id":"other"}"#, to: url + "/patched", method: "PATCH")
            #expect(patchUnknown.status == 400 && patchBody["field"] as? String == "id")
            let (patchState, _) = try await post(#"{"state":"paused"}"#, to: url + "/patched", method: "PATCH")
            #expect(patchState.status == 400)
            let (settings, settingsBody) = try await post(#"{"networkBlockAll":true,"tier":1}"#, to: url + "/patched/network-settings")
            #expect(settings.status == 400 && settingsBody["field"] as? String == "tier")
            let (publicValue, publicBody) = try await post("", to: url + "/patched/public/maybe")
            #expect(publicValue.status == 400 && publicBody["field"] as? String == "value")
            let (badPort, badPortBody) = try await post("", to: url + "/patched/ports/abc/signed-preview-url")
            #expect(badPort.status == 400 && badPortBody["field"] as? String == "port")

            let wrongMethod = try await Curl.get(url: url, method: "PUT", headers: [auth])
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "GET, POST")
            #expect(wrongMethod.code == "method_not_allowed")
            let unknownPath = try await Curl.get(url: server.adminURL + "/v1/nothing", headers: [auth])
            #expect(unknownPath.status == 404 && unknownPath.code == "not_found")
            let trailingSlash = try await Curl.get(url: url + "/", headers: [auth])
            #expect(trailingSlash.status == 404)
        }
    }

    @Test("input hygiene: control and bidi characters in labels, duplicate keys, bodies that are not JSON")
    func inputHygiene() async throws {
        try await withServer { server, _ in
            let auth = "Authorization: Bearer \(server.adminToken)"
            let url = server.adminURL + "/v1/sandboxes"
            func send(_ body: String?, to target: String = url, method: String = "POST", contentType: String? = "application/json")
                async throws -> (status: Int, json: [String: Any])
            {
                // `Content-Type:` with no value makes curl send none at all.
                let response = try await Curl.get(url: target, method: method, headers: [auth, "Content-Type: \(contentType ?? "")"], body: body)
                let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
                return (response.status, json)
            }
            func expectRefused(_ answer: (status: Int, json: [String: Any]), _ status: Int, _ code: String, field: String?, says text: String) {
                #expect(answer.status == status, "\(answer.json)")
                #expect(answer.json["code"] as? String == code, "\(answer.json)")
                #expect(answer.json["field"] as? String == field)
                #expect((answer.json["message"] as? String)?.contains(text) == true, "\(answer.json)")
                #expect(Set(answer.json.keys) == ["status", "code", "message", "field"])
            }

            for (escaped, codePoint) in [
                (#"\u0000"#, "U+0000"), (#"\u001b[2J"#, "U+001B"), (#"\u0085"#, "U+0085"), (#"\u202e"#, "U+202E"), (#"\u2066"#, "U+2066"),
                (#"\u200f"#, "U+200F"),
            ] {
                expectRefused(
                    try await send(#"{"target":"127.0.0.1","labels":{"team":"a\#(escaped)b"}}"#), 400, "invalid_field", field: "labels",
                    says: "the value of label \"team\" contains \(codePoint)"
                )
            }
            expectRefused(
                try await send(#"{"target":"127.0.0.1","labels":{"te\u0000am":"a"}}"#), 400, "invalid_field", field: "labels",
                says: #"label key "te\u{0}am" is invalid"#)
            #expect(try await send(#"{"id":"labelled","target":"127.0.0.1","labels":{"team":"välue ✓"}}"#).status == 201)
            expectRefused(
                try await send(#"{"labels":{"team":"\u202e"}}"#, to: url + "/labelled", method: "PATCH"), 400, "invalid_field", field: "labels",
                says: "contains U+202E"
            )
            // A filter is only compared: any value is fine, and finds nothing here.
            let filter = try await Curl.get(url: url + "?label=team%3Da%E2%80%AEb", headers: [auth])
            #expect(filter.status == 200 && filter.text.contains(#""items":[]"#), "\(filter.text)")

            // Duplicate keys at any level, named; before this they were read as the first.
            expectRefused(
                try await send(#"{"target":"127.0.0.1","public":true,"public":false}"#), 400, "duplicate_key", field: "public",
                says: #"the key "public" appears more than once in the request body"#
            )
            expectRefused(
                try await send(#"{"target":"127.0.0.1","labels":{"team":"a","t\u0065am":"b"}}"#), 400, "duplicate_key", field: "labels",
                says: #"the key "team" appears more than once in labels"#
            )
            expectRefused(
                try await send(#"{"networkBlockAll":true,"networkBlockAll":false}"#, to: url + "/labelled/network-settings"), 400, "duplicate_key",
                field: "networkBlockAll", says: "networkBlockAll"
            )

            // Bodies not sent as JSON: 415 naming what was sent, before anything is read or written.
            expectRefused(
                try await send(#"{"id":"form","target":"127.0.0.1"}"#, contentType: "application/x-www-form-urlencoded"), 415, "unsupported_media_type",
                field: nil, says: #"it was sent as "application/x-www-form-urlencoded""#
            )
            expectRefused(
                try await send(#"{"id":"plain","target":"127.0.0.1"}"#, contentType: "text/plain"), 415, "unsupported_media_type", field: nil,
                says: #"it was sent as "text/plain""#
            )
            expectRefused(
                try await send(#"{"id":"none","target":"127.0.0.1"}"#, contentType: nil), 415, "unsupported_media_type", field: nil,
                says: "it was sent without a Content-Type"
            )
            expectRefused(
                try await send(#"{"public":true}"#, to: url + "/labelled", method: "PATCH", contentType: "application/json; charset=iso-8859-1"),
                415, "unsupported_media_type", field: nil, says: "charset=iso-8859-1"
            )
            for id in ["form", "plain", "none"] {
                #expect(try await Curl.get(url: url + "/" + id, headers: [auth]).status == 404)
            }
            #expect(try await send(#"{"id":"utf8","target":"127.0.0.1"}"#, contentType: "application/json; charset=UTF-8").status == 201)
            #expect(try await send(#"{"public":true}"#, to: url + "/utf8", method: "PATCH", contentType: "application/merge-patch+json").status == 200)
            // No body, no Content-Type: the body-less operations are unchanged, and a missing body is still 400.
            #expect(try await send(nil, to: url + "/utf8/preview-token/rotate", contentType: nil).status == 200)
            #expect(try await send(nil, to: url + "/utf8/public/false", contentType: "text/plain").status == 200)
            expectRefused(try await send(nil, contentType: nil), 400, "invalid_json", field: nil, says: "needs a JSON object body")
        }
    }

    @Test("a missing or wrong admin token is 401 and reveals nothing else")
    func authentication() async throws {
        try await withServer { server, _ in
            _ = try await server.client().createSandbox(SandboxCreateRequest(id: "secret", target: "127.0.0.1"))
            let wrong = try server.client(token: "not-the-admin-token-at-all")
            let refused = await #expect(throws: AdminAPIError.self) { try await wrong.sandbox(id: "secret") }
            #expect(refused == .unauthorized)

            // The same answer whether the sandbox or even the path exists: nothing to probe.
            var bodies = Set<String>()
            for (path, headers) in [
                ("/v1/sandboxes/secret", [String]()),
                ("/v1/sandboxes/missing", ["Authorization: Bearer wrong"]),
                ("/v1/nothing-here", ["Authorization: Basic \(Data("admin:x".utf8).base64EncodedString())"]),
                ("/v1/sandboxes", ["Authorization: Bearer"]),
                ("/v1/sandboxes", ["Authorization: Bearer \(server.adminToken)x"]),
            ] {
                let response = try await Curl.get(url: server.adminURL + path, headers: headers)
                #expect(response.status == 401, "\(path) \(headers)")
                #expect(response.header("WWW-Authenticate") == "Bearer")
                bodies.insert(response.text)
            }
            #expect(bodies.count == 1)
            // Probes and the document need no token.
            for path in ["/healthz", "/readyz", "/v1/openapi.json", "/metrics"] {
                #expect(try await Curl.get(url: server.adminURL + path).status == 200, "\(path)")
            }
            // The document served is the committed file, byte for byte.
            let served = try await Curl.get(url: server.adminURL + "/v1/openapi.json")
            let committed = try #require(FileManager.default.contents(atPath: TestPaths.packageRoot + "/Sources/PortholeAdmin/openapi.json"))
            #expect(served.body == committed)
            // The token never reaches the log.
            #expect(!server.process.standardError.contains(server.adminToken))
            #expect(server.process.standardError.contains("admin-token"))
        }
    }

    @Test("PORTHOLE_ADMIN_TOKEN sets the token; none is written to the data directory")
    func configuredToken() async throws {
        let upstream = try await Upstream.start()
        defer { upstream.stop() }
        let token = "configured-admin-token-0123456789"
        let server = try await PortholeProcess.start(environment: ["PORTHOLE_ADMIN_TOKEN": token])
        defer { server.stop() }
        #expect(!FileManager.default.fileExists(atPath: server.dataDirectory + "/admin-token"))
        _ = try await server.client(token: token).createSandbox(SandboxCreateRequest(id: "a", target: "127.0.0.1"))
        // The CLI takes it from the same variable.
        let listed = try await server.cli(["list", "--json"], environment: ["PORTHOLE_ADMIN_TOKEN": token])
        #expect(listed.status == 0)
        #expect(try listed.jsonArray().map { $0["id"] as? String } == ["a"])
    }

    @Test("the generated admin token file is private")
    func tokenFileMode() async throws {
        try await withServer { server, _ in
            let attributes = try FileManager.default.attributesOfItem(atPath: server.dataDirectory + "/admin-token")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(server.adminToken.count >= 43)
        }
    }
}

extension SandboxRecord {
    /// The record as a read shows it: answers to writes add `normalizations`.
    init(from write: SandboxRecord) {
        self = write
        self.normalizations = nil
    }
}
