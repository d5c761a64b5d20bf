import PortholeTestSupport
import PortholeCore
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    /// RFC 4648 §10 test vectors, without padding.
    @Test(arguments: [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: [
        ([0xFB, 0xFF] as [UInt8], "-_8"),
        ([0xFF, 0xFF, 0xFF], "____"),
        ([0xFB, 0xEF, 0xBE], "----"),
        ([0x00], "AA"),
        ([0x00, 0x00, 0x00], "AAAA"),
    ])
    func usesTheURLSafeAlphabet(_ bytes: [UInt8], _ encoded: String) {
        #expect(Base64URL.encode(bytes) == encoded)
        #expect(Base64URL.decode(encoded) == bytes)
    }

    @Test func roundTripsEveryLengthAndByte() {
        var generator = SplitMix64(state: 42)
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded.utf8.count == (length * 4 + 2) / 3)
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            #expect(Base64URL.decode(encoded) == bytes)
            #expect(Base64URL.decode(utf8: Array(encoded.utf8)) == bytes)
        }
        let all = (0...255).map(UInt8.init)
        #expect(Base64URL.decode(Base64URL.encode(all)) == all)
        #expect(Base64URL.encode(all[10..<20]) == Base64URL.encode(Array(all[10..<20])))
    }

    @Test(arguments: [
        "Zg==", "Zm8=", "Zg=", "=",  // padding is not part of the format
        "Zm9v+", "Zm9v/", "Zm+v", "Zm/v",  // standard alphabet
        "Z", "Zm9vY", "AAAAA",  // a lone final character is not a byte
        "Zh", "Zm-", "AB", "AAB",  // non-zero unused bits: a second spelling of the same bytes
        " Zg", "Zg ", "Zg\n", "Z g",  // whitespace
        "Zgé", "Zg\u{0}", "Zm9v.Zg",
    ])
    func rejectsNonCanonicalOrInvalidInput(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test func canonicalNeighboursStillDecode() {
        #expect(Base64URL.decode("Zg") == [0x66])
        #expect(Base64URL.decode("Zm8") == Array("fo".utf8))
        #expect(Base64URL.decode("AA") == [0])
        #expect(Base64URL.decode("AAA") == [0, 0])
        #expect(Base64URL.decode("Zm9vYmFy"[...]) == Array("foobar".utf8))
    }
}
