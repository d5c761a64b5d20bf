#if canImport(Glibc)
import Glibc
#endif

/// Gives freed heap memory back to the system after a burst of connections has closed.
///
/// glibc keeps what a connection freed inside its heap, in holes between live allocations, so after
/// 10,000 TLS connections open and close the process stays at ~270 MB instead of ~46 MB, and the
/// requests that follow allocate out of a fragmented heap (measured: ~17 → ~19–24 µs of CPU per
/// small request; `malloc_trim(0)` brought both back, Benchmarks/RESULTS.md "Manual measurements").
/// Checked every few seconds; trims only when the open connections fell by `burst` from their peak.
public struct HeapTrimmer {
    /// Connections that must have closed since the peak before a trim is worth its cost (it walks
    /// the heap holding the allocator's lock, so the event loops wait for it: milliseconds).
    public let burst: Int
    private let trim: () -> Void
    private var peak = 0
    /// The drop was seen at the previous observation: trim now, once the closed connections'
    /// memory has certainly been freed (trimming right at the drop was seen to return almost nothing).
    private var dropSeen = false

    /// - Parameter trim: what returns the memory; glibc's `malloc_trim(0)` by default (tests count calls).
    public init(burst: Int = 1_000, trim: (() -> Void)? = nil) {
        self.burst = burst
        self.trim = trim ?? { _ = Self.mallocTrim?(0) }
    }

    /// Takes the connections open now and the peak since the last observation; true when memory
    /// was returned.
    public mutating func observe(open: Int, peakSinceLast: Int) -> Bool {
        peak = max(peak, peakSinceLast)
        guard peak - open >= burst else {
            dropSeen = false
            return false
        }
        guard dropSeen else {
            dropSeen = true
            return false
        }
        trim()
        peak = open
        dropSeen = false
        return true
    }

    /// glibc's `malloc_trim`, which Swift's Glibc module does not import (it lives in <malloc.h>).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        // A nil handle is RTLD_DEFAULT: the symbol as the process links it.
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
