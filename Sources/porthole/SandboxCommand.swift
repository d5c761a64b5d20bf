import ArgumentParser
import Foundation
import Logging
import PortholeCore
import PortholeStore

/// `porthole sandbox …`: manage sandbox policies in the data directory's store. A running server
/// picks every change up from the store's change feed within its poll interval (250 ms).
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Register and change sandboxes (writes the store in the data directory).",
        subcommands: [Create.self, Get.self, List.self, Delete.self, SetPublic.self, RotateToken.self, SetState.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(help: "Data directory of the server. (default: $PORTHOLE_DATA_DIR or .porthole)")
        var dataDir: String?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func withStore<T>(_ body: (SQLitePolicyStore) async throws -> T) async throws -> T {
            let directory = dataDir ?? ProcessInfo.processInfo.environment["PORTHOLE_DATA_DIR"] ?? ".porthole"
            var logger = Logger(label: "porthole.cli")
            logger.logLevel = .warning
            let store = try await SQLitePolicyStore.open(path: DataDirectory(path: directory).databasePath, logger: logger)
            do {
                let result = try await body(store)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        }

        func show(_ policy: SandboxPolicy) throws {
            if json {
                print(try SandboxCommand.json(policy))
            } else {
                print(SandboxCommand.table([policy]))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a sandbox and print its preview token.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Sandbox id (lowercase letters, digits, '-'; generated when absent).") var id: String?
        @Option(help: "Address of the sandbox: the proxy connects to <target>:<port>.") var target: String
        @Flag(help: "Open to anyone without a token.") var `public` = false
        @Flag(help: "Present Host: localhost:<port> to the sandbox (dev servers that check Host).") var hostRewrite = false
        @Option(help: "Label key=value; repeat for several.") var label: [String] = []

        func run() async throws {
            let id = try self.id.map(SandboxCommand.validatedID) ?? SandboxCommand.generatedID()
            var labels: [String: String] = [:]
            for pair in label {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("label must be key=value, got \"\(pair)\"")
                }
                labels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            guard !target.isEmpty, !target.contains(where: { $0 == "/" || $0 == " " }) else {
                throw ValidationError("target must be an IP address or host name, got \"\(target)\"")
            }
            let now = Int64(Date().timeIntervalSince1970)
            let policy = SandboxPolicy(
                id: id, target: target, isPublic: `public`, previewToken: PreviewToken.generate(),
                labels: labels, hostRewrite: hostRewrite, createdAt: now, updatedAt: now
            )
            try await store.withStore { try await $0.create(policy) }
            if store.json {
                print(try SandboxCommand.json(policy))
            } else {
                print(SandboxCommand.table([policy]))
                print("preview token: \(policy.previewToken)")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one sandbox.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            let policy = try await store.withStore { try await $0.policy(id: id) }
            guard let policy else { throw SandboxCommandError("no sandbox \"\(id)\"") }
            try store.show(policy)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sandboxes.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only sandboxes with this label key=value.") var label: String?

        func run() async throws {
            var filter: (key: String, value: String)? = nil
            if let label {
                guard let equals = label.firstIndex(of: "=") else { throw ValidationError("label must be key=value") }
                filter = (String(label[..<equals]), String(label[label.index(after: equals)...]))
            }
            let policies = try await store.withStore { store in
                var all: [SandboxPolicy] = []
                var after: String? = nil
                while true {
                    let page = try await store.list(label: filter, after: after, limit: 500)
                    all += page
                    guard page.count == 500, let last = page.last else { break }
                    after = last.id
                }
                return all
            }
            if store.json {
                print(try SandboxCommand.json(policies))
            } else {
                print(SandboxCommand.table(policies))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a sandbox.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            let deleted = try await store.withStore { try await $0.delete(id: id) }
            guard deleted else { throw SandboxCommandError("no sandbox \"\(id)\"") }
            print("deleted \(id)")
        }
    }

    struct SetPublic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-public", abstract: "Make a sandbox public (true) or private (false).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "true or false.") var value: Bool

        func run() async throws {
            let policy = try await SandboxCommand.modify(store, id) { $0.isPublic = value }
            try store.show(policy)
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Issue a new preview token; the old one and the browser sessions it started stop working."
        )
        @OptionGroup var store: StoreOptions
        @Argument(help: "Sandbox id.") var id: String

        func run() async throws {
            let policy = try await SandboxCommand.modify(store, id) {
                $0.previewToken = PreviewToken.generate()
                $0.tokenGeneration &+= 1
            }
            if store.json { print(try SandboxCommand.json(policy)) } else { print("preview token: \(policy.previewToken)") }
        }
    }

    struct SetState: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-state", abstract: "Mark a sandbox started or stopped (stopped answers 503).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Sandbox id.") var id: String
        @Argument(help: "started or stopped.") var state: String

        func run() async throws {
            guard let newState = SandboxState(rawValue: state) else { throw ValidationError("state must be started or stopped") }
            let policy = try await SandboxCommand.modify(store, id) { $0.state = newState }
            try store.show(policy)
        }
    }

    // MARK: - Shared

    static func modify(_ options: StoreOptions, _ id: String, _ change: @Sendable (inout SandboxPolicy) -> Void) async throws -> SandboxPolicy {
        try await options.withStore { store in
            guard var policy = try await store.policy(id: id) else { throw SandboxCommandError("no sandbox \"\(id)\"") }
            change(&policy)
            policy.updatedAt = Int64(Date().timeIntervalSince1970)
            try await store.update(policy)
            return policy
        }
    }

    static func validatedID(_ id: String) throws -> String {
        let bytes = Array(id.utf8)
        let valid = !bytes.isEmpty && bytes.count <= 57 && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-")
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
        guard valid else {
            throw ValidationError("sandbox id must be 1–57 lowercase letters, digits or '-' (not first or last), got \"\(id)\"")
        }
        return id
    }

    static func generatedID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func table(_ policies: [SandboxPolicy]) -> String {
        var rows = [["ID", "TARGET", "PUBLIC", "STATE", "HOST REWRITE", "LABELS"]]
        for policy in policies {
            let labels = policy.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            rows.append([policy.id, policy.target, String(policy.isPublic), policy.state.rawValue, String(policy.hostRewrite), labels])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

struct SandboxCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
