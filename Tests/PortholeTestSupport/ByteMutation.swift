/// The byte-level mutations every seeded fuzzer of the project starts from; each adds mutations
/// that know its format (DNS pointers, HTTP lines).
public enum ByteMutation {
    /// How many generic mutations `apply` knows: kinds `0..<count`.
    public static let count = 5

    /// Mutation `kind` at `position`: overwrite with a random byte, overwrite with an interesting
    /// byte, insert an interesting byte, delete up to four bytes, cut the rest.
    public static func apply(
        _ kind: Int, to bytes: inout [UInt8], at position: Int, interesting: [UInt8], using rng: inout SplitMix64
    ) {
        switch kind {
        case 0:
            bytes[position] = UInt8.random(in: 0...255, using: &rng)
        case 1:
            bytes[position] = interesting.randomElement(using: &rng)!
        case 2:
            bytes.insert(interesting.randomElement(using: &rng)!, at: position)
        case 3:
            bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...4, using: &rng)))
        default:
            bytes.removeSubrange(position...)
        }
    }
}
