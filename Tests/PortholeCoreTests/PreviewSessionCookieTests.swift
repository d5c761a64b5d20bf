import PortholeCore
import PortholeCrypto
import Testing

@Suite("PreviewSessionCookie")
struct PreviewSessionCookieTests {
    static let secret = [UInt8](repeating: 0x5A, count: 32)
    static let otherSecret = [UInt8](repeating: 0x5B, count: 32)
    static let expiry: Int64 = 1_700_086_400

    static func issue(
        sandboxID: String = "abc123", port: UInt16 = 3000, generation: UInt32 = 1, expiresAt: Int64 = expiry, secret: [UInt8] = secret
    ) -> String {
        PreviewSessionCookie.issue(sandboxID: sandboxID, port: port, tokenGeneration: generation, expiresAt: expiresAt, secret: secret)
    }

    static func verify(
        _ value: String, sandboxID: String = "abc123", port: UInt16 = 3000, generation: UInt32 = 1,
        now: Int64 = expiry - 3600, secret: [UInt8] = secret
    ) -> Bool {
        PreviewSessionCookie.verify(value, sandboxID: sandboxID, port: port, tokenGeneration: generation, now: now, secret: secret)
    }

    @Test func issuedValueVerifies() {
        let value = Self.issue()
        #expect(Self.verify(value))
        #expect(
            PreviewSessionCookie.verify(
                utf8: Array(value.utf8), sandboxID: "abc123", port: 3000, tokenGeneration: 1, now: Self.expiry - 1, secret: Self.secret
            ))
        #expect(
            PreviewSessionCookie.verify(
                value[...], sandboxID: "abc123", port: 3000, tokenGeneration: 1, now: 0, secret: Self.secret
            ))
    }

    @Test func valueIsTwoBase64URLPartsSafeInACookie() throws {
        let value = Self.issue(sandboxID: String(repeating: "z", count: 63), port: 65535, generation: .max, expiresAt: .max)
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 2)
        #expect(try #require(Base64URL.decode(parts[1])).count == 32)
        #expect(value.utf8.count < 200)
        // RFC 6265 cookie-octets exclude space, DQUOTE, comma, semicolon and backslash.
        #expect(value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && ![0x22, 0x2C, 0x3B, 0x5C].contains($0) })
    }

    @Test func issuingIsDeterministic() {
        #expect(Self.issue() == Self.issue())
        #expect(Self.issue(secret: Self.otherSecret) != Self.issue())
    }

    @Test(arguments: [
        (expiry - 86_400, true),
        (expiry - 1, true),
        (expiry, false),  // expiresAt is exclusive
        (expiry + 1, false),
        (Int64.max, false),
        (Int64.min, true),
    ])
    func expiresAtIsExclusive(_ now: Int64, _ valid: Bool) {
        #expect(Self.verify(Self.issue(), now: now) == valid)
    }

    @Test func extremeExpiriesRoundTrip() {
        #expect(Self.verify(Self.issue(expiresAt: .max), now: .max - 1))
        #expect(!Self.verify(Self.issue(expiresAt: .max), now: .max))
        #expect(!Self.verify(Self.issue(expiresAt: 0), now: 0))
        #expect(Self.verify(Self.issue(expiresAt: -10), now: -11))
        #expect(!Self.verify(Self.issue(expiresAt: -10), now: 100))
    }

    @Test(arguments: ["abc12", "abc1234", "ABC123", "abc124", "xbc123", "", "abc123 "])
    func boundToTheSandbox(_ other: String) {
        #expect(!Self.verify(Self.issue(), sandboxID: other))
    }

    @Test(arguments: [0 as UInt16, 1, 2999, 3001, 30000, 65535])
    func boundToThePort(_ other: UInt16) {
        #expect(!Self.verify(Self.issue(), port: other))
    }

    @Test(arguments: [0 as UInt32, 2, 3, 256, 1 << 24, .max])
    func boundToTheTokenGeneration(_ other: UInt32) {
        // A rotation bumps the generation; every older session must stop working, and no newer one can be pre-made.
        #expect(!Self.verify(Self.issue(generation: 1), generation: other))
    }

    @Test func everyGenerationVerifiesOnlyItself() {
        for generation: UInt32 in [0, 1, 2, 255, 256, 65_536, .max] {
            let value = Self.issue(generation: generation)
            #expect(Self.verify(value, generation: generation))
            #expect(!Self.verify(value, generation: generation &+ 1))
            #expect(!Self.verify(value, generation: generation &- 1))
        }
    }

    @Test func boundToTheSecret() {
        #expect(!Self.verify(Self.issue(), secret: Self.otherSecret))
        #expect(!Self.verify(Self.issue(), secret: Self.secret + [1]))
        var flipped = Self.secret
        flipped[31] ^= 0x80
        #expect(!Self.verify(Self.issue(), secret: flipped))
    }

    @Test func everyTamperedCharacterIsRejected() {
        let value = Array(Self.issue().utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for index in value.indices where value[index] != UInt8(ascii: ".") {
            for replacement in [alphabet[(alphabet.firstIndex(of: value[index])! + 1) % 64], UInt8(ascii: "A"), UInt8(ascii: "_")]
            where replacement != value[index] {
                var tampered = value
                tampered[index] = replacement
                #expect(!Self.verify(String(decoding: tampered, as: UTF8.self)), "index \(index)")
            }
        }
    }

    @Test func payloadAndMACCannotBeMixedAcrossCookies() {
        let mine = Self.issue(sandboxID: "abc123")
        let other = Self.issue(sandboxID: "evil")
        let minePayload = mine.split(separator: ".")[0]
        let otherMAC = other.split(separator: ".")[1]
        let otherPayload = other.split(separator: ".")[0]
        let mineMAC = mine.split(separator: ".")[1]
        #expect(!Self.verify("\(minePayload).\(otherMAC)"))
        #expect(!Self.verify("\(otherPayload).\(mineMAC)", sandboxID: "evil"))
    }

    @Test func forgedPayloadWithMACUnderTheWrongContextIsRejected() throws {
        // A MAC of the bare payload (no domain-separation prefix) with the right secret must not verify.
        let value = Self.issue()
        let payload = try #require(Base64URL.decode(value.split(separator: ".")[0]))
        let bareMAC = HMACSHA256.authenticationCode(for: payload, key: Self.secret)
        #expect(!Self.verify(Base64URL.encode(payload) + "." + Base64URL.encode(bareMAC)))
    }

    @Test(arguments: [
        "", ".", "..", "abc", "abc.", ".abc", "a.b.c",
        "porthole_session=x",
        "\"quoted\"",
    ])
    func rejectsMalformedValues(_ value: String) {
        #expect(!Self.verify(value))
    }

    @Test func rejectsStructuralDamage() {
        let value = Self.issue()
        let parts = value.split(separator: ".").map(String.init)
        #expect(!Self.verify(value + "."))
        #expect(!Self.verify(value + "A"))
        #expect(!Self.verify(value + "="))
        #expect(!Self.verify(parts[0] + "=." + parts[1]))
        #expect(!Self.verify(" " + value))
        #expect(!Self.verify(value + " "))
        #expect(!Self.verify("\"" + value + "\""))
        #expect(!Self.verify(parts[0]))
        #expect(!Self.verify(parts[1]))
        #expect(!Self.verify(parts[1] + "." + parts[0]))
        #expect(!Self.verify(parts[0] + "." + String(parts[1].dropLast(2))))  // a 31-byte MAC
        #expect(!Self.verify(parts[0] + "." + parts[1] + "." + parts[1]))
        #expect(!Self.verify(value + String(repeating: "A", count: 600)))
        // A standard-alphabet spelling is not accepted even if it decodes elsewhere.
        let standard = value.replacingOccurrences("-", "+").replacingOccurrences("_", "/")
        if standard != value { #expect(!Self.verify(standard)) }
    }

    @Test func setCookieHeaderIsHostOnlyAndLocked() {
        let header = PreviewSessionCookie.setCookieHeaderValue(value: "v.m", maxAge: 86_400)
        #expect(header == "__Host-porthole_session=v.m; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax")
        #expect(!header.lowercased().contains("domain"))
        #expect(PreviewSessionCookie.name == "__Host-porthole_session" && PreviewSessionCookie.legacyName == "porthole_session")
    }

    @Test func negativeMaxAgeIsClampedAndDeletionWorks() {
        #expect(
            PreviewSessionCookie.setCookieHeaderValue(value: "x", maxAge: -5)
                == "__Host-porthole_session=x; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
        #expect(
            PreviewSessionCookie.deletingSetCookieHeaderValue
                == "__Host-porthole_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    }

    @Test func shortSecretTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = PreviewSessionCookie.issue(sandboxID: "a", port: 1, tokenGeneration: 1, expiresAt: 1, secret: [UInt8](repeating: 1, count: 31))
        }
    }
}

extension String {
    /// Stdlib-only stand-in for Foundation's `replacingOccurrences(of:with:)` with single characters.
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
