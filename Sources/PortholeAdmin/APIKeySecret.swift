import PortholeCore
import PortholeCrypto

/// The text of an API key, `ph_<id>_<secret>`, and the one way its secret is hashed and checked.
///
/// The id (12 lowercase letters and digits) is public: it finds the stored key without scanning.
/// The secret is 32 random bytes in base64url; only its HMAC-SHA256 is stored, so a copy of the
/// database opens nothing. A plain keyed hash (not a slow password hash) is enough for 256 random
/// bits. Compared in constant time.
enum APIKeySecret {
    static let prefix = "ph_"
    /// As long as ``SandboxControlPlane/generatedID()``.
    static let idLength = 12

    /// Domain separation: this hash is never mistaken for another of Porthole's HMACs.
    private static let hashKey = Array("porthole api key v1".utf8)

    /// A new key: its id, its full text (shown once) and the hash to store.
    static func generate() -> (id: String, text: String, hash: String) {
        let id = SandboxControlPlane.generatedID()
        let secret = PreviewToken.generate()
        return (id, prefix + id + "_" + secret, hash(secret))
    }

    /// The id and secret of a presented key, or `nil` when it does not have a key's shape.
    static func parse(_ text: some StringProtocol) -> (id: String, secret: Substring)? {
        let text = Substring(text)
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        let id = rest.prefix(idLength)
        let afterID = rest.dropFirst(idLength)
        guard isValidID(id), afterID.first == "_", afterID.count > 1, afterID.count <= 128 else { return nil }
        return (String(id), afterID.dropFirst())
    }

    /// 12 lowercase letters and digits.
    static func isValidID(_ id: some StringProtocol) -> Bool {
        id.utf8.count == idLength && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    static func hash(_ secret: some StringProtocol) -> String {
        ASCIIByte.hexString(HMACSHA256.authenticationCode(for: Array(secret.utf8), key: hashKey))
    }

    /// Whether `secret` is the one whose hash was stored.
    static func matches(_ secret: some StringProtocol, storedHash: String) -> Bool {
        ConstantTime.equals(hash(secret), storedHash)
    }
}
