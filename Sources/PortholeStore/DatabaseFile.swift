import Logging
import PortholeNIOUtilities

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates the database's directory and file with owner-only permissions before SQLite opens it.
///
/// SQLite would create the file with 0644 minus the umask; the database holds preview tokens, so
/// it must not be readable by other users. SQLite gives the `-wal` and `-shm` files the mode of
/// the database file, so creating that one right covers all three.
enum DatabaseFile {
    /// Returns the file's identity, whose descriptor stays open for the store's whole life.
    static func prepare(path: String, logger: Logger) throws -> DatabaseFileIdentity {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            do {
                try PrivateDirectory.create(String(path[..<slash]))
            } catch {
                throw PolicyStoreError.unavailable(error.description)
            }
        }

        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PolicyStoreError.unavailable(
                "cannot create or open \(path): \(Self.lastError()); check the path and its permissions"
            )
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & 0o077 != 0 {
            if fchmod(fd, 0o600) == 0 {
                logger.warning(
                    "policy database was readable by other users; restricted it to mode 0600",
                    metadata: ["path": "\(path)"]
                )
            } else {
                logger.warning(
                    "policy database is readable by other users and its mode cannot be changed",
                    metadata: ["path": "\(path)", "error": "\(Self.lastError())"]
                )
            }
        }
        return try DatabaseFileIdentity(path: path, descriptor: fd)
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
