/// Body of `POST /v1/sandboxes/{id}/network-settings`.
public struct NetworkSettingsRequest: Sendable, Hashable, Encodable {
    public var networkBlockAll: Bool?
    public var networkAllowList: FieldUpdate<String>?
    public var domainAllowList: FieldUpdate<String>?

    public init(networkBlockAll: Bool? = nil, networkAllowList: FieldUpdate<String>? = nil, domainAllowList: FieldUpdate<String>? = nil) {
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
    }

    private enum CodingKeys: String, CodingKey { case networkBlockAll, networkAllowList, domainAllowList }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(networkBlockAll, forKey: .networkBlockAll)
        try container.encodeUpdate(networkAllowList, forKey: .networkAllowList)
        try container.encodeUpdate(domainAllowList, forKey: .domainAllowList)
    }
}
