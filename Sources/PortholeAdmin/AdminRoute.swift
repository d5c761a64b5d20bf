/// The admin API's routes: a request's method and path matched to an operation, with its path
/// parameters still raw (the control plane validates them and names the bad one).
///
/// A table of our own rather than Hummingbird's router or code generated from `openapi.json`
/// (measured 2026-12-02, Benchmarks/RESULTS.md): Hummingbird's router answers a known path with
/// an unsupported method by 404, where RFC 9110 §15.5.6 wants 405 with `Allow` (and schemathesis
/// checks it), so a table would be needed beside it anyway; swift-openapi-generator as a build
/// plugin, with its runtime and Hummingbird transport, adds 45 s to every fresh build (110 s
/// against 65 s for Hummingbird alone) for 7,250 generated lines in place of these 120.
enum AdminRoute: Sendable, Hashable {
    case healthz
    case readyz
    case metrics
    case openAPIDocument
    case createSandbox
    case listSandboxes
    case getSandbox(id: String)
    case updateSandbox(id: String)
    case deleteSandbox(id: String)
    case setPublic(id: String, value: String)
    case setNetworkSettings(id: String)
    case egress(id: String)
    case previewLink(id: String, port: String)
    case signPreviewURL(id: String, port: String)
    case expireSignedPreviewURL(id: String, port: String, token: String)
    case rotatePreviewToken(id: String)
    case createOrganization
    case listOrganizations
    case getOrganization(id: String)
    case updateOrganization(id: String)
    case createAPIKey(organizationID: String)
    case listAPIKeys(organizationID: String)
    case revokeAPIKey(id: String)

    /// What a path resolves to.
    enum Match: Sendable, Hashable {
        case route(AdminRoute)
        /// The path exists but not with this method; `allowed` goes into the `Allow` header.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    /// `/healthz`, `/readyz`, `/metrics` and the OpenAPI document are open to anyone (probes, scrapers,
    /// tooling: none shows a sandbox or a secret); every other
    /// `/v1` path needs the admin token, checked before the path is even resolved so that an
    /// unauthenticated caller learns nothing about which paths or sandboxes exist.
    static func isPublic(path: String) -> Bool {
        path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/openapi.json"
    }

    /// Matches `method` (upper case) and `path` (without the query). Empty segments (`//`, a trailing
    /// `/`) match nothing: one spelling per resource.
    static func match(method: String, path: String) -> Match {
        guard path.hasPrefix("/") else { return .notFound }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !segments.contains(where: \.isEmpty) else { return .notFound }

        func only(_ allowed: String, _ route: AdminRoute) -> Match {
            method == allowed ? .route(route) : .methodNotAllowed(allowed: [allowed])
        }

        switch segments.count {
        case 1 where segments[0] == "healthz":
            return only("GET", .healthz)
        case 1 where segments[0] == "readyz":
            return only("GET", .readyz)
        case 1 where segments[0] == "metrics":
            return only("GET", .metrics)
        case 2 where segments == ["v1", "openapi.json"]:
            return only("GET", .openAPIDocument)
        default:
            break
        }
        guard segments.count >= 2, segments[0] == "v1" else { return .notFound }
        switch segments[1] {
        case "sandboxes": break
        case "organizations": return matchOrganization(method: method, Array(segments.dropFirst(2)))
        case "api-keys":
            guard segments.count == 4, segments[3] == "revoke" else { return .notFound }
            return method == "POST" ? .route(.revokeAPIKey(id: segments[2])) : .methodNotAllowed(allowed: ["POST"])
        default: return .notFound
        }
        let rest = Array(segments.dropFirst(2))
        switch rest.count {
        case 0:
            switch method {
            case "GET": return .route(.listSandboxes)
            case "POST": return .route(.createSandbox)
            default: return .methodNotAllowed(allowed: ["GET", "POST"])
            }
        case 1:
            let id = rest[0]
            switch method {
            case "GET": return .route(.getSandbox(id: id))
            case "PATCH": return .route(.updateSandbox(id: id))
            case "DELETE": return .route(.deleteSandbox(id: id))
            default: return .methodNotAllowed(allowed: ["GET", "PATCH", "DELETE"])
            }
        case 2 where rest[1] == "network-settings":
            return only("POST", .setNetworkSettings(id: rest[0]))
        case 2 where rest[1] == "egress":
            return only("GET", .egress(id: rest[0]))
        case 3 where rest[1] == "public":
            return only("POST", .setPublic(id: rest[0], value: rest[2]))
        case 3 where rest[1] == "preview-token" && rest[2] == "rotate":
            return only("POST", .rotatePreviewToken(id: rest[0]))
        case 4 where rest[1] == "ports" && rest[3] == "preview-link":
            return only("GET", .previewLink(id: rest[0], port: rest[2]))
        case 4 where rest[1] == "ports" && rest[3] == "signed-preview-url":
            return only("POST", .signPreviewURL(id: rest[0], port: rest[2]))
        case 6 where rest[1] == "ports" && rest[3] == "signed-preview-url" && rest[5] == "expire":
            return only("POST", .expireSignedPreviewURL(id: rest[0], port: rest[2], token: rest[4]))
        default:
            return .notFound
        }
    }

    /// `/v1/organizations…` after its first two segments.
    private static func matchOrganization(method: String, _ rest: [String]) -> Match {
        switch rest.count {
        case 0:
            switch method {
            case "GET": return .route(.listOrganizations)
            case "POST": return .route(.createOrganization)
            default: return .methodNotAllowed(allowed: ["GET", "POST"])
            }
        case 1:
            switch method {
            case "GET": return .route(.getOrganization(id: rest[0]))
            case "PATCH": return .route(.updateOrganization(id: rest[0]))
            default: return .methodNotAllowed(allowed: ["GET", "PATCH"])
            }
        case 2 where rest[1] == "api-keys":
            switch method {
            case "GET": return .route(.listAPIKeys(organizationID: rest[0]))
            case "POST": return .route(.createAPIKey(organizationID: rest[0]))
            default: return .methodNotAllowed(allowed: ["GET", "POST"])
            }
        default:
            return .notFound
        }
    }

    /// The path template, for logs: never the raw path, which can hold a signed token.
    var template: String {
        switch self {
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .openAPIDocument: "/v1/openapi.json"
        case .createSandbox, .listSandboxes: "/v1/sandboxes"
        case .getSandbox, .updateSandbox, .deleteSandbox: "/v1/sandboxes/{id}"
        case .setPublic: "/v1/sandboxes/{id}/public/{value}"
        case .setNetworkSettings: "/v1/sandboxes/{id}/network-settings"
        case .egress: "/v1/sandboxes/{id}/egress"
        case .previewLink: "/v1/sandboxes/{id}/ports/{port}/preview-link"
        case .signPreviewURL: "/v1/sandboxes/{id}/ports/{port}/signed-preview-url"
        case .expireSignedPreviewURL: "/v1/sandboxes/{id}/ports/{port}/signed-preview-url/{token}/expire"
        case .rotatePreviewToken: "/v1/sandboxes/{id}/preview-token/rotate"
        case .createOrganization, .listOrganizations: "/v1/organizations"
        case .getOrganization, .updateOrganization: "/v1/organizations/{id}"
        case .createAPIKey, .listAPIKeys: "/v1/organizations/{id}/api-keys"
        case .revokeAPIKey: "/v1/api-keys/{id}/revoke"
        }
    }

    /// Whether the route reads a JSON body.
    var takesBody: Bool {
        switch self {
        case .createSandbox, .updateSandbox, .setNetworkSettings, .createOrganization, .updateOrganization, .createAPIKey: true
        default: false
        }
    }
}
