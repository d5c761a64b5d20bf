/// Body of `POST /v1/sandboxes/{id}/network-settings`.
public struct NetworkSettingsRequest: Sendable, Hashable, Encodable {
    public var networkBlockAll: Bool?
    public var networkAllowList: FieldUpdate<String>?

    public init(networkBlockAll: Bool? = nil, networkAllowList: FieldUpdate<String>? = nil) {
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
    }

    private enum CodingKeys: String, CodingKey { case networkBlockAll, networkAllowList }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(networkBlockAll, forKey: .networkBlockAll)
        switch networkAllowList {
        case .set(let list)?: try container.encode(list, forKey: .networkAllowList)
        case .clear?: try container.encodeNil(forKey: .networkAllowList)
        case nil: break
        }
    }
}
