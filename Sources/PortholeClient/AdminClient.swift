#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import PortholeAPI
import PortholeNIOUtilities

/// A typed Swift client of Porthole's admin API: what an orchestrator written in Swift embeds, and what
/// `porthole sandbox …` uses.
///
/// One HTTP/1.1 connection per call, closed after the answer: admin calls are rare and the server is
/// usually on loopback, so a pool would buy nothing and cost state. API refusals are thrown as
/// ``PortholeCore/AdminAPIError`` (status, code, message, field); transport failures as
/// ``AdminClientError``.
public struct AdminClient: Sendable {
    public let url: String
    private let host: String
    private let port: Int
    private let pathPrefix: String
    private let token: String
    private let timeout: Duration
    private let group: any EventLoopGroup

    /// `url` is `http://HOST:PORT` (optionally with a path prefix, for a reverse proxy in front).
    public init(
        url: String, token: String, timeout: Duration = .seconds(30),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        guard let parsed = Self.parse(url) else { throw AdminClientError.invalidURL(url) }
        self.url = url
        (host, port, pathPrefix) = parsed
        self.token = token
        self.timeout = timeout
        self.group = eventLoopGroup
    }

    // MARK: - Sandboxes

    public func createSandbox(_ request: SandboxCreateRequest) async throws -> SandboxRecord {
        try await call(.POST, "/v1/sandboxes", body: request)
    }

    public func sandbox(id: String) async throws -> SandboxRecord {
        try await call(.GET, "/v1/sandboxes/\(segment(id))")
    }

    /// One page; pass the returned ``PortholeCore/SandboxPage/nextCursor`` for the next.
    public func listSandboxes(label: (key: String, value: String)? = nil, cursor: String? = nil, limit: Int? = nil) async throws -> SandboxPage {
        var query: [(String, String)] = []
        if let label { query.append(("label", "\(label.key)=\(label.value)")) }
        if let cursor { query.append(("cursor", cursor)) }
        if let limit { query.append(("limit", String(limit))) }
        return try await call(.GET, "/v1/sandboxes", query: query)
    }

    /// Every sandbox (with `label`, those carrying it), following the pages.
    public func allSandboxes(label: (key: String, value: String)? = nil) async throws -> [SandboxRecord] {
        var all: [SandboxRecord] = []
        var cursor: String? = nil
        repeat {
            let page = try await listSandboxes(label: label, cursor: cursor, limit: 500)
            all += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }

    public func updateSandbox(id: String, _ update: SandboxUpdateRequest) async throws -> SandboxRecord {
        try await call(.PATCH, "/v1/sandboxes/\(segment(id))", body: update)
    }

    public func deleteSandbox(id: String) async throws {
        let _: Empty = try await call(.DELETE, "/v1/sandboxes/\(segment(id))")
    }

    public func setPublic(id: String, _ isPublic: Bool) async throws -> SandboxRecord {
        try await call(.POST, "/v1/sandboxes/\(segment(id))/public/\(isPublic)")
    }

    public func setNetworkSettings(id: String, _ settings: NetworkSettingsRequest) async throws -> SandboxRecord {
        try await call(.POST, "/v1/sandboxes/\(segment(id))/network-settings", body: settings)
    }

    /// What the egress firewall enforces for the sandbox: its class, source address, allowed networks
    /// and names, and whether the essential services apply.
    public func egress(id: String) async throws -> EffectiveEgress {
        try await call(.GET, "/v1/sandboxes/\(segment(id))/egress")
    }

    /// The old token, its session cookies and every signed preview URL stop working on the next request.
    public func rotatePreviewToken(id: String) async throws -> SandboxRecord {
        try await call(.POST, "/v1/sandboxes/\(segment(id))/preview-token/rotate")
    }

    // MARK: - Preview links

    public func previewLink(id: String, port: Int) async throws -> PreviewLink {
        try await call(.GET, "/v1/sandboxes/\(segment(id))/ports/\(port)/preview-link")
    }

    /// A URL that opens the preview without any header for `expiresInSeconds` (1…86400; the server's
    /// default, 60, when `nil`).
    public func signedPreviewURL(id: String, port: Int, expiresInSeconds: Int? = nil) async throws -> SignedPreviewURL {
        try await call(
            .POST, "/v1/sandboxes/\(segment(id))/ports/\(port)/signed-preview-url",
            query: expiresInSeconds.map { [("expiresInSeconds", String($0))] } ?? []
        )
    }

    /// Revokes a signed preview URL (by its token) and the browser sessions it started.
    public func expireSignedPreviewURL(id: String, port: Int, token: String) async throws -> SignedPreviewURLRevocation {
        try await call(.POST, "/v1/sandboxes/\(segment(id))/ports/\(port)/signed-preview-url/\(segment(token))/expire")
    }

    // MARK: - Organisations and API keys

    public func createOrganization(_ request: OrganizationCreateRequest) async throws -> Organization {
        try await call(.POST, "/v1/organizations", body: request)
    }

    public func organizations() async throws -> OrganizationList {
        try await call(.GET, "/v1/organizations")
    }

    public func organization(id: String) async throws -> Organization {
        try await call(.GET, "/v1/organizations/\(segment(id))")
    }

    /// Also moves every sandbox of the organisation to the tier.
    public func setOrganizationTier(id: String, tier: Int) async throws -> Organization {
        try await updateOrganization(id: id, OrganizationUpdateRequest(tier: tier))
    }

    /// The tier and the allow lists of tiers 1 and 2 (`.clear` removes a list); every sandbox of
    /// the organisation follows.
    public func updateOrganization(id: String, _ request: OrganizationUpdateRequest) async throws -> Organization {
        try await call(.PATCH, "/v1/organizations/\(segment(id))", body: request)
    }

    /// The answer holds the key's secret; it is shown nowhere else.
    public func createAPIKey(organizationID: String, _ request: APIKeyCreateRequest = APIKeyCreateRequest()) async throws -> CreatedAPIKey {
        try await call(.POST, "/v1/organizations/\(segment(organizationID))/api-keys", body: request)
    }

    public func apiKeys(organizationID: String) async throws -> APIKeyList {
        try await call(.GET, "/v1/organizations/\(segment(organizationID))/api-keys")
    }

    public func revokeAPIKey(id: String) async throws -> APIKey {
        try await call(.POST, "/v1/api-keys/\(segment(id))/revoke")
    }

    // MARK: - Health

    /// `GET /healthz`: throws ``AdminClientError`` when nothing answers.
    public func health() async throws -> HealthStatus {
        try await call(.GET, "/healthz")
    }

    /// `GET /readyz`: `ok`, or an ``PortholeCore/AdminAPIError`` with status 503 when the store is down.
    public func readiness() async throws -> HealthStatus {
        try await call(.GET, "/readyz")
    }

    /// The server's OpenAPI document, raw.
    public func openAPIDocument() async throws -> [UInt8] {
        let (status, body) = try await send(.GET, "/v1/openapi.json", query: [], body: nil)
        guard status == 200 else { throw Self.apiError(status: status, body: body) }
        return body
    }
}

// MARK: - HTTP

extension AdminClient {
    private struct Empty: Decodable {}

    private func call<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: (some Encodable)? = Optional<Bool>.none
    ) async throws -> Response {
        let encoded: [UInt8]?
        if let body {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoded = Array(try encoder.encode(body))
        } else {
            encoded = nil
        }
        let (status, responseBody) = try await send(method, path, query: query, body: encoded)
        guard (200..<300).contains(status) else { throw Self.apiError(status: status, body: responseBody) }
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try JSONDecoder().decode(Response.self, from: Data(responseBody))
        } catch {
            throw AdminClientError.invalidResponse("HTTP \(status) with a body that is not a \(Response.self): \(error)")
        }
    }

    private static func apiError(status: Int, body: [UInt8]) -> any Error {
        if let error = try? JSONDecoder().decode(AdminAPIError.self, from: Data(body)) {
            return error
        }
        return AdminAPIError(status: status, code: "http_\(status)", message: "the admin API answered HTTP \(status)")
    }

    /// A path segment as sent: ids and tokens are plain ASCII; anything that is not is percent-encoded
    /// so it can never change the path's shape.
    private func segment(_ text: String) -> String {
        PercentEncoding.encode(text)
    }

    private static func queryString(_ query: [(String, String)]) -> String {
        query.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }

    private func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?) async throws -> (Int, [UInt8]) {
        let target = pathPrefix + path + (query.isEmpty ? "" : "?" + Self.queryString(query))
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: port == 80 ? host : "\(host):\(port)")
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "Connection", value: "close")
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PATCH {
            headers.add(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
        do {
            let answer = try await OneShotHTTPRequest.send(host: host, port: port, head: head, body: body, timeout: timeout, group: group)
            return (answer.status, answer.body)
        } catch let failure as OneShotHTTPRequest.Failure {
            switch failure {
            case .connectionFailed(let reason): throw AdminClientError.connectionFailed(url: url, reason: reason)
            case .timedOut: throw AdminClientError.timedOut(url: url)
            case .incompleteResponse: throw AdminClientError.invalidResponse("the connection closed before a complete response")
            case .responseTooLarge(let limit): throw AdminClientError.invalidResponse("a response body larger than \(limit / 1024 / 1024) MiB")
            }
        }
    }

    /// `http://host[:port][/prefix]` (``PlainHTTPURL``); the prefix without trailing slashes.
    private static func parse(_ url: String) -> (host: String, port: Int, prefix: String)? {
        guard let parsed = PlainHTTPURL(url) else { return nil }
        var prefix = parsed.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return (parsed.host, parsed.port, prefix)
    }
}
