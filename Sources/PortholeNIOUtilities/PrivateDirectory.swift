#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `mkdir -p` for directories that hold secrets (the policy database, the admin token, private
/// keys): every directory it creates gets mode 0700; existing ones are left as they are.
public enum PrivateDirectory {
    /// Creates `path` and its missing parents. The error names the directory that failed and why.
    public static func create(_ path: String) throws(PrivateDirectoryError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw PrivateDirectoryError(path: path, reason: "exists and is not a directory")
            }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try create(String(path[..<slash]))
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw PrivateDirectoryError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

/// A directory ``PrivateDirectory`` could not create.
public struct PrivateDirectoryError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public var description: String { "cannot create directory \(path): \(reason)" }
}
