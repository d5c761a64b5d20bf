import ArgumentParser

@main
struct Porthole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "porthole",
        abstract: "Preview reverse proxy for sandboxes: https://<port>-<sandboxId>.<base domain>/ → the sandbox's port.",
        subcommands: [ServeCommand.self, SandboxCommand.self, CertsCommand.self],
        defaultSubcommand: nil
    )
}
