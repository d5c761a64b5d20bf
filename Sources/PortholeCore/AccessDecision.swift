import PortholeCrypto

/// The authorisation decision for one preview request: pure, so every rule is tested here and the proxy
/// only acts on the outcome.
public enum AccessDecision: Sendable, Hashable {
    case allow(AccessGrant)
    /// A browser opened a preview link with a valid `?preview_token=`: answer with a redirect to the same
    /// target without the parameter (see ``QueryString/removingParameter(_:from:)``) carrying this
    /// `Set-Cookie` value, so the token leaves the address bar, history and `Referer`.
    case exchangeTokenForCookie(setCookie: String)
    /// A well-formed CORS preflight (``CORSPreflight``) to a private preview: Porthole answers it
    /// itself and nothing reaches the sandbox.
    case answerPreflight
    case deny(AccessDenial)

    /// Precedence, each rule chosen for a reason:
    /// 1. A stopped sandbox is 503 before anything else: no credential can make it answer.
    /// 2. A public sandbox is open, except on reserved ports.
    /// 3. A CORS preflight is answered by Porthole: browsers never attach credentials (cookies or
    ///    custom headers) to it, so requiring them would make every cross-origin call to a private
    ///    preview fail, and forwarding it without any would run the app's handlers for anybody (apps
    ///    answer `OPTIONS` with their ordinary code). The real request that follows is authorised on
    ///    its own.
    /// 4. A header token decides alone: a wrong one is 403 even with a valid cookie, so a script with a
    ///    stale token fails loudly instead of riding on the browser's session.
    /// 5. A query token — the preview token or a signed preview URL's token (``SignedPreviewToken``):
    ///    valid on a navigation → trade it for a cookie (for a signed URL, one bound to its grant and
    ///    expiring with it); valid otherwise → allow (never redirect upgrades or API clients); wrong,
    ///    expired or revoked → 403.
    /// 6. Session cookies: any one that verifies → allow; all invalid → 403 "session expired".
    /// 7. Nothing → 401 with instructions.
    ///
    /// `ignoringStoppedState`: the decision as if the sandbox were running, to tell whether a
    /// request to a stopped sandbox is one that may wake it (only a request that would be let in).
    public static func decide(
        policy: SandboxPolicy, request: AccessRequest, rules: AccessRules, ignoringStoppedState: Bool = false
    ) -> AccessDecision {
        switch policy.state {
        case .started: break
        case .stopped where ignoringStoppedState: break
        case .stopped: return .deny(.sandboxStopped(policy.id))
        case .creating: return .deny(.sandboxCreating(policy.id))
        }
        let reserved = rules.reservedPorts.contains(request.port)
        if policy.isPublic && !reserved {
            return .allow(.public)
        }
        if request.kind == .preflight {
            return .answerPreflight
        }
        if let headerToken = request.headerToken {
            return tokenMatches(headerToken, policy: policy) ? .allow(.token) : .deny(.tokenInvalid)
        }
        if let queryToken = request.queryToken {
            guard tokenMatches(queryToken, policy: policy) else {
                return signedURLDecision(queryToken, policy: policy, request: request, rules: rules)
            }
            guard request.kind == .navigation else { return .allow(.queryToken) }
            let value = PreviewSessionCookie.issue(
                sandboxID: policy.id,
                port: request.port,
                tokenGeneration: policy.tokenGeneration,
                expiresAt: request.now + rules.cookieLifetime,
                key: rules.cookieKey
            )
            return .exchangeTokenForCookie(
                setCookie: PreviewSessionCookie.setCookieHeaderValue(
                    value: value, maxAge: rules.cookieLifetime, partitioned: request.isCrossSiteFrame)
            )
        }
        if !request.sessionCookies.isEmpty {
            let valid = request.sessionCookies.contains { cookie in
                PreviewSessionCookie.verify(
                    utf8: cookie.utf8,
                    sandboxID: policy.id,
                    port: request.port,
                    tokenGeneration: policy.tokenGeneration,
                    now: request.now,
                    revokedGrants: policy.revokedGrants,
                    key: rules.cookieKey
                )
            }
            return valid ? .allow(.cookie) : .deny(.sessionInvalid)
        }
        return .deny(.tokenMissing)
    }

    /// A query token that is not the preview token may be a signed preview URL's. Its session cookie never
    /// outlives the URL: a shorter life than usual is the price of letting revocation records expire.
    private static func signedURLDecision(
        _ token: String, policy: SandboxPolicy, request: AccessRequest, rules: AccessRules
    ) -> AccessDecision {
        switch SignedPreviewToken.verify(token, policy: policy, port: request.port, now: request.now, key: rules.cookieKey) {
        case .success(let claims):
            guard request.kind == .navigation else { return .allow(.signedURL) }
            let expiresAt = min(request.now + rules.cookieLifetime, claims.expiresAt)
            let value = PreviewSessionCookie.issue(
                sandboxID: policy.id,
                port: request.port,
                tokenGeneration: policy.tokenGeneration,
                expiresAt: expiresAt,
                grant: claims.grant,
                key: rules.cookieKey
            )
            return .exchangeTokenForCookie(
                setCookie: PreviewSessionCookie.setCookieHeaderValue(
                    value: value, maxAge: expiresAt - request.now, partitioned: request.isCrossSiteFrame)
            )
        case .failure(.expired):
            return .deny(.signedURLExpired)
        case .failure(.revoked):
            return .deny(.signedURLRevoked)
        case .failure(.invalid):
            return .deny(.tokenInvalid)
        }
    }

    /// An empty stored token matches nothing: a record created without a token must not open to an
    /// empty `X-Preview-Token:` header.
    private static func tokenMatches(_ presented: String, policy: SandboxPolicy) -> Bool {
        !policy.previewToken.isEmpty && ConstantTime.equals(presented, policy.previewToken)
    }
}
