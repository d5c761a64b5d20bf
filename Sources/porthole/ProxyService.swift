import Logging
import PortholeProxy
import PortholeStore
import PortholeTLS
import ServiceLifecycle
import UnixSignals

/// Runs the proxy under swift-service-lifecycle: binds the listeners, keeps the policy cache in
/// step with the store, reloads certificates on SIGHUP and when their files change, and on
/// SIGTERM/SIGINT stops accepting before the process exits.
struct ProxyService: Service {
    let server: ProxyServer
    let https: ProxyServer.Listener
    /// The plain-HTTP listener, unless turned off.
    let plain: ProxyServer.Listener?
    let policies: PolicyCache
    let certificates: TLSCertificateStore
    let logger: Logger

    func run() async throws {
        let httpsPort = try await server.bind(https)
        if var plain {
            // With --https-port 0 the redirect target is only known once HTTPS is bound.
            if case .redirectToHTTPS = plain.role.mode { plain.role.mode = .redirectToHTTPS(httpsPort: httpsPort) }
            try await server.bind(plain)
        }
        logger.notice("porthole is ready")
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await policies.run() } catch is CancellationError {} catch {
                    logger.error("policy change feed stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask { await Self.watchCertificates(certificates, logger: logger) }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    // A failed reload is logged by the store, which keeps the previous certificates.
                    if (try? certificates.reload()) != nil { logger.notice("certificates reloaded on SIGHUP") }
                }
            }
            try? await gracefulShutdown()
            logger.notice("shutting down: no longer accepting connections")
            await server.stopAccepting()
            group.cancelAll()
        }
    }

    /// Polls the certificate files' fingerprint (mtime and size), so a renewal by certbot or a
    /// mounted Kubernetes secret takes effect without a signal.
    private static func watchCertificates(_ certificates: TLSCertificateStore, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(2))
            } catch {
                return
            }
            if (try? certificates.reloadIfChanged()) == true { logger.notice("certificates reloaded after a file change") }
        }
    }
}
