import NIOCore
import NIOEmbedded
@_spi(Benchmarks) @testable import PortholeProxy
import PortholeCore
import Testing

@Suite("ProxyProtocolDecoder")
struct ProxyProtocolDecoderTests {
    typealias Bytes = ProxyProtocolBytes

    /// The balancer's connection to us: it is what the channel itself reports.
    static let balancer = try! SocketAddress(ipAddress: "10.0.0.1", port: 40000)
    static let listener = try! SocketAddress(ipAddress: "10.0.0.2", port: 8443)

    /// An active channel with the decoder first and a recorder after it.
    private func makeChannel(headerTimeout: TimeAmount = ProxyProtocolDecoder.defaultHeaderTimeout) throws -> (EmbeddedChannel, ProxyProtocolRecorder) {
        let channel = EmbeddedChannel()
        let recorder = ProxyProtocolRecorder()
        try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder(headerTimeout: headerTimeout))
        try channel.pipeline.syncOperations.addHandler(recorder)
        channel.localAddress = Self.listener
        try channel.connect(to: Self.balancer).wait()
        return (channel, recorder)
    }

    private func decoderIsInPipeline(_ channel: EmbeddedChannel) -> Bool {
        (try? channel.pipeline.syncOperations.context(handlerType: ProxyProtocolDecoder.self)) != nil
    }

    private func header(_ source: String, _ sourcePort: Int, _ destination: String, _ destinationPort: Int) throws -> ProxyProtocolHeader {
        ProxyProtocolHeader(
            source: try SocketAddress(ipAddress: source, port: sourcePort), destination: try SocketAddress(ipAddress: destination, port: destinationPort))
    }

    private func write(_ channel: EmbeddedChannel, _ bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
    }

    // MARK: - Headers

    static let cases: [(String, [UInt8], ProxyProtocolHeader)] = [
        (
            "v1 TCP4", Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n"),
            ProxyProtocolHeader(
                source: try! SocketAddress(ipAddress: "203.0.113.7", port: 51234), destination: try! SocketAddress(ipAddress: "192.0.2.1", port: 443))
        ),
        (
            "v1 TCP6", Bytes.v1("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n"),
            ProxyProtocolHeader(
                source: try! SocketAddress(ipAddress: "2001:db8::7", port: 51234), destination: try! SocketAddress(ipAddress: "2001:db8::1", port: 443))
        ),
        (
            "v1 UNKNOWN", Bytes.v1("PROXY UNKNOWN\r\n"),
            ProxyProtocolHeader(source: balancer, destination: listener)
        ),
        (
            "v2 TCP4", Bytes.v2(family: 1, payload: Bytes.ipv4Block([203, 0, 113, 7], [192, 0, 2, 1], 51234, 443)),
            ProxyProtocolHeader(
                source: try! SocketAddress(ipAddress: "203.0.113.7", port: 51234), destination: try! SocketAddress(ipAddress: "192.0.2.1", port: 443))
        ),
        (
            "v2 TCP6",
            Bytes.v2(
                family: 2,
                payload: Bytes.ipv6Block(
                    [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [7], [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1], 51234, 443
                )),
            ProxyProtocolHeader(
                source: try! SocketAddress(ipAddress: "2001:db8::7", port: 51234), destination: try! SocketAddress(ipAddress: "2001:db8::1", port: 443))
        ),
        (
            "v2 TCP4 with TLVs",
            Bytes.v2(family: 1, payload: Bytes.ipv4Block([203, 0, 113, 7], [192, 0, 2, 1], 51234, 443) + Bytes.tlv(0x02, Array("preview.example.com".utf8))),
            ProxyProtocolHeader(
                source: try! SocketAddress(ipAddress: "203.0.113.7", port: 51234), destination: try! SocketAddress(ipAddress: "192.0.2.1", port: 443))
        ),
        (
            "v2 LOCAL", Bytes.v2(command: 0, family: 0, transport: 0, payload: []),
            ProxyProtocolHeader(source: balancer, destination: listener)
        ),
        (
            "v2 UNIX", Bytes.v2(family: 3, payload: Array(repeating: 0x2F, count: 216)),
            ProxyProtocolHeader(source: nil, destination: nil)
        ),
    ]

    @Test(arguments: cases)
    func decodesHeaderThenRemovesItself(_ name: String, _ bytes: [UInt8], _ expected: ProxyProtocolHeader) throws {
        let (channel, recorder) = try makeChannel()
        try write(channel, bytes)
        #expect(recorder.events == [.header(expected), .readComplete], "\(name)")
        #expect(!decoderIsInPipeline(channel), "\(name)")
        #expect(channel.isActive)

        // After the header the decoder is gone: bytes reach the next handler untouched.
        try write(channel, Bytes.clientHelloStart)
        #expect(recorder.events == [.header(expected), .readComplete, .read(Bytes.clientHelloStart), .readComplete], "\(name)")
        #expect(try channel.finish().isClean)
    }

    @Test(arguments: cases)
    func headerArrivingByteByByte(_ name: String, _ bytes: [UInt8], _ expected: ProxyProtocolHeader) throws {
        let (channel, recorder) = try makeChannel()
        let payload = Bytes.clientHelloStart
        let all = bytes + payload
        for (index, byte) in all.enumerated() {
            try write(channel, [byte])
            if index < bytes.count - 1 {
                // Nothing goes up, not even the end of a read, until the header is complete.
                #expect(recorder.events.isEmpty, "\(name): byte \(index)")
                #expect(decoderIsInPipeline(channel))
            }
        }
        #expect(recorder.headers == [expected], "\(name)")
        #expect(recorder.events.first == .header(expected))
        #expect(recorder.readBytes == payload, "\(name)")
        #expect(recorder.errors.isEmpty)
        #expect(!decoderIsInPipeline(channel))
        #expect(channel.isActive)
    }

    /// The header split at every possible point into two reads, the second carrying the payload too.
    @Test(arguments: cases)
    func headerSplitAtEveryPoint(_ name: String, _ bytes: [UInt8], _ expected: ProxyProtocolHeader) throws {
        let payload = Bytes.clientHelloStart
        for split in 1..<bytes.count {
            let (channel, recorder) = try makeChannel()
            try write(channel, Array(bytes[..<split]))
            #expect(recorder.events.isEmpty)
            try write(channel, Array(bytes[split...]) + payload)
            #expect(recorder.events == [.header(expected), .read(payload), .readComplete], "\(name) split at \(split)")
        }
    }

    // MARK: - Payload in the same read

    /// The TLS ClientHello in the same read as the header: the header event first, then the bytes, as a
    /// slice of the very buffer they arrived in.
    @Test(arguments: cases)
    func trailingPayloadIsPassedOnWithoutACopy(_ name: String, _ bytes: [UInt8], _ expected: ProxyProtocolHeader) throws {
        let (channel, recorder) = try makeChannel()
        let payload = Bytes.clientHelloStart + Array(0...255)
        let input = ByteBuffer(bytes: bytes + payload)
        let inputStart = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        try channel.writeInbound(input)

        #expect(recorder.events == [.header(expected), .read(payload), .readComplete], "\(name)")
        let passedStart = recorder.buffers[0].withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(passedStart == inputStart + UInt(bytes.count), "\(name): the payload was copied")
        #expect(!decoderIsInPipeline(channel))
    }

    @Test func headerAloneThenPayloadLater() throws {
        let (channel, recorder) = try makeChannel()
        let line = Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
        try write(channel, line)
        try write(channel, Array("GET / HTTP/1.1\r\n".utf8))
        #expect(
            recorder.events == [
                .header(try header("203.0.113.7", 51234, "192.0.2.1", 443)), .readComplete,
                .read(Array("GET / HTTP/1.1\r\n".utf8)), .readComplete,
            ])
    }

    /// A second header after the first is payload, not a header: only the first one counts.
    @Test func onlyTheFirstHeaderIsDecoded() throws {
        let (channel, recorder) = try makeChannel()
        let first = Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
        let second = Bytes.v1("PROXY TCP4 1.1.1.1 192.0.2.1 1 443\r\n")
        try write(channel, first + second)
        #expect(recorder.headers == [try header("203.0.113.7", 51234, "192.0.2.1", 443)])
        #expect(recorder.readBytes == second)
    }

    // MARK: - Refusals

    @Test(
        arguments: [
            ("TLS without a header", Bytes.clientHelloStart, "the connection did not start with a PROXY protocol v1 or v2 header"),
            ("HTTP without a header", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), "the connection did not start with a PROXY protocol v1 or v2 header"),
            ("garbage", [0x00, 0xFF, 0x13, 0x37], "the connection did not start with a PROXY protocol v1 or v2 header"),
            (
                "v1 bad address", Bytes.v1("PROXY TCP4 203.0.113.999 192.0.2.1 51234 443\r\n") + Bytes.clientHelloStart,
                "malformed PROXY v1 header: source address \"203.0.113.999\" is not an IPv4 address: octet 999 is out of range"
            ),
            ("v1 too long", Bytes.v1("PROXY UNKNOWN " + String(repeating: "x", count: 200) + "\r\n"), "PROXY v1 header has no CRLF within 107 bytes"),
            (
                "v2 oversized", Bytes.signature + [0x21, 0x11, 0x10, 0x00] + Array(repeating: 0, count: 100),
                "PROXY v2 header announces 4096 bytes of addresses and TLVs, more than the 2048 allowed"
            ),
            (
                "v2 bad version", Bytes.v2(version: 1, family: 1, payload: Bytes.ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
                "PROXY v2 header has version 1, expected 2"
            ),
        ] as [(String, [UInt8], String)])
    func refusesAndClosesWithoutPassingBytes(_ name: String, _ bytes: [UInt8], _ message: String) throws {
        let (channel, recorder) = try makeChannel()
        try write(channel, bytes)
        #expect(recorder.errors.map(\.message) == [message], "\(name)")
        #expect(recorder.readBytes.isEmpty, "\(name)")
        #expect(recorder.headers.isEmpty, "\(name)")
        #expect(!channel.isActive, "\(name)")
        #expect(recorder.events.last == .inactive)
        // Nothing written back to the peer either.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    /// Refused byte by byte too: a bad byte ends the connection as soon as it arrives.
    @Test func refusesAsSoonAsAByteRulesTheHeaderOut() throws {
        let (channel, recorder) = try makeChannel()
        for byte in Array("PROXY TCP4 ".utf8) {
            try write(channel, [byte])
        }
        #expect(channel.isActive)
        try write(channel, Array("1.2.3.4 5.6.7.8 1 2\n".utf8))
        #expect(!channel.isActive)
        #expect(recorder.errors.map(\.message) == ["malformed PROXY v1 header: the line does not end in CRLF"])

        let (second, secondRecorder) = try makeChannel()
        try write(second, Array(Bytes.signature[..<5]))
        #expect(second.isActive)
        try write(second, [0x44])
        #expect(!second.isActive)
        #expect(secondRecorder.errors.map(\.message) == ["the connection did not start with a PROXY protocol v1 or v2 header"])
    }

    @Test func bytesAfterARefusalAreDropped() throws {
        let channel = EmbeddedChannel()
        let recorder = ProxyProtocolRecorder()
        let decoder = ProxyProtocolDecoder()
        try channel.pipeline.syncOperations.addHandler(decoder)
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.connect(to: Self.balancer).wait()
        // Drive the decoder directly: an embedded channel stops delivering once closed, a socket may still have a read in flight.
        let context = try channel.pipeline.syncOperations.context(handler: decoder)
        decoder.channelRead(context: context, data: NIOAny(ByteBuffer(bytes: [0x16, 0x03, 0x01])))
        decoder.channelRead(context: context, data: NIOAny(ByteBuffer(bytes: Bytes.v1("PROXY UNKNOWN\r\n"))))
        decoder.channelReadComplete(context: context)
        #expect(recorder.readBytes.isEmpty)
        #expect(recorder.headers.isEmpty)
        #expect(!recorder.events.contains(.readComplete))
        #expect(recorder.errors.count == 1)
    }

    // MARK: - Timeout

    @Test func missingHeaderTimesOut() throws {
        let (channel, recorder) = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(recorder.errors.map(\.message) == ["no complete PROXY protocol header within the header timeout"])
        #expect(recorder.errors.first?.isTimeout == true)
    }

    @Test func partialHeaderTimesOutWithTheConfiguredTimeout() throws {
        let (channel, recorder) = try makeChannel(headerTimeout: .milliseconds(250))
        try write(channel, Array("PROXY TCP4 203.0.113.7".utf8))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(249))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(recorder.errors.first?.isTimeout == true)
        #expect(recorder.readBytes.isEmpty)
    }

    @Test func timeoutIsCancelledByTheHeader() throws {
        let (channel, recorder) = try makeChannel(headerTimeout: .seconds(1))
        try write(channel, Bytes.v2(command: 0, family: 0, transport: 0, payload: []))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive)
        #expect(recorder.errors.isEmpty)
    }

    /// Added to a channel that is not active yet (as in a server's child initializer), the clock starts
    /// when the connection does.
    @Test func timeoutStartsWhenTheChannelBecomesActive() throws {
        let channel = EmbeddedChannel()
        let recorder = ProxyProtocolRecorder()
        try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder(headerTimeout: .seconds(1)))
        try channel.pipeline.syncOperations.addHandler(recorder)
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.connect(to: Self.balancer).wait()
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    // MARK: - Peer closing

    @Test func peerClosingBeforeTheHeaderIsNotAnError() throws {
        let (channel, recorder) = try makeChannel()
        try write(channel, Array("PROXY TCP".utf8))
        channel.pipeline.syncOperations.fireChannelInactive()
        #expect(recorder.events == [.inactive])
        // The timer is gone with the connection.
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(recorder.errors.isEmpty)
    }

    @Test func halfClosedBeforeTheHeaderCloses() throws {
        let (channel, recorder) = try makeChannel()
        try write(channel, Array("PROXY TCP".utf8))
        channel.pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
        #expect(recorder.readBytes.isEmpty)
        #expect(recorder.errors.isEmpty)
    }

    @Test func otherEventsPassThroughWhileWaiting() throws {
        struct Ping: Equatable {}
        let (channel, recorder) = try makeChannel()
        channel.pipeline.syncOperations.fireUserInboundEventTriggered(Ping())
        #expect(channel.isActive)
        #expect(recorder.events.isEmpty)  // the recorder notes only PROXY headers; the event went through without closing
        try write(channel, Bytes.v1("PROXY UNKNOWN\r\n"))
        #expect(recorder.headers == [ProxyProtocolHeader(source: Self.balancer, destination: Self.listener)])
    }

    /// A handler that refuses the client named in the header may close at once: the payload is then not passed on.
    @Test func closingInAnswerToTheHeaderStopsThePayload() throws {
        final class Refuser: ChannelInboundHandler {
            typealias InboundIn = ByteBuffer
            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if event is ProxyProtocolHeader { context.close(promise: nil) }
                context.fireUserInboundEventTriggered(event)
            }
        }
        let channel = EmbeddedChannel()
        let recorder = ProxyProtocolRecorder()
        try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder())
        try channel.pipeline.syncOperations.addHandler(Refuser())
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.connect(to: Self.balancer).wait()
        try write(channel, Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n") + Bytes.clientHelloStart)
        #expect(!channel.isActive)
        #expect(recorder.readBytes.isEmpty)
    }
}

/// What the connection handler asks of every PROXY header's source and every direct peer.
@Suite("TrustedProxies and SocketAddress")
struct TrustedProxiesSocketAddressTests {
    @Test func matchesSocketAddressesByTheirBytes() throws {
        let list = try TrustedProxies.parse("10.0.0.0/8, 2001:db8::/32")
        #expect(list.contains(try SocketAddress(ipAddress: "10.1.2.3", port: 1)))
        #expect(list.contains(try SocketAddress(ipAddress: "10.255.255.255", port: 65535)))
        #expect(!list.contains(try SocketAddress(ipAddress: "11.0.0.1", port: 1)))
        #expect(!list.contains(try SocketAddress(ipAddress: "9.255.255.255", port: 1)))
        #expect(list.contains(try SocketAddress(ipAddress: "2001:db8::1", port: 1)))
        #expect(!list.contains(try SocketAddress(ipAddress: "2001:db9::1", port: 1)))
        // A dual-stack socket's IPv4 peer.
        #expect(list.contains(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 1)))
        #expect(!list.contains(try SocketAddress(ipAddress: "::ffff:11.0.0.1", port: 1)))
        #expect(!list.contains(try SocketAddress(unixDomainSocketPath: "/tmp/porthole.sock")))
        #expect(!TrustedProxies.none.contains(try SocketAddress(ipAddress: "10.1.2.3", port: 1)))
    }

    /// The addresses the decoder builds from header bytes are the ones the list is asked about.
    @Test func matchesDecodedSources() throws {
        let list = try TrustedProxies.parse("203.0.113.0/24,2001:db8::7")
        let v2 = try ProxyProtocolParser.parse(
            ByteBuffer(bytes: ProxyProtocolBytes.v2(family: 1, payload: ProxyProtocolBytes.ipv4Block([203, 0, 113, 7], [192, 0, 2, 1], 1, 2))),
            maximumV2Length: 2048
        )
        guard case .header(.ip(let source, _), _) = v2 else {
            Issue.record("not decoded: \(v2)")
            return
        }
        #expect(list.contains(source))
        let v1 = try ProxyProtocolParser.parse(ByteBuffer(bytes: ProxyProtocolBytes.v1("PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n")), maximumV2Length: 2048)
        guard case .header(.ip(let source6, _), _) = v1 else {
            Issue.record("not decoded: \(v1)")
            return
        }
        #expect(list.contains(source6))
        #expect(source6.ipAddress == "2001:db8::7")
    }
}

// MARK: - Support

/// Builders for PROXY protocol headers in tests, spelled out byte by byte after haproxy's
/// `proxy-protocol.txt` rather than produced by the code under test.
enum ProxyProtocolBytes {
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func v1(_ line: String) -> [UInt8] {
        Array(line.utf8)
    }

    /// A v2 header: command 0 LOCAL / 1 PROXY, family 0 UNSPEC / 1 INET / 2 INET6 / 3 UNIX,
    /// transport 0 UNSPEC / 1 STREAM / 2 DGRAM, then `payload` (addresses and TLVs).
    static func v2(version: UInt8 = 2, command: UInt8 = 1, family: UInt8, transport: UInt8 = 1, payload: [UInt8]) -> [UInt8] {
        signature + [version << 4 | command, family << 4 | transport, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
    }

    static func ipv4Block(_ source: [UInt8], _ destination: [UInt8], _ sourcePort: UInt16, _ destinationPort: UInt16) -> [UInt8] {
        source + destination + port(sourcePort) + port(destinationPort)
    }

    static func ipv6Block(_ source: [UInt8], _ destination: [UInt8], _ sourcePort: UInt16, _ destinationPort: UInt16) -> [UInt8] {
        precondition(source.count == 16 && destination.count == 16)
        return source + destination + port(sourcePort) + port(destinationPort)
    }

    static func port(_ value: UInt16) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    /// A TLV: type, 16-bit length, value.
    static func tlv(_ type: UInt8, _ value: [UInt8]) -> [UInt8] {
        [type, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }

    /// The first bytes of a TLS 1.2/1.3 ClientHello record, as a client sends them after the header.
    static let clientHelloStart: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0xAB, count: 32)
}

/// Sits after the decoder and writes down everything that reaches it, in order.
final class ProxyProtocolRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Event: Equatable {
        case header(ProxyProtocolHeader)
        case read([UInt8])
        case readComplete
        case error(ProxyProtocolError)
        case otherError(String)
        case inactive
    }

    var events: [Event] = []
    /// The buffers as they arrived, to check that the payload was not copied.
    var buffers: [ByteBuffer] = []

    var headers: [ProxyProtocolHeader] {
        events.compactMap { if case .header(let header) = $0 { header } else { nil } }
    }

    var readBytes: [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .read(let bytes) = event { return bytes }
            return []
        }
    }

    var errors: [ProxyProtocolError] {
        events.compactMap { if case .error(let error) = $0 { error } else { nil } }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        buffers.append(buffer)
        events.append(.read(Array(buffer.readableBytesView)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        events.append(.readComplete)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let header = event as? ProxyProtocolHeader { events.append(.header(header)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProxyProtocolError {
            events.append(.error(error))
        } else {
            events.append(.otherError("\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        events.append(.inactive)
    }
}
