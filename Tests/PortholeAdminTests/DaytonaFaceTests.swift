import Foundation
import PortholeAPI
@testable import PortholeAdmin
import Testing

/// The Daytona-compatible API's pure parts: which path is which operation, how the SDK's bodies
/// read, and the Sandbox object's shape (the SDK's models are strict). The SDK itself runs against
/// the real binary in EndToEndTests/DaytonaSDKTests.
@Suite("Daytona-compatible API")
struct DaytonaFaceTests {
    @Test(arguments: [
        ("GET", "/api/sandbox", DaytonaRoute.listSandboxes),
        ("POST", "/api/sandbox", .createSandbox),
        ("GET", "/api/sandbox/a-1", .getSandbox(id: "a-1")),
        ("DELETE", "/api/sandbox/a-1", .deleteSandbox(id: "a-1")),
        ("POST", "/api/sandbox/a/public/true", .setPublic(id: "a", value: "true")),
        ("POST", "/api/sandbox/a/network-settings", .setNetworkSettings(id: "a")),
        ("PUT", "/api/sandbox/a/labels", .replaceLabels(id: "a")),
        ("GET", "/api/sandbox/a/ports/3000/preview-url", .previewURL(id: "a", port: "3000")),
        ("GET", "/api/sandbox/a/ports/3000/signed-preview-url", .signedPreviewURL(id: "a", port: "3000")),
        ("POST", "/api/sandbox/a/ports/3000/signed-preview-url/x.y/expire", .expireSignedPreviewURL(id: "a", port: "3000", token: "x.y")),
        ("GET", "/api/sandbox/a/toolbox-proxy-url", .toolboxProxyURL(id: "a")),
    ])
    func routes(_ method: String, _ path: String, _ route: DaytonaRoute) {
        #expect(DaytonaRoute.match(method: method, path: path) == .route(route))
    }

    @Test func otherPaths() {
        #expect(DaytonaRoute.match(method: "PATCH", path: "/api/sandbox/a") == .methodNotAllowed(allowed: ["GET", "DELETE"]))
        #expect(DaytonaRoute.match(method: "GET", path: "/api/sandbox/a/labels") == .methodNotAllowed(allowed: ["PUT"]))
        #expect(DaytonaRoute.match(method: "GET", path: "/api/socket.io/") == .eventChannel)
        #expect(DaytonaRoute.match(method: "POST", path: "/api/toolbox/a/process/execute") != .notFound)
        guard case .notImplemented(let operation) = DaytonaRoute.match(method: "POST", path: "/api/sandbox/a/start") else {
            Issue.record("start is the platform's operation")
            return
        }
        #expect(operation.contains("start"))
        for path in ["/api", "/api/", "/api/sandbox/", "/api//sandbox", "/api/sandboxes", "/api/config"] {
            #expect(DaytonaRoute.match(method: "GET", path: path) == .notFound, "\(path)")
        }
        #expect(DaytonaRoute.isDaytonaPath("/api/sandbox") && DaytonaRoute.isDaytonaPath("/api"))
        #expect(!DaytonaRoute.isDaytonaPath("/apiary") && !DaytonaRoute.isDaytonaPath("/v1/sandboxes"))
    }

    @Test("the document of /api names every route, and every route is in it")
    func theDocumentIsTheRoutes() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.daytonaBytes)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = 0
        for (path, item) in paths {
            for method in ["get", "post", "put", "delete", "patch"] where item[method] != nil {
                documented += 1
                let concrete = path.replacingOccurrences(of: "{sandboxIdOrName}", with: "abc").replacingOccurrences(of: "{port}", with: "3000")
                    .replacingOccurrences(of: "{isPublic}", with: "true").replacingOccurrences(of: "{token}", with: "a.b")
                guard case .route(let route) = DaytonaRoute.match(method: method.uppercased(), path: concrete) else {
                    Issue.record("\(method) \(path) is documented but not routed")
                    continue
                }
                #expect(route.template == path)
                let operation = try #require(item[method] as? [String: Any])
                #expect((operation["requestBody"] != nil) == route.takesBody, "\(method) \(path)")
            }
        }
        #expect(documented == 11)
        #expect(DaytonaRoute.match(method: "GET", path: "/api/openapi.json") == .openAPIDocument)
    }

    @Test("create: the name is the id, the address comes from the label (the platform's only), else the default, else none")
    func create() throws {
        let body =
            #"{"name":"web","labels":{"porthole.dev/target":"10.0.0.7","code-toolbox-language":"python"},"public":true,"#
            + #""env":{},"cpu":2,"volumes":[],"target":"us","snapshot":"x","futureField":{"a":1}}"#
        let request = try DaytonaRequests.create(Array(body.utf8), defaultTarget: "127.0.0.1", tier: nil, mayNameTarget: true)
        #expect(request.id == "web")
        #expect(request.target == "10.0.0.7")
        #expect(request.isPublic == true)
        #expect(try DaytonaRequests.create(Array("{}".utf8), defaultTarget: "127.0.0.1", tier: nil, mayNameTarget: true).target == "127.0.0.1")
        #expect(try DaytonaRequests.create(Array("{}".utf8), defaultTarget: nil, tier: nil, mayNameTarget: true).target == "")

        // "" and null mean no list; a bad type or name names the field.
        let lists = try DaytonaRequests.create(
            Array(#"{"networkAllowList":"","domainAllowList":null}"#.utf8), defaultTarget: nil, tier: nil, mayNameTarget: true)
        #expect(lists.networkAllowList == nil && lists.domainAllowList == nil)
        #expect(throws: AdminAPIError.self) { try DaytonaRequests.create(Array(#"{"public":"yes"}"#.utf8), defaultTarget: nil, tier: nil, mayNameTarget: true) }
        let badName = #expect(throws: AdminAPIError.self) {
            try DaytonaRequests.create(Array(#"{"name":"My Sandbox"}"#.utf8), defaultTarget: nil, tier: nil, mayNameTarget: true)
        }
        #expect(badName?.field == "name" && badName?.status == 400)

        // Only the platform names an address: an organisation's key would reach any host with it.
        let named = #expect(throws: AdminAPIError.self) {
            try DaytonaRequests.create(Array(body.utf8), defaultTarget: "127.0.0.1", tier: nil, mayNameTarget: false)
        }
        #expect(named?.status == 403 && named?.code == "target_not_allowed" && named?.field == "labels")
        #expect(
            try DaytonaRequests.create(Array(#"{"labels":{"a":"b"}}"#.utf8), defaultTarget: "127.0.0.1", tier: nil, mayNameTarget: false).target == "127.0.0.1")
    }

    @Test("network settings: absent or null leaves a field, \"\" clears a list, a list turns block-all off")
    func networkSettings() throws {
        func read(_ json: String) throws -> NetworkSettingsRequest { try DaytonaRequests.networkSettings(Array(json.utf8)) }
        #expect(try read(#"{"networkAllowList":"10.0.0.0/8"}"#) == NetworkSettingsRequest(networkBlockAll: false, networkAllowList: .set("10.0.0.0/8")))
        #expect(
            try read(#"{"networkAllowList":"10.0.0.0/8","networkBlockAll":true}"#)
                == NetworkSettingsRequest(networkBlockAll: true, networkAllowList: .set("10.0.0.0/8")))
        #expect(try read(#"{"networkAllowList":"  "}"#) == NetworkSettingsRequest(networkAllowList: .clear))
        #expect(try read(#"{"networkAllowList":null,"domainAllowList":""}"#) == NetworkSettingsRequest(domainAllowList: .clear))
        #expect(try read(#"{"networkBlockAll":true}"#) == NetworkSettingsRequest(networkBlockAll: true))
        #expect(throws: AdminAPIError.self) { try read(#"{"networkBlockAll":1}"#) }
    }

    @Test func labelFilter() throws {
        #expect(try DaytonaRequests.labelFilter(nil) == [:])
        #expect(try DaytonaRequests.labelFilter(#"{"a":"1","b":"2"}"#) == ["a": "1", "b": "2"])
        for bad in [#"{"a":1}"#, "a=1", "[]"] {
            #expect(throws: AdminAPIError.self, "\(bad)") { try DaytonaRequests.labelFilter(bad) }
        }
        #expect(try DaytonaRequests.labels(Array(#"{"labels":{"a":"b"}}"#.utf8)) == ["a": "b"])
        #expect(throws: AdminAPIError.self) { try DaytonaRequests.labels(Array("{}".utf8)) }
    }

    @Test("the Sandbox object has every field the SDK requires, with JSON's strict types")
    func sandboxShape() throws {
        let record = SandboxRecord(
            id: "web", target: "10.0.0.7", isPublic: false, previewToken: "secret-token", tokenGeneration: 0, networkBlockAll: true,
            networkAllowList: nil, domainAllowList: "pypi.org", tier: 3, labels: ["a": "b"], hostRewrite: false, state: .creating,
            createdAt: 1_800_000_000, updatedAt: 1_800_000_060
        )
        let data = try JSONEncoder().encode(DaytonaSandbox(record, organizationId: "acme", toolboxProxyUrl: "http://h/api/toolbox"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["id", "name", "organizationId", "user", "target", "state", "desiredState", "toolboxProxyUrl", "createdAt", "updatedAt"] {
            #expect(object[key] is String, "\(key)")
        }
        let text = String(decoding: data, as: UTF8.self)
        for (key, value) in [("cpu", 1), ("gpu", 0), ("memory", 1), ("disk", 3)] {
            #expect(text.contains("\"\(key)\":\(value)") && !text.contains("\"\(key)\":\(value)."), "\(key) is an integer")
        }
        #expect(object["public"] as? Bool == false && object["networkBlockAll"] as? Bool == true && object["kvm"] as? Bool == false)
        #expect(object["networkAllowList"] is NSNull, "null, never absent")
        #expect(object["domainAllowList"] as? String == "pypi.org")
        #expect(object["labels"] as? [String: String] == ["a": "b"] && object["env"] as? [String: String] == [:])
        #expect(object["state"] as? String == "creating" && object["desiredState"] as? String == "started")
        #expect(object["createdAt"] as? String == "2027-01-15T08:00:00Z")
        #expect(!text.contains("secret-token"), "the preview token is only on preview links")
        let destroyed = try JSONEncoder().encode(DaytonaSandbox(record, organizationId: "acme", toolboxProxyUrl: "", destroyed: true))
        #expect(String(decoding: destroyed, as: UTF8.self).contains(#""state":"destroyed""#))
    }

    @Test("deleted sandboxes are remembered for their lifetime, within a capacity")
    func deletedSandboxes() {
        let record = SandboxRecord(
            id: "a", target: "", isPublic: false, previewToken: "t", tokenGeneration: 0, networkBlockAll: false, networkAllowList: nil,
            domainAllowList: nil, tier: 3, labels: [:], hostRewrite: false, state: .started, createdAt: 0, updatedAt: 0
        )
        let deleted = DeletedSandboxes(lifetime: 10, capacity: 2)
        deleted.remember(record, now: 100)
        #expect(deleted.record("a", now: 109)?.id == "a")
        #expect(deleted.record("a", now: 110) == nil)
        var b = record
        b.id = "b"
        var c = record
        c.id = "c"
        deleted.remember(b, now: 101)
        deleted.remember(c, now: 102)
        #expect(deleted.record("a", now: 102) == nil, "the oldest went over capacity")
        #expect(deleted.record("b", now: 102) != nil && deleted.record("c", now: 102) != nil)
        deleted.forget("b")
        #expect(deleted.record("b", now: 102) == nil)
    }

    @Test("the toolbox URL says https when the client came through TLS (X-Forwarded-Proto's first value)")
    func toolboxURLScheme() {
        #expect(DaytonaResponder.cameOverTLS(["https"]))
        #expect(DaytonaResponder.cameOverTLS(["HTTPS"]))
        #expect(DaytonaResponder.cameOverTLS([" https , http"]))
        #expect(!DaytonaResponder.cameOverTLS([]))
        #expect(!DaytonaResponder.cameOverTLS(["http"]))
        #expect(!DaytonaResponder.cameOverTLS(["http, https"]), "the first proxy's client side counts")
        #expect(!DaytonaResponder.cameOverTLS(["httpsx"]))
        #expect(!DaytonaResponder.cameOverTLS([""]))
    }
}
