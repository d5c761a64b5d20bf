public import NIOCore

/// A buffer that the users on one event loop take turns with, so a per-request buffer costs no
/// allocation and an idle connection holds none: the TLS connections of a loop write their
/// ciphertext into one, the proxy writes request and response heads into others.
///
/// `take` hands out the kept storage, `giveBack` keeps what was handed to the socket. By the next
/// `take` the socket (or TLS, which encrypts at once) has normally let go of it, so `clear()` finds
/// it unshared and reuses it; if it is still held (a slow reader) or lent to someone else, a fresh
/// storage is allocated and nothing in use is overwritten.
///
/// Not thread-safe: make one per event loop and use it only there.
public final class ReusableBuffer {
    private var kept: ByteBuffer?
    /// Larger storage (one odd request, a burst of big responses) is not kept.
    private let maximumKeptCapacity: Int

    public init(maximumKeptCapacity: Int = 64 * 1024) {
        self.maximumKeptCapacity = maximumKeptCapacity
    }

    public func take(capacity: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        guard var buffer = kept else { return allocator.buffer(capacity: capacity) }
        kept = nil  // so `buffer` is the only reference when `clear` checks
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Keeps `buffer`'s storage for the next `take` (it may still be on its way to the socket).
    public func giveBack(_ buffer: ByteBuffer) {
        if buffer.capacity <= maximumKeptCapacity { kept = buffer }
    }
}

@available(*, unavailable)
extension ReusableBuffer: Sendable {}
