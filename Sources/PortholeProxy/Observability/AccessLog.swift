import NIOCore
import PortholeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One JSON line per request on standard output, buffered per event loop and written at most
/// every 100 ms (or at 64 KiB), as nginx buffers its access log: a write per request would cost
/// a system call on the hot path. Never contains tokens: the path is logged without its query, and
/// cut where anything that looks like a credential starts (`/x;preview_token=…`, the sandbox's
/// own preview token anywhere in it).
final class AccessLog {
    /// What one line records.
    struct Entry {
        var clientAddress: String
        var sandbox: String
        var port: UInt16
        var method: UnsafeRawBufferPointer
        var path: UnsafeRawBufferPointer
        /// The sandbox's preview token, to be kept out of the logged path wherever it appears.
        var previewToken: String?
        var status: Int
        var bytes: Int
        var durationMicroseconds: Int64
        var decision: ProxyMetrics.Decision
    }

    private let eventLoop: any EventLoop
    private var buffer: ByteBuffer
    private var flushScheduled = false
    private static let flushThreshold = 64 * 1024

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.buffer = ByteBufferAllocator().buffer(capacity: 0)
    }

    func record(_ entry: Entry) {
        buffer.writeStaticString("{\"time\":")
        buffer.writeString(String(Self.unixMilliseconds()))
        buffer.writeStaticString(",\"client\":\"")
        buffer.writeString(entry.clientAddress)
        buffer.writeStaticString("\",\"sandbox\":\"")
        buffer.writeString(entry.sandbox)  // validated DNS-label characters only
        buffer.writeStaticString("\",\"port\":")
        buffer.writeString(String(entry.port))
        buffer.writeStaticString(",\"method\":\"")
        Self.writeEscaped(entry.method, into: &buffer)
        buffer.writeStaticString("\",\"path\":\"")
        if let cut = Self.credentialStart(in: entry.path, previewToken: entry.previewToken) {
            Self.writeEscaped(UnsafeRawBufferPointer(rebasing: entry.path[..<cut]), into: &buffer)
            buffer.writeStaticString("[redacted]")
        } else {
            Self.writeEscaped(entry.path, into: &buffer)
        }
        buffer.writeStaticString("\",\"status\":")
        buffer.writeString(String(entry.status))
        buffer.writeStaticString(",\"bytes\":")
        buffer.writeString(String(entry.bytes))
        buffer.writeStaticString(",\"duration_ms\":")
        buffer.writeString(String(Double(entry.durationMicroseconds) / 1000))
        buffer.writeStaticString(",\"decision\":\"")
        buffer.writeString(entry.decision.label)
        buffer.writeStaticString("\"}\n")
        if buffer.readableBytes >= Self.flushThreshold {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
                flushScheduled = false
                flush()
            }
        }
    }

    func flush() {
        guard buffer.readableBytes > 0 else { return }
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    break  // stdout gone: drop the lines rather than stall the event loop
                }
                offset += written
            }
        }
        buffer.clear()
    }

    /// Where the first thing that looks like one of Porthole's credentials starts in `path`: the
    /// parameter names `preview_token`, `DAYTONA_SANDBOX_AUTH_KEY` and `porthole_session` (any case,
    /// e.g. as a `;` path parameter), or the sandbox's preview token itself.
    static func credentialStart(in path: UnsafeRawBufferPointer, previewToken: String?) -> Int? {
        // Every request's path is scanned: the needles are read in place, nothing is allocated.
        var earliest = ("preview_token" as StaticString).withUTF8Buffer { firstIndex(of: UnsafeRawBufferPointer($0), in: path, ignoringCase: true) }
        if let session = ("porthole_session" as StaticString).withUTF8Buffer({ firstIndex(of: UnsafeRawBufferPointer($0), in: path, ignoringCase: true) }) {
            earliest = min(earliest ?? session, session)
        }
        if let daytona = ("daytona_sandbox_auth_key" as StaticString).withUTF8Buffer({
            firstIndex(of: UnsafeRawBufferPointer($0), in: path, ignoringCase: true)
        }) {
            earliest = min(earliest ?? daytona, daytona)
        }
        if var token = previewToken, token.utf8.count >= 8,
            let found = token.withUTF8({ firstIndex(of: UnsafeRawBufferPointer($0), in: path, ignoringCase: false) })
        {
            earliest = min(earliest ?? found, found)
        }
        return earliest
    }

    /// `needle` must be lowercase when `ignoringCase`.
    private static func firstIndex(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer, ignoringCase: Bool) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        outer: for start in 0...(haystack.count - needle.count) {
            for offset in 0..<needle.count {
                let byte = haystack[start + offset]
                let folded = ignoringCase ? ASCIIByte.lowercased(byte) : byte
                if folded != needle[offset] { continue outer }
            }
            return start
        }
        return nil
    }

    /// JSON string escaping of raw request bytes (which may be anything a client sent).
    private static func writeEscaped(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0..<0x20, 0x7F...:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default:
                buffer.writeInteger(byte)
            }
        }
    }

    private static func unixMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

@available(*, unavailable)
extension AccessLog: Sendable {}
