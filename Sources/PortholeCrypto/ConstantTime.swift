/// Comparisons whose time does not depend on where the inputs differ.
public enum ConstantTime {
    /// Compares without returning early at the first differing byte, so response timing does not
    /// reveal how long a prefix an attacker has guessed. The length is not secret (every token and
    /// MAC has a fixed one) and may leak.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }

    /// The same over the UTF-8 of two strings.
    public static func equals(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        equals(a.utf8, b.utf8)
    }
}
