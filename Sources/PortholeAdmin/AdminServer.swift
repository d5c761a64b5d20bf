public import Logging
public import NIOCore
public import ServiceLifecycle
import Hummingbird
import PortholeCore

/// The admin listener (default 127.0.0.1:8081) as a swift-service-lifecycle `Service`: the admin API
/// under `/v1`, the Daytona-compatible API under `/api`, `/healthz`, `/readyz`, `/metrics` and the OpenAPI document, served by Hummingbird.
public struct AdminServer: Service {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; ``AdminServer/init(configuration:controlPlane:token:group:logger:onListening:)``
        /// reports the bound one.
        public var port: Int
        /// Request bodies larger than this get 413.
        public var maximumBodyBytes: Int

        public init(host: String = "127.0.0.1", port: Int = 8081, maximumBodyBytes: Int = 64 * 1024) {
            self.host = host
            self.port = port
            self.maximumBodyBytes = maximumBodyBytes
        }
    }

    /// What the rest of the server tells the admin listener.
    public struct Hooks: Sendable {
        /// True once a graceful shutdown began: `/readyz` answers 503 so balancers stop sending.
        public var isDraining: @Sendable () -> Bool
        /// Prometheus text for `/metrics`; `nil`: no `/metrics`.
        public var metrics: (@Sendable () async -> String)?

        public init(isDraining: @escaping @Sendable () -> Bool = { false }, metrics: (@Sendable () async -> String)? = nil) {
            self.isDraining = isDraining
            self.metrics = metrics
        }
    }

    private let configuration: Configuration
    private let hooks: Hooks
    private let controlPlane: SandboxControlPlane
    private let token: AdminToken
    private let daytona: DaytonaConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onListening: @Sendable (_ host: String, _ port: Int) async -> Void

    public init(
        configuration: Configuration,
        controlPlane: SandboxControlPlane,
        token: AdminToken,
        daytona: DaytonaConfiguration = DaytonaConfiguration(),
        hooks: Hooks = Hooks(),
        group: any EventLoopGroup,
        logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.controlPlane = controlPlane
        self.token = token
        self.daytona = daytona
        self.hooks = hooks
        self.group = group
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let daytonaResponder = DaytonaResponder(
            controlPlane: controlPlane, token: token, configuration: daytona, maximumBodyBytes: configuration.maximumBodyBytes,
            deleted: DeletedSandboxes(), logger: logger
        )
        let responder = AdminResponder(
            controlPlane: controlPlane, token: token, hooks: hooks, maximumBodyBytes: configuration.maximumBodyBytes,
            daytona: daytonaResponder, logger: logger
        )
        let host = configuration.host
        let logger = self.logger
        let onListening = self.onListening
        // Hummingbird's own request logs are not used: they would print raw paths, and a path can hold a
        // signed token. The responder logs route templates instead.
        var frameworkLogger = logger
        frameworkLogger.logLevel = max(logger.logLevel, .warning)
        let application = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(host):\(port)", "mode": "admin"])
                await onListening(host, port)
            },
            eventLoopGroupProvider: .shared(group),
            logger: frameworkLogger
        )
        try await application.run()
    }
}
