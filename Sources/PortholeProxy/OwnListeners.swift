import NIOConcurrencyHelpers

/// The ports Porthole itself listens on (proxy listeners and the admin API), shared by every
/// event loop's upstream pool so that no sandbox target can point the proxy at itself.
/// Read only when a new upstream connection is made, never per request.
public final class OwnListeners: Sendable {
    private let ports = NIOLockedValueBox<Set<Int>>([])

    public init() {}

    public func add(port: Int) {
        ports.withLockedValue { _ = $0.insert(port) }
    }

    func contains(port: Int) -> Bool {
        ports.withLockedValue { $0.contains(port) }
    }
}
