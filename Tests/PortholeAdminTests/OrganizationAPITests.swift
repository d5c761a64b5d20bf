import Foundation
import PortholeClient
import PortholeCore
import PortholeTestSupport
import Testing

/// Organisations, tiers and API keys through PortholeClient against the real server, and the CLI
/// commands that manage them.
@Suite("Organisations and API keys", .serialized)
struct OrganizationAPITests {
    @Test("organisations: create, read, list, errors; a sandbox of one takes its tier, and follows a change of it")
    func organizations() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            let acme = try await client.createOrganization(OrganizationCreateRequest(id: "acme", tier: 2))
            #expect(acme.id == "acme" && acme.tier == 2)
            let beta = try await client.createOrganization(OrganizationCreateRequest(id: "beta"))
            #expect(beta.tier == 3, "the default tier")
            #expect(try await client.organizations().items.map(\.id) == ["acme", "beta"])
            #expect(try await client.organization(id: "acme") == acme)

            let taken = await #expect(throws: AdminAPIError.self) { try await client.createOrganization(OrganizationCreateRequest(id: "acme")) }
            #expect(taken?.status == 409 && taken?.code == "organization_exists")
            let badTier = await #expect(throws: AdminAPIError.self) { try await client.createOrganization(OrganizationCreateRequest(id: "c", tier: 5)) }
            #expect(badTier?.status == 400 && badTier?.field == "tier")
            let badID = await #expect(throws: AdminAPIError.self) { try await client.createOrganization(OrganizationCreateRequest(id: "Big Co")) }
            #expect(badID?.status == 400 && badID?.field == "id")
            let missing = await #expect(throws: AdminAPIError.self) { try await client.organization(id: "nope") }
            #expect(missing?.status == 404 && missing?.code == "organization_not_found")

            // A sandbox of acme is tier 2: its network is locked.
            let sandbox = try await client.createSandbox(SandboxCreateRequest(id: "s1", target: "127.0.0.1", organizationId: "acme"))
            #expect(sandbox.organizationId == "acme" && sandbox.tier == 2)
            let locked = await #expect(throws: AdminAPIError.self) {
                try await client.setNetworkSettings(id: "s1", NetworkSettingsRequest(networkBlockAll: true))
            }
            #expect(locked?.status == 403 && locked?.code == "network_policy_locked")
            let mismatch = await #expect(throws: AdminAPIError.self) {
                try await client.createSandbox(SandboxCreateRequest(id: "s2", target: "127.0.0.1", tier: 4, organizationId: "acme"))
            }
            #expect(mismatch?.status == 409 && mismatch?.field == "tier")
            // Nor later, by a sandbox update: the organisation's tier is its sandboxes'.
            let patched = await #expect(throws: AdminAPIError.self) {
                try await client.updateSandbox(id: "s1", SandboxUpdateRequest(tier: 4))
            }
            #expect(patched?.status == 409 && patched?.code == "tier_conflict" && patched?.field == "tier")
            #expect(try await client.sandbox(id: "s1").tier == 2)
            #expect(try await client.updateSandbox(id: "s1", SandboxUpdateRequest(tier: 2)).tier == 2, "its own tier is no conflict")
            let unknownOrg = await #expect(throws: AdminAPIError.self) {
                try await client.createSandbox(SandboxCreateRequest(id: "s3", target: "127.0.0.1", organizationId: "nope"))
            }
            #expect(unknownOrg?.status == 404 && unknownOrg?.field == "organizationId")
            let unowned = try await client.createSandbox(SandboxCreateRequest(id: "s4", target: "127.0.0.1"))
            #expect(unowned.organizationId == nil && unowned.tier == 3)

            // The tier moves every sandbox of the organisation, and only those.
            let moved = try await client.setOrganizationTier(id: "acme", tier: 4)
            #expect(moved.tier == 4 && moved.createdAt == acme.createdAt)
            #expect(try await client.sandbox(id: "s1").tier == 4)
            #expect(try await client.sandbox(id: "s4").tier == 3)
            let opened = try await client.setNetworkSettings(id: "s1", NetworkSettingsRequest(networkBlockAll: true))
            #expect(opened.networkBlockAll)
            _ = try await client.setOrganizationTier(id: "acme", tier: 1)
            #expect(try await client.sandbox(id: "s1").tier == 1)
            let noTier = await #expect(throws: AdminAPIError.self) { try await client.setOrganizationTier(id: "acme", tier: 0) }
            #expect(noTier?.status == 400)

            // The allow lists of tiers 1 and 2: the sandboxes' syntax, stored normalized, reported
            // as the egress of the organisation's restricted sandboxes.
            let listed = try await client.updateOrganization(
                id: "acme", OrganizationUpdateRequest(networkAllowList: .set("192.168.1.7/24"), domainAllowList: .set("PyPI.org."))
            )
            #expect(listed.networkAllowList == "192.168.1.0/24" && listed.domainAllowList == "pypi.org" && listed.tier == 1)
            #expect(try await client.egress(id: "s1").networks.isEmpty, "blocking all (set on tier 4) still wins")
            _ = try await client.setNetworkSettings(id: "s1", NetworkSettingsRequest(networkBlockAll: false))
            let egress = try await client.egress(id: "s1")
            #expect(egress.networks == ["192.168.1.0/24"] && egress.domains == ["pypi.org"], "\(egress)")
            #expect(try await client.egress(id: "s4").networks.isEmpty)
            let badList = await #expect(throws: AdminAPIError.self) {
                try await client.updateOrganization(id: "acme", OrganizationUpdateRequest(networkAllowList: .set("10.0.0.300/8")))
            }
            #expect(badList?.status == 400 && badList?.field == "networkAllowList")
            let cleared = try await client.updateOrganization(id: "acme", OrganizationUpdateRequest(networkAllowList: .clear))
            #expect(cleared.networkAllowList == nil && cleared.domainAllowList == "pypi.org")
        }
    }

    @Test("concurrent changes of one organisation lose none of each other's, and its sandboxes end on its tier")
    func concurrentChanges() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            _ = try await client.createOrganization(OrganizationCreateRequest(id: "race", tier: 3))
            for index in 0..<20 {
                _ = try await client.createSandbox(SandboxCreateRequest(id: "r\(index)", target: "127.0.0.1", organizationId: "race"))
            }
            for round in 1...8 {
                // Each request reads the organisation and writes it back: unserialised, the later
                // write restored the field the earlier one had just changed.
                async let lists = client.updateOrganization(id: "race", OrganizationUpdateRequest(domainAllowList: .set("d\(round).example")))
                async let networks = client.updateOrganization(
                    id: "race", OrganizationUpdateRequest(networkAllowList: .set("10.\(round).0.0/16")))
                async let tier = client.setOrganizationTier(id: "race", tier: round % 2 == 0 ? 1 : 4)
                async let sandbox = client.createSandbox(SandboxCreateRequest(id: "late\(round)", target: "127.0.0.1", organizationId: "race"))
                _ = try await (lists, networks, tier, sandbox)
                let organization = try await client.organization(id: "race")
                #expect(organization.domainAllowList == "d\(round).example", "round \(round)")
                #expect(organization.networkAllowList == "10.\(round).0.0/16", "round \(round)")
                let tiers = Set(try await client.listSandboxes(limit: 100).items.map(\.tier))
                #expect(tiers == [organization.tier], "round \(round): sandboxes on tiers \(tiers), the organisation on \(organization.tier)")
            }
        }
    }

    @Test("API keys: made with their secret once, listed without it, revoked for good")
    func apiKeys() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            _ = try await client.createOrganization(OrganizationCreateRequest(id: "acme"))
            let created = try await client.createAPIKey(organizationID: "acme", APIKeyCreateRequest(name: "ci runner"))
            #expect(created.key.hasPrefix("ph_\(created.apiKey.id)_") && created.key.count > 50)
            #expect(created.apiKey.organizationId == "acme" && created.apiKey.name == "ci runner" && created.apiKey.revokedAt == nil)
            let second = try await client.createAPIKey(organizationID: "acme")
            #expect(second.apiKey.id != created.apiKey.id && second.key != created.key)

            let listed = try await client.apiKeys(organizationID: "acme")
            #expect(Set(listed.items.map(\.id)) == [created.apiKey.id, second.apiKey.id])
            // The secret is nowhere in a list.
            let raw = try await Curl.get(
                url: "\(server.adminURL)/v1/organizations/acme/api-keys", headers: ["Authorization: Bearer \(server.adminToken)"]
            )
            #expect(!String(decoding: raw.body, as: UTF8.self).contains(created.key.split(separator: "_").last.map(String.init) ?? "-"))

            let revoked = try await client.revokeAPIKey(id: created.apiKey.id)
            #expect(revoked.revokedAt != nil)
            #expect(try await client.revokeAPIKey(id: created.apiKey.id).revokedAt == revoked.revokedAt, "idempotent")
            let unknown = await #expect(throws: AdminAPIError.self) { try await client.revokeAPIKey(id: "aaaaaaaaaaaa") }
            #expect(unknown?.status == 404)
            let malformed = await #expect(throws: AdminAPIError.self) { try await client.revokeAPIKey(id: "x") }
            #expect(malformed?.status == 400)
            let noOrg = await #expect(throws: AdminAPIError.self) { try await client.createAPIKey(organizationID: "nope") }
            #expect(noOrg?.status == 404)
            let badName = await #expect(throws: AdminAPIError.self) {
                try await client.createAPIKey(organizationID: "acme", APIKeyCreateRequest(name: "bad\u{1B}[31m"))
            }
            #expect(badName?.status == 400 && badName?.field == "name")
            // A key is no admin token.
            let asAdmin = await #expect(throws: AdminAPIError.self) { try await server.client(token: second.key).organizations() }
            #expect(asAdmin?.status == 401)
        }
    }

    @Test("porthole org and porthole api-key, through the server and on the store directly")
    func commandLine() async throws {
        try await withServer { server, _ in
            let created = try await server.cli(["create", "acme", "--tier", "2"], command: "org")
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("acme") && created.stdout.contains("2"))
            let tier = try await server.cli(["set-tier", "acme", "3", "--json"], command: "org")
            #expect(try tier.json()["tier"] as? Int == 3)
            let key = try await server.cli(["create", "--org", "acme", "--name", "ci"], command: "api-key")
            #expect(key.status == 0 && key.stdout.contains("API key (shown once): ph_"), "\(key.stdout) \(key.stderr)")
            let list = try await server.cli(["list", "--org", "acme"], command: "api-key")
            #expect(list.stdout.contains("ci") && !list.stdout.contains("ph_"), "\(list.stdout)")
            let missing = try await server.cli(["set-tier", "nope", "3"], command: "org")
            #expect(missing.status == 1 && missing.stderr.contains("no organisation has id 'nope'"))
        }
        // No server: the data directory's store, written directly.
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let direct = try await PortholeProcess.cli(["create", "solo"], directory: directory, command: "org")
        #expect(direct.status == 0, "\(direct.stderr)")
        let listed = try await PortholeProcess.cli(["list", "--json"], directory: directory, command: "org")
        #expect(listed.stdout.contains("\"solo\""), "\(listed.stdout)")
    }
}
