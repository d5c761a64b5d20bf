public import NIOCore

/// Where the proxy asks for a sandbox's policy on its hot path: ``PolicyCache`` in the server, a
/// fixed table in the proxy's in-memory tests.
public protocol PolicySource: AnyObject, Sendable {
    /// The policy of sandbox `id`, asked on `eventLoop` (see ``PolicyCache/lookup(_:on:)``).
    func lookup(_ id: String, on eventLoop: any EventLoop) -> PolicyLookup
}

extension PolicyCache: PolicySource {}
