#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PortholeCore
import PortholeCrypto
import PortholeNIOUtilities

/// Asks the platform to start a stopped sandbox: `POST <wake-url>` with
/// `{"sandboxId","port","requestId"}` and `X-Porthole-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256 of "<t>.<body>" with the wake secret>`, so the platform can check that the call is
/// Porthole's and fresh. At most one call per sandbox per hold timeout, whatever the number of
/// requests, connections and event loops waiting; the answer is only logged: the sandbox's
/// record turning `started` (through the admin API, seen on the change feed) is what releases
/// the held requests.
final class WakeWebhook: Sendable {
    /// Sends one call and returns the HTTP status.
    typealias Sender = @Sendable (_ head: HTTPRequestHead, _ body: [UInt8]) async throws -> Int

    let settings: WakeSettings
    private let send: Sender
    private let logger: Logger
    /// When each sandbox was last asked for, to call once per hold timeout.
    private let lastCalls = NIOLockedValueBox<[String: NIODeadline]>([:])

    convenience init(settings: WakeSettings, group: any EventLoopGroup, logger: Logger) {
        self.init(settings: settings, logger: logger) { head, body in
            try await OneShotHTTPRequest.send(
                host: settings.host, port: settings.port, head: head, body: body, timeout: .seconds(10),
                maximumResponseBytes: 64 * 1024, group: group
            ).status
        }
    }

    /// `send` in place of a real call: for the proxy's in-memory tests.
    init(settings: WakeSettings, logger: Logger, send: @escaping Sender) {
        self.settings = settings
        self.send = send
        self.logger = logger
    }

    /// Calls the webhook for `sandboxID` unless it was called within the hold timeout. Returns at
    /// once; the call runs in the background.
    func wake(sandboxID: String, port: UInt16, now: NIODeadline = .now()) {
        let due = lastCalls.withLockedValue { calls -> Bool in
            if let last = calls[sandboxID], now - last < settings.holdTimeout { return false }
            // Forget sandboxes asked for long ago, so the table stays small.
            if calls.count > 10_000 { calls = calls.filter { now - $0.value < settings.holdTimeout } }
            calls[sandboxID] = now
            return true
        }
        guard due else { return }
        let requestID = Self.requestID()
        let body = Self.body(sandboxID: sandboxID, port: port, requestID: requestID)
        let head = Self.head(settings: settings, body: body, unixTime: Int64(time(nil)))
        let send = self.send
        let logger = self.logger
        Task {
            let metadata: Logger.Metadata = ["sandbox": "\(sandboxID)", "port": "\(port)", "requestId": "\(requestID)"]
            do {
                let status = try await send(head, body)
                if (200..<300).contains(status) {
                    logger.info("asked the platform to start a stopped sandbox", metadata: metadata)
                } else {
                    logger.warning("the wake webhook refused", metadata: metadata.merging(["status": "\(status)"]) { $1 })
                }
            } catch {
                logger.warning("the wake webhook could not be called", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
    }

    static func body(sandboxID: String, port: UInt16, requestID: String) -> [UInt8] {
        // Sandbox ids are DNS labels and the request id is hex: nothing to escape.
        Array("{\"sandboxId\":\"\(sandboxID)\",\"port\":\(port),\"requestId\":\"\(requestID)\"}".utf8)
    }

    static func signature(secret: [UInt8], body: [UInt8], unixTime: Int64) -> String {
        let mac = HMACSHA256.authenticationCode(for: Array("\(unixTime).".utf8) + body, key: secret)
        return "t=\(unixTime),v1=\(ASCIIByte.hexString(mac))"
    }

    static func head(settings: WakeSettings, body: [UInt8], unixTime: Int64) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: settings.port == 80 ? settings.host : "\(settings.host):\(settings.port)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "X-Porthole-Signature", value: signature(secret: settings.secret, body: body, unixTime: unixTime))
        headers.add(name: "User-Agent", value: "porthole-wake")
        headers.add(name: "Connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: settings.path, headers: headers)
    }

    private static func requestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return ASCIIByte.hexString((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
