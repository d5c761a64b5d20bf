import PortholeTestSupport
import Foundation
import PortholeClient
import PortholeCore
import Testing

/// The policy database file deleted or replaced under a running server, and a start that finds
/// it missing.
@Suite("Store file", .serialized)
struct StoreFileTests {
    @Test("the database deleted under a running server: writes 503, /readyz 503, one loud log line")
    func deletedWhileRunning() async throws {
        try await withServer { server, _ in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "before", target: "127.0.0.1"))
            #expect(try await client.readiness().status == "ok")

            let database = server.dataDirectory + "/porthole.sqlite"
            try FileManager.default.removeItem(atPath: database)
            // Noticed by the change-feed poll, before any request asks.
            let loud = "the policy database was deleted while porthole was running"
            try await server.process.waitFor("the loss to be logged", timeout: .seconds(5)) { _, stderr in stderr.contains(loud) }

            let refused = await #expect(throws: AdminAPIError.self) {
                try await client.createSandbox(SandboxCreateRequest(id: "after", target: "127.0.0.1"))
            }
            #expect(refused?.status == 503 && refused?.code == "store_unavailable" && refused?.field == nil)
            #expect(refused?.message.contains("\(database) was deleted while porthole was running") == true, "\(String(describing: refused))")
            #expect(refused?.message.contains("Restart porthole to reopen it") == true)
            let update = await #expect(throws: AdminAPIError.self) { try await client.setPublic(id: "before", true) }
            #expect(update?.status == 503)
            let readiness = await #expect(throws: AdminAPIError.self) { try await client.readiness() }
            #expect(readiness?.status == 503)
            // Reads answer from the old file until the restart, so its sandboxes can be exported.
            #expect(try await client.sandbox(id: "before").isPublic == false)
            #expect(server.process.standardError.components(separatedBy: loud).count == 2, "logged once")
        }
    }
}
