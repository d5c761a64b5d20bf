import PortholeCore

/// The Daytona-compatible API's routes, under `/api` on the admin listener: the paths the Daytona
/// SDK calls for sandboxes, network limits, labels and preview links. Path parameters stay raw; the
/// control plane validates them and names the bad one.
enum DaytonaRoute: Sendable, Hashable {
    case createSandbox
    case listSandboxes
    case getSandbox(id: String)
    case deleteSandbox(id: String)
    case setPublic(id: String, value: String)
    case setNetworkSettings(id: String)
    case replaceLabels(id: String)
    case previewURL(id: String, port: String)
    case signedPreviewURL(id: String, port: String)
    case expireSignedPreviewURL(id: String, port: String, token: String)
    case toolboxProxyURL(id: String)

    /// What an `/api` path resolves to.
    enum Match: Sendable, Hashable {
        case route(DaytonaRoute)
        case methodNotAllowed(allowed: [String])
        /// A Daytona operation that is the platform's, not Porthole's (running commands, files,
        /// snapshots, start/stop…): 501 naming it.
        case notImplemented(operation: String)
        /// The SDK's Socket.IO event channel: a quick 404 sends it to polling.
        case eventChannel
        /// `GET /api/openapi.json`, open to anyone like `/v1/openapi.json`.
        case openAPIDocument
        case notFound
    }

    static let prefix = "/api"

    /// The path under which the toolbox proxy URL points: everything below answers 501.
    static let toolboxPrefix = "/api/toolbox"

    static func isDaytonaPath(_ path: String) -> Bool {
        path == prefix || path.hasPrefix(prefix + "/")
    }

    /// Matches `method` (upper case) and `path` (without the query; starting with `/api`).
    static func match(method: String, path: String) -> Match {
        if path.hasPrefix(prefix + "/socket.io/") { return .eventChannel }
        if path == prefix + "/openapi.json" { return method == "GET" ? .openAPIDocument : .methodNotAllowed(allowed: ["GET"]) }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        // Empty segments (`//`, a trailing `/`) match nothing: one spelling per resource.
        guard segments.first == "api", !segments.contains(where: \.isEmpty) else { return .notFound }
        let rest = Array(segments.dropFirst())
        guard let head = rest.first else { return .notFound }
        switch head {
        case "toolbox":
            return .notImplemented(operation: "the sandbox toolbox (processes, files, git, code interpreter)")
        case "sandbox":
            break
        default:
            return .notFound
        }

        func only(_ allowed: String, _ route: DaytonaRoute) -> Match {
            method == allowed ? .route(route) : .methodNotAllowed(allowed: [allowed])
        }

        let sandbox = Array(rest.dropFirst())
        switch sandbox.count {
        case 0:
            switch method {
            case "GET": return .route(.listSandboxes)
            case "POST": return .route(.createSandbox)
            default: return .methodNotAllowed(allowed: ["GET", "POST"])
            }
        case 1:
            switch method {
            case "GET": return .route(.getSandbox(id: sandbox[0]))
            case "DELETE": return .route(.deleteSandbox(id: sandbox[0]))
            default: return .methodNotAllowed(allowed: ["GET", "DELETE"])
            }
        case 2 where sandbox[1] == "network-settings":
            return only("POST", .setNetworkSettings(id: sandbox[0]))
        case 2 where sandbox[1] == "labels":
            return only("PUT", .replaceLabels(id: sandbox[0]))
        case 2 where sandbox[1] == "toolbox-proxy-url":
            return only("GET", .toolboxProxyURL(id: sandbox[0]))
        case 3 where sandbox[1] == "public":
            return only("POST", .setPublic(id: sandbox[0], value: sandbox[2]))
        case 4 where sandbox[1] == "ports" && sandbox[3] == "preview-url":
            return only("GET", .previewURL(id: sandbox[0], port: sandbox[2]))
        case 4 where sandbox[1] == "ports" && sandbox[3] == "signed-preview-url":
            return only("GET", .signedPreviewURL(id: sandbox[0], port: sandbox[2]))
        case 6 where sandbox[1] == "ports" && sandbox[3] == "signed-preview-url" && sandbox[5] == "expire":
            return only("POST", .expireSignedPreviewURL(id: sandbox[0], port: sandbox[2], token: sandbox[4]))
        default:
            // `/api/sandbox/{id}/start`, `/snapshot`, `/autostop/{minutes}`…: Daytona operations on the
            // sandbox itself, which Porthole (the network edge) does not run.
            let operation = sandbox.count >= 2 ? sandbox[1] : sandbox[0]
            return .notImplemented(operation: "sandbox \"\(SandboxFieldRules.shown(operation))\"")
        }
    }

    /// The path template, for logs: never the raw path, which can hold a signed token.
    var template: String {
        switch self {
        case .createSandbox, .listSandboxes: "/api/sandbox"
        case .getSandbox, .deleteSandbox: "/api/sandbox/{sandboxIdOrName}"
        case .setPublic: "/api/sandbox/{sandboxIdOrName}/public/{isPublic}"
        case .setNetworkSettings: "/api/sandbox/{sandboxIdOrName}/network-settings"
        case .replaceLabels: "/api/sandbox/{sandboxIdOrName}/labels"
        case .previewURL: "/api/sandbox/{sandboxIdOrName}/ports/{port}/preview-url"
        case .signedPreviewURL: "/api/sandbox/{sandboxIdOrName}/ports/{port}/signed-preview-url"
        case .expireSignedPreviewURL: "/api/sandbox/{sandboxIdOrName}/ports/{port}/signed-preview-url/{token}/expire"
        case .toolboxProxyURL: "/api/sandbox/{sandboxIdOrName}/toolbox-proxy-url"
        }
    }

    /// Whether the route reads a JSON body.
    var takesBody: Bool {
        switch self {
        case .createSandbox, .setNetworkSettings, .replaceLabels: true
        default: false
        }
    }
}
