public import NIOCore

/// Server-side TLS settings: which certificates to serve and how connections behave.
///
/// The protocol floor is fixed at TLS 1.2 and the ceiling at TLS 1.3 on purpose: nothing older is
/// safe to offer, and there is no knob to get it wrong.
public struct TLSConfiguration: Sendable, Hashable {
    /// One certificate chain and its private key, both PEM files.
    public struct CertificateFiles: Sendable, Hashable {
        /// The leaf certificate first, then any intermediates (not the root).
        public var certificateChainPath: String
        /// The private key of the leaf certificate.
        public var privateKeyPath: String

        public init(certificateChainPath: String, privateKeyPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
        }
    }

    /// Mozilla "intermediate" TLS 1.2 suites without finite-field DHE: forward secret, AEAD only.
    /// TLS 1.3 keeps OpenSSL's default suites (AES-GCM and ChaCha20-Poly1305), which are all modern.
    public static let defaultTLS12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Certificates by server name; the first one also answers clients without SNI or with an unknown name.
    public var certificates: [CertificateFiles]
    /// ALPN protocols in our order of preference; a client offering none of them gets no ALPN, not an error.
    public var applicationProtocols: [String]
    /// OpenSSL cipher list for TLS 1.2.
    public var tls12Ciphers: String
    /// Key exchange groups in preference order.
    public var groups: String
    /// A connection that has not finished its handshake by then is closed (slowloris protection).
    public var handshakeTimeout: TimeAmount
    /// How long a close waits for the peer's close_notify after sending ours.
    public var shutdownTimeout: TimeAmount

    public init(
        certificates: [CertificateFiles],
        applicationProtocols: [String] = ["http/1.1"],
        tls12Ciphers: String = TLSConfiguration.defaultTLS12Ciphers,
        groups: String = "X25519:P-256:P-384",
        handshakeTimeout: TimeAmount = .seconds(10),
        shutdownTimeout: TimeAmount = .seconds(3)
    ) {
        self.certificates = certificates
        self.applicationProtocols = applicationProtocols
        self.tls12Ciphers = tls12Ciphers
        self.groups = groups
        self.handshakeTimeout = handshakeTimeout
        self.shutdownTimeout = shutdownTimeout
    }
}
