import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortholeAPI
import PortholeCore
import PortholeStore

/// The Daytona-compatible API (`/api` on the admin listener): the paths and shapes the Daytona SDK
/// uses, answered by the same ``SandboxControlPlane`` as `/v1` (same store, validation and cache
/// invalidation). Errors are Daytona's `{statusCode, message, code}`.
struct DaytonaResponder: Sendable {
    let controlPlane: SandboxControlPlane
    let token: AdminToken
    let configuration: DaytonaConfiguration
    let maximumBodyBytes: Int
    let deleted: DeletedSandboxes
    let logger: Logger

    func respond(to request: Request) async -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        let match = DaytonaRoute.match(method: method, path: path)
        if match == .eventChannel {
            // Before authentication: the SDK's Socket.IO client sends its key in the handshake's
            // payload, not a header. Its 404 makes the SDK poll instead.
            return Self.error(AdminAPIError(status: 404, code: "not_found", message: "Porthole has no event channel; poll the sandbox instead"))
        }
        if match == .openAPIDocument {
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.daytonaBytes))
            )
        }
        let caller: Caller
        do {
            guard let found = try await authenticate(request.headers[.authorization]) else {
                // Never log the presented value.
                logger.notice("Daytona API request refused: missing, wrong or revoked API key", metadata: ["method": "\(method)"])
                return Self.unauthorized()
            }
            caller = found
        } catch {
            logger.error("Daytona API request failed: the API key could not be checked", metadata: ["error": "\(error)"])
            return Self.error(.storeUnavailable("the policy store is unavailable; retry shortly"))
        }
        switch match {
        case .eventChannel, .openAPIDocument, .notFound:
            return Self.error(
                AdminAPIError(status: 404, code: "not_found", message: "Porthole's Daytona-compatible API has no \(method) \(Self.shownPath(path))")
            )
        case .notImplemented(let operation):
            return Self.error(
                AdminAPIError(
                    status: 501, code: "not_implemented",
                    message:
                        "Porthole is the network edge of the platform and does not run sandboxes: \(operation) is not available through it; use the platform's own API"
                )
            )
        case .methodNotAllowed(let allowed):
            var response = Self.error(.methodNotAllowed(method, allowed: allowed))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        case .route(let route):
            let response: Response
            do {
                let body = route.takesBody ? try await AdminResponder.collectJSON(request, limit: maximumBodyBytes) : []
                var caller = caller
                if route.takesBody, case .organization = caller {
                    // The body may come long after the headers: the key may have been revoked, or
                    // its organisation's tier changed, meanwhile. What acts is the caller as it is now.
                    guard let current = try await authenticate(request.headers[.authorization]) else {
                        logger.notice("Daytona API request refused: the API key was revoked", metadata: ["method": "\(method)"])
                        return Self.unauthorized()
                    }
                    caller = current
                }
                let context = Context(caller: caller, toolboxProxyURL: toolboxProxyURL(request), defaultOrganizationId: configuration.organizationId)
                response = try await perform(route, body: body, query: QueryParameters(request.uri.query), context: context)
            } catch {
                response = Self.error(AdminResponder.refusal(error, route: route.template, logger: logger))
            }
            logger.info("admin request", metadata: ["method": "\(method)", "route": "\(route.template)", "status": "\(response.status.code)"])
            return response
        }
    }

    private static func unauthorized() -> Response {
        var response = error(AdminAPIError(status: 401, code: "unauthorized", message: "a valid API key is required: send Authorization: Bearer <API key>"))
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// Who is calling: the admin token sees and changes every sandbox; an API key only its
    /// organisation's (any other is 404, as if it did not exist).
    private enum Caller {
        case admin
        case organization(Organization)

        /// The organisation whose sandboxes the caller sees; `nil`: all.
        var scope: String? {
            switch self {
            case .admin: nil
            case .organization(let organization): organization.id
            }
        }
    }

    /// The admin token, else an organisation's API key; `nil` when neither.
    private func authenticate(_ header: String?) async throws -> Caller? {
        if token.authorizes(authorizationHeader: header) { return .admin }
        guard let presented = AdminToken.bearerToken(authorizationHeader: header),
            let organization = try await controlPlane.authenticate(apiKey: presented)
        else { return nil }
        return .organization(organization)
    }

    /// What every answer about one sandbox needs besides its record.
    private struct Context {
        var caller: Caller
        var toolboxProxyURL: String
        /// Reported for sandboxes of no organisation (`--default-org`).
        var defaultOrganizationId: String

        func sandbox(_ record: SandboxRecord, destroyed: Bool = false) -> DaytonaSandbox {
            DaytonaSandbox(
                record, organizationId: record.organizationId ?? defaultOrganizationId, toolboxProxyUrl: toolboxProxyURL, destroyed: destroyed
            )
        }

        /// Whether the caller may see `record`: for a deleted sandbox's tombstone, which the
        /// control plane (and its ``SandboxControlPlane/organizationScope`` rule) no longer has.
        func sees(_ record: SandboxRecord) -> Bool {
            caller.scope == nil || caller.scope == record.organizationId
        }
    }

    // MARK: - Operations

    private func perform(_ route: DaytonaRoute, body: [UInt8], query: QueryParameters, context: Context) async throws -> Response {
        // The caller's check below (`sandbox(_:_:)`) answers early; the control plane checks again
        // on the record it acts on.
        try await SandboxControlPlane.$organizationScope.withValue(context.caller.scope) {
            try await performScoped(route, body: body, query: query, context: context)
        }
    }

    private func performScoped(_ route: DaytonaRoute, body: [UInt8], query: QueryParameters, context: Context) async throws -> Response {
        switch route {
        case .createSandbox:
            let organization: Organization?
            switch context.caller {
            case .organization(let own): organization = own
            // The admin token creates for `--default-org` when it exists as an organisation.
            case .admin: organization = try await controlPlane.store.organization(id: configuration.organizationId)
            }
            // Where previews are sent is the platform's to say: an API key naming an address could
            // send its previews to any host the proxy reaches (another tenant's sandbox, the host).
            let request = try DaytonaRequests.create(
                body, defaultTarget: configuration.defaultTarget, tier: nil, mayNameTarget: context.caller.scope == nil
            )
            let record = try await controlPlane.create(request, mayAwaitTarget: true, organization: organization)
            deleted.forget(record.id)
            // 200, not 201: the SDK's generated client treats only 200 as this call's success.
            return try AdminResponder.json(context.sandbox(record))
        case .listSandboxes:
            let labels = try DaytonaRequests.labelFilter(query["labels"])
            let limit = try query.integer("limit", range: Int64(SandboxFieldRules.pageSizes.lowerBound)...Int64(SandboxFieldRules.pageSizes.upperBound))
            let cursor = query["cursor"].flatMap { $0.isEmpty ? nil : $0 }
            let page = try await controlPlane.list(labels: labels, organizationID: context.caller.scope, cursor: cursor, limit: limit.map { Int($0) })
            return try AdminResponder.json(DaytonaSandboxPage(items: page.items.map { context.sandbox($0) }, nextCursor: page.nextCursor))
        case .getSandbox(let id):
            do {
                return try AdminResponder.json(context.sandbox(try await sandbox(id, context)))
            } catch let error as AdminAPIError where error.status == 404 {
                // Older SDKs read a sandbox again after deleting it and wait for `destroyed`.
                guard let record = deleted.record(id, now: configuration.now()), context.sees(record) else { throw error }
                return try AdminResponder.json(context.sandbox(record, destroyed: true))
            }
        case .deleteSandbox(let id):
            let record = try await sandbox(id, context)
            try await controlPlane.delete(id: id)
            deleted.remember(record, now: configuration.now())
            return try AdminResponder.json(context.sandbox(record, destroyed: true))
        case .setPublic(let id, let value):
            guard let isPublic = ["true": true, "false": false][value] else {
                throw AdminAPIError.invalid("isPublic", "the last path segment must be true or false, got \"\(SandboxFieldRules.shown(value))\"")
            }
            _ = try await sandbox(id, context)
            return try AdminResponder.json(context.sandbox(try await controlPlane.setPublic(id: id, isPublic)))
        case .setNetworkSettings(let id):
            let request = try DaytonaRequests.networkSettings(body)
            _ = try await sandbox(id, context)
            return try AdminResponder.json(context.sandbox(try await controlPlane.setNetworkSettings(id: id, request)))
        case .replaceLabels(let id):
            let labels = try DaytonaRequests.labels(body)
            _ = try await sandbox(id, context)
            let record = try await controlPlane.update(id: id, SandboxUpdateRequest(labels: labels))
            return try AdminResponder.json(DaytonaLabels(labels: record.labels))
        case .previewURL(let id, let port):
            let port = try AdminResponder.port(port)
            _ = try await sandbox(id, context)
            return try AdminResponder.json(try await controlPlane.previewLink(id: id, port: port))
        case .signedPreviewURL(let id, let port):
            let port = try AdminResponder.port(port)
            let lifetime = try query.integer("expiresInSeconds", range: SandboxFieldRules.signedURLLifetimes)
            _ = try await sandbox(id, context)
            return try AdminResponder.json(try await controlPlane.signPreviewURL(id: id, port: port, expiresInSeconds: lifetime))
        case .expireSignedPreviewURL(let id, let port, let token):
            let port = try AdminResponder.port(port)
            _ = try await sandbox(id, context)
            return try AdminResponder.json(try await controlPlane.expireSignedPreviewURL(id: id, port: port, token: token))
        case .toolboxProxyURL(let id):
            _ = try await sandbox(id, context)
            return try AdminResponder.json(DaytonaToolboxProxyURL(url: context.toolboxProxyURL))
        }
    }

    /// The sandbox, if the caller may see it; 404 otherwise, the same answer as for no sandbox.
    /// The control plane judges that under ``SandboxControlPlane/organizationScope``, which
    /// `perform` sets, and judges it again in the operation that follows, on the record it acts on.
    private func sandbox(_ id: String, _ context: Context) async throws -> SandboxRecord {
        try await controlPlane.sandbox(id: id)
    }

    // MARK: - Helpers

    /// Where the SDK would send toolbox calls: under this listener, where they get a 501 that says why.
    private func toolboxProxyURL(_ request: Request) -> String {
        // The authority the client used (it reached this listener by it), if it is a plain host[:port].
        let authority = request.head.authority.flatMap { authority in
            authority.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2E || byte == 0x2D
                    || byte == 0x3A || byte == 0x5B || byte == 0x5D
            } ? authority : nil
        }
        // Behind a TLS-terminating balancer the SDK must be told https: it sends its API key to
        // this URL. Believed from anyone: the answer goes only to the client that sent it.
        let scheme = Self.cameOverTLS(request.headers[values: Self.forwardedProto]) ? "https" : "http"
        return "\(scheme)://\(authority ?? "127.0.0.1")\(DaytonaRoute.toolboxPrefix)"
    }

    private static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// Whether the first `X-Forwarded-Proto` value (the client's side of the first proxy) is https.
    static func cameOverTLS(_ values: [String]) -> Bool {
        guard let first = values.first?.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first else { return false }
        return first.filter { $0 != " " && $0 != "\t" }.lowercased() == "https"
    }

    /// A path quoted in a 404, without its query and cut short.
    private static func shownPath(_ path: String) -> String {
        SandboxFieldRules.shown(path)
    }

    static func error(_ error: AdminAPIError) -> Response {
        let status = HTTPResponse.Status(code: error.status)
        return (try? AdminResponder.json(DaytonaError(error), status: status)) ?? Response(status: status)
    }
}

/// What the Daytona-compatible API needs beyond the control plane.
public struct DaytonaConfiguration: Sendable {
    /// The address of sandboxes created without the `porthole.dev/target` label (`--default-target`);
    /// `nil`: they wait in state `creating` until the orchestrator sets one through `/v1`.
    public var defaultTarget: String?
    /// The organisation id sandboxes report (`--default-org`).
    public var organizationId: String
    /// Unix seconds; tests inject a clock.
    public var now: @Sendable () -> Int64

    public init(
        defaultTarget: String? = nil, organizationId: String = "default",
        now: @escaping @Sendable () -> Int64 = ControlPlaneConfiguration.systemClock
    ) {
        self.defaultTarget = defaultTarget
        self.organizationId = organizationId
        self.now = now
    }
}
