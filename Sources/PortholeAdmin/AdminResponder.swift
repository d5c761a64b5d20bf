#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortholeCore
import PortholeStore

/// Answers every admin request: authenticates, routes, runs the operation on the control plane and
/// turns every failure into the JSON error body `{status, code, message, field}`.
struct AdminResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let controlPlane: SandboxControlPlane
    let token: AdminToken
    let hooks: AdminServer.Hooks
    let maximumBodyBytes: Int
    let daytona: DaytonaResponder
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        if DaytonaRoute.isDaytonaPath(path) {
            return await daytona.respond(to: request)
        }
        if !AdminRoute.isPublic(path: path), !token.authorizes(authorizationHeader: request.headers[.authorization]) {
            // Never log the presented value.
            logger.notice("admin request refused: missing or wrong admin token", metadata: ["method": "\(method)"])
            var response = Self.error(.unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        switch AdminRoute.match(method: method, path: path) {
        case .notFound:
            return Self.error(AdminAPIError(status: 404, code: "not_found", message: "no such admin API path; see /v1/openapi.json"))
        case .methodNotAllowed(let allowed):
            var response = Self.error(.methodNotAllowed(method, allowed: allowed))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        case .route(let route):
            let response: Response
            do {
                let body = route.takesBody ? try await Self.collectJSON(request, limit: maximumBodyBytes) : []
                response = try await perform(route, body: body, query: QueryParameters(request.uri.query))
            } catch {
                response = Self.error(Self.refusal(error, route: route.template, logger: logger))
            }
            logger.info("admin request", metadata: ["method": "\(method)", "route": "\(route.template)", "status": "\(response.status.code)"])
            return response
        }
    }

    // MARK: - Operations

    private func perform(_ route: AdminRoute, body: [UInt8], query: QueryParameters) async throws -> Response {
        switch route {
        case .healthz:
            return try Self.json(HealthStatus(status: "ok"))
        case .readyz:
            if hooks.isDraining() {
                return try Self.json(HealthStatus(status: "draining"), status: .serviceUnavailable)
            }
            let ready = await controlPlane.isReady()
            return try Self.json(HealthStatus(status: ready ? "ok" : "unavailable"), status: ready ? .ok : .serviceUnavailable)
        case .metrics:
            guard let metrics = hooks.metrics else {
                throw AdminAPIError(status: 404, code: "not_found", message: "this server exports no metrics")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: await metrics()))
            )
        case .openAPIDocument:
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes))
            )
        case .createSandbox:
            let record = try await controlPlane.create(try SandboxCreateRequest(body: body))
            var response = try Self.json(record, status: .created)
            response.headers[.location] = "/v1/sandboxes/\(record.id)"
            return response
        case .listSandboxes:
            let limit = try query.integer("limit", range: Int64(SandboxFieldRules.pageSizes.lowerBound)...Int64(SandboxFieldRules.pageSizes.upperBound))
            let page = try await controlPlane.list(label: query["label"], cursor: query["cursor"], limit: limit.map { Int($0) })
            return try Self.json(page)
        case .getSandbox(let id):
            return try Self.json(try await controlPlane.sandbox(id: id))
        case .updateSandbox(let id):
            return try Self.json(try await controlPlane.update(id: id, try SandboxUpdateRequest(body: body)))
        case .deleteSandbox(let id):
            try await controlPlane.delete(id: id)
            return Response(status: .noContent)
        case .setPublic(let id, let value):
            guard let isPublic = ["true": true, "false": false][value] else {
                throw AdminAPIError.invalid("value", "the last path segment must be true or false, got \"\(SandboxFieldRules.shown(value))\"")
            }
            return try Self.json(try await controlPlane.setPublic(id: id, isPublic))
        case .setNetworkSettings(let id):
            return try Self.json(try await controlPlane.setNetworkSettings(id: id, try NetworkSettingsRequest(body: body)))
        case .egress(let id):
            return try Self.json(try await controlPlane.egress(id: id))
        case .previewLink(let id, let port):
            return try Self.json(try await controlPlane.previewLink(id: id, port: try Self.port(port)))
        case .signPreviewURL(let id, let port):
            let lifetime = try query.integer("expiresInSeconds", range: SandboxFieldRules.signedURLLifetimes)
            return try Self.json(try await controlPlane.signPreviewURL(id: id, port: try Self.port(port), expiresInSeconds: lifetime))
        case .expireSignedPreviewURL(let id, let port, let token):
            return try Self.json(try await controlPlane.expireSignedPreviewURL(id: id, port: try Self.port(port), token: token))
        case .rotatePreviewToken(let id):
            return try Self.json(try await controlPlane.rotatePreviewToken(id: id))
        case .createOrganization:
            let organization = try await controlPlane.createOrganization(try OrganizationCreateRequest(body: body))
            var response = try Self.json(organization, status: .created)
            response.headers[.location] = "/v1/organizations/\(organization.id)"
            return response
        case .listOrganizations:
            return try Self.json(try await controlPlane.organizations())
        case .getOrganization(let id):
            return try Self.json(try await controlPlane.organization(id: id))
        case .updateOrganization(let id):
            return try Self.json(try await controlPlane.updateOrganization(id: id, try OrganizationUpdateRequest(body: body)))
        case .createAPIKey(let organizationID):
            let request = body.isEmpty ? APIKeyCreateRequest() : try APIKeyCreateRequest(body: body)
            return try Self.json(try await controlPlane.createAPIKey(organizationID: organizationID, request), status: .created)
        case .listAPIKeys(let organizationID):
            return try Self.json(try await controlPlane.apiKeys(organizationID: organizationID))
        case .revokeAPIKey(let id):
            return try Self.json(try await controlPlane.revokeAPIKey(id: id))
        }
    }

    // MARK: - Helpers

    static func port(_ text: String) throws -> Int {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let port = Int(text) else {
            throw AdminAPIError.invalid("port", "port must be a number 1…65535, got \"\(SandboxFieldRules.shown(text))\"", code: "invalid_port")
        }
        try SandboxControlPlane.checkPort(port)
        return port
    }

    /// Reads a JSON body (see ``JSONMediaType``): a `Content-Type` that is not JSON is 415 before the
    /// body is read; a body without one is 415 too. A request with neither goes on to the body's own
    /// checks ("needs a JSON object body").
    static func collectJSON(_ request: Request, limit: Int) async throws -> [UInt8] {
        let contentType = request.headers[.contentType]
        if let contentType, !JSONMediaType.accepts(contentType) {
            throw AdminAPIError.unsupportedMediaType(contentType)
        }
        let bytes = try await collect(request, limit: limit)
        if contentType == nil, !bytes.isEmpty {
            throw AdminAPIError.unsupportedMediaType(nil)
        }
        return bytes
    }

    /// Reads the body up to `limit` bytes; a declared or actual larger body is 413 before it is buffered.
    private static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        let tooLarge = AdminAPIError(status: 413, code: "body_too_large", message: "the request body is larger than \(limit) bytes")
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw tooLarge
        }
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            guard bytes.count + buffer.readableBytes <= limit else { throw tooLarge }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    /// What a failed operation answers, for both faces of the API: its own refusal, the store's
    /// failure in the API's terms, or a 500 that sends the operator to the log (which gets the
    /// error; the caller never sees internals).
    static func refusal(_ error: any Error, route: String, logger: Logger) -> AdminAPIError {
        switch error {
        case let error as AdminAPIError:
            return error
        case let error as PolicyStoreError:
            if error.code != .notFound && error.code != .alreadyExists {
                logger.error("admin request failed in the policy store", metadata: ["route": "\(route)", "error": "\(error)"])
            }
            return apiError(error)
        default:
            logger.error("admin request failed", metadata: ["route": "\(route)", "error": "\(error)"])
            return AdminAPIError(status: 500, code: "internal_error", message: "the request failed inside Porthole; see its log")
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        // Answers carry preview tokens: no cache may keep them.
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func error(_ error: AdminAPIError) -> Response {
        let status = HTTPResponse.Status(code: error.status)
        return (try? json(error, status: status)) ?? Response(status: status)
    }

    private static func apiError(_ error: PolicyStoreError) -> AdminAPIError {
        switch error.code {
        case .notFound: .sandboxNotFound(error.sandboxID ?? "")
        case .alreadyExists: .sandboxExists(error.sandboxID ?? "")
        case .unavailable: .storeUnavailable("the policy store is unavailable; retry shortly")
        // Retrying cannot help: the operator must act, so say what happened and what to do.
        case .fileReplaced: .storeUnavailable("\(error)")
        default: AdminAPIError(status: 500, code: "store_error", message: "the policy store failed; see Porthole's log")
        }
    }
}
