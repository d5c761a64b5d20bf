public import PortholeCore

/// How the proxy compresses responses for clients that accept it (``ResponseCompression``).
public struct CompressionSettings: Sendable, Hashable {
    /// `--compression off` turns it off for every sandbox.
    public var isEnabled = true
    /// zlib's level, 1 (fastest) … 9 (smallest). 5 is where larger levels stop paying for
    /// typical JavaScript, HTML and JSON (what nginx and Caddy setups commonly choose).
    public var level: Int32 = 5
    /// Responses that declare a smaller `Content-Length` go out as they are: below about a
    /// packet, compression saves nothing the client would notice. Unknown lengths are compressed.
    public var minimumBytes: Int64 = 1024
    public var types: CompressibleTypes = .default

    public init() {}

    /// The levels zlib knows.
    public static let levels: ClosedRange<Int32> = 1...9
}
