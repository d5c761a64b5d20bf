import Foundation
import Logging
import PortholeNIOUtilities
import PortholeAdmin

/// How the admin API is found and opened from the data directory:
///
/// - `admin-token` (mode 0600): the bearer token, generated on the first start unless
///   `PORTHOLE_ADMIN_TOKEN` (or `admin-token` in the config file) sets one.
/// - `admin-url`: `http://HOST:PORT` of the running server's admin listener, written once it
///   listens and removed on a clean shutdown, so `porthole sandbox …` given the same `--data-dir`
///   finds the server even on a port picked with `--admin-port 0`.
struct AdminCredentials {
    let dataDirectory: DataDirectory

    var tokenPath: String { dataDirectory.path + "/admin-token" }
    var urlPath: String { dataDirectory.path + "/admin-url" }

    /// The configured token, else the stored one, else a new one written to `admin-token`; where it is
    /// stored is logged once, when it is made. The token itself is never logged.
    func token(configured: String?, logger: Logger) throws -> String {
        if let configured {
            let token = configured.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.utf8.count >= AdminToken.minimumLength, !token.contains(where: \.isWhitespace) else {
                throw DataDirectoryError(
                    "admin-token must be at least \(AdminToken.minimumLength) characters without spaces (e.g. 32 random bytes in base64url)")
            }
            return token
        }
        if let stored = storedToken() {
            guard stored.utf8.count >= AdminToken.minimumLength else {
                throw DataDirectoryError("\(tokenPath) is damaged (too short); delete it to generate a new admin token")
            }
            return stored
        }
        try PrivateDirectory.create(dataDirectory.path)
        let token = AdminToken.generate()
        guard FileManager.default.createFile(atPath: tokenPath, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw DataDirectoryError("cannot write \(tokenPath)")
        }
        logger.notice("generated the admin API token; clients read it from this file or take it from PORTHOLE_ADMIN_TOKEN", metadata: ["path": "\(tokenPath)"])
        return token
    }

    func storedToken() -> String? {
        guard let data = FileManager.default.contents(atPath: tokenPath) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Records where the admin API listens; a wildcard bind address is reached through loopback.
    func writeURL(host: String, port: Int, logger: Logger) {
        let reachable: String
        switch host {
        case "0.0.0.0", "": reachable = "127.0.0.1"
        case "::", "[::]": reachable = "[::1]"
        default: reachable = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
        let text = "http://\(reachable):\(port)\n"
        if !FileManager.default.createFile(atPath: urlPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) {
            logger.warning("cannot write the admin API address file; pass --admin-url to porthole sandbox", metadata: ["path": "\(urlPath)"])
        }
    }

    func storedURL() -> String? {
        guard let data = FileManager.default.contents(atPath: urlPath) else { return nil }
        let url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return url.isEmpty ? nil : url
    }

    func removeURL() {
        try? FileManager.default.removeItem(atPath: urlPath)
    }
}
