#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PortholeCore

/// The fields of one JSON request body, read with checks that name the field at fault.
struct RequestBody {
    private let fields: [String: JSONValue]

    /// Parses `bytes` as a JSON object whose keys are all in `allowed` (any keys when `nil`: the
    /// Daytona-compatible API takes fields of newer SDKs it does not know).
    init(json bytes: [UInt8], allowed: Set<String>?) throws(AdminAPIError) {
        guard !bytes.isEmpty else {
            throw .invalid(nil, "the request needs a JSON object body", code: "invalid_json")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw .invalid(nil, "the request body is not valid JSON", code: "invalid_json")
        }
        if let path = JSONDuplicateKey.find(in: bytes) {
            let key = SandboxFieldRules.shown(path[path.count - 1])
            let place = path.count == 1 ? "the request body" : path.dropLast().map(SandboxFieldRules.shown).joined(separator: ".")
            throw .invalid(
                SandboxFieldRules.shown(path[0]),
                "the key \"\(key)\" appears more than once in \(place); send each key once",
                code: "duplicate_key"
            )
        }
        guard case .object(let fields) = value else {
            throw .invalid(nil, "the request body must be a JSON object, got \(value.kindName)", code: "invalid_json")
        }
        // Sorted, so the error names the same field whatever the hash seed.
        if let allowed, let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            let known = allowed.sorted().joined(separator: ", ")
            throw .invalid(
                SandboxFieldRules.shown(unknown),
                "unknown field \"\(SandboxFieldRules.shown(unknown))\"; the fields of this request are \(known)",
                code: "unknown_field"
            )
        }
        self.fields = fields
    }

    func has(_ name: String) -> Bool { fields[name] != nil }

    /// The field names, sorted (so errors name the same field whatever the hash seed).
    var keys: [String] { fields.keys.sorted() }

    /// True when the field is present and `null`.
    func isNull(_ name: String) -> Bool { fields[name] == .null }

    func string(_ name: String) throws(AdminAPIError) -> String? {
        switch fields[name] {
        case nil: return nil
        case .string(let value)?: return value
        case let other?: throw .invalid(name, "\(name) must be a string, got \(other.kindName)")
        }
    }

    func bool(_ name: String) throws(AdminAPIError) -> Bool? {
        switch fields[name] {
        case nil: return nil
        case .bool(let value)?: return value
        case let other?: throw .invalid(name, "\(name) must be true or false, got \(other.kindName)")
        }
    }

    func integer(_ name: String) throws(AdminAPIError) -> Int? {
        switch fields[name] {
        case nil: return nil
        case .integer(let value)?: return Int(value)
        case .number(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        case .number(let value)?: throw .invalid(name, "\(name) must be a whole number, got \(value)")
        case let other?: throw .invalid(name, "\(name) must be a whole number, got \(other.kindName)")
        }
    }

    func stringMap(_ name: String) throws(AdminAPIError) -> [String: String]? {
        switch fields[name] {
        case nil: return nil
        case .object(let object)?:
            var map: [String: String] = [:]
            for (key, value) in object {
                guard case .string(let text) = value else {
                    throw .invalid(name, "\(name) must map names to strings; \"\(SandboxFieldRules.shown(key))\" is \(value.kindName)")
                }
                map[key] = text
            }
            return map
        case let other?: throw .invalid(name, "\(name) must be an object of strings, got \(other.kindName)")
        }
    }

    /// A string where `null` means the default, as absent does (a create's lists: clients echo the
    /// defaults they were given).
    func stringOrNull(_ name: String) throws(AdminAPIError) -> String? {
        switch try nullableString(name) {
        case .set(let value)?: value
        case .clear?, nil: nil
        }
    }

    /// A nullable string: absent → `nil`, `null` → `.clear`, a string → `.set`.
    func nullableString(_ name: String) throws(AdminAPIError) -> FieldUpdate<String>? {
        switch fields[name] {
        case nil: return nil
        case .null?: return .clear
        case .string(let value)?: return .set(value)
        case let other?: throw .invalid(name, "\(name) must be a string or null, got \(other.kindName)")
        }
    }
}

// MARK: - The API's request bodies

extension SandboxCreateRequest {
    static let fieldNames: Set<String> = [
        "id", "target", "public", "networkBlockAll", "networkAllowList", "domainAllowList", "labels", "tier", "hostRewrite",
        "organizationId",
    ]

    /// Reads a create body; values are checked by ``SandboxControlPlane`` (shared with the direct-store CLI).
    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: Self.fieldNames)
        guard let target = try body.string("target") else {
            throw .invalid("target", "target is required: the address (IP or host name) of the sandbox", code: "missing_field")
        }
        self.init(
            id: try body.string("id"),
            target: target,
            isPublic: try body.bool("public"),
            networkBlockAll: try body.bool("networkBlockAll"),
            networkAllowList: try body.stringOrNull("networkAllowList"),
            domainAllowList: try body.stringOrNull("domainAllowList"),
            labels: try body.stringMap("labels"),
            tier: try body.integer("tier"),
            hostRewrite: try body.bool("hostRewrite"),
            organizationId: try body.string("organizationId")
        )
    }
}

extension SandboxUpdateRequest {
    static let fieldNames: Set<String> = [
        "target", "public", "networkBlockAll", "networkAllowList", "domainAllowList", "labels", "tier", "hostRewrite", "state",
    ]

    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: Self.fieldNames)
        var state: SandboxState? = nil
        if let name = try body.string("state") {
            guard let parsed = SandboxState(settable: name) else {
                throw .invalid("state", "state must be \"started\" or \"stopped\", got \"\(SandboxFieldRules.shown(name))\"")
            }
            state = parsed
        }
        self.init(
            target: try body.string("target"),
            isPublic: try body.bool("public"),
            networkBlockAll: try body.bool("networkBlockAll"),
            networkAllowList: try body.nullableString("networkAllowList"),
            domainAllowList: try body.nullableString("domainAllowList"),
            labels: try body.stringMap("labels"),
            tier: try body.integer("tier"),
            hostRewrite: try body.bool("hostRewrite"),
            state: state
        )
    }
}

extension NetworkSettingsRequest {
    static let fieldNames: Set<String> = ["networkBlockAll", "networkAllowList", "domainAllowList"]

    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: Self.fieldNames)
        self.init(
            networkBlockAll: try body.bool("networkBlockAll"),
            networkAllowList: try body.nullableString("networkAllowList"),
            domainAllowList: try body.nullableString("domainAllowList")
        )
    }
}

extension OrganizationCreateRequest {
    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: ["id", "tier", "networkAllowList", "domainAllowList"])
        guard let id = try body.string("id") else {
            throw .invalid("id", "id is required: lowercase letters, digits and '-'", code: "missing_field")
        }
        self.init(
            id: id, tier: try body.integer("tier"), networkAllowList: try body.stringOrNull("networkAllowList"),
            domainAllowList: try body.stringOrNull("domainAllowList"))
    }
}

extension OrganizationUpdateRequest {
    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: ["tier", "networkAllowList", "domainAllowList"])
        self.init(
            tier: try body.integer("tier"), networkAllowList: try body.nullableString("networkAllowList"),
            domainAllowList: try body.nullableString("domainAllowList")
        )
    }
}

extension APIKeyCreateRequest {
    init(body bytes: [UInt8]) throws(AdminAPIError) {
        let body = try RequestBody(json: bytes, allowed: ["name"])
        self.init(name: try body.string("name"))
    }
}
