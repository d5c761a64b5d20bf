import PortholeCore
import Testing

@Suite("ASCIIByte and PercentEncoding")
struct ASCIIByteTests {
    @Test func hexValueOfEveryByte() {
        for byte in UInt8.min...UInt8.max {
            let expected = UInt8(String(Character(Unicode.Scalar(byte))), radix: 16)
            // `UInt8(_:radix:)` also takes a leading sign: not a hex digit here.
            let digit: UInt8? = byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") ? nil : expected
            #expect(ASCIIByte.hexValue(byte) == digit, "byte \(byte)")
        }
    }

    @Test func lowercasedFoldsOnlyLetters() {
        for byte in UInt8.min...UInt8.max {
            let expected = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
            #expect(ASCIIByte.lowercased(byte) == expected, "byte \(byte)")
        }
    }

    @Test(
        arguments: [
            ("", [UInt8]()), ("00ff", [0, 255]), ("A0b1", [0xA0, 0xB1]),
        ] as [(String, [UInt8])])
    func hexRoundTrips(_ text: String, _ bytes: [UInt8]) {
        #expect(ASCIIByte.bytes(fromHex: text) == bytes)
        #expect(ASCIIByte.hexString(bytes) == text.lowercased())
    }

    @Test(arguments: ["0", "abc", "0g", "+1", " 1", "1 "])
    func notHex(_ text: String) {
        #expect(ASCIIByte.bytes(fromHex: text) == nil)
    }

    @Test(
        arguments: [
            ("a%20b", false, "a b"), ("a+b", false, "a+b"), ("a+b", true, "a b"), ("%2B", true, "+"),
            ("%e2%82%AC", false, "€"), ("100%", false, "100%"), ("%4", false, "%4"), ("%zz", false, "%zz"),
            ("%%41", false, "%A"), ("", false, ""),
        ] as [(String, Bool, String)])
    func percentDecodes(_ text: String, _ plusAsSpace: Bool, _ expected: String) {
        #expect(PercentEncoding.decode(text, plusAsSpace: plusAsSpace) == expected)
    }

    @Test(arguments: [
        ("abc-._~XYZ09", "abc-._~XYZ09"), ("a b", "a%20b"), ("a/b?c#d&e=f", "a%2Fb%3Fc%23d%26e%3Df"), ("€", "%E2%82%AC"),
        ("\u{0}", "%00"), ("+%", "%2B%25"),
    ])
    func percentEncodesAllButUnreserved(_ text: String, _ expected: String) {
        #expect(PercentEncoding.encode(text) == expected)
        #expect(PercentEncoding.decode(expected) == text)
    }
}
