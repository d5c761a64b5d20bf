import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PortholeCore
import PortholeCrypto
@testable import PortholeProxy
import PortholeTestSupport
import Testing

/// The real connection handler in memory (``InMemoryProxy``): exchanges, pipelining, retries,
/// tunnels, drains and every timeout, on a manual clock.
@Suite struct ProxyConnectionHandlerTests {
    static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"

    @Test func relaysAnExchangeAndReusesTheUpstream() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/a?x=1", "Accept: */*"))
        let forwarded = try proxy.upstreamReceived()
        #expect(forwarded.hasPrefix("GET /a?x=1 HTTP/1.1\r\n"))
        #expect(forwarded.contains("\r\nX-Forwarded-For: 192.0.2.7\r\n"))
        #expect(forwarded.contains("\r\nX-Forwarded-Proto: http\r\n"))
        try proxy.upstreamSends(Self.ok)
        #expect(try proxy.received() == Self.ok)

        try proxy.send(get("/b"))
        #expect(try proxy.upstreamReceived().hasPrefix("GET /b HTTP/1.1\r\n"))
        try proxy.upstreamSends(Self.ok)
        #expect(try proxy.received() == Self.ok)
        #expect(proxy.upstreams.count == 1, "the second request went over the pooled connection")
        #expect(proxy.client.isActive)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/one") + get("/two"))
        // Only the first is sent until its response is complete.
        let first = try proxy.upstreamReceived()
        #expect(first.hasPrefix("GET /one ") && !first.contains("/two"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none")
        #expect(try proxy.upstreamReceived().hasPrefix("GET /two "))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\noneHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
    }

    @Test func aSafeRequestIsRetriedWhenThePooledConnectionWasClosed() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/first"))
        _ = try proxy.upstreamReceived()
        try proxy.upstreamSends(Self.ok)
        _ = try proxy.received()
        // The sandbox closes the idle connection just as the next request is sent on it.
        try proxy.send(get("/second"))
        #expect(try proxy.upstreamReceived(0).hasPrefix("GET /second "))
        try proxy.upstreams[0].close().wait()
        #expect(proxy.upstreams.count == 2, "sent again on a fresh connection")
        #expect(try proxy.upstreamReceived(1).hasPrefix("GET /second "))
        try proxy.upstreamSends(Self.ok, on: 1)
        #expect(try proxy.received() == Self.ok)
    }

    @Test func aRequestWithABodyIsNotRetried() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/first"))
        try proxy.upstreamSends(Self.ok)
        _ = try proxy.received()
        try proxy.send("POST /form HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\nContent-Length: 2\r\n\r\nab")
        try proxy.upstreams[0].close().wait()
        #expect(proxy.upstreams.count == 1)
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n") && answer.contains("Connection: close"))
        #expect(!proxy.client.isActive)
    }

    @Test func anUpgradeBecomesATunnel() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/ws", "Connection: Upgrade", "Upgrade: websocket"))
        let forwarded = try proxy.upstreamReceived()
        #expect(forwarded.contains("\r\nUpgrade: websocket\r\n"))
        try proxy.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nfrom-sandbox")
        #expect(try proxy.received() == "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nfrom-sandbox")
        // Bytes both ways, untouched, and no timer cuts an idle tunnel.
        try proxy.send("GET not-http\r\n\r\n")
        #expect(try proxy.upstreamReceived() == "GET not-http\r\n\r\n")
        proxy.loop.advanceTime(by: .hours(1))
        try proxy.upstreamSends("pong")
        #expect(try proxy.received() == "pong")
        // The sandbox closes: so does the client connection.
        try proxy.upstreams[0].close().wait()
        #expect(!proxy.client.isActive)
    }

    @Test func a101WithoutAnUpgradeRequestIsABrokenUpstream() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/"))
        try proxy.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        #expect(try proxy.received().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(!proxy.client.isActive && !proxy.upstreams[0].isActive)
    }

    @Test func aDrainEndsTheConnectionAfterTheExchangeInFlight() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/"))
        proxy.handler.drain()
        try proxy.upstreamSends(Self.ok)
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.contains("\r\nConnection: close\r\n") && answer.hasSuffix("hi"))
        #expect(!proxy.client.isActive)
    }

    @Test func anIdleConnectionClosesOnADrain() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        proxy.handler.drain()
        #expect(!proxy.client.isActive)
    }

    @Test func anHTTP10UpstreamIsAnsweredAsHTTP11() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/"))
        try proxy.upstreamSends("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try proxy.received().hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    /// A sandbox cannot set a cookie for the base domain, where every other sandbox would get it.
    @Test func aCookieForTheBaseDomainBecomesHostOnly() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/"))
        try proxy.upstreamSends(
            "HTTP/1.1 200 OK\r\nSet-Cookie: porthole_session=planted; Domain=preview.localhost; Path=/\r\nContent-Length: 2\r\n\r\nhi"
        )
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\nSet-Cookie: porthole_session=planted; Path=/\r\nContent-Length: 2\r\n\r\nhi")
        #expect(proxy.client.isActive)
    }

    @Test func theProxysOwnErrorsKeepTheConnection() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send("GET / HTTP/1.1\r\nHost: 3000-nosuch.preview.localhost\r\nAccept: text/html\r\n\r\n")
        let notFound = try proxy.received()
        #expect(notFound.hasPrefix("HTTP/1.1 404 Not Found\r\n") && notFound.contains("Content-Type: text/html"))
        #expect(!notFound.contains("Connection: close"))
        try proxy.send(get("/"))
        try proxy.upstreamSends(Self.ok)
        #expect(try proxy.received() == Self.ok)
    }

    @Test func aPrivateSandboxWithoutTokenIsRefusedAndNothingIsSent() throws {
        let proxy = try InMemoryProxy(policy: SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", previewToken: "secret-token-value"))
        defer { proxy.finish() }
        try proxy.send(get("/", "Accept: application/json"))
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 401 Unauthorized\r\n") && answer.contains("application/json"))
        #expect(proxy.upstreams.isEmpty)
    }

    // MARK: - Timeouts, on the loop's manual clock

    @Test func anIncompleteHeadTimesOutWith408() throws {
        let proxy = try InMemoryProxy { $0.headerTimeout = .seconds(30) }
        defer { proxy.finish() }
        try proxy.send("GET / HTTP/1.1\r\nHost: ")
        proxy.loop.advanceTime(by: .seconds(29))
        #expect(proxy.client.isActive)
        proxy.loop.advanceTime(by: .seconds(1))
        #expect(try proxy.received().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(!proxy.client.isActive)
    }

    @Test func anIdleConnectionClosesAfterTheKeepAliveTimeout() throws {
        let proxy = try InMemoryProxy { $0.keepAliveTimeout = .seconds(75) }
        defer { proxy.finish() }
        try proxy.send(get("/"))
        try proxy.upstreamSends(Self.ok)
        _ = try proxy.received()
        proxy.loop.advanceTime(by: .seconds(74))
        #expect(proxy.client.isActive)
        proxy.loop.advanceTime(by: .seconds(1))
        #expect(!proxy.client.isActive)
        #expect(try proxy.received().isEmpty, "an idle close says nothing")
    }

    @Test func aSilentSandboxIsA504() throws {
        let proxy = try InMemoryProxy { $0.upstreamResponseTimeout = .seconds(60) }
        defer { proxy.finish() }
        try proxy.send(get("/", "Accept: text/html"))
        proxy.loop.advanceTime(by: .seconds(59))
        #expect(try proxy.received().isEmpty)
        proxy.loop.advanceTime(by: .seconds(1))
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n") && answer.contains("text/html"))
        #expect(!proxy.client.isActive && !proxy.upstreams[0].isActive)
    }

    @Test func aStreamingResponseIsNotTimed() throws {
        let proxy = try InMemoryProxy { $0.upstreamResponseTimeout = .seconds(60) }
        defer { proxy.finish() }
        try proxy.send(get("/events"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        proxy.loop.advanceTime(by: .hours(2))
        #expect(proxy.client.isActive)
        try proxy.upstreamSends("0\r\n\r\n")
        #expect(try proxy.received().hasSuffix("5\r\nhello\r\n0\r\n\r\n"))
    }

    @Test func aStalledBodyIsA408AndProgressBuysTime() throws {
        let proxy = try InMemoryProxy {
            $0.requestBodyTimeout = .seconds(30)
            $0.requestBodyMinimumRate = 1
        }
        defer { proxy.finish() }
        try proxy.send("POST /upload HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\nContent-Length: 100\r\n\r\n0123456789")
        #expect(try proxy.upstreamReceived().hasSuffix("\r\n\r\n0123456789"))
        // Ten more bytes at 1 B/s buy ten seconds past the first deadline (t=30 → t=40), at most
        // one timeout from now (t=20 → t=50).
        proxy.loop.advanceTime(by: .seconds(20))
        try proxy.send("0123456789")
        proxy.loop.advanceTime(by: .seconds(19))
        #expect(proxy.client.isActive)
        proxy.loop.advanceTime(by: .seconds(1))
        #expect(try proxy.received().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(!proxy.client.isActive && !proxy.upstreams[0].isActive)
    }

    @Test func theBodyClockWaitsFor100Continue() throws {
        let proxy = try InMemoryProxy {
            $0.requestBodyTimeout = .seconds(30)
            $0.upstreamResponseTimeout = .seconds(300)
        }
        defer { proxy.finish() }
        try proxy.send("PUT /f HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        // Until the sandbox says 100, the client owes nothing.
        proxy.loop.advanceTime(by: .seconds(100))
        #expect(proxy.client.isActive)
        try proxy.upstreamSends("HTTP/1.1 100 Continue\r\n\r\n")
        #expect(try proxy.received() == "HTTP/1.1 100 Continue\r\n\r\n")
        proxy.loop.advanceTime(by: .seconds(30))
        #expect(try proxy.received().hasPrefix("HTTP/1.1 408 "))
    }
}

/// `hostRewrite`: the dev server sees `localhost:<port>` everywhere it looks, and its own URLs
/// come back as the preview's.
@Suite struct HostRewriteTests {
    static let policy = SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: true, previewToken: "t", hostRewrite: true)
    static let origin = "http://\(InMemoryProxy.host)"

    @Test func originAndRefererOfThePreviewBecomeLocalhost() throws {
        let proxy = try InMemoryProxy(policy: Self.policy)
        defer { proxy.finish() }
        try proxy.send(get("/api/kernels", "Origin: \(Self.origin)", "Referer: \(Self.origin)/lab/tree?x=1", "Accept: */*"))
        let forwarded = try proxy.upstreamReceived()
        #expect(forwarded.contains("\r\nHost: localhost:3000\r\n"))
        #expect(forwarded.contains("\r\nOrigin: http://localhost:3000\r\n"))
        #expect(forwarded.contains("\r\nReferer: http://localhost:3000/lab/tree?x=1\r\n"))
        #expect(forwarded.contains("\r\nX-Forwarded-Host: \(InMemoryProxy.host)\r\n"), "the preview host stays visible to apps that want it")
        #expect(forwarded.contains("\r\nAccept: */*\r\n"))
    }

    @Test func anotherSitesOriginIsLeftAlone() throws {
        let proxy = try InMemoryProxy(policy: Self.policy)
        defer { proxy.finish() }
        try proxy.send(get("/", "Origin: https://evil.example", "Referer: https://evil.example/page"))
        let forwarded = try proxy.upstreamReceived()
        #expect(forwarded.contains("\r\nOrigin: https://evil.example\r\n"))
        #expect(forwarded.contains("\r\nReferer: https://evil.example/page\r\n"))
    }

    @Test func withoutHostRewriteNothingIsMapped() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/", "Origin: \(Self.origin)"))
        #expect(try proxy.upstreamReceived().contains("\r\nOrigin: \(Self.origin)\r\n"))
        let upstream = "HTTP/1.1 302 Found\r\nLocation: http://localhost:3000/login\r\nContent-Length: 0\r\n\r\n"
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream)
    }

    @Test func redirectsToTheDevServerComeBackToThePreview() throws {
        let proxy = try InMemoryProxy(policy: Self.policy)
        defer { proxy.finish() }
        try proxy.send(get("/"))
        _ = try proxy.upstreamReceived()
        try proxy.upstreamSends(
            "HTTP/1.1 302 Found\r\nLocation: http://localhost:3000/login?next=%2F\r\nContent-Location: http://127.0.0.1:3000/\r\n"
                + "Refresh: 5; url=http://localhost:3000/later\r\nLink: <http://localhost:3000/x>; rel=preload\r\nContent-Length: 0\r\n\r\n")
        let answer = try proxy.received()
        #expect(answer.contains("\r\nLocation: \(Self.origin)/login?next=%2F\r\n"))
        #expect(answer.contains("\r\nContent-Location: \(Self.origin)/\r\n"))
        #expect(answer.contains("\r\nRefresh: 5; url=\(Self.origin)/later\r\n"))
        #expect(answer.contains("\r\nLink: <http://localhost:3000/x>; rel=preload\r\n"), "only the three fields are mapped")
    }

    @Test func aRedirectToAnotherLocalPortIsLeftAlone() throws {
        let proxy = try InMemoryProxy(policy: Self.policy)
        defer { proxy.finish() }
        try proxy.send(get("/"))
        let upstream = "HTTP/1.1 302 Found\r\nLocation: http://localhost:8080/other\r\nContent-Length: 0\r\n\r\n"
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream)
    }
}

/// Previews inside other sites' frames: the partitioned session cookie, and `--frame-ancestors`.
@Suite struct EmbeddingTests {
    static let privatePolicy = SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: false, previewToken: "t")

    @Test(arguments: [
        (["Sec-Fetch-Site: cross-site", "Sec-Fetch-Dest: iframe"], "SameSite=None; Partitioned"),
        (["Sec-Fetch-Site: none", "Sec-Fetch-Dest: document"], "SameSite=Lax"),
        (["Sec-Fetch-Site: cross-site", "Sec-Fetch-Dest: document"], "SameSite=Lax"),  // a link from another site
        ([], "SameSite=Lax"),
    ])
    func theTokenExchangeFitsTheContext(_ fetchMetadata: [String], _ sameSite: String) throws {
        let proxy = try InMemoryProxy(policy: Self.privatePolicy)
        defer { proxy.finish() }
        let fields = ["Sec-Fetch-Mode: navigate", "Accept: text/html"] + fetchMetadata
        try proxy.send("GET /app?preview_token=t HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n")
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 302 Found\r\nLocation: /app\r\n"))
        #expect(answer.contains("; HttpOnly; Secure; \(sameSite)\r\n"), "\(answer)")
    }

    @Test func frameAncestorsGoWithProxiedAndOwnResponses() throws {
        let policy = try FrameAncestors("'self' https://dash.example.com")
        let proxy = try InMemoryProxy(configure: { $0.frameAncestors = policy }, policy: Self.privatePolicy)
        defer { proxy.finish() }
        let line = "\r\nContent-Security-Policy: frame-ancestors 'self' https://dash.example.com\r\n"
        try proxy.send(get("/", "X-Preview-Token: t"))
        try proxy.upstreamSends(ProxyConnectionHandlerTests.ok)
        let proxied = try proxy.received()
        #expect(proxied.contains(line) && proxied.hasSuffix("\r\n\r\nhi"), "\(proxied)")
        try proxy.send(get("/", "Accept: text/html"))
        let refused = try proxy.received()
        #expect(refused.hasPrefix("HTTP/1.1 401 ") && refused.contains(line), "\(refused)")
    }
}

/// A stopped sandbox with a wake webhook: the platform is asked once, programmatic requests wait
/// for the record to turn `started`, browsers get a page that reloads itself.
@Suite struct WakeTests {
    static let stopped = SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: true, previewToken: "t", state: .stopped)
    static let settings = try! WakeSettings(url: "http://127.0.0.1:9/wake", secret: String(repeating: "s", count: 32), holdTimeout: .seconds(30))

    /// The webhook's calls, as the platform would receive them.
    final class Calls: @unchecked Sendable {
        private let lock = NIOLock()
        private var bodies: [String] = []
        private var signatures: [String] = []
        func record(_ head: HTTPRequestHead, _ body: [UInt8]) {
            lock.withLock {
                bodies.append(String(decoding: body, as: UTF8.self))
                signatures.append(head.headers.first(name: "X-Porthole-Signature") ?? "")
            }
        }
        var all: [(body: String, signature: String)] { lock.withLock { Array(zip(bodies, signatures)) } }
    }

    static func proxy(_ calls: Calls, policy: SandboxPolicy = stopped) throws -> InMemoryProxy {
        let wake = WakeWebhook(settings: settings, logger: Logger(label: "test")) { head, body in
            calls.record(head, body)
            return 204
        }
        return try InMemoryProxy(configure: { $0.wake = settings }, policy: policy, wake: wake)
    }

    /// The webhook runs in a task; wait for its call (a readiness check, not a fixed sleep).
    static func waitForCalls(_ calls: Calls, count: Int) async throws {
        // Generous: under a parallel test run the task that calls the webhook may wait for a thread.
        #expect(try await eventually(timeout: .seconds(60)) { calls.all.count >= count }, "the webhook was called \(count) time(s)")
    }

    @Test func aHeldRequestGoesThroughOnceTheSandboxStarts() async throws {
        let calls = Calls()
        let proxy = try Self.proxy(calls)
        defer { proxy.finish() }
        try proxy.send(get("/api", "Accept: application/json"))
        #expect(try proxy.received().isEmpty, "held, not refused")
        #expect(proxy.upstreams.isEmpty)
        try await Self.waitForCalls(calls, count: 1)
        let call = try #require(calls.all.first)
        #expect(call.body.hasPrefix("{\"sandboxId\":\"abc123\",\"port\":3000,\"requestId\":\""))
        // Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
        let parts = call.signature.split(separator: ",")
        #expect(parts.count == 2 && parts[0].hasPrefix("t=") && parts[1].hasPrefix("v1="))
        let time = String(parts[0].dropFirst(2))
        let expected = ASCIIByte.hexString(
            HMACSHA256.authenticationCode(for: Array("\(time).\(call.body)".utf8), key: Array(String(repeating: "s", count: 32).utf8)))
        #expect(String(parts[1].dropFirst(3)) == expected)

        // The platform starts the sandbox; the change feed reports it.
        var started = Self.stopped
        started.state = .started
        proxy.policies.change(started)
        #expect(try proxy.upstreamReceived().hasPrefix("GET /api HTTP/1.1\r\n"))
        try proxy.upstreamSends(ProxyConnectionHandlerTests.ok)
        #expect(try proxy.received() == ProxyConnectionHandlerTests.ok)
    }

    @Test func aBrowserGetsAPageThatReloadsItselfAndTheSandboxIsAskedOnce() async throws {
        let calls = Calls()
        let proxy = try Self.proxy(calls)
        defer { proxy.finish() }
        for _ in 0..<3 {
            try proxy.send(get("/", "Sec-Fetch-Mode: navigate", "Accept: text/html"))
            let page = try proxy.received()
            #expect(page.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
            #expect(page.contains("\r\nRetry-After: 2\r\n") && page.contains("\r\nRefresh: 2\r\n"))
            #expect(page.contains("is starting"))
        }
        try await Self.waitForCalls(calls, count: 1)
        #expect(calls.all.count == 1, "one call per sandbox per hold time")
    }

    @Test func aRequestHeldTooLongGets503() async throws {
        let calls = Calls()
        let proxy = try Self.proxy(calls)
        defer { proxy.finish() }
        try proxy.send(get("/api"))
        proxy.loop.advanceTime(by: .seconds(29))
        #expect(try proxy.received().isEmpty)
        proxy.loop.advanceTime(by: .seconds(1))
        let answer = try proxy.received()
        #expect(answer.hasPrefix("HTTP/1.1 503 ") && answer.contains("did not start within 30 s"), "\(answer)")
    }

    @Test func aRequestWithoutItsTokenWakesNothing() async throws {
        let calls = Calls()
        let privateStopped = SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: false, previewToken: "t", state: .stopped)
        let proxy = try Self.proxy(calls, policy: privateStopped)
        defer { proxy.finish() }
        try proxy.send(get("/api"))
        #expect(try proxy.received().hasPrefix("HTTP/1.1 503 "))
        try proxy.send(get("/api", "X-Preview-Token: wrong"))
        #expect(try proxy.received().hasPrefix("HTTP/1.1 503 "))
        try proxy.send(get("/api", "X-Preview-Token: t"))
        #expect(try proxy.received().isEmpty, "the right token is held while the sandbox wakes")
        try await Self.waitForCalls(calls, count: 1)
        #expect(calls.all.count == 1)
    }
}

@Suite struct WakeSettingsTests {
    static let secret = String(repeating: "k", count: 32)

    @Test(arguments: [
        ("http://orchestrator.internal/wake", "orchestrator.internal", 80, "/wake"),
        ("http://10.0.0.5:8080/hooks/wake?x=1", "10.0.0.5", 8080, "/hooks/wake?x=1"),
        ("http://127.0.0.1:9000", "127.0.0.1", 9000, "/"),
        ("http://[::1]:9000/w", "[::1]", 9000, "/w"),
    ])
    func urls(_ url: String, _ host: String, _ port: Int, _ path: String) throws {
        let settings = try WakeSettings(url: url, secret: Self.secret)
        #expect(settings.host == host && settings.port == port && settings.path == path)
        #expect(!"\(settings)".contains(Self.secret) && !String(reflecting: settings).contains(Self.secret), "the secret never prints")
    }

    @Test(arguments: ["https://orchestrator/wake", "ftp://x/", "http://", "http://host:0/", "http://host:99999/", "http://user@host/", "http://host/a b"])
    func refusedURLs(_ url: String) {
        #expect(throws: WakeSettingsError.unsupportedURL(url)) { try WakeSettings(url: url, secret: Self.secret) }
    }

    @Test func aShortSecretIsRefused() {
        #expect(throws: WakeSettingsError.shortSecret) { try WakeSettings(url: "http://h/w", secret: "short") }
    }
}
