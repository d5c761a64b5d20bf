import PortholeCore

/// Deflate streams a loop's responses take turns with: zlib's state for a 32 KiB window is about
/// 256 KiB, so it is reset and kept rather than allocated for every response.
final class DeflaterPool {
    private var spare: [Deflater] = []
    /// A few per loop cover the responses compressed at once on keep-alive browsers; beyond that
    /// they are freed, so a burst does not keep its memory.
    private static let maximumSpare = 8

    init() {}

    func take(_ coding: ContentCoding, level: Int32) -> Deflater? {
        if let index = spare.lastIndex(where: { $0.coding == coding && $0.level == level }) {
            return spare.remove(at: index)
        }
        return Deflater(coding: coding, level: level)
    }

    /// Takes back a stream whose response is over (complete or cut short).
    func giveBack(_ deflater: Deflater) {
        guard spare.count < Self.maximumSpare else { return }
        deflater.reset()
        spare.append(deflater)
    }
}

@available(*, unavailable)
extension DeflaterPool: Sendable {}
