import PortholeTestSupport
import Foundation

/// One upstream plus one Porthole in front of it, with sandboxes registered before start.
/// `withProxy` stops both whatever the test does.
struct ProxyEnvironment: Sendable {
    let upstream: Upstream
    let porthole: PortholeProcess
    /// Preview tokens by sandbox id.
    let tokens: [String: String]

    var curl: Curl { Curl(instance: porthole) }

    func host(_ sandbox: String, port: Int? = nil) -> String {
        "\(port ?? upstream.httpPort)-\(sandbox).preview.localhost"
    }
}

/// A sandbox to register before the proxy starts.
struct SandboxSpec: Sendable {
    var id: String
    var flags: [String] = []
    var target = "127.0.0.1"
}

func withProxy(
    sandboxes: [SandboxSpec] = [SandboxSpec(id: "pub", flags: ["--public"]), SandboxSpec(id: "priv")],
    arguments: [String] = [],
    environment: [String: String]? = nil,
    privileges: ServerPrivileges = .unprivileged,
    _ body: (ProxyEnvironment) async throws -> Void
) async throws {
    let upstream = try await Upstream.start()
    defer { upstream.stop() }
    let directory = try TestPaths.temporaryDirectory()
    var tokens: [String: String] = [:]
    do {
        for sandbox in sandboxes {
            let created = try await PortholeProcess.cli(
                ["create", "--id", sandbox.id, "--target", sandbox.target, "--json"] + sandbox.flags, directory: directory
            )
            guard created.status == 0 else { throw TestFailure("sandbox create failed: \(created.stderr)") }
            tokens[sandbox.id] = try created.json()["previewToken"] as? String ?? ""
        }
    } catch {
        try? FileManager.default.removeItem(atPath: directory)
        throw error
    }
    let porthole = try await PortholeProcess.start(directory: directory, arguments: arguments, environment: environment, privileges: privileges)
    defer { porthole.stop() }
    try await body(ProxyEnvironment(upstream: upstream, porthole: porthole, tokens: tokens))
}
