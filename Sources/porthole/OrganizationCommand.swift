import ArgumentParser
import Foundation
import PortholeCore

/// `porthole org …`: organisations and their tiers, through the admin API (or the store directly,
/// as `porthole sandbox` chooses).
struct OrganizationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org",
        abstract: "Create organisations and set their tiers and allow lists.",
        discussion: """
            An organisation owns API keys (porthole api-key) and the sandboxes made with them; its tier (1–4) \
            is every such sandbox's tier. Tiers 1 and 2 are restricted to the essential services and cannot \
            set network limits. Same server and store choice as porthole sandbox.
            """,
        subcommands: [Create.self, List.self, SetTier.self, SetAllowList.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation.")
        @OptionGroup var options: SandboxCommand.Options
        @Argument(help: "Organisation id: lowercase letters, digits and '-'.") var id: String
        @Option(help: "Tier 1–4. (default: 3)") var tier: Int?
        @Option(help: "Tiers 1 and 2: IPv4 CIDRs its sandboxes may reach besides the essential services, comma-separated.")
        var networkAllowList: String?
        @Option(help: "Tiers 1 and 2: names (and *.name) its sandboxes may resolve and reach, comma-separated.")
        var domainAllowList: String?

        func run() async throws {
            let request = OrganizationCreateRequest(id: id, tier: tier, networkAllowList: networkAllowList, domainAllowList: domainAllowList)
            let organization = try await options.run { try await $0.createOrganization(request) }
            print(options.json ? try SandboxCommand.json(organization) : OrganizationCommand.table([organization]))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        @OptionGroup var options: SandboxCommand.Options

        func run() async throws {
            let list = try await options.run { try await $0.organizations() }
            print(options.json ? try SandboxCommand.json(list) : OrganizationCommand.table(list.items))
        }
    }

    struct SetTier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-tier", abstract: "Change an organisation's tier, and so the tier of each of its sandboxes."
        )
        @OptionGroup var options: SandboxCommand.Options
        @Argument(help: "Organisation id.") var id: String
        @Argument(help: "Tier 1–4.") var tier: Int

        func run() async throws {
            let organization = try await options.run { try await $0.updateOrganization(id: id, OrganizationUpdateRequest(tier: tier)) }
            print(options.json ? try SandboxCommand.json(organization) : OrganizationCommand.table([organization]))
        }
    }

    struct SetAllowList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-allow-list", abstract: "Set or clear what an organisation's tier 1 or 2 sandboxes may reach besides the essential services."
        )
        @OptionGroup var options: SandboxCommand.Options
        @Argument(help: "Organisation id.") var id: String
        @Option(help: "IPv4 CIDRs, comma-separated; \"\" clears.") var networkAllowList: String?
        @Option(help: "Names and *.name, comma-separated; \"\" clears.") var domainAllowList: String?

        func run() async throws {
            func update(_ text: String?) -> FieldUpdate<String>? {
                text.map { $0.isEmpty ? .clear : .set($0) }
            }
            guard networkAllowList != nil || domainAllowList != nil else {
                throw ValidationError("pass --network-allow-list or --domain-allow-list (\"\" clears one)")
            }
            let request = OrganizationUpdateRequest(networkAllowList: update(networkAllowList), domainAllowList: update(domainAllowList))
            let organization = try await options.run { try await $0.updateOrganization(id: id, request) }
            print(options.json ? try SandboxCommand.json(organization) : OrganizationCommand.table([organization]))
        }
    }

    static func table(_ organizations: [Organization]) -> String {
        SandboxCommand.columns(
            [["ID", "TIER", "NETWORK ALLOW LIST", "DOMAIN ALLOW LIST"]]
                + organizations.map { [$0.id, String($0.tier), $0.networkAllowList ?? "-", $0.domainAllowList ?? "-"] }
        )
    }
}

/// `porthole api-key …`: the keys of the Daytona-compatible API (`DAYTONA_API_KEY`).
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Make, list and revoke organisations' API keys.",
        discussion: """
            A key (ph_<id>_<secret>) authenticates the Daytona-compatible API (/api) as its organisation: \
            sandboxes made with it belong to the organisation and take its tier, and it sees only those. \
            The secret is printed once, at creation, and stored only as a hash.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print it (once).")
        @OptionGroup var options: SandboxCommand.Options
        @Option(help: "The organisation the key belongs to.") var org: String
        @Option(help: "What the key is for, shown in lists.") var name: String?

        func run() async throws {
            let created = try await options.run { try await $0.createAPIKey(organizationID: org, APIKeyCreateRequest(name: name)) }
            if options.json {
                print(try SandboxCommand.json(created))
            } else {
                print(APIKeyCommand.table([created.apiKey]))
                print("API key (shown once): \(created.key)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's keys (never their secrets).")
        @OptionGroup var options: SandboxCommand.Options
        @Option(help: "The organisation.") var org: String

        func run() async throws {
            let list = try await options.run { try await $0.apiKeys(organizationID: org) }
            print(options.json ? try SandboxCommand.json(list) : APIKeyCommand.table(list.items))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once.")
        @OptionGroup var options: SandboxCommand.Options
        @Argument(help: "The key's id (the 12 characters after ph_).") var id: String

        func run() async throws {
            let key = try await options.run { try await $0.revokeAPIKey(id: id) }
            print(options.json ? try SandboxCommand.json(key) : APIKeyCommand.table([key]))
        }
    }

    static func table(_ keys: [APIKey]) -> String {
        SandboxCommand.columns(
            [["ID", "ORGANISATION", "NAME", "REVOKED"]]
                + keys.map { [$0.id, $0.organizationId, $0.name, $0.revokedAt.map { _ in "yes" } ?? "no"] }
        )
    }
}
