/// The secret that opens a private preview: 32 random bytes (256 bits, beyond guessing at any request rate),
/// base64url without padding, 43 characters.
public enum PreviewToken {
    public static let byteCount = 32

    /// A fresh token from the system's CSPRNG (`getrandom(2)` on Linux, which traps rather than
    /// returning weak bytes if the kernel cannot supply them).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Deterministic generators are for tests only; production must use ``generate()``.
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount)
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Base64URL.encode(bytes.prefix(byteCount))
    }
}
