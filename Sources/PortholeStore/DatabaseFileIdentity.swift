#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file a store opened, so that deleting, moving or replacing it under a running
/// process is noticed.
///
/// SQLite keeps using the inode it opened: after `rm`, or a `mv` or restore over the path, writes
/// would still succeed (and be called durable) in a file that no later start opens, and the next
/// start would find an empty or a different database.
///
/// It holds a descriptor of its own on the file: `fstat` of it tells whether the inode still has a
/// name (`st_nlink`), and while it is open the inode number cannot be reused by a new file at the
/// path. Close it only after SQLite has closed the database: closing any descriptor of a file drops
/// the process's POSIX locks on it, SQLite's included.
struct DatabaseFileIdentity: Sendable {
    /// How the path and the opened file parted.
    enum Change: Sendable, Hashable, CustomStringConvertible {
        /// The opened file has no name left (`rm`, or its directory removed).
        case deleted
        /// The opened file still has a name, but nothing is at the path any more.
        case moved
        /// Another file is at the path (a restore, `mv` or `cp` over it).
        case replaced

        var description: String {
            switch self {
            case .deleted: "deleted"
            case .moved: "moved away"
            case .replaced: "replaced by another file"
            }
        }
    }

    let path: String
    private let descriptor: CInt
    private let device: UInt64
    private let inode: UInt64

    /// Takes ownership of `descriptor`, an open descriptor of the file at `path`.
    init(path: String, descriptor: CInt) throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = Self.closeDescriptor(descriptor)
            throw PolicyStoreError.unavailable("cannot stat \(path): \(reason)")
        }
        self.path = path
        self.descriptor = descriptor
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
    }

    /// How the path no longer names the opened file, or `nil` while it still does. Two `stat`
    /// calls, no I/O on the file. An error other than "no such file" (a permission change, an I/O
    /// error) is not taken as a change while the opened file still has a name: the next check
    /// looks again.
    func change() -> Change? {
        var current = stat()
        if stat(self.path, &current) == 0 {
            let same = UInt64(current.st_dev) == self.device && UInt64(current.st_ino) == self.inode
            return same ? nil : .replaced
        }
        let missing = errno == ENOENT || errno == ENOTDIR
        var opened = stat()
        if fstat(self.descriptor, &opened) == 0, opened.st_nlink == 0 {
            return .deleted
        }
        return missing ? .moved : nil
    }

    /// Releases the descriptor; only after SQLite closed the database (see the type's comment).
    func close() {
        _ = Self.closeDescriptor(self.descriptor)
    }

    private static func closeDescriptor(_ descriptor: CInt) -> CInt {
        #if canImport(Darwin)
        Darwin.close(descriptor)
        #elseif canImport(Musl)
        Musl.close(descriptor)
        #else
        Glibc.close(descriptor)
        #endif
    }
}
