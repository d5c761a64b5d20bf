import NIOCore
@testable import PortholeCore
@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// Heads are written into room reserved once; writing past it traps. These pin the room's size
/// against the heads that grow the most, and the pieces the writer makes itself.
@Suite struct HeadBytesWriterTests {
    private static func written(_ body: (inout HeadBytesWriter) -> Void) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        HeadBytesWriter.write(into: &buffer, maximumBytes: 64, body)
        return String(buffer: buffer)
    }

    @Test(arguments: [(UInt16(0), "0"), (7, "7"), (80, "80"), (3000, "3000"), (10000, "10000"), (65535, "65535")])
    func decimals(_ value: UInt16, _ text: String) {
        #expect(Self.written { $0.appendDecimal(value) } == text)
    }

    @Test func piecesFollowEachOtherInOrder() {
        let output = Self.written { writer in
            writer.append("Host: ")
            writer.append(string: "localhost")
            writer.append(UInt8(ascii: ":"))
            writer.appendDecimal(8080)
            "\r\n".utf8.withContiguousStorageIfAvailable { writer.append(UnsafeRawBufferPointer($0)) }
        }
        #expect(output == "Host: localhost:8080\r\n")
    }

    @Test func keepsWhatTheBufferHeldBefore() {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)
        buffer.writeString("ab")
        HeadBytesWriter.write(into: &buffer, maximumBytes: 2) { $0.append("cd") }
        #expect(String(buffer: buffer) == "abcd")
    }

    /// Heads whose rewrite adds the most relative to their size: every field rewritten or merged.
    private static let growingHeads: [String] = [
        wireHead("GET / HTTP/1.1", "Host:h"),
        wireHead("GET / HTTP/1.1", "Host:h", "X-Forwarded-For:a", "X-Forwarded-For:b", "X-Forwarded-For:c"),
        wireHead(
            "GET /p?preview_token=t&x=1 HTTP/1.1", "Host:h",
            "Cookie:\(PreviewSessionCookie.name)=1;a=b", "Cookie:a=b;\(PreviewSessionCookie.name)=2;c=d",
            "Cookie:x=1;\(PreviewSessionCookie.name)=3"
        ),
        wireHead("GET / HTTP/1.1", "Host:h", "Upgrade:websocket", "Connection:upgrade", "X-Forwarded-Proto:http"),
        wireHead("G / HTTP/1.0", "Host:" + String(repeating: "h", count: 300)),
    ]

    @Test(arguments: growingHeads)
    func requestHeadsStayWithinTheRoomReservedForThem(_ text: String) throws {
        let parsed = try Wire.request(text)
        for trusted in [false, true] {
            for hostRewrite in [false, true] {
                for stripped in [nil, "/p?x=1", String(repeating: "/", count: 500)] {
                    var rewrite = ForwardingRewrite.example
                    rewrite.trustForwardedFields = trusted
                    rewrite.rewriteHostToLocalhost = hostRewrite
                    rewrite.upstreamPort = 65535
                    rewrite.strippedTarget = stripped
                    rewrite.clientAddress = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                    let output = Wire.forward(parsed, rewrite: rewrite)
                    #expect(output.count <= RequestHeadWriter.maximumBytes(for: parsed.head, headBytes: parsed.bytes.count, rewrite: rewrite))
                }
            }
        }
    }
}
