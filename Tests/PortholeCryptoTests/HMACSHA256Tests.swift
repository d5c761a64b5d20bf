import PortholeCore
import PortholeCrypto
import Testing

@Suite("HMACSHA256")
struct HMACSHA256Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let message: [UInt8]
        let mac: String
        var testDescription: String { name }
    }

    /// RFC 4231 §4 (test case 5 is a truncated MAC and does not apply).
    static let vectors: [Vector] = [
        Vector(
            name: "RFC 4231 case 1", key: [UInt8](repeating: 0x0B, count: 20), message: Array("Hi There".utf8),
            mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(
            name: "RFC 4231 case 2", key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8),
            mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(
            name: "RFC 4231 case 3", key: [UInt8](repeating: 0xAA, count: 20), message: [UInt8](repeating: 0xDD, count: 50),
            mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Vector(
            name: "RFC 4231 case 4", key: Array(1...25), message: [UInt8](repeating: 0xCD, count: 50),
            mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Vector(
            name: "RFC 4231 case 6", key: [UInt8](repeating: 0xAA, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Vector(
            name: "RFC 4231 case 7", key: [UInt8](repeating: 0xAA, count: 131),
            message: Array(
                "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .utf8),
            mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        Vector(
            name: "empty key and message", key: [], message: [],
            mac: "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
    ]

    @Test(arguments: vectors)
    func matchesKnownAnswers(_ vector: Vector) {
        let mac = HMACSHA256.authenticationCode(for: vector.message, key: vector.key)
        #expect(mac.count == HMACSHA256.byteCount)
        #expect(ASCIIByte.hexString(mac) == vector.mac)
        // The non-contiguous path (a lazy sequence) must agree with the contiguous one.
        #expect(HMACSHA256.authenticationCode(for: vector.message.lazy.map { $0 }, key: vector.key) == mac)
        let fromBuffer = vector.message.withUnsafeBytes { HMACSHA256.authenticationCode(for: $0, key: vector.key) }
        #expect(fromBuffer == mac)
    }

    @Test(arguments: vectors)
    func preparedKeyGivesTheSameCodes(_ vector: Vector) {
        let key = HMACSHA256.Key(vector.key)
        #expect(ASCIIByte.hexString(key.authenticationCode(for: vector.message)) == vector.mac)
        // A message in two parts is the same message, wherever it is split; the key is reused each time.
        for split in [0, 1, vector.message.count / 2, vector.message.count] where split <= vector.message.count {
            let first = vector.message[..<split]
            let second = vector.message[split...]
            #expect(ASCIIByte.hexString(key.authenticationCode(for: first, second)) == vector.mac)
            #expect(key.isAuthenticationCode(HMACSHA256.authenticationCode(for: vector.message, key: vector.key), for: first, second))
        }
        // Not contiguous (a lazy sequence): copied, same code.
        #expect(ASCIIByte.hexString(key.authenticationCode(for: vector.message.lazy.map { $0 })) == vector.mac)
    }

    @Test func preparedKeyRejectsAnyOtherCode() {
        let key = HMACSHA256.Key([UInt8](repeating: 7, count: 32))
        let message = Array("porthole".utf8)
        let code = key.authenticationCode(for: message)
        #expect(key.isAuthenticationCode(code, for: message, []))
        for index in code.indices {
            var flipped = code
            flipped[index] ^= 0x01
            #expect(!key.isAuthenticationCode(flipped, for: message, []))
        }
        #expect(!key.isAuthenticationCode(code.dropLast(), for: message, []))
        #expect(!key.isAuthenticationCode(code + [0], for: message, []))
        #expect(!key.isAuthenticationCode(code, for: Array("porthold".utf8), []))
        #expect(!HMACSHA256.Key([UInt8](repeating: 8, count: 32)).isAuthenticationCode(code, for: message, []))
    }

    @Test func emptyKeyIsNotTheKeyOfAPreviousCall() {
        // OpenSSL's HMAC_Init_ex treats a NULL key as "keep the previous one"; the wrapper must never pass NULL.
        _ = HMACSHA256.authenticationCode(for: Array("x".utf8), key: Array("Jefe".utf8))
        #expect(
            ASCIIByte.hexString(HMACSHA256.authenticationCode(for: [], key: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func keyAndMessageBothMatter() {
        let key = [UInt8](repeating: 1, count: 32)
        let base = HMACSHA256.authenticationCode(for: Array("message".utf8), key: key)
        #expect(HMACSHA256.authenticationCode(for: Array("messagf".utf8), key: key) != base)
        var otherKey = key
        otherKey[31] ^= 1
        #expect(HMACSHA256.authenticationCode(for: Array("message".utf8), key: otherKey) != base)
        // RFC 2104 pads short keys with zeros, so appending a zero byte gives the same MAC: a property of
        // HMAC, and a reason secrets are random bytes of fixed length rather than user-chosen strings.
        #expect(HMACSHA256.authenticationCode(for: Array("message".utf8), key: key + [0]) == base)
        #expect(HMACSHA256.authenticationCode(for: "message".utf8, key: key) == base)
    }
}
