import ArgumentParser
import Foundation
import PortholeClient
import PortholeCore
import PortholeStore

/// `porthole sandbox …`: the admin API from the command line. Tables for people, `--json` (the API's
/// own JSON) for scripts. Exit status: 0 done, 1 the API (or the store) refused or failed, with its
/// message on standard error, 2 a usage error.
///
/// Which server: `--admin-url` (or `PORTHOLE_ADMIN_URL`); else the one whose address the data
/// directory records (`<data-dir>/admin-url`, written by `porthole serve`); with no server running
/// there, the data directory's store is written directly, and a server started later (or running
/// without its admin listener) reads it.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Create and change sandboxes through the admin API.",
        discussion: """
            Talks to the admin API at --admin-url (or PORTHOLE_ADMIN_URL), else at the address the \
            server recorded in the data directory (<data-dir>/admin-url), with the token from \
            --admin-token, PORTHOLE_ADMIN_TOKEN or <data-dir>/admin-token. With no server running on \
            the data directory, writes its store directly. Exit status: 0 ok, 1 API error, 2 usage error.
            """,
        subcommands: [
            Create.self, Get.self, List.self, Update.self, Delete.self, SetPublic.self, Network.self, Egress.self, PreviewLink.self,
            SignedURL.self, ExpireSignedURL.self, RotateToken.self, SetState.self,
        ]
    )

    struct Options: ParsableArguments {
        @Option(help: "Admin API URL, e.g. http://127.0.0.1:8081. (default: $PORTHOLE_ADMIN_URL, else <data-dir>/admin-url)")
        var adminURL: String?

        @Option(help: "Admin API token. (default: $PORTHOLE_ADMIN_TOKEN, else <data-dir>/admin-token)")
        var adminToken: String?

        @Option(help: "Data directory of the server. (default: $PORTHOLE_DATA_DIR or .porthole)")
        var dataDir: String?

        @Option(
            help:
                "Write the policy store directly: a postgresql:// URL, as porthole serve --store. (default: $PORTHOLE_STORE; else the server's admin API, or the SQLite file in the data directory)"
        )
        var store: String?

        @Flag(help: "Print the API's JSON instead of a table.")
        var json = false

        /// Runs `body` against the chosen backend and turns refusals into exit status 1.
        func run<T>(_ body: (any SandboxBackend) async throws -> T) async throws -> T {
            let backend: any SandboxBackend
            do {
                backend = try await chooseBackend()
            } catch let error as ValidationError {
                throw error
            } catch {
                throw SandboxCommand.failure(error)
            }
            do {
                let result = try await body(backend)
                await backend.close()
                return result
            } catch {
                await backend.close()
                throw SandboxCommand.failure(error)
            }
        }

        private func chooseBackend() async throws -> any SandboxBackend {
            let environment = ProcessInfo.processInfo.environment
            let explicitDirectory = dataDir ?? environment["PORTHOLE_DATA_DIR"]
            let directory = DataDirectory(path: explicitDirectory ?? ".porthole")
            let credentials = AdminCredentials(dataDirectory: directory)

            if let url = adminURL ?? environment["PORTHOLE_ADMIN_URL"] {
                return try client(url, credentials)
            }
            // A shared store named explicitly: written directly, as every instance reads it.
            if let store = store ?? environment["PORTHOLE_STORE"], !store.isEmpty {
                let location: StoreLocation
                do {
                    location = try StoreLocation(store: store, dataDirectory: directory)
                } catch {
                    throw ValidationError("\(error)")
                }
                return try await DirectStoreBackend.open(directory, location: location)
            }
            if let url = credentials.storedURL() {
                let client = try client(url, credentials)
                do {
                    _ = try await client.health()
                    return client
                } catch let error as AdminClientError where error.isConnectionFailure {
                    // The server that wrote the address is gone (killed without a clean shutdown).
                }
            }
            // Never guess a server for an explicitly named data directory: the default port may be
            // another server's.
            if explicitDirectory != nil || FileManager.default.fileExists(atPath: directory.databasePath) {
                return try await DirectStoreBackend.open(directory, location: .sqlite(directory))
            }
            return try client("http://127.0.0.1:8081", credentials)
        }

        private func client(_ url: String, _ credentials: AdminCredentials) throws -> AdminClient {
            guard let token = adminToken ?? ProcessInfo.processInfo.environment["PORTHOLE_ADMIN_TOKEN"] ?? credentials.storedToken() else {
                guard FileManager.default.fileExists(atPath: credentials.dataDirectory.path) else {
                    throw ValidationError(
                        "no Porthole server or data directory here (\(credentials.dataDirectory.path) does not exist): pass --data-dir of the server "
                            + "(or set PORTHOLE_DATA_DIR), --admin-url with --admin-token, or --store for a shared PostgreSQL store"
                    )
                }
                throw ValidationError(
                    "no admin token: pass --admin-token, set PORTHOLE_ADMIN_TOKEN, or use --data-dir of the server (it keeps admin-token there)")
            }
            do {
                return try AdminClient(url: url, token: token)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func show(_ record: SandboxRecord) throws {
            if json {
                print(try SandboxCommand.json(record))
            } else {
                print(SandboxCommand.details(record))
            }
        }
    }

    // MARK: - Commands

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a sandbox and print its preview token.")
        @OptionGroup var options: Options
        @Option(help: "Sandbox id: lowercase letters, digits and '-' (generated when absent).") var id: String?
        @Option(help: "Address of the sandbox: the proxy connects to <target>:<port>.") var target: String
        @Flag(help: "Open to anyone without a token.") var `public` = false
        @Flag(help: "Present Host: localhost:<port> to the sandbox (dev servers that check Host).") var hostRewrite = false
        @Option(help: "Label key=value; repeat for several.") var label: [String] = []
        @Option(help: "Organisation tier 1–4; tiers 1 and 2 cannot set network limits. (default: 3)") var tier: Int?
        @Option(help: "Organisation the sandbox belongs to (porthole org); it takes the organisation's tier.") var org: String?
        @Flag(help: "Block all network access from the sandbox.") var networkBlockAll = false
        @Option(help: "Allowed networks: comma-separated IPv4 CIDRs, at most 5 (e.g. 10.0.0.0/8,172.16.0.0/12).") var networkAllowList: String?
        @Option(help: "Allowed DNS names: comma-separated names and *.name wildcards, at most 10 (e.g. pypi.org,*.github.com).")
        var domainAllowList: String?

        func run() async throws {
            let request = SandboxCreateRequest(
                id: id, target: target, isPublic: `public` ? true : nil, networkBlockAll: networkBlockAll ? true : nil,
                networkAllowList: networkAllowList, domainAllowList: domainAllowList,
                labels: label.isEmpty ? nil : try SandboxCommand.labels(label), tier: tier, hostRewrite: hostRewrite ? true : nil,
                organizationId: org
            )
            let record = try await options.run { try await $0.create(request) }
            if options.json {
                print(try SandboxCommand.json(record))
            } else {
                print(SandboxCommand.table([record]))
                SandboxCommand.printNormalisations(record)
                print("preview token: \(record.previewToken)")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one sandbox as stored (refreshData).")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            try options.show(try await options.run { try await $0.sandbox(id: id) })
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sandboxes (all pages).")
        @OptionGroup var options: Options
        @Option(help: "Only sandboxes with this label key=value.") var label: String?

        func run() async throws {
            let filter = try label.map { try SandboxCommand.pair($0, what: "label") }
            let records = try await options.run { try await $0.all(label: filter) }
            print(options.json ? try SandboxCommand.json(records) : SandboxCommand.table(records))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change fields of a sandbox; the rest stays as it is.")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Option(help: "New address of the sandbox.") var target: String?
        @Option(help: "true or false.") var `public`: Bool?
        @Option(help: "true or false.") var hostRewrite: Bool?
        @Option(help: "Organisation tier 1–4.") var tier: Int?
        @Option(help: "started or stopped (stopped answers 503).") var state: String?
        @Option(help: "Replace all labels with these key=value pairs; repeat for several.") var label: [String] = []
        @Flag(help: "Remove all labels.") var clearLabels = false

        func run() async throws {
            var request = SandboxUpdateRequest(target: target, isPublic: `public`, tier: tier, hostRewrite: hostRewrite)
            if let state {
                guard let parsed = SandboxState(settable: state) else { throw ValidationError("state must be started or stopped") }
                request.state = parsed
            }
            if clearLabels && !label.isEmpty { throw ValidationError("give --label or --clear-labels, not both") }
            if clearLabels { request.labels = [:] }
            if !label.isEmpty { request.labels = try SandboxCommand.labels(label) }
            let record = try await options.run { try await $0.update(id: id, request) }
            try options.show(record)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a sandbox; its previews answer 404 from the next request.")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            try await options.run { try await $0.delete(id: id) }
            if options.json { print("{\"deleted\":\"\(id)\"}") } else { print("deleted \(id)") }
        }
    }

    struct SetPublic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-public", abstract: "Make a sandbox public (true) or private (false).")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "true or false.") var value: Bool

        func run() async throws {
            try options.show(try await options.run { try await $0.setPublic(id: id, value) })
        }
    }

    struct Network: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a sandbox's network limits (tiers 1 and 2 cannot).",
            discussion: "Without options, shows the current settings."
        )
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Option(help: "true: block all network access; false: allow it.") var blockAll: Bool?
        @Option(help: "Allowed networks: comma-separated IPv4 CIDRs (e.g. 10.0.0.0/8,172.16.0.0/12).") var allowList: String?
        @Flag(help: "Remove the allow list (full access, subject to the tier).") var clearAllowList = false
        @Option(help: "Allowed DNS names: comma-separated names and *.name wildcards (e.g. pypi.org,*.github.com).") var domainAllowList: String?
        @Flag(help: "Remove the domain allow list.") var clearDomainAllowList = false

        func run() async throws {
            if clearAllowList && allowList != nil { throw ValidationError("give --allow-list or --clear-allow-list, not both") }
            if clearDomainAllowList && domainAllowList != nil {
                throw ValidationError("give --domain-allow-list or --clear-domain-allow-list, not both")
            }
            let update: FieldUpdate<String>? = clearAllowList ? .clear : allowList.map { .set($0) }
            let domainUpdate: FieldUpdate<String>? = clearDomainAllowList ? .clear : domainAllowList.map { .set($0) }
            let record = try await options.run { backend in
                if blockAll == nil && update == nil && domainUpdate == nil { return try await backend.sandbox(id: id) }
                return try await backend.setNetworkSettings(
                    id: id, NetworkSettingsRequest(networkBlockAll: blockAll, networkAllowList: update, domainAllowList: domainUpdate)
                )
            }
            if options.json {
                print(try SandboxCommand.json(record))
            } else {
                let noLists = record.networkAllowList == nil && record.domainAllowList == nil
                print(
                    SandboxCommand.keyValues([
                        ("sandbox", record.id), ("tier", String(record.tier)), ("network block all", String(record.networkBlockAll)),
                        ("network allow list", record.networkAllowList ?? (noLists ? "(none: full access, subject to the tier)" : "(none)")),
                        ("domain allow list", record.domainAllowList ?? "(none)"),
                    ]))
                SandboxCommand.printNormalisations(record)
            }
        }
    }

    struct Egress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show what the egress firewall enforces for a sandbox: its class, networks, names, and what the agent reports (resolved addresses, drops)."
        )
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            let egress = try await options.run { try await $0.egress(id: id) }
            if options.json {
                print(try SandboxCommand.json(egress))
                return
            }
            var rows = [
                ("sandbox", egress.sandboxId), ("class", egress.egressClass.rawValue), ("source", egress.source ?? "(none)"),
                ("networks", egress.networks.isEmpty ? "(none)" : egress.networks.joined(separator: ",")),
                ("domains", egress.domains.isEmpty ? "(none)" : egress.domains.joined(separator: ",")),
                ("essential services", String(egress.essentialServices)),
            ]
            if let reason = egress.unenforceable { rows.append(("unenforceable", reason)) }
            if let enforcement = egress.enforcement {
                let drops = enforcement.droppedPackets
                rows += [
                    ("agent", "\(enforcement.host), reported at \(enforcement.reportedAt) (Unix seconds)"),
                    ("applied class", enforcement.appliedClass.rawValue),
                    ("dropped packets", "blocked \(drops.blockedAll), never reachable \(drops.neverReachable), not allowed \(drops.notAllowed)"),
                ]
                if !enforcement.conflictsWith.isEmpty {
                    rows.append(("address also claimed by", enforcement.conflictsWith.joined(separator: ",")))
                }
                for address in enforcement.resolvedAddresses {
                    let scope = address.shared ? ", shared" : ""
                    rows.append(("resolved", "\(address.name) \(address.address) (\(address.expiresInSeconds) s left\(scope))"))
                }
            } else {
                rows.append(("agent", "(no report: no porthole egress has reported this sandbox's address)"))
            }
            print(SandboxCommand.keyValues(rows))
        }
    }

    struct PreviewLink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "preview-link", abstract: "Print the preview URL of a port and the token that opens it.")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "Port 1–65535.") var port: Int

        func run() async throws {
            let link = try await options.run { try await $0.previewLink(id: id, port: port) }
            if options.json {
                print(try SandboxCommand.json(link))
            } else {
                print(SandboxCommand.keyValues([("url", link.url), ("token", link.token)]))
            }
        }
    }

    struct SignedURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signed-url", abstract: "Make a URL that opens a port's preview without any header until it expires."
        )
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "Port 1–65535.") var port: Int
        @Option(help: "Seconds until it expires, 1–86400. (default: 60)") var expiresIn: Int?

        func run() async throws {
            let signed = try await options.run { try await $0.signedPreviewURL(id: id, port: port, expiresInSeconds: expiresIn) }
            if options.json {
                print(try SandboxCommand.json(signed))
            } else {
                print(
                    SandboxCommand.keyValues([
                        ("url", signed.url), ("expires", SandboxCommand.date(signed.expiresAt)), ("token", signed.token),
                    ]))
            }
        }
    }

    struct ExpireSignedURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "expire-signed-url", abstract: "Revoke a signed preview URL and the browser sessions it started."
        )
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "Port 1–65535.") var port: Int
        @Argument(help: "The token of the signed URL (its preview_token parameter).") var token: String

        func run() async throws {
            let revocation = try await options.run { try await $0.expireSignedPreviewURL(id: id, port: port, token: token) }
            if options.json {
                print(try SandboxCommand.json(revocation))
            } else {
                print("revoked signed URL \(revocation.grantId) of \(revocation.sandboxId) port \(revocation.port)")
            }
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Issue a new preview token; the old one, its browser sessions and every signed URL stop working."
        )
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            let record = try await options.run { try await $0.rotatePreviewToken(id: id) }
            if options.json { print(try SandboxCommand.json(record)) } else { print("preview token: \(record.previewToken)") }
        }
    }

    struct SetState: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-state", abstract: "Mark a sandbox started or stopped (stopped answers 503).")
        @OptionGroup var options: Options
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "started or stopped.") var state: String

        func run() async throws {
            guard let newState = SandboxState(settable: state) else { throw ValidationError("state must be started or stopped") }
            try options.show(try await options.run { try await $0.update(id: id, SandboxUpdateRequest(state: newState)) })
        }
    }
}

// MARK: - Output

extension SandboxCommand {
    /// Prints the refusal for a person and exits 1.
    static func failure(_ error: any Error) -> any Error {
        let message: String
        switch error {
        case let error as AdminAPIError:
            message = error.field.map { "\(error.message) (field: \($0))" } ?? error.message
        default:
            message = "\(error)"
        }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode.failure
    }

    static func labels(_ pairs: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for text in pairs {
            let (key, value) = try pair(text, what: "label")
            labels[key] = value
        }
        return labels
    }

    static func pair(_ text: String, what: String) throws -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("\(what) must be key=value, got \"\(text)\"")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func printNormalisations(_ record: SandboxRecord) {
        for note in record.normalizations ?? [] {
            if note.field == "domainAllowList" {
                print("note: domain allow list entry \(note.original) was stored as \(note.normalized)")
            } else {
                print("note: network allow list entry \(note.original) was stored as \(note.normalized) (host bits cleared)")
            }
        }
    }

    static func date(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `blocked`, `full`, or what the allow lists let it reach: networks, then names.
    static func network(_ record: SandboxRecord) -> String {
        if record.networkBlockAll { return "blocked" }
        let lists = [record.networkAllowList, record.domainAllowList].compactMap { $0 }
        return lists.isEmpty ? "full" : lists.joined(separator: ",")
    }

    static func table(_ records: [SandboxRecord]) -> String {
        var rows = [["ID", "TARGET", "PUBLIC", "STATE", "TIER", "NETWORK", "HOST REWRITE", "LABELS"]]
        for record in records {
            rows.append([
                record.id, record.target, String(record.isPublic), record.state.rawValue, String(record.tier), network(record),
                String(record.hostRewrite), labelsText(record.labels),
            ])
        }
        return columns(rows)
    }

    static func details(_ record: SandboxRecord) -> String {
        keyValues([
            ("id", record.id), ("target", record.target), ("public", String(record.isPublic)), ("state", record.state.rawValue),
            ("tier", String(record.tier)), ("organisation", record.organizationId ?? "(none)"),
            ("network block all", String(record.networkBlockAll)),
            ("network allow list", record.networkAllowList ?? "(none)"), ("domain allow list", record.domainAllowList ?? "(none)"),
            ("host rewrite", String(record.hostRewrite)),
            ("labels", labelsText(record.labels)), ("token generation", String(record.tokenGeneration)),
            ("created", date(record.createdAt)), ("updated", date(record.updatedAt)),
        ])
    }

    static func keyValues(_ pairs: [(String, String)]) -> String {
        columns(pairs.map { [$0.0.uppercased(), $0.1] })
    }

    private static func labelsText(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func columns(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
