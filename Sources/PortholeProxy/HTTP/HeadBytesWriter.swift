#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Writes a message head piece by piece into room reserved once in a `ByteBuffer`.
///
/// A rewritten head is a dozen small pieces (request line parts, runs of kept field lines, the
/// forwarding fields); written one `ByteBuffer` call each, every piece paid for a capacity check,
/// an exclusivity check on the storage and an index update. Here each piece is a bounds check and
/// a `memcpy`. Writing past the reserved room is a programming error and traps, never corrupts.
struct HeadBytesWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0

    private init(_ room: UnsafeMutableRawBufferPointer) {
        base = room.baseAddress!
        capacity = room.count
    }

    /// Reserves at least `maximumBytes` at the end of `buffer`, lets `body` write at most that
    /// many, and moves the buffer's writer index past what was written.
    static func write(
        into buffer: inout ByteBuffer,
        maximumBytes: Int,
        _ body: (inout HeadBytesWriter) -> Void
    ) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumBytes) { room in
            var writer = HeadBytesWriter(room)
            body(&writer)
            return writer.count
        }
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        precondition(bytes.count <= capacity &- count, "head larger than the room reserved for it")
        memcpy(base + count, source, bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Labelled, so a string literal picks the `StaticString` overload (`String` would win otherwise).
    mutating func append(string text: String) {
        // Native strings (all the proxy makes) are contiguous UTF-8; no copy of `text` is made.
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for byte in text.utf8 { append(byte) }
        }
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        precondition(count < capacity, "head larger than the room reserved for it")
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// `value` in decimal, without leading zeros.
    mutating func appendDecimal(_ value: UInt16) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
        var remaining = value
        var length = 0
        withUnsafeMutableBytes(of: &digits) { digits in
            repeat {
                digits[4 - length] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                length += 1
            } while remaining > 0
            append(UnsafeRawBufferPointer(rebasing: digits[(5 - length)...]))
        }
    }
}
