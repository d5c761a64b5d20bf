/// The credentials and shape of one request, extracted by the proxy from its head.
/// Everything here is attacker-controlled.
public struct AccessRequest: Sendable, Hashable {
    public var port: UInt16
    /// `X-Preview-Token` (or the Daytona-compatible `X-Daytona-Preview-Token`).
    public var headerToken: String?
    /// The `preview_token` query parameter, percent-decoded.
    public var queryToken: String?
    /// Every `__Host-porthole_session` cookie value in the `Cookie` header. There can be several: a sibling
    /// preview (untrusted code on a neighbouring host) can set a same-named cookie on the shared parent
    /// domain, and letting the first one win would let it lock users out of other previews.
    public var sessionCookies: [String]
    public var kind: RequestKind
    /// Unix seconds.
    public var now: Int64
    /// Loaded into a frame by a page of another site (``RequestHints/isCrossSiteFrame``): a
    /// session cookie issued for it is partitioned (CHIPS), the only kind such a frame can keep.
    public var isCrossSiteFrame = false

    /// The first session cookie; setting it replaces all of them.
    public var sessionCookie: String? {
        get { sessionCookies.first }
        set { sessionCookies = newValue.map { [$0] } ?? [] }
    }

    public init(
        port: UInt16,
        headerToken: String? = nil,
        queryToken: String? = nil,
        sessionCookie: String? = nil,
        kind: RequestKind,
        now: Int64
    ) {
        self.init(
            port: port, headerToken: headerToken, queryToken: queryToken,
            sessionCookies: sessionCookie.map { [$0] } ?? [], kind: kind, now: now
        )
    }

    public init(
        port: UInt16,
        headerToken: String? = nil,
        queryToken: String? = nil,
        sessionCookies: [String],
        kind: RequestKind,
        now: Int64
    ) {
        self.port = port
        self.headerToken = headerToken
        self.queryToken = queryToken
        self.sessionCookies = sessionCookies
        self.kind = kind
        self.now = now
    }
}
