import PortholeTestSupport
import PortholeCore
import PortholeCrypto
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

    @Test(arguments: [
        ("", "", true),
        ("a", "a", true),
        ("token", "token", true),
        ("token", "Token", false),
        ("token", "tokex", false),
        ("token", "xoken", false),
        ("token", "toke", false),
        ("toke", "token", false),
        ("", "x", false),
        ("x", "", false),
        ("é", "e\u{301}", false),  // canonically equal Strings, different bytes: a token is bytes
        ("\u{0}", "", false),
    ])
    func comparesBytes(_ a: String, _ b: String, _ equal: Bool) {
        #expect(ConstantTime.equals(a, b) == equal)
        #expect(ConstantTime.equals(b, a) == equal)
        #expect(ConstantTime.equals(Array(a.utf8), Array(b.utf8)) == equal)
        #expect(ConstantTime.equals(a[...], b) == equal)
    }

    @Test func everySingleByteDifferenceIsDetected() {
        let token = Array(PreviewToken.generate().utf8)
        #expect(ConstantTime.equals(token, token))
        for index in token.indices {
            for bit in 0..<8 {
                var other = token
                other[index] ^= 1 << bit
                #expect(!ConstantTime.equals(token, other))
            }
        }
    }

    @Test func worksOnNonContiguousCollections() {
        let a = Array("secret".utf8)
        #expect(ConstantTime.equals(a.reversed().reversed(), a))
        #expect(!ConstantTime.equals(a.reversed(), a))
    }
}
