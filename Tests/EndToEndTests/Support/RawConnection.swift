import PortholeTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the proxy's HTTP listener, for sending bytes no well-behaved client
/// would (smuggling attempts, pipelining, slow heads) and reading exactly what comes back.
/// Its reads block (with a receive timeout), so they run on a thread of their own, never on Swift
/// concurrency's few cooperative threads: blocked there, they starved every other test of the run.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    /// `receiveBuffer`: a small kernel receive buffer, so that a client that reads nothing is
    /// visible to the proxy after a few KiB rather than after megabytes.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw TestFailure("connect to 127.0.0.1:\(port) failed")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Reads until the peer closes (or the 20 s receive timeout passes). Returns everything read.
    func readUntilClose() async -> String {
        await Self.offCooperativePool { self.blockingReadUntilClose() }
    }

    /// Reads until `count` complete responses have arrived (judged by `Content-Length` heads), or close.
    func readResponses(_ count: Int) async -> [String] {
        await Self.offCooperativePool { self.blockingReadResponses(count) }
    }

    /// True when the proxy has closed the connection (reads EOF within the timeout).
    func isClosedByPeer() async -> Bool {
        await Self.offCooperativePool { self.blockingIsClosedByPeer() }
    }

    private static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }

    private func blockingReadUntilClose() -> String {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data += chunk[0..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func blockingReadResponses(_ count: Int) -> [String] {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let responses = Self.split(buffer)
            if responses.count >= count { return responses }
            let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if read <= 0 { return responses }
            buffer += chunk[0..<read]
        }
    }

    /// Makes the coming close (deinit) an abortive one (RST), as a killed client's is; a plain
    /// close sends FIN, which the proxy takes as a half-close and still answers.
    func resetOnClose() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// Sends FIN: nothing more will be sent, the answer can still be read.
    func shutdownWrite() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Whether an answer (or the peer's close) can be read right now, without waiting.
    var hasPendingInput: Bool {
        var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&descriptorPoll, 1, 0) > 0
    }

    private func blockingIsClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let read = recv(descriptor, &byte, 1, 0)
            if read == 0 { return true }
            if read < 0 { return false }
        }
    }

    private static func split(_ bytes: [UInt8]) -> [String] {
        var responses: [String] = []
        var text = String(decoding: bytes, as: UTF8.self)[...]
        while let headEnd = text.range(of: "\r\n\r\n") {
            let head = text[..<headEnd.upperBound]
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
            let bodyStart = headEnd.upperBound
            guard text.utf8.count - head.utf8.count >= length else { break }
            let end = text.utf8.index(bodyStart, offsetBy: length)
            responses.append(String(text[..<end]))
            text = text[end...]
        }
        return responses
    }
}
