import ArgumentParser
import Foundation
import Logging
import PortholeCore
import PortholeEgress
import PortholeStore
import ServiceLifecycle

struct EgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress",
        abstract: "Enforce the sandboxes' network limits in the kernel (nftables); run on every host that runs sandboxes.",
        discussion: """
            Keeps the nftables table inet porthole in step with the policy store that porthole serve \
            writes: rebuilt at start in one transaction, then every change within a second, as element \
            changes in one transaction. Needs CAP_NET_ADMIN. When it stops, the table stays in force. \
            Every setting is also an environment variable PORTHOLE_<NAME> and a key of the JSON config file.
            """
    )

    @Option(help: "JSON config file of settings (keys are the flag names without --).")
    var config: String?
    @Option(help: "Directory of the policy store that porthole serve writes. (default: .porthole)")
    var dataDir: String?
    @Option(help: "Host interface (nft pattern, e.g. psb*) that sandbox traffic enters on; repeat for several. Required.")
    var sandboxInterface: [String] = []
    @Option(help: "CIDR no sandbox may reach whatever its policy (besides link-local, multicast and the host's own addresses); repeat or comma-separate.")
    var egressDeny: [String] = []
    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    static let settingNames = ["data-dir", "sandbox-interface", "egress-deny", "log-level"]

    func run() async throws {
        let source = try SettingsSource(configPath: config, known: Self.settingNames)
        let levelText = source.string("log-level", flag: logLevel, default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "porthole.egress")
        logger.logLevel = level

        let directory = DataDirectory(path: source.string("data-dir", flag: dataDir, default: ".porthole"))
        let denied: AddressRanges
        do {
            denied = try AddressRanges.parse(source.list("egress-deny", flags: egressDeny, default: []).joined(separator: ","), noun: "egress-deny entry")
        } catch {
            throw ValidationError("egress-deny: \(error)")
        }
        let configuration: EgressConfiguration
        do {
            configuration = try EgressConfiguration(
                sandboxInterfaces: source.list("sandbox-interface", flags: sandboxInterface, default: []),
                deniedNetworks: denied
            )
        } catch {
            throw ValidationError("\(error)")
        }
        // Never a new, empty store: the agent follows the one porthole serve (or the CLI) writes.
        guard FileManager.default.fileExists(atPath: directory.databasePath) else {
            throw EgressCommandError(
                "no policy store at \(directory.databasePath): porthole egress follows the store porthole serve writes; point --data-dir at its data directory"
            )
        }
        let store = try await SQLitePolicyStore.open(path: directory.databasePath, logger: logger)
        let agent: EgressAgent
        do {
            agent = try EgressAgent(store: store, configuration: configuration, logger: logger)
        } catch {
            try? await store.close()
            throw EgressCommandError("\(error)")
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: EgressService(agent: agent))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info("porthole egress is running", metadata: ["interfaces": "\(configuration.sandboxInterfaces.joined(separator: ","))"])
        defer { logger.info("porthole egress stopped; the table stays in force") }
        do {
            try await group.run()
        } catch {
            try? await store.close()
            throw error
        }
        try? await store.close()
    }
}

/// The agent as a service: it runs until a SIGTERM or SIGINT, then stops between two rounds.
private struct EgressService: Service {
    let agent: EgressAgent

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await agent.run()
            } catch is CancellationError {
                // A graceful shutdown: the table stays as it is.
            }
        }
    }
}

struct EgressCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
