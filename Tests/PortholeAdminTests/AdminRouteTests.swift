@testable import PortholeAdmin
import Testing

@Suite("AdminRoute")
struct AdminRouteTests {
    @Test(arguments: [
        ("GET", "/v1/sandboxes", AdminRoute.listSandboxes),
        ("POST", "/v1/sandboxes", .createSandbox),
        ("GET", "/v1/sandboxes/a-1", .getSandbox(id: "a-1")),
        ("PATCH", "/v1/sandboxes/a-1", .updateSandbox(id: "a-1")),
        ("DELETE", "/v1/sandboxes/a-1", .deleteSandbox(id: "a-1")),
        ("POST", "/v1/sandboxes/a/public/true", .setPublic(id: "a", value: "true")),
        ("POST", "/v1/sandboxes/a/network-settings", .setNetworkSettings(id: "a")),
        ("GET", "/v1/sandboxes/a/egress", .egress(id: "a")),
        ("GET", "/v1/sandboxes/a/ports/3000/preview-link", .previewLink(id: "a", port: "3000")),
        ("POST", "/v1/sandboxes/a/ports/3000/signed-preview-url", .signPreviewURL(id: "a", port: "3000")),
        ("POST", "/v1/sandboxes/a/ports/3000/signed-preview-url/x.y/expire", .expireSignedPreviewURL(id: "a", port: "3000", token: "x.y")),
        ("POST", "/v1/sandboxes/a/preview-token/rotate", .rotatePreviewToken(id: "a")),
        ("GET", "/healthz", .healthz),
        ("GET", "/readyz", .readyz),
        ("GET", "/metrics", .metrics),
        ("GET", "/v1/openapi.json", .openAPIDocument),
    ])
    func routes(_ method: String, _ path: String, _ route: AdminRoute) {
        #expect(AdminRoute.match(method: method, path: path) == .route(route))
    }

    @Test func wrongMethodsListTheAllowedOnes() {
        #expect(AdminRoute.match(method: "PUT", path: "/v1/sandboxes") == .methodNotAllowed(allowed: ["GET", "POST"]))
        #expect(AdminRoute.match(method: "POST", path: "/v1/sandboxes/a") == .methodNotAllowed(allowed: ["GET", "PATCH", "DELETE"]))
        #expect(AdminRoute.match(method: "GET", path: "/v1/sandboxes/a/preview-token/rotate") == .methodNotAllowed(allowed: ["POST"]))
        #expect(AdminRoute.match(method: "HEAD", path: "/healthz") == .methodNotAllowed(allowed: ["GET"]))
        #expect(AdminRoute.match(method: "POST", path: "/v1/sandboxes/a/egress") == .methodNotAllowed(allowed: ["GET"]))
    }

    @Test(arguments: [
        "/", "", "/v1", "/v1/sandboxes/", "//v1/sandboxes", "/v1//sandboxes", "/v1/sandboxes/a/", "/v2/sandboxes",
        "/v1/sandboxes/a/ports/3000", "/v1/sandboxes/a/public", "/v1/sandboxes/a/b/c/d/e/f/g",
    ])
    func unknownPaths(_ path: String) {
        #expect(AdminRoute.match(method: "GET", path: path) == .notFound)
    }

    @Test func onlyProbesAndTheDocumentAreOpen() {
        #expect(AdminRoute.isPublic(path: "/healthz"))
        #expect(AdminRoute.isPublic(path: "/v1/openapi.json"))
        #expect(!AdminRoute.isPublic(path: "/v1/sandboxes"))
        #expect(!AdminRoute.isPublic(path: "/healthz/"))
    }

    @Test func adminTokenComparison() {
        let token = AdminToken("s3cret-admin-token-0123456789")
        #expect(token.matches("s3cret-admin-token-0123456789"))
        #expect(!token.matches("s3cret-admin-token-012345678"))
        #expect(!token.matches(""))
        #expect(token.authorizes(authorizationHeader: "Bearer s3cret-admin-token-0123456789"))
        #expect(token.authorizes(authorizationHeader: "bearer s3cret-admin-token-0123456789"))
        #expect(!token.authorizes(authorizationHeader: "Basic s3cret-admin-token-0123456789"))
        #expect(!token.authorizes(authorizationHeader: "Bearers3cret-admin-token-0123456789"))
        #expect(!token.authorizes(authorizationHeader: nil))
    }
}
