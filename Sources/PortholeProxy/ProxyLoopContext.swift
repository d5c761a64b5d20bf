import NIOCore
import PortholeCore
import PortholeStore

/// What every client connection on one event loop shares: the loop's upstream pool and the
/// settings. Touched only on its loop.
final class ProxyLoopContext {
    let eventLoop: any EventLoop
    let configuration: ProxyConfiguration
    let accessRules: AccessRules
    let policies: PolicyCache
    let pool: UpstreamPool

    init(eventLoop: any EventLoop, configuration: ProxyConfiguration, policies: PolicyCache) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.policies = policies
        self.accessRules = AccessRules(
            reservedPorts: configuration.reservedPorts,
            cookieSecret: configuration.cookieSecret,
            cookieLifetime: configuration.cookieLifetime
        )
        self.pool = UpstreamPool(
            eventLoop: eventLoop,
            configuration: .init(
                connectTimeout: configuration.upstreamConnectTimeout,
                idleTimeout: configuration.upstreamIdleTimeout,
                maximumIdlePerKey: configuration.upstreamMaximumIdlePerTarget
            )
        )
    }
}

@available(*, unavailable)
extension ProxyLoopContext: Sendable {}
