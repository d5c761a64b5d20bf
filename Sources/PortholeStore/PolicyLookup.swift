public import NIOCore
public import PortholeCore

/// The answer of ``PolicyCache/lookup(_:on:)``.
public enum PolicyLookup: Sendable {
    /// Answered from memory.
    case found(SandboxPolicy)
    /// Answered from memory: the store has no such sandbox (a negative entry).
    case notFound
    /// Not in memory; the future completes on the event loop of the lookup with the policy, `nil`
    /// for an unknown sandbox, or a ``PolicyStoreError`` with code
    /// ``PolicyStoreError/Code/unavailable`` when the store cannot answer (fail closed: 503).
    case pending(EventLoopFuture<SandboxPolicy?>)
}
