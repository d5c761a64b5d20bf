import Logging
import NIOCore
import PortholeAdmin
import PortholeProxy
import PortholeStore
import PortholeTLS
import ServiceLifecycle
import UnixSignals

/// Runs the proxy under swift-service-lifecycle: binds the listeners, keeps the policy cache in
/// step with the store, reloads certificates on SIGHUP and when their files change, and on
/// SIGTERM/SIGINT stops accepting before the process exits.
struct ProxyService: Service {
    /// The admin API listener, made once the HTTPS port is known (preview links show it).
    struct Admin: Sendable {
        /// Whether serving without it is an error; when the default port is merely taken, the proxy
        /// serves anyway (logged) and `porthole sandbox` writes the data directory directly.
        var required: Bool
        /// HOST:PORT it binds, for messages.
        var address: String
        /// Makes the server; it calls the given closure once it listens.
        var make: @Sendable (_ httpsPort: Int, _ onListening: @escaping @Sendable () async -> Void) -> AdminServer
    }

    let server: ProxyServer
    let https: ProxyServer.Listener
    /// The plain-HTTP listener, unless turned off.
    let plain: ProxyServer.Listener?
    let drainDelay: Duration
    let drainTimeout: Duration
    let policies: PolicyCache
    let certificates: TLSCertificateStore
    /// Re-reads the configuration (SIGHUP); `false` if the new one was refused (logged).
    let reloadConfiguration: @Sendable () async -> Bool
    let admin: Admin?
    let logger: Logger

    func run() async throws {
        let httpsPort = try await server.bind(https)
        if var plain {
            // With --https-port 0 the redirect target is only known once HTTPS is bound.
            if case .redirectToHTTPS = plain.role.mode { plain.role.mode = .redirectToHTTPS(httpsPort: httpsPort) }
            try await server.bind(plain)
        }
        let adminFailed = await withTaskGroup(of: Void.self) { group -> Bool in
            var adminRun: (group: ServiceGroup, task: Task<Void, Never>)? = nil
            if let admin {
                adminRun = await Self.startAdmin(admin, httpsPort: httpsPort, logger: logger)
                if adminRun == nil && admin.required {
                    await server.drain(timeout: .zero)
                    group.cancelAll()
                    return true
                }
            }
            logger.notice("porthole is ready")
            group.addTask {
                do { try await policies.run() } catch is CancellationError {} catch {
                    logger.error("policy change feed stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask { await Self.watchCertificates(certificates, server: server, logger: logger) }
            group.addTask { await Self.returnMemoryAfterBursts(server: server, logger: logger) }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    let configured = await reloadConfiguration()
                    // A failed reload is logged by the store, which keeps the previous certificates.
                    let certified = (try? certificates.reload()) != nil
                    if certified { logger.notice("certificates reloaded on SIGHUP") }
                    // One SIGHUP is one reload: a success only if the configuration and the
                    // certificates both took, so an alert on failures sees a half-failed one.
                    if configured && certified {
                        server.metrics.reloads.increment()
                    } else {
                        server.metrics.reloadFailures.increment()
                    }
                }
            }
            try? await gracefulShutdown()
            // Readiness fails at once so balancers stop sending; the listeners close after the delay.
            await server.markDraining()
            logger.notice("draining", metadata: ["delay": "\(drainDelay)", "timeout": "\(drainTimeout)"])
            if drainDelay > .zero { try? await Task.sleep(for: drainDelay) }
            let cut = await server.drain(timeout: drainTimeout)
            logger.notice("drained", metadata: ["connections_cut": "\(cut)"])
            // Last: /readyz on the admin listener reported the drain until now.
            if let adminRun {
                await adminRun.group.triggerGracefulShutdown()
                await adminRun.task.value
            }
            group.cancelAll()
            return false
        }
        if adminFailed { throw ProxyServiceError("the admin API could not start; see the error above") }
    }

    /// Starts the admin API and waits until it listens, so that "porthole is ready" means the admin
    /// API answers too; `nil` if it failed to start (logged).
    ///
    /// In a detached task and a service group of its own, shut down by the caller after the drain: as a
    /// child task it would inherit this service's graceful-shutdown signal and close at the first
    /// SIGTERM, but `/readyz` must report the drain while it runs.
    private static func startAdmin(_ admin: Admin, httpsPort: Int, logger: Logger) async -> (group: ServiceGroup, task: Task<Void, Never>)? {
        let (listening, signal) = AsyncStream.makeStream(of: Void.self)
        let adminGroup = ServiceGroup(
            configuration: .init(services: [admin.make(httpsPort) { signal.yield() }], logger: logger)
        )
        let task = Task.detached {
            do { try await adminGroup.run() } catch {
                let reason = error is IOError ? "\(ListenerBindError(listener: "admin", address: admin.address, underlying: error))" : "\(error)"
                logger.error(
                    admin.required ? "admin API stopped" : "admin API unavailable; the proxy serves without it",
                    metadata: ["error": "\(reason)"]
                )
            }
            signal.finish()
        }
        for await _ in listening { return (adminGroup, task) }
        return nil
    }

    /// Every 5 s: once a burst of connections has closed, the memory they freed goes back to the system.
    private static func returnMemoryAfterBursts(server: ProxyServer, logger: Logger) async {
        var trimmer = HeapTrimmer()
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(5))
            } catch {
                return
            }
            let (open, peak) = server.connectionsNowAndPeak()
            if trimmer.observe(open: open, peakSinceLast: peak) {
                logger.debug("returned freed heap memory to the system after a burst of connections closed", metadata: ["open": "\(open)"])
            }
        }
    }

    /// Polls the certificate files' fingerprint (mtime and size), so a renewal by certbot or a
    /// mounted Kubernetes secret takes effect without a signal.
    /// Each attempt counts once: the store remembers the files it tried, so broken files are
    /// retried (and counted again) only after they change again.
    private static func watchCertificates(_ certificates: TLSCertificateStore, server: ProxyServer, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(2))
            } catch {
                return
            }
            do {
                if try certificates.reloadIfChanged() {
                    server.metrics.reloads.increment()
                    logger.notice("certificates reloaded after a file change")
                }
            } catch {
                // Logged by the store, which keeps the previous certificates.
                server.metrics.reloadFailures.increment()
            }
        }
    }
}

struct ProxyServiceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
