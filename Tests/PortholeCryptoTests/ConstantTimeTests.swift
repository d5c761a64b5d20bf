import PortholeCore
import PortholeCrypto
import Testing

@Suite("ConstantTime")
struct ConstantTimeTests {
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
