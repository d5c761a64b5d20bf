import PortholeDNS
import Testing

@Suite("DNS over TCP framing")
struct DNSTCPFramingTests {
    @Test func framesWithALengthPrefix() throws {
        #expect(try DNSTCPFraming.frame([1, 2, 3]) == [0, 3, 1, 2, 3])
        #expect(try DNSTCPFraming.frame([]) == [0, 0])
        let largest = [UInt8](repeating: 7, count: 65535)
        #expect(try DNSTCPFraming.frame(largest).prefix(2) == [0xFF, 0xFF])
        #expect(message { try DNSTCPFraming.frame(largest + [7]) } == "the message is 65536 bytes long; a DNS message is at most 65535")
    }

    @Test func decodesMessagesSplitAnywhere() throws {
        let messages: [[UInt8]] = [Packet.pypiQuery, Packet.query("a.example"), [], Packet.pypiAnswer]
        let stream = try messages.flatMap { message throws(DNSMessageError) in try DNSTCPFraming.frame(message) }
        // Every chunk size from one byte to the whole stream at once.
        for chunk in 1...stream.count {
            var decoder = DNSTCPFrameDecoder()
            var decoded: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                decoder.append(stream[offset..<min(stream.count, offset + chunk)])
                offset += chunk
                while let message = decoder.nextMessage() { decoded.append(message) }
            }
            #expect(decoded == messages, "chunk size \(chunk)")
            #expect(decoder.isEmpty)
        }
    }

    @Test func holdsAPartialMessage() {
        var decoder = DNSTCPFrameDecoder()
        #expect(decoder.nextMessage() == nil)
        decoder.append([0])
        #expect(decoder.nextMessage() == nil)
        decoder.append([3, 1, 2])
        #expect(decoder.nextMessage() == nil)
        #expect(decoder.bufferedByteCount == 4)
        #expect(!decoder.isEmpty)
        decoder.append([3, 0, 1])
        #expect(decoder.nextMessage() == [1, 2, 3])
        #expect(decoder.nextMessage() == nil)
        #expect(decoder.bufferedByteCount == 2)
        decoder.append([9])
        #expect(decoder.nextMessage() == [9])
        #expect(decoder.isEmpty)
    }

    @Test func largestMessageRoundTrips() throws {
        var decoder = DNSTCPFrameDecoder()
        let largest = [UInt8](repeating: 0xAB, count: 65535)
        decoder.append(try DNSTCPFraming.frame(largest))
        #expect(decoder.nextMessage() == largest)
    }
}
