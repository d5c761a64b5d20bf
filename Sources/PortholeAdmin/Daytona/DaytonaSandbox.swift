#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PortholeAPI

/// A sandbox as the Daytona API shows it (its `Sandbox` and `SandboxListItem` models). The SDK's
/// models are strict: every required field present, integers as integers, label values as strings.
///
/// Fields Porthole keeps come from the record; the ones that describe the machine Daytona would run
/// (`user`, `env`, `cpu`, `memory`, `disk`, `gpu`, `kvm`) are not Porthole's business and carry fixed
/// placeholders, and `target` (a Daytona *region*) is ``DaytonaSandbox/region``.
struct DaytonaSandbox: Encodable, Sendable {
    /// The state the SDK sees. `destroyed` is a deleted sandbox, remembered for a while.
    enum State: String, Encodable, Sendable {
        case started, stopped, creating, destroyed
    }

    /// What every Porthole sandbox reports as its Daytona region.
    static let region = "porthole"

    var id: String
    var organizationId: String
    var labels: [String: String]
    var isPublic: Bool
    var networkBlockAll: Bool
    var networkAllowList: String?
    var domainAllowList: String?
    var state: State
    var toolboxProxyUrl: String
    var createdAt: Int64
    var updatedAt: Int64

    init(_ record: SandboxRecord, organizationId: String, toolboxProxyUrl: String, destroyed: Bool = false) {
        id = record.id
        self.organizationId = organizationId
        labels = record.labels
        isPublic = record.isPublic
        networkBlockAll = record.networkBlockAll
        networkAllowList = record.networkAllowList
        domainAllowList = record.domainAllowList
        if destroyed {
            state = .destroyed
        } else {
            switch record.state {
            case .started: state = .started
            case .stopped: state = .stopped
            case .creating: state = .creating
            }
        }
        self.toolboxProxyUrl = toolboxProxyUrl
        createdAt = record.createdAt
        updatedAt = record.updatedAt
    }

    /// Where the sandbox is headed: a creating one will run.
    private var desiredState: State {
        state == .creating ? .started : state
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, organizationId, user, env, labels
        case isPublic = "public"
        case networkBlockAll, networkAllowList, domainAllowList, kvm, target, cpu, gpu, memory, disk, state, desiredState
        case toolboxProxyUrl, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        // A Porthole sandbox's id is its name: one DNS-safe identifier for both.
        try container.encode(id, forKey: .name)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode("daytona", forKey: .user)
        try container.encode([String: String](), forKey: .env)
        try container.encode(labels, forKey: .labels)
        try container.encode(isPublic, forKey: .isPublic)
        try container.encode(networkBlockAll, forKey: .networkBlockAll)
        // `encode` of an optional writes `null`: the SDK's model wants the keys present.
        try container.encode(networkAllowList, forKey: .networkAllowList)
        try container.encode(domainAllowList, forKey: .domainAllowList)
        try container.encode(false, forKey: .kvm)
        try container.encode(Self.region, forKey: .target)
        try container.encode(1, forKey: .cpu)
        try container.encode(0, forKey: .gpu)
        try container.encode(1, forKey: .memory)
        try container.encode(3, forKey: .disk)
        try container.encode(state, forKey: .state)
        try container.encode(desiredState, forKey: .desiredState)
        try container.encode(toolboxProxyUrl, forKey: .toolboxProxyUrl)
        try container.encode(Self.timestamp(createdAt), forKey: .createdAt)
        try container.encode(Self.timestamp(updatedAt), forKey: .updatedAt)
    }

    /// ISO 8601 in UTC, as Daytona writes its timestamps.
    static func timestamp(_ unixSeconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(unixSeconds)).formatted(.iso8601)
    }
}

/// `GET /api/sandbox`: one page and the cursor of the next (`null` on the last).
struct DaytonaSandboxPage: Encodable, Sendable {
    var items: [DaytonaSandbox]
    var nextCursor: String?

    private enum CodingKeys: String, CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// `PUT /api/sandbox/{id}/labels` answers the labels now stored.
struct DaytonaLabels: Codable, Sendable {
    var labels: [String: String]
}

/// `GET /api/sandbox/{id}/toolbox-proxy-url`.
struct DaytonaToolboxProxyURL: Encodable, Sendable {
    var url: String
}

/// Daytona's error body, `{statusCode, message, code, error}`: the SDK maps `statusCode` to its
/// exception classes and shows `message`.
struct DaytonaError: Encodable, Sendable {
    var statusCode: Int
    var message: String
    var code: String
    var error: String

    init(_ error: AdminAPIError) {
        statusCode = error.status
        message = error.message
        code = error.code
        self.error = Self.reason(error.status)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Payload Too Large"
        case 415: "Unsupported Media Type"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}
