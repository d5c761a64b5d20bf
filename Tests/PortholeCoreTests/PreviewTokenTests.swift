import PortholeTestSupport
import PortholeCore
import Testing

@Suite("PreviewToken")
struct PreviewTokenTests {
    @Test func generatesThirtyTwoRandomBytesAsBase64URL() throws {
        var seen = Set<String>()
        for _ in 0..<200 {
            let token = PreviewToken.generate()
            #expect(token.utf8.count == 43)
            #expect(
                token.utf8.allSatisfy { byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                })
            let bytes = try #require(Base64URL.decode(token))
            #expect(bytes.count == PreviewToken.byteCount)
            seen.insert(token)
        }
        #expect(seen.count == 200)
    }

    @Test func injectedGeneratorIsDeterministic() {
        var a = SplitMix64(state: 7)
        var b = SplitMix64(state: 7)
        var c = SplitMix64(state: 8)
        let first = PreviewToken.generate(using: &a)
        #expect(first == PreviewToken.generate(using: &b))
        #expect(first != PreviewToken.generate(using: &c))
        #expect(first != PreviewToken.generate(using: &a))
    }
}
