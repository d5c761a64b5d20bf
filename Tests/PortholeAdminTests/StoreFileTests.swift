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

    @Test("a start that finds the database gone beside its secrets refuses to make an empty one, unless told to")
    func missingDatabaseOnStart() async throws {
        let first = try await PortholeProcess.start()
        let directory = first.directory
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try await first.client().createSandbox(SandboxCreateRequest(id: "lost", target: "127.0.0.1"))
        } catch {
            first.stop()
            throw error
        }
        first.stop(keepData: true)
        let data = first.dataDirectory
        let database = data + "/porthole.sqlite"
        func removeDatabase() {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        removeDatabase()

        let serve = [
            "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0", "--admin-port", "0",
            "--data-dir", data, "--cert-dir", first.certificateDirectory,
        ]
        let refused = try await first.runAsServer(serve)
        #expect(refused.status != 0)
        #expect(
            refused.stderr.contains(
                "the policy database \(database) is missing, but the data directory \(data) holds what an earlier start left there (cookie-secret, admin-token)"
            ), "\(refused.stderr)")
        #expect(refused.stderr.contains("Restore porthole.sqlite into \(data) from a backup; or, to start over with no sandboxes, pass --create-store"))
        #expect(!FileManager.default.fileExists(atPath: database))

        // The CLI writing the data directory directly refuses the same way, and takes the same consent.
        let cliRefused = try await PortholeProcess.cli(["create", "--id", "new", "--target", "127.0.0.1"], directory: directory)
        #expect(cliRefused.status == 1 && cliRefused.stderr.contains("set PORTHOLE_CREATE_STORE=true"), "\(cliRefused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database))
        let cliCreated = try await PortholeProcess.cli(
            ["create", "--id", "new", "--target", "127.0.0.1"], directory: directory, environment: ["PORTHOLE_CREATE_STORE": "true"]
        )
        #expect(cliCreated.status == 0, "\(cliCreated.stderr)")

        // With a database there again, a plain start serves it.
        let second = try await PortholeProcess.start(directory: directory)
        let client = try second.client()
        #expect(try await client.sandbox(id: "new").id == "new")
        let lost = await #expect(throws: AdminAPIError.self) { try await client.sandbox(id: "lost") }
        #expect(lost?.status == 404)
        second.stop(keepData: true)

        removeDatabase()
        let third = try await PortholeProcess.start(directory: directory, arguments: ["--create-store"])
        defer { third.stop(keepData: true) }
        #expect(try await third.client().allSandboxes().isEmpty)
    }
}
