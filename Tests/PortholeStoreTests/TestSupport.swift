import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PortholeCore
@testable import PortholeStore

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let testLogger: Logger = {
    var logger = Logger(label: "porthole.store.tests")
    logger.logLevel = .critical
    return logger
}()

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("\(NSTemporaryDirectory().trimmingSuffix("/"))/porthole-store-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        self.path = String(cString: made!)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        self.hasSuffix(suffix) ? String(self.dropLast(suffix.count)) : self
    }
}

/// Opens an SQLite store in a temporary directory, runs `body`, closes and removes everything.
func withSQLiteStore<T>(
    _ body: (SQLitePolicyStore, TemporaryDirectory) async throws -> T
) async throws -> T {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let store = try await SQLitePolicyStore.open(path: "\(directory.path)/db/policies.sqlite", logger: testLogger)
    do {
        let result = try await body(store, directory)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

func withTestEventLoopGroup<T>(_ body: (MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    do {
        let result = try await body(group)
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

func samplePolicy(_ id: String, target: String = "10.1.2.3", labels: [String: String] = [:]) -> SandboxPolicy {
    SandboxPolicy(
        id: id,
        target: target,
        previewToken: "token-\(id)",
        labels: labels,
        createdAt: 1_700_000_000,
        updatedAt: 1_700_000_000
    )
}

/// A real store wrapped to count reads, hold them at a gate, or fail on demand.
final class InstrumentedPolicyStore: PolicyStore {
    private struct State {
        var policyReads = 0
        var completedReads = 0
        var failing = false
        var holdReads = false
        var heldReads: [CheckedContinuation<Void, Never>] = []
    }

    let base: any PolicyStore
    private let state = NIOLockedValueBox(State())

    init(_ base: any PolicyStore) {
        self.base = base
    }

    var policyReads: Int { self.state.withLockedValue { $0.policyReads } }
    var completedReads: Int { self.state.withLockedValue { $0.completedReads } }
    var heldReadCount: Int { self.state.withLockedValue { $0.heldReads.count } }

    func setFailing(_ failing: Bool) {
        self.state.withLockedValue { $0.failing = failing }
    }

    /// From now on every `policy(id:)` reads the base store, then waits for `releaseReads()`.
    func holdReads() {
        self.state.withLockedValue { $0.holdReads = true }
    }

    func releaseReads() {
        let held = self.state.withLockedValue { state in
            state.holdReads = false
            defer { state.heldReads = [] }
            return state.heldReads
        }
        for continuation in held { continuation.resume() }
    }

    /// Waits until `count` reads are held at the gate.
    func waitForHeldReads(_ count: Int) async throws {
        for _ in 0..<2_000 where self.heldReadCount < count {
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        guard self.heldReadCount >= count else { throw TestTimeout(what: "\(count) reads at the gate") }
    }

    func policy(id: String) async throws -> SandboxPolicy? {
        let failing = self.state.withLockedValue { state in
            state.policyReads += 1
            return state.failing
        }
        if failing {
            throw PolicyStoreError.unavailable("test outage")
        }
        let policy = try await self.base.policy(id: id)
        await withCheckedContinuation { continuation in
            let hold = self.state.withLockedValue { state in
                if state.holdReads { state.heldReads.append(continuation) }
                return state.holdReads
            }
            if !hold { continuation.resume() }
        }
        self.state.withLockedValue { $0.completedReads += 1 }
        return policy
    }

    func list(label: (key: String, value: String)?, organizationID: String?, after: String?, limit: Int) async throws -> [SandboxPolicy] {
        try await self.base.list(label: label, organizationID: organizationID, after: after, limit: limit)
    }

    func organization(id: String) async throws -> Organization? { try await self.base.organization(id: id) }
    func organizations() async throws -> [Organization] { try await self.base.organizations() }
    func createOrganization(_ organization: Organization) async throws -> Bool { try await self.base.createOrganization(organization) }
    func updateOrganization(_ organization: Organization) async throws -> Bool { try await self.base.updateOrganization(organization) }
    func createAPIKey(_ key: StoredAPIKey) async throws -> Bool { try await self.base.createAPIKey(key) }
    func apiKey(id: String) async throws -> StoredAPIKey? { try await self.base.apiKey(id: id) }
    func apiKeys(organizationID: String) async throws -> [StoredAPIKey] { try await self.base.apiKeys(organizationID: organizationID) }
    func revokeAPIKey(id: String, at time: Int64) async throws -> Bool { try await self.base.revokeAPIKey(id: id, at: time) }

    func create(_ policy: SandboxPolicy) async throws {
        try await self.base.create(policy)
    }

    func update(_ policy: SandboxPolicy) async throws {
        try await self.base.update(policy)
    }

    func delete(id: String) async throws -> Bool {
        try await self.base.delete(id: id)
    }

    func changes(after sequence: Int64) async throws -> PolicyChanges {
        try await self.base.changes(after: sequence)
    }

    func publish(_ reports: [EgressReport]) async throws {
        try await self.base.publish(reports)
    }

    func egressReport(sandboxID: String) async throws -> EgressReport? {
        try await self.base.egressReport(sandboxID: sandboxID)
    }

    func close() async throws {
        try await self.base.close()
    }
}

struct TestTimeout: Error {
    var what: String
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let current = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(1_000_000_000))

    var now: NIODeadline { self.current.withLockedValue { $0 } }

    func advance(by amount: TimeAmount) {
        self.current.withLockedValue { $0 = $0 + amount }
    }
}

extension PolicyCache {
    /// Looks `id` up on `loop` (as the proxy does) and returns the raw answer.
    func lookupOnLoop(_ id: String, _ loop: any EventLoop) async throws -> PolicyLookup {
        try await loop.submit { self.lookup(id, on: loop) }.get()
    }

    /// Looks `id` up on `loop` and waits for the answer if it is pending.
    func resolve(_ id: String, on loop: any EventLoop) async throws -> SandboxPolicy? {
        switch try await self.lookupOnLoop(id, loop) {
        case .found(let policy): policy
        case .notFound: nil
        case .pending(let future): try await future.get()
        }
    }
}

extension PolicyLookup {
    var isPending: Bool {
        if case .pending = self { true } else { false }
    }

    var foundPolicy: SandboxPolicy? {
        if case .found(let policy) = self { policy } else { nil }
    }

    var isNotFound: Bool {
        if case .notFound = self { true } else { false }
    }
}
