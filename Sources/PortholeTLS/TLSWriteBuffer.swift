import NIOCore

/// The ciphertext buffer the TLS connections of one event loop take turns to write into.
///
/// Encrypted bytes live only from `SSL_write` to the flush that hands them to the socket, which
/// is normally the same event-loop turn. One buffer per loop serves every connection on it, so an
/// idle connection holds no write buffer at all (it used to keep 4 KiB for reuse) and a busy one
/// allocates none. A connection that wants it while another holds it gets its own, and if the
/// socket still holds the last one (a slow reader), `clear()` allocates a fresh storage rather
/// than overwrite bytes not yet sent.
///
/// Not thread-safe: make one per event loop and use it only there.
public final class TLSWriteBuffer {
    private var buffer: ByteBuffer?
    private var lent = false
    /// Larger storage (a burst of big responses) is not kept.
    private static let maximumKeptCapacity = 64 * 1024

    public init() {}

    /// The buffer, if no other connection is using it; `nil` means "allocate your own".
    func borrow(minimumCapacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard !lent else { return nil }
        lent = true
        guard var kept = buffer else { return allocator.buffer(capacity: minimumCapacity) }
        buffer = nil  // so `kept` is the only reference when `clear` checks
        kept.clear(minimumCapacity: minimumCapacity)
        return kept
    }

    /// Ends a borrow; `written` is what was handed to the socket (kept for the next borrower).
    func giveBack(_ written: ByteBuffer?) {
        lent = false
        if let written, written.capacity <= Self.maximumKeptCapacity { buffer = written }
    }
}

@available(*, unavailable)
extension TLSWriteBuffer: Sendable {}
