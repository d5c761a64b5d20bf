internal import COpenSSL
import PortholeNIOUtilities

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A local certificate authority and a server certificate for `*.preview.localhost`, made with
/// OpenSSL's API (no `openssl` binary needed), so `porthole serve` works over HTTPS out of the box.
///
/// Trust `dev-ca.pem` in a browser or pass it to `curl --cacert`. Files in the directory:
/// - `dev-ca.pem`, `dev-ca.key`: the CA (P-256, 10 years); reused by later generations so trust survives.
/// - `dev-cert.pem`: the server certificate alone. The CA is the client's trust anchor, so sending it
///   would only add bytes to every handshake (RFC 8446 §4.4.2 lets the server omit it).
/// - `dev-key.pem`: the server key.
/// Private keys are written with mode 0600; every file is written to a temporary name and renamed,
/// so a server polling ``TLSCertificateStore/fileFingerprint()`` never reads half a file.
public enum DevelopmentCertificates {
    /// Where the generated files are.
    public struct Files: Sendable, Hashable {
        public let directory: String
        public var certificateAuthorityPath: String { self.directory + "/dev-ca.pem" }
        public var certificateAuthorityKeyPath: String { self.directory + "/dev-ca.key" }
        public var certificatePath: String { self.directory + "/dev-cert.pem" }
        public var privateKeyPath: String { self.directory + "/dev-key.pem" }

        /// The server certificate and key, ready for ``TLSConfiguration``.
        public var certificateFiles: TLSConfiguration.CertificateFiles {
            .init(certificateChainPath: self.certificatePath, privateKeyPath: self.privateKeyPath)
        }

        public init(directory: String) {
            self.directory = directory
        }
    }

    public static let defaultNames = names(forBaseDomains: ["preview.localhost"])

    /// The names a development certificate needs for these preview base domains: each domain's
    /// wildcard (the previews) and the domain itself (health checks), then `localhost`.
    public static func names(forBaseDomains domains: [String]) -> [String] {
        var names: [String] = []
        for name in domains.flatMap({ ["*." + $0.lowercased(), $0.lowercased()] }) + ["localhost"] where !names.contains(name) {
            names.append(name)
        }
        return names
    }
    public static let defaultIPAddresses = ["127.0.0.1", "::1"]

    /// Generates a new server certificate (and the CA, unless one is already there and
    /// `reuseAuthority` is true), overwriting the server files.
    ///
    /// - Parameters:
    ///   - names: DNS names for the certificate's SAN; the first is also its CN.
    ///   - validityDays: at most 396, so the span with the one-hour backdating stays within the 397
    ///     days browsers accept (CA/Browser Forum baseline requirements §6.3.2).
    @discardableResult
    public static func generate(
        directory: String,
        names: [String] = Self.defaultNames,
        ipAddresses: [String] = Self.defaultIPAddresses,
        validityDays: Int = 365,
        reuseAuthority: Bool = true
    ) throws -> Files {
        guard let commonName = names.first else {
            throw TLSError.certificateGeneration("at least one DNS name is needed")
        }
        guard (1...396).contains(validityDays) else {
            throw TLSError.certificateGeneration("validity must be 1...396 days, not \(validityDays)")
        }
        let files = Files(directory: directory)
        do {
            try PrivateDirectory.create(directory)
        } catch {
            throw TLSError.certificateGeneration("mkdir: \(error.reason)", file: error.path)
        }
        ERR_clear_error()

        let authority: (certificate: OpaquePointer, key: OpaquePointer)
        if reuseAuthority, let existing = try loadAuthority(files) {
            authority = existing
        } else {
            authority = try makeAuthority()
            try writeFile(files.certificateAuthorityKeyPath, mode: 0o600, privateKeyPEM(authority.key))
            try writeFile(files.certificateAuthorityPath, mode: 0o644, certificatePEM(authority.certificate))
        }
        defer {
            X509_free(authority.certificate)
            EVP_PKEY_free(authority.key)
        }

        guard let key = porthole_EVP_EC_gen("P-256") else {
            throw TLSError.certificateGeneration("EC key generation: \(drainOpenSSLErrors())")
        }
        defer { EVP_PKEY_free(key) }
        let alternativeNames = (names.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }).joined(separator: ",")
        let certificate = try makeCertificate(
            commonName: commonName,
            key: key,
            issuer: authority,
            days: validityDays,
            extensions: [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth"),
                (NID_subject_alt_name, alternativeNames),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        )
        defer { X509_free(certificate) }
        // Key first: a poller that sees the new certificate before its key would fail one reload.
        try writeFile(files.privateKeyPath, mode: 0o600, privateKeyPEM(key))
        try writeFile(files.certificatePath, mode: 0o644, certificatePEM(certificate))
        return files
    }

    /// Generates the files only if the server certificate or key is missing.
    @discardableResult
    public static func ensureExists(
        directory: String,
        names: [String] = Self.defaultNames,
        ipAddresses: [String] = Self.defaultIPAddresses
    ) throws -> Files {
        let files = Files(directory: directory)
        if access(files.certificatePath, F_OK) == 0, access(files.privateKeyPath, F_OK) == 0 {
            return files
        }
        return try generate(directory: directory, names: names, ipAddresses: ipAddresses)
    }

    // MARK: - Certificates

    private static func makeAuthority() throws -> (certificate: OpaquePointer, key: OpaquePointer) {
        guard let key = porthole_EVP_EC_gen("P-256") else {
            throw TLSError.certificateGeneration("EC key generation: \(drainOpenSSLErrors())")
        }
        do {
            let certificate = try makeCertificate(
                commonName: "Porthole Development CA",
                key: key,
                issuer: nil,
                days: 3650,
                extensions: [
                    (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                    (NID_key_usage, "critical,keyCertSign,cRLSign"),
                    (NID_subject_key_identifier, "hash"),
                ]
            )
            return (certificate, key)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
    }

    private static func loadAuthority(_ files: Files) throws -> (certificate: OpaquePointer, key: OpaquePointer)? {
        guard access(files.certificateAuthorityPath, F_OK) == 0, access(files.certificateAuthorityKeyPath, F_OK) == 0
        else { return nil }
        guard let certificateFile = BIO_new_file(files.certificateAuthorityPath, "r") else {
            throw TLSError.certificateGeneration(drainOpenSSLErrors(), file: files.certificateAuthorityPath)
        }
        defer { BIO_free(certificateFile) }
        guard let certificate = PEM_read_bio_X509(certificateFile, nil, nil, nil) else {
            throw TLSError.certificateGeneration(drainOpenSSLErrors(), file: files.certificateAuthorityPath)
        }
        guard let keyFile = BIO_new_file(files.certificateAuthorityKeyPath, "r") else {
            X509_free(certificate)
            throw TLSError.certificateGeneration(drainOpenSSLErrors(), file: files.certificateAuthorityKeyPath)
        }
        defer { BIO_free(keyFile) }
        guard let key = PEM_read_bio_PrivateKey(keyFile, nil, nil, nil), X509_check_private_key(certificate, key) == 1
        else {
            X509_free(certificate)
            throw TLSError.certificateGeneration(
                "unreadable or not the key of \(files.certificateAuthorityPath): \(drainOpenSSLErrors())",
                file: files.certificateAuthorityKeyPath
            )
        }
        return (certificate, key)
    }

    /// A signed X.509 v3 certificate for `key`; self-signed when `issuer` is nil.
    private static func makeCertificate(
        commonName: String,
        key: OpaquePointer,
        issuer: (certificate: OpaquePointer, key: OpaquePointer)?,
        days: Int,
        extensions: [(Int32, String)]
    ) throws -> OpaquePointer {
        guard let certificate = X509_new() else {
            throw TLSError.certificateGeneration("X509_new: \(drainOpenSSLErrors())")
        }
        func check(_ ok: Bool, _ step: String) throws {
            guard ok else {
                X509_free(certificate)
                throw TLSError.certificateGeneration("\(step): \(drainOpenSSLErrors())")
            }
        }
        try check(X509_set_version(certificate, 2) == 1, "version")  // 2 means v3

        // 159 random bits, positive and non-zero (RFC 5280 §4.1.2.2; CA/B BR §7.1 asks for ≥ 64 bits).
        var serial = [UInt8](repeating: 0, count: 20)
        try check(RAND_bytes(&serial, Int32(serial.count)) == 1, "serial number")
        serial[0] = (serial[0] & 0x7F) | 0x01
        let serialNumber = BN_bin2bn(serial, Int32(serial.count), nil)
        defer { BN_free(serialNumber) }
        try check(
            serialNumber != nil && BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate)) != nil,
            "serial number"
        )

        // Backdated an hour so a client whose clock is slightly behind does not see "not yet valid".
        try check(X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil, "notBefore")
        try check(X509_time_adj_ex(X509_getm_notAfter(certificate), Int32(days), 0, nil) != nil, "notAfter")

        let subject = X509_get_subject_name(certificate)
        try check(
            X509_NAME_add_entry_by_txt(subject, "O", porthole_MBSTRING_ASC(), "Porthole development", -1, -1, 0) == 1
                && X509_NAME_add_entry_by_txt(subject, "CN", porthole_MBSTRING_ASC(), commonName, -1, -1, 0) == 1,
            "subject name \(commonName)"
        )
        let issuerName = issuer.map { X509_get_subject_name($0.certificate) } ?? subject
        try check(X509_set_issuer_name(certificate, issuerName) == 1, "issuer name")
        try check(X509_set_pubkey(certificate, key) == 1, "public key")

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.certificate ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            let extensionValue = X509V3_EXT_conf_nid(nil, &context, nid, value)
            try check(extensionValue != nil, "extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            defer { X509_EXTENSION_free(extensionValue) }
            try check(X509_add_ext(certificate, extensionValue, -1) == 1, "adding extension \(value)")
        }

        try check(X509_sign(certificate, issuer?.key ?? key, EVP_sha256()) > 0, "signing")
        return certificate
    }

    // MARK: - Files

    private static func pem(
        _ object: OpaquePointer,
        _ write: (OpaquePointer?, OpaquePointer?) -> Int32
    ) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else {
            throw TLSError.certificateGeneration("BIO_new: \(drainOpenSSLErrors())")
        }
        defer { BIO_free(bio) }
        guard write(bio, object) == 1 else {
            throw TLSError.certificateGeneration("PEM encoding: \(drainOpenSSLErrors())")
        }
        var bytes = [UInt8](repeating: 0, count: porthole_BIO_pending(bio))
        let count = BIO_read(bio, &bytes, Int32(bytes.count))
        return Array(bytes.prefix(max(Int(count), 0)))
    }

    private static func privateKeyPEM(_ key: OpaquePointer) throws -> [UInt8] {
        // Unencrypted PKCS#8: the server must read it unattended; the file mode protects it.
        try pem(key) { bio, key in PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) }
    }

    private static func certificatePEM(_ certificate: OpaquePointer) throws -> [UInt8] {
        try pem(certificate) { bio, certificate in PEM_write_bio_X509(bio, certificate) }
    }

    private static func writeFile(_ path: String, mode: mode_t, _ bytes: [UInt8]) throws {
        let temporary = "\(path).tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw fileError(path, "open") }
        // fchmod as well: open's mode is filtered by the umask, and a key must never be group-readable.
        var ok = fchmod(descriptor, mode) == 0
        var offset = 0
        while ok, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            ok = written > 0
            offset += max(written, 0)
        }
        let error = fileError(path, "write")
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ok ? fileError(path, "rename") : error
        }
    }

    private static func fileError(_ path: String, _ operation: String) -> TLSError {
        TLSError.certificateGeneration("\(operation): \(String(cString: strerror(errno)))", file: path)
    }
}
