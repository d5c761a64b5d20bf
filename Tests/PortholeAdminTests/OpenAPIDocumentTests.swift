import PortholeTestSupport
import Foundation
@testable import PortholeAdmin
import PortholeCore
import Testing

/// The committed OpenAPI document is what the server serves, and it says what the code does.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let path = TestPaths.packageRoot + "/Sources/PortholeAdmin/openapi.json"

    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
    }

    /// (That the server sends these bytes is tested against a live server in AdminAPITests; the
    /// embedded bytes are the committed file by construction, `embedInCode`.)
    @Test func theDocumentIsOpenAPI31() throws {
        #expect(try Self.document()["openapi"] as? String == "3.1.0")
    }

    @Test func everyPathAndMethodIsRoutedAndEveryRouteDocumented() throws {
        let paths = try #require(try Self.document()["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, item) in paths {
            for method in ["get", "post", "patch", "delete", "put"] where item[method] != nil {
                documented.insert("\(method.uppercased()) \(path)")
                // A concrete path of the template must reach a route with the same template.
                let concrete = path.replacingOccurrences(of: "{id}", with: "abc").replacingOccurrences(of: "{port}", with: "3000")
                    .replacingOccurrences(of: "{value}", with: "true").replacingOccurrences(of: "{token}", with: "a.b")
                guard case .route(let route) = AdminRoute.match(method: method.uppercased(), path: concrete) else {
                    Issue.record("\(method) \(path) is documented but not routed")
                    continue
                }
                #expect(route.template == path)
            }
        }
        #expect(documented.count == 22)  // every route but /metrics, which is text, not JSON
        _ = documented
    }

    @Test func patternsAreTheCodes() throws {
        let schemas = try #require((try Self.document()["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        let create = try #require(schemas["SandboxCreate"]?["properties"] as? [String: [String: Any]])
        #expect(create["id"]?["pattern"] as? String == SandboxFieldRules.idPattern)
        #expect(create["id"]?["maxLength"] as? Int == SandboxFieldRules.idMaximumLength)
        #expect(create["target"]?["pattern"] as? String == SandboxFieldRules.targetPattern)
        #expect(create["target"]?["maxLength"] as? Int == SandboxFieldRules.targetMaximumLength)
        #expect(schemas["NetworkAllowList"]?["pattern"] as? String == SandboxFieldRules.networkAllowListPattern)
        #expect(schemas["DomainAllowList"]?["pattern"] as? String == SandboxFieldRules.domainAllowListPattern)
        let domainDescription = try #require(schemas["DomainAllowList"]?["description"] as? String)
        #expect(domainDescription.contains("at most \(DomainAllowList.defaultMaxEntries) distinct entries"))
        let normalization = try #require(schemas["Normalisation"]?["properties"] as? [String: [String: Any]])
        #expect(normalization["field"]?["enum"] as? [String] == ["networkAllowList", "domainAllowList"])
        // The record as sent (no list set: both lists are still there, as null) is the documented one.
        let sent = Set(try Self.recordKeys(SandboxRecord(SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t"))))
        let sandbox = try #require(schemas["Sandbox"])
        // Only on answers to writes, and only for sandboxes of an organisation: the optional ones.
        #expect(Set(try #require(sandbox["properties"] as? [String: Any]).keys) == sent.union(["normalisations", "organizationId"]))
        #expect(Set(try #require(sandbox["required"] as? [String])) == sent)
        let labels = try #require(schemas["Labels"])
        #expect((labels["propertyNames"] as? [String: String])?["pattern"] == SandboxFieldRules.labelKeyPattern)
        #expect(labels["maxProperties"] as? Int == SandboxFieldRules.maximumLabels)
        #expect((labels["additionalProperties"] as? [String: Any])?["maxLength"] as? Int == SandboxFieldRules.labelValueMaximumLength)
        #expect((labels["additionalProperties"] as? [String: Any])?["pattern"] as? String == SandboxFieldRules.labelValuePattern)
        let list = try #require((try Self.document()["paths"] as? [String: [String: Any]])?["/v1/sandboxes"]?["get"] as? [String: Any])
        let label = try #require((list["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "label" })
        #expect((label["schema"] as? [String: Any])?["pattern"] as? String == SandboxFieldRules.labelFilterPattern)
        let update = try #require(schemas["SandboxUpdate"]?["properties"] as? [String: Any])
        #expect(Set(update.keys) == SandboxUpdateRequest.fieldNames)
        #expect(Set(create.keys) == SandboxCreateRequest.fieldNames)
        let settings = try #require(schemas["NetworkSettings"]?["properties"] as? [String: Any])
        #expect(Set(settings.keys) == NetworkSettingsRequest.fieldNames)
    }

    @Test func theAllowListPatternAgreesWithTheParser() throws {
        let regex = try Regex(SandboxFieldRules.networkAllowListPattern).matchingSemantics(.unicodeScalar)
        for text in [
            "10.0.0.0/8", " 10.0.0.0/8 , 172.16.0.0/12", "192.168.1.0/16,10.0.0.0/24", "0.0.0.0/0", "255.255.255.255/32",
            "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8",
        ] {
            #expect(text.wholeMatch(of: regex) != nil, "\(text)")
            #expect((try? NetworkAllowList.parse(text)) != nil, "\(text)")
        }
        for text in [
            "1.2.3.4/abc", "300.1.1.1/8", "10.0.0.0", "10.0.0.0/33", "010.0.0.0/8", "10.0.0.0/08", "", ",", "10.0.0.0/8,",
            "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8", "10.0.0.0/8\u{A0}",
        ] {
            #expect(text.wholeMatch(of: regex) == nil, "\(text)")
            #expect((try? NetworkAllowList.parse(text)) == nil, "\(text)")
        }
    }

    @Test func theDomainAllowListPatternAgreesWithTheParser() throws {
        let regex = try Regex(SandboxFieldRules.domainAllowListPattern).matchingSemantics(.unicodeScalar)
        let label63 = String(repeating: "a", count: 63)
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        for text in [
            "pypi.org", " pypi.org , *.github.com\n", "PyPI.org.", "*.GitHub.COM.", "localhost", "a.1b", "0a", "xn--bcher-kva.example",
            name253, name253 + ".", "*." + name253.dropFirst(2), (1...10).map { "n\($0).example" }.joined(separator: ","),
            "a-b.c-d.e", "*.a.b",
        ] {
            #expect(text.wholeMatch(of: regex) != nil, "\(text)")
            #expect((try? DomainAllowList.parse(text)) != nil, "\(text)")
        }
        for text in [
            "", " ", ",", "pypi.org,", "*", "*.", "*.com", "*.com.", "a.*.com", "**.a.b", "10.0.0.1", "1.2.3.999", "123", "a.1",
            "-a.com", "a-.com", "a..com", ".a.com", "a.com..", "a_b.com", "bücher.de", "a.com/8", "[::1]", "fd00::1", "a com",
            "a.com\u{A0}", name253 + "b", name253 + "..", "*." + name253, String(repeating: "a", count: 64) + ".com",
            (1...11).map { "n\($0).example" }.joined(separator: ","),
        ] {
            #expect(text.wholeMatch(of: regex) == nil, "\(text)")
            #expect((try? DomainAllowList.parse(text)) == nil, "\(text)")
        }
    }

    /// The keys a record is sent with: every field, `null` or not.
    static func recordKeys(_ record: SandboxRecord) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as? [String: Any]
        return Array(try #require(object).keys)
    }

    /// Every operation that reads a body answers 415 to a body that is not JSON, and says so.
    @Test func operationsWithABodyDocument415() throws {
        let paths = try #require(try Self.document()["paths"] as? [String: [String: Any]])
        var withBody = 0
        for (path, item) in paths {
            for (method, operation) in item {
                guard let operation = operation as? [String: Any] else { continue }
                let responses = try #require(operation["responses"] as? [String: Any])
                let concrete = path.replacingOccurrences(of: "{id}", with: "abc").replacingOccurrences(of: "{port}", with: "3000")
                    .replacingOccurrences(of: "{value}", with: "true").replacingOccurrences(of: "{token}", with: "a.b")
                guard case .route(let route) = AdminRoute.match(method: method.uppercased(), path: concrete) else { continue }
                #expect((operation["requestBody"] != nil) == route.takesBody, "\(method) \(path)")
                #expect((responses["415"] != nil) == route.takesBody, "\(method) \(path)")
                if route.takesBody { withBody += 1 }
            }
        }
        #expect(withBody == 6)
    }
}
