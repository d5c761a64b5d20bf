import Foundation
import NIOCore
import NIOPosix
import PortholeTLS
import Testing

/// A rough keep-alive HTTPS benchmark with wrk (1 thread, 50 connections), to compare with nginx
/// serving the same responses (`return 200 "hello, world\n"` and a 64 KiB static file, 2 workers,
/// P-256 certificate, TLS 1.3).
/// Off by default: `PORTHOLE_TLS_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark`.
///
/// On the 2-core development machine (2026-11-25, shared, so ±15%; wrk itself takes one core):
/// 13-byte responses 59.6k req/s here vs 59.5k for nginx 1.22 (both limited by wrk);
/// 64 KiB responses 17.7k req/s (1.08 GB/s) here vs 11.2k req/s (0.70 GB/s) for nginx.
@Suite struct ThroughputBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PORTHOLE_TLS_BENCH"] == "1"))
    func keepAliveRequestsPerSecond() async throws {
        let certificates = try TestCertificates()
        let store = try TLSCertificateStore(configuration: certificates.configuration())
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSServerHandler(store: store, allocator: channel.allocator))
                    try channel.pipeline.syncOperations.addHandler(FixedResponder())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        defer { server.close(promise: nil) }
        let port = server.localAddress!.port!
        let seconds = ProcessInfo.processInfo.environment["PORTHOLE_TLS_BENCH_SECONDS"] ?? "10"
        for path in ["/", "/large"] {
            let result = try await run(
                "/usr/bin/wrk",
                ["-t1", "-c50", "-d\(seconds)s", "https://127.0.0.1:\(port)\(path)"],
                timeout: 120
            )
            print("porthole-tls \(path):\n\(result.stdout)")
        }
        print("cert: \(certificates.preview.certificatePath) key: \(certificates.preview.privateKeyPath)")
    }
}

/// Answers every request head with a fixed response, without parsing: measures TLS, not HTTP.
private final class FixedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let small = ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nhello, world\n")
    private static let large: ByteBuffer = {
        let body = String(repeating: "x", count: 64 * 1024)
        return ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: \(body.utf8.count)\r\n\r\n" + body)
    }()
    private var matched = 0
    private var wantsLarge = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        let terminator: [UInt8] = [13, 10, 13, 10]
        buffer.withUnsafeReadableBytes { bytes in
            if bytes.count > 9, bytes[4] == UInt8(ascii: "/"), bytes[5] == UInt8(ascii: "l") { self.wantsLarge = true }
            for byte in bytes {
                if byte == terminator[self.matched] {
                    self.matched += 1
                    if self.matched == 4 {
                        self.matched = 0
                        context.write(Self.wrapOutboundOut(self.wantsLarge ? Self.large : Self.small), promise: nil)
                    }
                } else {
                    self.matched = byte == 13 ? 1 : 0
                }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}
