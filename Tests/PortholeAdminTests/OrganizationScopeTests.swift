import Foundation
import Logging
import PortholeAPI
import PortholeStore
import PortholeTestSupport
import Testing

@testable import PortholeAdmin

/// A request limited to one organisation (an API key's on `/api`) meets other organisations'
/// sandboxes as "not found" in every control-plane operation on one sandbox, judged on the record
/// the operation reads: so a caller's earlier check cannot be outrun by a delete and a re-creation
/// of the same id by another organisation.
@Suite("Control plane: organisation scope")
struct OrganizationScopeTests {
    private func withControlPlane(_ body: (SandboxControlPlane) async throws -> Void) async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLitePolicyStore.open(path: directory + "/porthole.sqlite", logger: Logger(label: "test"))
        let plane = SandboxControlPlane(
            store: store, cache: nil, configuration: ControlPlaneConfiguration(signingSecret: [UInt8](repeating: 7, count: 32))
        )
        do {
            try await body(plane)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    @Test("another organisation's sandbox: every read and write is 404 and changes nothing; its own: all work")
    func scope() async throws {
        try await withControlPlane { plane in
            for id in ["a", "b"] { _ = try await plane.createOrganization(OrganizationCreateRequest(id: id)) }
            _ = try await plane.create(SandboxCreateRequest(id: "app", target: "127.0.0.1", organizationId: "b"))
            let before = try await plane.sandbox(id: "app")

            await SandboxControlPlane.$organizationScope.withValue("a") {
                let operations: [(String, () async throws -> Void)] = [
                    ("read", { _ = try await plane.sandbox(id: "app") }),
                    ("preview link", { _ = try await plane.previewLink(id: "app", port: 3000) }),
                    ("signed URL", { _ = try await plane.signPreviewURL(id: "app", port: 3000) }),
                    ("public", { _ = try await plane.setPublic(id: "app", true) }),
                    ("network", { _ = try await plane.setNetworkSettings(id: "app", NetworkSettingsRequest(networkBlockAll: true)) }),
                    ("labels", { _ = try await plane.update(id: "app", SandboxUpdateRequest(labels: ["x": "y"])) }),
                    ("delete", { try await plane.delete(id: "app") }),
                ]
                for (name, operation) in operations {
                    let refused = await #expect(throws: AdminAPIError.self, "\(name)") { try await operation() }
                    #expect(refused?.status == 404 && refused?.code == "sandbox_not_found", "\(name): \(String(describing: refused))")
                }
            }
            #expect(try await plane.sandbox(id: "app") == before, "nothing changed")

            try await SandboxControlPlane.$organizationScope.withValue("b") {
                #expect(try await plane.setPublic(id: "app", true).isPublic)
                #expect(try await plane.previewLink(id: "app", port: 3000).token == before.previewToken)
                try await plane.delete(id: "app")
            }
            // Unscoped (the admin token): everything, as before.
            _ = try await plane.create(SandboxCreateRequest(id: "app", target: "127.0.0.1", organizationId: "b"))
            #expect(try await plane.setPublic(id: "app", true).isPublic)
        }
    }
}
