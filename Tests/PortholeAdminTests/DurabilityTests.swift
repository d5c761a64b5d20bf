import PortholeTestSupport
import Foundation
import PortholeClient
import PortholeCore
import Testing

@Suite("Durability", .serialized)
struct DurabilityTests {
    @Test("kill -9 right after a 201 loses nothing")
    func killAfterCreate() async throws {
        let upstream = try await Upstream.start()
        defer { upstream.stop() }
        let first = try await PortholeProcess.start()
        var created: [SandboxRecord] = []
        do {
            let client = try first.client()
            for index in 0..<5 {
                created.append(try await client.createSandbox(SandboxCreateRequest(id: "durable-\(index)", target: "127.0.0.1", isPublic: index % 2 == 0)))
            }
            let signed = try await client.signedPreviewURL(id: "durable-1", port: upstream.port, expiresInSeconds: 600)
            _ = try await client.expireSignedPreviewURL(id: "durable-1", port: upstream.port, token: signed.token)
            created[1] = try await client.rotatePreviewToken(id: "durable-1")
            let last = try await client.createSandbox(SandboxCreateRequest(id: "durable-last", target: "127.0.0.1"))
            created.append(last)
            // No shutdown, no flush: SIGKILL the moment the 201 arrived.
            first.process.signal(SIGKILL)
            _ = try await first.process.waitForExit()
        } catch {
            first.stop()
            throw error
        }

        // The CLI finds the stale admin-url, nothing answers there, and it reads the store directly.
        let direct = try await first.cli(["get", "durable-last", "--json"])
        #expect(direct.status == 0)
        #expect(try direct.json()["previewToken"] as? String == created.last?.previewToken)

        let second = try await PortholeProcess.start(directory: first.directory)
        defer { second.stop() }
        let client = try second.client()
        for record in created {
            #expect(try await client.sandbox(id: record.id) == SandboxRecord(from: record))
        }
    }
}
