import PortholeAPI
import PortholeCore

/// The bodies the Daytona SDK sends, read into the control plane's requests.
///
/// Fields Porthole keeps (`name`, `public`, `networkBlockAll`, `networkAllowList`,
/// `domainAllowList`, `labels`) are checked like `/v1`'s, with errors naming the field. Every other
/// field (`env`, `snapshot`, `cpu`, `volumes`, `target` meaning a region, fields of newer SDKs…)
/// describes the machine Daytona would run and is accepted and ignored.
enum DaytonaRequests {
    /// The label that names a sandbox's address when it is created through this API.
    static let targetLabel = "porthole.dev/target"

    /// `POST /api/sandbox`. The id is the `name` when one is given (it must be DNS-safe, as every
    /// Porthole id), else generated. The address comes from ``targetLabel``, else `defaultTarget`;
    /// with neither it stays empty and the sandbox is created in state `creating`. Only a caller
    /// that `mayNameTarget` (the admin token, i.e. the platform) may use ``targetLabel``: 403 else.
    static func create(
        _ bytes: [UInt8], defaultTarget: String?, tier: Int?, mayNameTarget: Bool
    ) throws(AdminAPIError) -> SandboxCreateRequest {
        let body = try RequestBody(json: bytes, allowed: nil)
        let name = try body.string("name")
        if let name { try SandboxControlPlane.checkID(name, field: "name") }
        let labels = try body.stringMap("labels")
        if labels?[targetLabel] != nil, !mayNameTarget {
            throw AdminAPIError(
                status: 403, code: "target_not_allowed",
                message:
                    "the \(targetLabel) label sets where the sandbox's previews are sent, which only the platform may do (with the admin token); leave it out and the platform places the sandbox",
                field: "labels"
            )
        }
        return SandboxCreateRequest(
            id: name,
            target: labels?[targetLabel] ?? defaultTarget ?? "",
            isPublic: try body.bool("public"),
            networkBlockAll: try body.bool("networkBlockAll"),
            networkAllowList: try list(body, "networkAllowList"),
            domainAllowList: try list(body, "domainAllowList"),
            labels: labels,
            tier: tier
        )
    }

    /// `POST /api/sandbox/{id}/network-settings`, with Daytona's meaning: an absent or `null` field
    /// is left alone, `""` clears a list, and a non-empty network allow list turns `networkBlockAll`
    /// off unless the same request sets it.
    static func networkSettings(_ bytes: [UInt8]) throws(AdminAPIError) -> NetworkSettingsRequest {
        let body = try RequestBody(json: bytes, allowed: nil)
        func update(_ name: String) throws(AdminAPIError) -> FieldUpdate<String>? {
            switch try body.nullableString(name) {
            case .set(let text)? where isBlank(text): .clear
            case .set(let text)?: .set(text)
            case .clear?, nil: nil
            }
        }
        let allowList = try update("networkAllowList")
        var blockAll = try body.bool("networkBlockAll")
        if blockAll == nil, case .set = allowList { blockAll = false }
        return NetworkSettingsRequest(networkBlockAll: blockAll, networkAllowList: allowList, domainAllowList: try update("domainAllowList"))
    }

    /// `PUT /api/sandbox/{id}/labels`: `{labels: {…}}`, replacing every label.
    static func labels(_ bytes: [UInt8]) throws(AdminAPIError) -> [String: String] {
        let body = try RequestBody(json: bytes, allowed: nil)
        guard let labels = try body.stringMap("labels") else {
            throw .invalid("labels", "labels is required: an object of label names to strings", code: "missing_field")
        }
        return labels
    }

    /// `?labels=` of `GET /api/sandbox`: a JSON object of strings.
    static func labelFilter(_ text: String?) throws(AdminAPIError) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        let body: RequestBody
        do {
            body = try RequestBody(json: Array(text.utf8), allowed: nil)
        } catch {
            throw .invalid("labels", "labels must be a JSON object of label names to strings, e.g. {\"env\":\"dev\"}")
        }
        var labels: [String: String] = [:]
        for key in body.keys {
            guard let value = try? body.string(key) else {
                throw .invalid("labels", "labels must map names to strings; \"\(SandboxFieldRules.shown(key))\" does not")
            }
            labels[key] = value
        }
        return labels
    }

    /// Empty or only whitespace: Daytona's way of saying "no list".
    private static func isBlank(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }

    /// On create, `null` and `""` both mean "no list" (the SDK sends the defaults it was given).
    private static func list(_ body: RequestBody, _ name: String) throws(AdminAPIError) -> String? {
        try body.stringOrNull(name).flatMap { isBlank($0) ? nil : $0 }
    }
}
