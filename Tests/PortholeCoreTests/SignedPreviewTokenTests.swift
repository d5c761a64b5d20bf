import PortholeTestSupport
import PortholeCore
import Testing

@Suite("SignedPreviewToken")
struct SignedPreviewTokenTests {
    static let secret = [UInt8](repeating: 0x42, count: 32)
    static let now: Int64 = 1_700_000_000
    static let grant = PreviewGrantID(bytes: Array(0..<12))!

    static func policy(generation: UInt32 = 7, revoked: [String: Int64] = [:]) -> SandboxPolicy {
        SandboxPolicy(id: "abc123", target: "10.0.0.2", previewToken: "t", tokenGeneration: generation, revokedGrants: revoked)
    }

    static func token(
        sandboxID: String = "abc123", port: UInt16 = 3000, generation: UInt32 = 7, expiresAt: Int64 = now + 60,
        grant: PreviewGrantID = grant, secret: [UInt8] = secret
    ) -> String {
        SignedPreviewToken.issue(
            .init(sandboxID: sandboxID, port: port, tokenGeneration: generation, expiresAt: expiresAt, grant: grant), secret: secret
        )
    }

    static func verify(_ token: String, policy: SandboxPolicy = policy(), port: UInt16 = 3000, now: Int64 = now)
        -> Result<SignedPreviewToken.Claims, SignedPreviewToken.Rejection>
    {
        SignedPreviewToken.verify(token, policy: policy, port: port, now: now, secret: secret)
    }

    @Test func roundTrip() throws {
        let token = Self.token()
        let claims = try Self.verify(token).get()
        #expect(claims == .init(sandboxID: "abc123", port: 3000, tokenGeneration: 7, expiresAt: Self.now + 60, grant: Self.grant))
        #expect(SignedPreviewToken.claims(of: token, secret: Self.secret) == claims)
        // URL- and cookie-safe, and short enough for any URL.
        #expect(
            token.utf8.allSatisfy {
                $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                    || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
            })
        #expect(Self.token(sandboxID: String(repeating: "z", count: 57)).utf8.count < 200)
    }

    @Test func boundToSandboxPortGenerationAndSecret() {
        #expect(Self.verify(Self.token(sandboxID: "abc124")) == .failure(.invalid))
        #expect(Self.verify(Self.token(), port: 3001) == .failure(.invalid))
        #expect(Self.verify(Self.token(generation: 6)) == .failure(.invalid))
        #expect(Self.verify(Self.token(secret: [UInt8](repeating: 0x43, count: 32))) == .failure(.invalid))
    }

    @Test func expiryIsExclusive() {
        #expect((try? Self.verify(Self.token(), now: Self.now + 59).get()) != nil)
        #expect(Self.verify(Self.token(), now: Self.now + 60) == .failure(.expired))
    }

    @Test func revokedGrantsAreRefusedUntilTheyWouldExpire() {
        let revoked = Self.policy(revoked: [Self.grant.description: Self.now + 60])
        #expect(Self.verify(Self.token(), policy: revoked) == .failure(.revoked))
        var generator = SplitMix64(state: 7)
        let other = PreviewGrantID.generate(using: &generator)
        #expect((try? Self.verify(Self.token(grant: other), policy: revoked).get()) != nil)
    }

    @Test(arguments: [
        "", ".", "abc", "a.b", "AAAA.AAAA", String(repeating: "A", count: 600) + ".x",
    ])
    func garbageIsInvalid(_ text: String) {
        #expect(Self.verify(text) == .failure(.invalid))
    }

    @Test func tamperingIsInvalid() {
        let token = Array(Self.token().utf8)
        for index in token.indices where token[index] != UInt8(ascii: ".") {
            var tampered = token
            tampered[index] = token[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(Self.verify(String(decoding: tampered, as: UTF8.self)) == .failure(.invalid))
        }
    }

    @Test func aSessionCookieIsNotASignedTokenNorTheOtherWayRound() {
        // Same secret, overlapping payload layouts: the domain-separation contexts keep them apart.
        let cookie = PreviewSessionCookie.issue(
            sandboxID: "abc123", port: 3000, tokenGeneration: 7, expiresAt: Self.now + 60, grant: Self.grant, secret: Self.secret
        )
        #expect(Self.verify(cookie) == .failure(.invalid))
        #expect(!PreviewSessionCookie.verify(Self.token(), sandboxID: "abc123", port: 3000, tokenGeneration: 7, now: Self.now, secret: Self.secret))
    }

    @Test func grantIDs() {
        let id = PreviewGrantID.generate()
        #expect(id.description.count == 16)
        #expect(PreviewGrantID(id.description) == id)
        #expect(PreviewGrantID("short") == nil)
        #expect(PreviewGrantID(bytes: [1, 2, 3]) == nil)
        #expect(PreviewGrantID.generate() != PreviewGrantID.generate())
    }

    @Test func revocationRecordsPrune() {
        var policy = Self.policy()
        var generator = SplitMix64(state: 9)
        let old = PreviewGrantID.generate(using: &generator)
        policy.revokeGrant(old, expiresAt: Self.now + 10, now: Self.now)
        #expect(policy.revokedGrants == [old.description: Self.now + 10])
        // An already expired URL needs no record.
        policy.revokeGrant(Self.grant, expiresAt: Self.now, now: Self.now)
        #expect(policy.revokedGrants.count == 1)
        // Later writes drop records whose URL has expired.
        policy.revokeGrant(Self.grant, expiresAt: Self.now + 100, now: Self.now + 10)
        #expect(policy.revokedGrants == [Self.grant.description: Self.now + 100])
    }
}

@Suite("AccessDecision with signed preview URLs")
struct SignedURLAccessDecisionTests {
    static let secret = SignedPreviewTokenTests.secret
    static let now = SignedPreviewTokenTests.now
    static let rules = AccessRules(reservedPorts: [22222], cookieSecret: secret)

    static func decide(
        query: String? = nil, cookies: [String] = [], kind: RequestKind = .other, port: UInt16 = 3000, now: Int64 = now,
        policy: SandboxPolicy = SignedPreviewTokenTests.policy(), rules: AccessRules = rules
    ) -> AccessDecision {
        AccessDecision.decide(
            policy: policy, request: AccessRequest(port: port, queryToken: query, sessionCookies: cookies, kind: kind, now: now), rules: rules
        )
    }

    static func setCookie(_ decision: AccessDecision) -> (value: String, maxAge: Int)? {
        guard case .exchangeTokenForCookie(let header) = decision else { return nil }
        let parts = header.split(separator: ";").map { String($0.drop { $0 == " " }) }
        guard let value = parts.first?.dropFirst("__Host-porthole_session=".count),
            let maxAge = parts.first(where: { $0.hasPrefix("Max-Age=") }).flatMap({ Int($0.dropFirst("Max-Age=".count)) })
        else { return nil }
        return (String(value), maxAge)
    }

    @Test(arguments: [RequestKind.other, .upgrade])
    func aValidSignedTokenOpensItsPortWithoutRedirect(_ kind: RequestKind) {
        #expect(Self.decide(query: SignedPreviewTokenTests.token(), kind: kind) == .allow(.signedURL))
        // Reserved ports too: a signed URL is a credential like the token.
        #expect(Self.decide(query: SignedPreviewTokenTests.token(port: 22222), kind: kind, port: 22222) == .allow(.signedURL))
    }

    @Test func wrongExpiredAndRevokedTokensAreRefused() {
        #expect(Self.decide(query: SignedPreviewTokenTests.token(), port: 3001) == .deny(.tokenInvalid))
        #expect(Self.decide(query: SignedPreviewTokenTests.token(), now: Self.now + 60) == .deny(.signedURLExpired))
        let revoked = SignedPreviewTokenTests.policy(revoked: [SignedPreviewTokenTests.grant.description: Self.now + 60])
        #expect(Self.decide(query: SignedPreviewTokenTests.token(), policy: revoked) == .deny(.signedURLRevoked))
        // A rotation (new generation) ends every signed URL.
        #expect(Self.decide(query: SignedPreviewTokenTests.token(), policy: SignedPreviewTokenTests.policy(generation: 8)) == .deny(.tokenInvalid))
        #expect(AccessDenial.signedURLExpired.status == 403 && AccessDenial.signedURLRevoked.status == 403)
    }

    @Test func aNavigationGetsASessionThatNeverOutlivesTheURL() throws {
        let decision = Self.decide(query: SignedPreviewTokenTests.token(expiresAt: Self.now + 60), kind: .navigation)
        let (value, maxAge) = try #require(Self.setCookie(decision))
        #expect(maxAge == 60)
        #expect(Self.decide(cookies: [value], now: Self.now + 59) == .allow(.cookie))
        #expect(Self.decide(cookies: [value], now: Self.now + 60) == .deny(.sessionInvalid))

        // A long URL gets the usual session lifetime.
        let long = Self.decide(query: SignedPreviewTokenTests.token(expiresAt: Self.now + 100_000), kind: .navigation)
        #expect(Self.setCookie(long)?.maxAge == 86_400)
    }

    @Test func revokingTheURLEndsItsSessionButNotOthers() throws {
        let (value, _) = try #require(Self.setCookie(Self.decide(query: SignedPreviewTokenTests.token(), kind: .navigation)))
        let revoked = SignedPreviewTokenTests.policy(revoked: [SignedPreviewTokenTests.grant.description: Self.now + 60])
        #expect(Self.decide(cookies: [value], policy: revoked) == .deny(.sessionInvalid))
        // A session from the preview token itself is not bound to any grant.
        let plain = PreviewSessionCookie.issue(sandboxID: "abc123", port: 3000, tokenGeneration: 7, expiresAt: Self.now + 100, secret: Self.secret)
        #expect(Self.decide(cookies: [plain], policy: revoked) == .allow(.cookie))
        #expect(Self.decide(cookies: [value, plain], policy: revoked) == .allow(.cookie))
    }

    @Test func grantSessionsAreBoundLikeOthers() throws {
        let (value, _) = try #require(Self.setCookie(Self.decide(query: SignedPreviewTokenTests.token(), kind: .navigation)))
        #expect(Self.decide(cookies: [value], port: 3001) == .deny(.sessionInvalid))
        #expect(Self.decide(cookies: [value], policy: SignedPreviewTokenTests.policy(generation: 8)) == .deny(.sessionInvalid))
        let session = try #require(
            PreviewSessionCookie.session(
                utf8: Array(value.utf8), sandboxID: "abc123", port: 3000, tokenGeneration: 7, now: Self.now, secret: Self.secret
            ))
        #expect(session.grant == SignedPreviewTokenTests.grant)
        #expect(session.expiresAt == Self.now + 60)
    }

    @Test func thePreviewTokenStillWorksAsBefore() {
        let policy = SignedPreviewTokenTests.policy()
        #expect(Self.decide(query: "t", policy: policy) == .allow(.queryToken))
        #expect(Self.decide(query: "t.x", policy: policy) == .deny(.tokenInvalid))
    }
}
