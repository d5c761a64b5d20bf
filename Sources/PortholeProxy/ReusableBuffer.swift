import NIOCore

/// A buffer an event loop lends out again and again, so a per-request head costs no allocation.
///
/// The loop keeps a reference to what it lent. When the next `take` comes, the socket (or the TLS
/// handler, which encrypts at once) has normally let go of the last one, so `clear()` finds the
/// storage unshared and reuses it; if something still holds it, `clear()` allocates a fresh one
/// and nothing is overwritten.
struct ReusableBuffer {
    private var kept: ByteBuffer?
    /// Larger storage is not kept: one odd request must not pin memory for good.
    private static let maximumKeptCapacity = 16 * 1024

    mutating func take(capacity: Int) -> ByteBuffer {
        guard var buffer = kept else { return ByteBufferAllocator().buffer(capacity: capacity) }
        kept = nil  // so `buffer` is the only reference when `clear` checks
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    mutating func lent(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.maximumKeptCapacity ? buffer : nil
    }
}
