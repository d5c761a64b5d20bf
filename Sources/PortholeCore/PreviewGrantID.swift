/// The random id of one signed preview URL: what revocation names, and what the browser session started
/// from the URL carries. 96 bits: unguessable, and ids never collide however many URLs are signed.
/// Written as 16 base64url characters.
public struct PreviewGrantID: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 12

    /// Exactly ``byteCount`` bytes.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// The written form, as ``description`` gives it.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 16, let bytes = Base64URL.decode(text) else { return nil }
        self.init(bytes: bytes)
    }

    /// A fresh id from the system's CSPRNG.
    public static func generate() -> PreviewGrantID {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Deterministic generators are for tests only.
    public static func generate(using generator: inout some RandomNumberGenerator) -> PreviewGrantID {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return PreviewGrantID(bytes: Array(bytes.prefix(byteCount)))!
    }

    public var description: String { Base64URL.encode(bytes) }
}
