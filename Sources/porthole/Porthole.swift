import ArgumentParser
import Foundation

@main
struct Porthole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "porthole",
        abstract: "Preview reverse proxy for sandboxes: https://<port>-<sandboxId>.<base domain>/ → the sandbox's port.",
        subcommands: [
            ServeCommand.self, EgressCommand.self, SandboxCommand.self, OrganizationCommand.self, APIKeyCommand.self, StoreCommand.self,
            CertsCommand.self,
        ],
        defaultSubcommand: nil
    )

    /// Exit status 2 for usage errors, as POSIX utilities use (ArgumentParser's default is 64), so
    /// scripts tell "you called it wrong" (2) from "the server refused" (1).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
