import PortholeCore
import Testing
@testable import PortholeStore

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file deleted, moved or replaced under an open store: writes are refused with
/// `fileReplaced` (instead of succeeding into a file no later start opens), reads go on.
@Suite("SQLitePolicyStore database file")
struct DatabaseFileTests {
    @Test func aDeletedFileRefusesWritesAndKeepsReads() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("kept"))
            try await store.checkAvailable()
            #expect(unlink(store.path) == 0)

            let refused = await #expect(throws: PolicyStoreError.self) { try await store.create(samplePolicy("lost")) }
            #expect(refused?.code == .fileReplaced)
            #expect("\(refused.map { "\($0)" } ?? "")".contains("\(store.path) was deleted while porthole was running"))
            await #expect(throws: PolicyStoreError.self) { try await store.update(samplePolicy("kept", target: "10.9.9.9")) }
            await #expect(throws: PolicyStoreError.self) { _ = try await store.delete(id: "kept") }
            await #expect(throws: PolicyStoreError.self) { try await store.checkAvailable() }
            // Reads answer from the old file, so its records can still be exported.
            #expect(try await store.policy(id: "kept")?.target == "10.1.2.3")
            #expect(try await store.policy(id: "lost") == nil)
            #expect(try await store.changes(after: 0).latest == 1)
        }
    }

    @Test func aFileReplacedByAnotherIsNoticedByTheChangeFeedPoll() async throws {
        try await withSQLiteStore { store, directory in
            try await store.create(samplePolicy("a"))
            // A restore from a backup: another file renamed over the path.
            let other = directory.path + "/restored.sqlite"
            #expect(FileManager.default.createFile(atPath: other, contents: Data()))
            #expect(rename(other, store.path) == 0)

            // The poll alone marks the store; the write then fails without looking again.
            _ = try await store.changes(after: 0)
            #expect(unlink(store.path) == 0)
            let error = await #expect(throws: PolicyStoreError.self) { try await store.create(samplePolicy("b")) }
            #expect(error == .fileReplaced(path: store.path, change: "replaced by another file"))
        }
    }

    @Test func aMovedFileIsReportedAsMoved() async throws {
        try await withSQLiteStore { store, directory in
            #expect(rename(store.path, directory.path + "/elsewhere.sqlite") == 0)
            let error = await #expect(throws: PolicyStoreError.self) { try await store.create(samplePolicy("a")) }
            #expect(error == .fileReplaced(path: store.path, change: "moved away"))
        }
    }

    @Test func anUntouchedFileKeepsTakingWrites() async throws {
        try await withSQLiteStore { store, _ in
            for index in 0..<3 {
                try await store.create(samplePolicy("s\(index)"))
                _ = try await store.changes(after: 0)
            }
            try await store.checkAvailable()
            #expect(try await store.list(label: nil, after: nil, limit: 10).count == 3)
        }
    }
}
