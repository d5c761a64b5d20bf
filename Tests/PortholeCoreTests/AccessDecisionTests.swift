import PortholeCore
import Testing

@Suite("AccessDecision")
struct AccessDecisionTests {
    static let token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1enF1dXo"
    static let secret = [UInt8](repeating: 0x42, count: 32)
    static let now: Int64 = 1_700_000_000
    static let rules = AccessRules(reservedPorts: [22222, 2280], cookieSecret: secret)

    static func policy(
        isPublic: Bool = false, state: SandboxState = .started, token: String = token, generation: UInt32 = 7
    ) -> SandboxPolicy {
        SandboxPolicy(id: "abc123", target: "10.0.0.2", isPublic: isPublic, previewToken: token, tokenGeneration: generation, state: state)
    }

    static func request(
        port: UInt16 = 3000, header: String? = nil, query: String? = nil, cookies: [String] = [], kind: RequestKind = .other,
        now: Int64 = now
    ) -> AccessRequest {
        AccessRequest(port: port, headerToken: header, queryToken: query, sessionCookies: cookies, kind: kind, now: now)
    }

    static func cookie(sandboxID: String = "abc123", port: UInt16 = 3000, generation: UInt32 = 7, expiresAt: Int64 = now + 100) -> String {
        PreviewSessionCookie.issue(sandboxID: sandboxID, port: port, tokenGeneration: generation, expiresAt: expiresAt, secret: secret)
    }

    static func decide(_ request: AccessRequest, policy: SandboxPolicy = policy(), rules: AccessRules = rules) -> AccessDecision {
        AccessDecision.decide(policy: policy, request: request, rules: rules)
    }

    static let allKinds: [RequestKind] = [.navigation, .preflight, .upgrade, .other]

    // MARK: Stopped

    @Test(arguments: allKinds)
    func stoppedSandboxIsRefusedBeforeAnythingElse(_ kind: RequestKind) {
        let stopped = AccessDecision.deny(.sandboxStopped("abc123"))
        #expect(Self.decide(Self.request(kind: kind), policy: Self.policy(state: .stopped)) == stopped)
        #expect(Self.decide(Self.request(kind: kind), policy: Self.policy(isPublic: true, state: .stopped)) == stopped)
        #expect(Self.decide(Self.request(header: Self.token, kind: kind), policy: Self.policy(state: .stopped)) == stopped)
        #expect(Self.decide(Self.request(query: Self.token, kind: kind), policy: Self.policy(state: .stopped)) == stopped)
        #expect(Self.decide(Self.request(cookies: [Self.cookie()], kind: kind), policy: Self.policy(state: .stopped)) == stopped)
    }

    @Test func stoppedDenialDescribesItself() {
        let denial = AccessDenial.sandboxStopped("abc123")
        #expect(denial.status == 503)
        #expect(denial.code == "sandbox_stopped")
        #expect(denial.message.contains("abc123"))
    }

    // MARK: Public

    @Test(arguments: allKinds)
    func publicSandboxIsOpen(_ kind: RequestKind) {
        let open = Self.policy(isPublic: true)
        #expect(Self.decide(Self.request(kind: kind), policy: open) == .allow(.public))
        // Credentials are irrelevant on a public port, even wrong ones.
        #expect(Self.decide(Self.request(header: "wrong", query: "wrong", cookies: ["junk"], kind: kind), policy: open) == .allow(.public))
    }

    @Test(arguments: [22222 as UInt16, 2280])
    func reservedPortsOfAPublicSandboxNeedAToken(_ port: UInt16) {
        let open = Self.policy(isPublic: true)
        #expect(Self.decide(Self.request(port: port), policy: open) == .deny(.tokenMissing))
        #expect(Self.decide(Self.request(port: port, header: "wrong"), policy: open) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(port: port, header: Self.token), policy: open) == .allow(.token))
        #expect(Self.decide(Self.request(port: port, cookies: [Self.cookie(port: port)]), policy: open) == .allow(.cookie))
        #expect(Self.decide(Self.request(port: port, kind: .preflight), policy: open) == .answerPreflight)
    }

    @Test func reservedPortsOfAPrivateSandboxWorkLikeAnyOther() {
        #expect(Self.decide(Self.request(port: 22222, header: Self.token)) == .allow(.token))
        #expect(Self.decide(Self.request(port: 22222)) == .deny(.tokenMissing))
    }

    // MARK: Preflight

    /// A private sandbox's preflight is answered by Porthole, never forwarded, whatever it carries.
    @Test func preflightIsAnsweredNotForwarded() {
        #expect(Self.decide(Self.request(kind: .preflight)) == .answerPreflight)
        #expect(Self.decide(Self.request(header: "wrong", kind: .preflight)) == .answerPreflight)
        #expect(Self.decide(Self.request(header: Self.token, kind: .preflight)) == .answerPreflight)
        #expect(Self.decide(Self.request(query: "wrong", kind: .preflight)) == .answerPreflight)
        #expect(Self.decide(Self.request(query: Self.token, kind: .preflight)) == .answerPreflight)
        #expect(Self.decide(Self.request(cookies: ["junk"], kind: .preflight)) == .answerPreflight)
    }

    @Test func aStoppedSandboxRefusesPreflightsToo() {
        #expect(Self.decide(Self.request(kind: .preflight), policy: Self.policy(state: .stopped)) == .deny(.sandboxStopped("abc123")))
    }

    // MARK: Header token

    @Test(arguments: allKinds.filter { $0 != .preflight })
    func headerTokenDecidesAlone(_ kind: RequestKind) {
        #expect(Self.decide(Self.request(header: Self.token, kind: kind)) == .allow(.token))
        #expect(Self.decide(Self.request(header: "wrong", kind: kind)) == .deny(.tokenInvalid))
        // A wrong header token is 403 even when the browser holds a valid session or a valid query token.
        #expect(Self.decide(Self.request(header: "wrong", cookies: [Self.cookie()], kind: kind)) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(header: "wrong", query: Self.token, kind: kind)) == .deny(.tokenInvalid))
        // A right header token wins over a wrong query token or a bad cookie, and never redirects.
        #expect(Self.decide(Self.request(header: Self.token, query: "wrong", kind: kind)) == .allow(.token))
        #expect(Self.decide(Self.request(header: Self.token, query: Self.token, kind: kind)) == .allow(.token))
        #expect(Self.decide(Self.request(header: Self.token, cookies: ["junk"], kind: kind)) == .allow(.token))
    }

    @Test(arguments: [
        "",
        String(token.dropLast()),
        token + "x",
        token.uppercased(),
        " " + token,
        token + " ",
        String(token.dropFirst()) + "A",
    ])
    func nearMissTokensAreInvalid(_ presented: String) {
        #expect(Self.decide(Self.request(header: presented)) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(query: presented, kind: .navigation)) == .deny(.tokenInvalid))
    }

    @Test func emptyStoredTokenMatchesNothing() {
        let noToken = Self.policy(token: "")
        #expect(Self.decide(Self.request(header: ""), policy: noToken) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(query: "", kind: .navigation), policy: noToken) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(query: "", kind: .other), policy: noToken) == .deny(.tokenInvalid))
    }

    // MARK: Query token

    @Test func validQueryTokenOnANavigationIsTradedForACookie() throws {
        let decision = Self.decide(Self.request(query: Self.token, kind: .navigation))
        guard case .exchangeTokenForCookie(let setCookie) = decision else {
            Issue.record("expected an exchange, got \(decision)")
            return
        }
        #expect(setCookie.hasPrefix("__Host-porthole_session="))
        #expect(setCookie.hasSuffix("; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax"))
        #expect(!setCookie.lowercased().contains("domain="))

        let value = try #require(setCookie.dropFirst("__Host-porthole_session=".count).split(separator: ";").first)
        func verify(now: Int64, port: UInt16 = 3000, generation: UInt32 = 7) -> Bool {
            PreviewSessionCookie.verify(value, sandboxID: "abc123", port: port, tokenGeneration: generation, now: now, secret: Self.secret)
        }
        #expect(verify(now: Self.now))
        #expect(verify(now: Self.now + 86_400 - 1))
        #expect(!verify(now: Self.now + 86_400))
        #expect(!verify(now: Self.now, port: 3001))
        #expect(!verify(now: Self.now, generation: 8))

        // The issued cookie then opens the preview on its own.
        #expect(Self.decide(Self.request(cookies: [String(value)], kind: .navigation)) == .allow(.cookie))
    }

    @Test func aCrossSiteFrameGetsAPartitionedCookie() throws {
        var request = Self.request(query: Self.token, kind: .navigation)
        request.isCrossSiteFrame = true
        guard case .exchangeTokenForCookie(let setCookie) = Self.decide(request) else {
            Issue.record("expected an exchange")
            return
        }
        #expect(setCookie.hasPrefix("__Host-porthole_session="))
        #expect(setCookie.hasSuffix("; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned"))
        // The same session value: it opens the preview like any other.
        let value = try #require(setCookie.dropFirst("__Host-porthole_session=".count).split(separator: ";").first)
        #expect(Self.decide(Self.request(cookies: [String(value)], kind: .other)) == .allow(.cookie))
    }

    @Test func cookieLifetimeIsConfigurable() throws {
        let rules = AccessRules(cookieSecret: Self.secret, cookieLifetime: 60)
        let decision = Self.decide(Self.request(query: Self.token, kind: .navigation), rules: rules)
        guard case .exchangeTokenForCookie(let setCookie) = decision else {
            Issue.record("expected an exchange, got \(decision)")
            return
        }
        #expect(setCookie.contains("; Max-Age=60;"))
        let value = try #require(setCookie.dropFirst("__Host-porthole_session=".count).split(separator: ";").first)
        #expect(PreviewSessionCookie.verify(value, sandboxID: "abc123", port: 3000, tokenGeneration: 7, now: Self.now + 59, secret: Self.secret))
        #expect(!PreviewSessionCookie.verify(value, sandboxID: "abc123", port: 3000, tokenGeneration: 7, now: Self.now + 60, secret: Self.secret))
        #expect(AccessRules(cookieSecret: Self.secret).cookieLifetime == 86_400)
    }

    @Test(arguments: [RequestKind.upgrade, .other])
    func validQueryTokenElsewhereIsAllowedWithoutRedirect(_ kind: RequestKind) {
        #expect(Self.decide(Self.request(query: Self.token, kind: kind)) == .allow(.queryToken))
        #expect(Self.decide(Self.request(query: Self.token, cookies: ["junk"], kind: kind)) == .allow(.queryToken))
    }

    @Test(arguments: allKinds.filter { $0 != .preflight })
    func wrongQueryTokenIsInvalidEvenWithAValidCookie(_ kind: RequestKind) {
        #expect(Self.decide(Self.request(query: "wrong", kind: kind)) == .deny(.tokenInvalid))
        #expect(Self.decide(Self.request(query: "wrong", cookies: [Self.cookie()], kind: kind)) == .deny(.tokenInvalid))
    }

    @Test func validQueryTokenWithAValidCookieStillExchanges() {
        // The link was opened again: refresh the session and clean the address bar.
        let decision = Self.decide(Self.request(query: Self.token, cookies: [Self.cookie()], kind: .navigation))
        guard case .exchangeTokenForCookie = decision else {
            Issue.record("expected an exchange, got \(decision)")
            return
        }
    }

    // MARK: Cookies

    @Test(arguments: allKinds.filter { $0 != .preflight })
    func validCookieIsAllowed(_ kind: RequestKind) {
        #expect(Self.decide(Self.request(cookies: [Self.cookie()], kind: kind)) == .allow(.cookie))
    }

    @Test func invalidCookiesAreASessionProblem() {
        let cases: [(String, String)] = [
            ("expired", Self.cookie(expiresAt: Self.now)),
            ("long expired", Self.cookie(expiresAt: Self.now - 86_400)),
            ("other port", Self.cookie(port: 3001)),
            ("other sandbox", Self.cookie(sandboxID: "abc124")),
            ("older generation", Self.cookie(generation: 6)),
            ("newer generation", Self.cookie(generation: 8)),
            (
                "other secret",
                PreviewSessionCookie.issue(
                    sandboxID: "abc123", port: 3000, tokenGeneration: 7, expiresAt: Self.now + 100, secret: [UInt8](repeating: 1, count: 32))
            ),
            ("garbage", "not-a-cookie"),
            ("empty", ""),
        ]
        for (name, cookie) in cases {
            let decision = Self.decide(Self.request(cookies: [cookie], kind: .navigation))
            #expect(decision == .deny(.sessionInvalid), "\(name)")
        }
        #expect(AccessDenial.sessionInvalid.status == 403)
        #expect(AccessDenial.sessionInvalid.code == "token_invalid")
        #expect(AccessDenial.sessionInvalid.message == "preview session expired or revoked; open the preview link again")
    }

    @Test func rotationRevokesSessions() {
        let cookie = Self.cookie(generation: 7)
        #expect(Self.decide(Self.request(cookies: [cookie])) == .allow(.cookie))
        #expect(Self.decide(Self.request(cookies: [cookie]), policy: Self.policy(token: "rotated", generation: 8)) == .deny(.sessionInvalid))
    }

    @Test func anyValidCookieAmongSeveralIsEnough() {
        // A sibling preview can toss a same-named cookie onto the parent domain; it must not lock the user out.
        #expect(Self.decide(Self.request(cookies: ["tossed", Self.cookie()])) == .allow(.cookie))
        #expect(Self.decide(Self.request(cookies: [Self.cookie(), "tossed"])) == .allow(.cookie))
        #expect(Self.decide(Self.request(cookies: ["tossed", Self.cookie(port: 1)])) == .deny(.sessionInvalid))
    }

    @Test func cookieExpiryBoundary() {
        let cookie = Self.cookie(expiresAt: Self.now + 1)
        #expect(Self.decide(Self.request(cookies: [cookie], now: Self.now)) == .allow(.cookie))
        #expect(Self.decide(Self.request(cookies: [cookie], now: Self.now + 1)) == .deny(.sessionInvalid))
    }

    // MARK: Nothing

    @Test(arguments: allKinds.filter { $0 != .preflight })
    func noCredentialIsMissing(_ kind: RequestKind) {
        #expect(Self.decide(Self.request(kind: kind)) == .deny(.tokenMissing))
    }

    @Test func denialsCarryStatusCodeAndInstructions() {
        #expect(AccessDenial.tokenMissing.status == 401)
        #expect(AccessDenial.tokenMissing.code == "token_missing")
        #expect(AccessDenial.tokenMissing.message.contains("X-Preview-Token"))
        #expect(AccessDenial.tokenMissing.message.contains("?preview_token="))
        #expect(AccessDenial.tokenInvalid.status == 403)
        #expect(AccessDenial.tokenInvalid.code == "token_invalid")
        #expect(AccessDenial.tokenInvalid != AccessDenial.sessionInvalid)
        let response = AccessDenial.tokenMissing.errorResponse
        #expect(response == ErrorResponse(status: 401, code: "token_missing", message: AccessDenial.tokenMissing.message))
        #expect(ErrorResponse(AccessDenial.tokenInvalid).status == 403)
    }

    @Test func grantsHaveStableNames() {
        #expect(AccessGrant.public.rawValue == "public")
        #expect(AccessGrant.queryToken.rawValue == "query_token")
        #expect(AccessGrant.signedURL.rawValue == "signed_url")
    }

    // MARK: AccessRequest

    @Test func singleCookieAccessorMapsToTheList() {
        var request = AccessRequest(port: 1, sessionCookie: "a", kind: .other, now: 0)
        #expect(request.sessionCookies == ["a"])
        #expect(request.sessionCookie == "a")
        request.sessionCookies = ["b", "c"]
        #expect(request.sessionCookie == "b")
        request.sessionCookie = nil
        #expect(request.sessionCookies.isEmpty)
        #expect(AccessRequest(port: 1, kind: .other, now: 0).sessionCookies.isEmpty)
    }

    @Test func shortSecretTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = AccessRules(cookieSecret: [1, 2, 3])
        }
    }
}
