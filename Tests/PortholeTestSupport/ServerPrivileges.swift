import Foundation

/// How the tests run `porthole serve`: the way `deploy/` runs it. The systemd unit, the Docker
/// image and the Kubernetes manifests all start it as an unprivileged user with no capabilities,
/// and a suite that ran it as root once hid a bug (a socket option that needs CAP_NET_ADMIN) that
/// reset every connection of every real deployment.
public enum ServerPrivileges: Sendable {
    /// The user `nobody` (65534), no supplementary groups, no capabilities, `no_new_privs`.
    /// When the tests themselves are not root, the server simply runs as the same user.
    case unprivileged
    /// Root with `CAP_NET_ADMIN` removed from its bounding set: what a container runtime gives a
    /// root process by default.
    case rootWithoutNetAdmin
    /// `nobody` with `CAP_NET_ADMIN` and `CAP_NET_BIND_SERVICE` alone (ambient): how deploy/ runs
    /// `porthole egress` (its table, and its resolver on port 53).
    case egressAgent

    /// The unprivileged identity the server runs as when the tests run as root.
    static let nobody: (uid: uid_t, gid: gid_t) = (65534, 65534)

    /// The executable and arguments that start `binary arguments` with these privileges, after
    /// handing `directory` (the server's data and certificates) to the user it will run as.
    public func command(binary: String, arguments: [String], directory: String) throws -> (String, [String]) {
        guard geteuid() == 0 else { return (binary, arguments) }
        let setpriv = TestPaths.which("setpriv")
        switch self {
        case .unprivileged:
            try Self.chownRecursively(directory, to: Self.nobody)
            let binary = try TestPaths.worldExecutableCopy(of: binary)
            return (
                setpriv,
                [
                    "--reuid=\(Self.nobody.uid)", "--regid=\(Self.nobody.gid)", "--clear-groups",
                    "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs",
                    "--", binary,
                ] + arguments
            )
        case .egressAgent:
            try Self.chownRecursively(directory, to: Self.nobody)
            let binary = try TestPaths.worldExecutableCopy(of: binary)
            let caps = "-all,+net_admin,+net_bind_service"
            return (
                setpriv,
                [
                    "--reuid=\(Self.nobody.uid)", "--regid=\(Self.nobody.gid)", "--clear-groups",
                    "--inh-caps=\(caps)", "--ambient-caps=\(caps)", "--bounding-set=\(caps)",
                    "--", binary,
                ] + arguments
            )
        case .rootWithoutNetAdmin:
            return (setpriv, ["--inh-caps=-net_admin", "--bounding-set=-net_admin", "--", binary] + arguments)
        }
    }

    private static func chownRecursively(_ path: String, to owner: (uid: uid_t, gid: gid_t)) throws {
        guard chown(path, owner.uid, owner.gid) == 0 else {
            throw TestFailure("chown \(path): \(String(cString: strerror(errno)))")
        }
        let children = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        for child in children {
            // lchown: never follow a link out of the test's own directory.
            _ = lchown(path + "/" + child, owner.uid, owner.gid)
        }
    }
}

extension TestPaths {
    /// `binary` if every directory above it lets others through and it is executable by others;
    /// otherwise a copy in a directory of the system's temporary area that is (made once per
    /// test process and reused while the binary stays the same size and age). A checkout under
    /// /root cannot be executed by `nobody` otherwise.
    static func worldExecutableCopy(of binary: String) throws -> String {
        if isReachableByOthers(binary) { return binary }
        let attributes = try FileManager.default.attributesOfItem(atPath: binary)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let directory = NSTemporaryDirectory() + "porthole-test-binary"
        let copy = "\(directory)/porthole-\(size)-\(modified)"
        return try copyLock.withLock {
            if FileManager.default.fileExists(atPath: copy) { return copy }
            try? FileManager.default.removeItem(atPath: directory)  // older builds' copies
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let partial = copy + ".partial"
            try FileManager.default.copyItem(atPath: binary, toPath: partial)
            chmod(partial, 0o755)
            try FileManager.default.moveItem(atPath: partial, toPath: copy)
            return copy
        }
    }

    private static let copyLock = NSLock()

    private static func isReachableByOthers(_ path: String) -> Bool {
        var stats = stat()
        guard stat(path, &stats) == 0, stats.st_mode & S_IXOTH != 0 else { return false }
        var url = URL(fileURLWithPath: path).deletingLastPathComponent()
        while url.path != "/" {
            guard stat(url.path, &stats) == 0, stats.st_mode & S_IXOTH != 0 else { return false }
            url.deleteLastPathComponent()
        }
        return true
    }
}
