/// One page of `GET /v1/sandboxes`.
public struct SandboxPage: Sendable, Hashable, Codable {
    public var items: [SandboxRecord]
    /// Pass as `cursor` for the next page; `nil` on the last page.
    public var nextCursor: String?

    public init(items: [SandboxRecord], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    private enum CodingKeys: String, CodingKey { case items, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        if let nextCursor { try container.encode(nextCursor, forKey: .nextCursor) } else { try container.encodeNil(forKey: .nextCursor) }
    }
}
