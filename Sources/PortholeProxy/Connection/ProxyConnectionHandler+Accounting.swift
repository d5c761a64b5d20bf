import NIOCore
import PortholeCore

/// Metrics and the access log: each exchange is counted, and logged, exactly once.
extension ProxyConnectionHandler {
    static func metricsDecision(_ grant: AccessGrant) -> ProxyMetrics.Decision {
        switch grant {
        case .public: .publicAccess
        case .token: .token
        case .cookie: .cookie
        case .queryToken: .queryToken
        case .signedURL: .signedURL
        }
    }

    /// Counts the exchange in flight once, and writes its access-log line.
    func recordExchange(status: Int, now: NIODeadline? = nil) {
        guard !exchange.isRecorded else { return }
        exchange.isRecorded = true
        let elapsed = (now ?? self.now) - exchange.started
        loop.exchanges.countRequest(
            exchange.decision, status: status, bytesToClient: exchange.bytesToClient, durationNanoseconds: elapsed.nanoseconds
        )
        guard let accessLog = loop.accessLog else { return }
        withRequestHead { head, bytes in
            var path = head.target
            if let question = path.firstIndex(where: { bytes[$0] == UInt8(ascii: "?") }) { path = path.lowerBound..<question }
            accessLog.record(
                AccessLog.Entry(
                    clientAddress: clientAddress,
                    sandbox: exchange.target?.sandboxID ?? "",
                    port: exchange.target?.port ?? 0,
                    method: UnsafeRawBufferPointer(rebasing: bytes[head.method]),
                    path: UnsafeRawBufferPointer(rebasing: bytes[path]),
                    previewToken: exchange.policy?.previewToken,
                    status: status,
                    bytes: exchange.bytesToClient,
                    durationMicroseconds: elapsed.nanoseconds / 1000,
                    decision: exchange.decision
                )
            )
        }
    }

    /// Gives back the sandbox's place (``ConnectionLimits``) this exchange held, if any.
    func releaseSandboxCount() {
        if let sandbox = exchange.countedSandbox {
            exchange.countedSandbox = nil
            loop.limits.endExchange(with: sandbox)
        }
    }
}
