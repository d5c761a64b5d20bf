public import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The current ``TLSContext``, replaceable at run time when certificate files change on disk.
///
/// Each new connection asks for ``context`` once (one uncontended lock, not per byte) and keeps that
/// context for its whole life, so a reload never disturbs open connections. A reload that fails
/// keeps serving the previous certificates.
///
/// ```swift
/// var seen = store.fileFingerprint()
/// // every few seconds:
/// let now = store.fileFingerprint()
/// if now != seen { seen = now; try? store.reload() }   // or simply: try store.reloadIfChanged()
/// ```
public final class TLSCertificateStore: Sendable {
    private struct Loaded {
        var context: TLSContext
        /// The files' fingerprint taken just before the last load attempt, successful or not.
        var fingerprint: TLSFileFingerprint
    }

    /// The files this store loads from.
    public let configuration: TLSConfiguration
    private let logger: Logger
    private let loaded: NIOLockedValueBox<Loaded>

    /// Loads the certificates now; fails if any file cannot be used, so a server never starts without TLS.
    public init(configuration: TLSConfiguration, logger: Logger = Logger(label: "porthole.tls")) throws {
        self.configuration = configuration
        self.logger = logger
        let fingerprint = TLSFileFingerprint(configuration: configuration)
        let context = try TLSContext(configuration: configuration)
        self.loaded = NIOLockedValueBox(Loaded(context: context, fingerprint: fingerprint))
    }

    /// The context new connections should use.
    public var context: TLSContext {
        self.loaded.withLockedValue { $0.context }
    }

    /// Re-reads every certificate and key file and, if all load, makes them current for new connections.
    ///
    /// On failure the previous certificates stay in use, the error is logged, and it is thrown: a
    /// ``TLSError`` whose `file` names the offending file and whose `reason` is OpenSSL's.
    /// Session tickets issued before a reload no longer resume (new ticket keys); clients fall back to
    /// a full handshake.
    @discardableResult
    public func reload() throws -> TLSContext {
        let fingerprint = TLSFileFingerprint(configuration: self.configuration)
        // Build outside the lock: parsing keys is the slow part and new connections must not wait for it.
        let context: TLSContext
        do {
            context = try TLSContext(configuration: self.configuration)
        } catch {
            self.loaded.withLockedValue { $0.fingerprint = fingerprint }
            self.logger.error(
                "TLS certificate reload failed; keeping the previous certificates",
                metadata: ["error": "\(error)"]
            )
            throw error
        }
        self.loaded.withLockedValue { $0 = Loaded(context: context, fingerprint: fingerprint) }
        self.logger.info(
            "TLS certificates reloaded",
            metadata: ["names": "\(context.certificateNames.map { $0.joined(separator: ",") })"]
        )
        return context
    }

    /// Reloads only when the files' fingerprint differs from the one seen at the last attempt.
    /// Returns whether a reload was attempted and succeeded; throws as ``reload()`` does.
    @discardableResult
    public func reloadIfChanged() throws -> Bool {
        let current = self.fileFingerprint()
        guard self.loaded.withLockedValue({ $0.fingerprint != current }) else { return false }
        try self.reload()
        return true
    }

    /// Cheap change detection: size, modification time and inode of every configured file, from
    /// `stat(2)` alone, without reading them.
    public func fileFingerprint() -> TLSFileFingerprint {
        TLSFileFingerprint(configuration: self.configuration)
    }
}

/// What `stat(2)` says about a set of certificate and key files; equal fingerprints mean "unchanged".
///
/// The inode is included because tools that replace certificates atomically (write, then rename)
/// can leave size and, within a second on some filesystems, mtime unchanged.
public struct TLSFileFingerprint: Hashable, Sendable {
    private struct FileState: Hashable, Sendable {
        var path: String
        var exists: Bool
        var size: Int64
        var inode: UInt64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
    }

    private let files: [FileState]

    public init(paths: [String]) {
        self.files = paths.map(Self.state(of:))
    }

    init(configuration: TLSConfiguration) {
        self.init(paths: configuration.certificates.flatMap { [$0.certificateChainPath, $0.privateKeyPath] })
    }

    private static func state(of path: String) -> FileState {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return FileState(path: path, exists: false, size: 0, inode: 0, modifiedSeconds: 0, modifiedNanoseconds: 0)
        }
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return FileState(
            path: path,
            exists: true,
            size: Int64(info.st_size),
            inode: UInt64(info.st_ino),
            modifiedSeconds: Int64(modified.tv_sec),
            modifiedNanoseconds: Int64(modified.tv_nsec)
        )
    }
}
