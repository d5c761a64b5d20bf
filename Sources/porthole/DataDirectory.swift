import Foundation
import PortholeCore
import PortholeNIOUtilities

/// `./.porthole/` by default: the SQLite database and generated secrets, readable by the owner only.
struct DataDirectory {
    let path: String

    var databasePath: String { path + "/porthole.sqlite" }

    /// Files an earlier start leaves beside the database. `serve` and the direct-store CLI make the
    /// database first, so finding any of them without it means the database was lost.
    static let earlierStartFiles = ["cookie-secret", "admin-token", "porthole.sqlite-wal"]

    /// Refuses to let a new, empty database be made where one evidently existed (deleted, moved,
    /// a volume not mounted): every sandbox would silently become unknown (404), and a leftover
    /// write-ahead log could be replayed into the new file. `allowedBy` tells how to say "yes,
    /// start empty" (it differs between `serve` and `porthole sandbox`).
    func checkDatabase(mayCreate: Bool, allowedBy: String) throws {
        let manager = FileManager.default
        guard !mayCreate, !manager.fileExists(atPath: databasePath) else { return }
        let found = Self.earlierStartFiles.filter { manager.fileExists(atPath: path + "/" + $0) }
        guard !found.isEmpty else { return }
        throw DataDirectoryError(
            "the policy database \(databasePath) is missing, but the data directory \(path) holds what an earlier start left there "
                + "(\(found.joined(separator: ", "))): the database that belongs with it was deleted or moved, or this is not the volume it was on. "
                + "Refusing to create a new, empty one, which would answer 404 for every sandbox. "
                + "Restore porthole.sqlite into \(path) from a backup; or, to start over with no sandboxes, \(allowedBy)."
        )
    }

    /// The key that signs session cookies: from settings (hex, shared by every instance behind a
    /// balancer), else generated once into `cookie-secret` (mode 0600).
    func cookieSecret(configured: String?) throws -> [UInt8] {
        if let configured { return try Self.configuredSecret(configured) }
        let file = path + "/cookie-secret"
        if let data = FileManager.default.contents(atPath: file) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Self.secretBytes(text) else {
                throw DataDirectoryError("\(file) is damaged: expected 64 hex digits; delete it to generate a new one (signs users out)")
            }
            return bytes
        }
        try PrivateDirectory.create(path)
        let text = Self.newSecret()
        guard FileManager.default.createFile(atPath: file, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw DataDirectoryError("cannot write \(file)")
        }
        return Self.secretBytes(text)!
    }

    /// The data directory's cookie secret as hex, if it has one (for `porthole store migrate`).
    func existingCookieSecret() -> String? {
        guard let data = FileManager.default.contents(atPath: path + "/cookie-secret") else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Self.secretBytes(text) == nil ? nil : text
    }

    /// A secret from settings: at least 32 bytes of hex.
    static func configuredSecret(_ text: String) throws -> [UInt8] {
        guard let bytes = secretBytes(text) else {
            throw DataDirectoryError("cookie-secret must be at least 64 hex digits (32 bytes)")
        }
        return bytes
    }

    /// The bytes of a hex secret of at least 32 bytes.
    static func secretBytes(_ text: String) -> [UInt8]? {
        guard let bytes = ASCIIByte.bytes(fromHex: text), bytes.count >= 32 else { return nil }
        return bytes
    }

    /// 32 random bytes as hex.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return ASCIIByte.hexString((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

struct DataDirectoryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
