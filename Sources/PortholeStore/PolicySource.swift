public import NIOCore

/// Where the proxy asks for a sandbox's policy on its hot path: ``PolicyCache`` in the server, a
/// fixed table in the proxy's in-memory tests.
public protocol PolicySource: AnyObject, Sendable {
    /// The policy of sandbox `id`, asked on `eventLoop` (see ``PolicyCache/lookup(_:on:)``).
    func lookup(_ id: String, on eventLoop: any EventLoop) -> PolicyLookup
    /// Completes, on `eventLoop`, the next time sandbox `id`'s record may have changed (the change
    /// feed invalidated it), or after `limit` at the latest: for requests held while a stopped
    /// sandbox wakes, which then look the policy up again. Asked on `eventLoop`.
    func nextChange(of id: String, on eventLoop: any EventLoop, within limit: TimeAmount) -> EventLoopFuture<Void>
}

extension PolicyCache: PolicySource {}
