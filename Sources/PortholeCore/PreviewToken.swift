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

    /// Compares a presented token with the real one without returning early at the first differing byte,
    /// so response timing does not reveal how long a prefix an attacker has guessed. The length is not
    /// secret (every token is 43 characters) and may leak.
    public static func constantTimeEquals(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        constantTimeEquals(a.utf8, b.utf8)
    }

    /// Byte-level form of the string comparison above.
    public static func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }
}
