internal import COpenSSL

/// The OpenSSL server contexts for one set of certificates: immutable once built, shared by every
/// connection accepted while it is current.
///
/// Each certificate gets its own `SSL_CTX`, all configured alike. Connections start on the first
/// (default) one; the SNI callback moves a connection to the matching certificate's context with
/// `SSL_set_SSL_CTX`, as nginx does. That keeps each certificate's chain built and checked once at
/// load time, instead of re-installing the certificate, chain and key on every handshake
/// (`SSL_use_certificate` + chain per connection). Session tickets are encrypted with the first
/// context's keys whichever certificate served (OpenSSL uses the connection's original "session
/// context"), so resumption works across names.
public final class TLSContext: @unchecked Sendable {
    /// The settings this context was built from.
    public let configuration: TLSConfiguration
    /// The DNS names each certificate serves, in configuration order (SAN dNSNames, else the CN).
    public let certificateNames: [[String]]

    let serverNames: ServerNameTable
    /// One `SSL_CTX*` per certificate; the first is the default and the one connections start on.
    private let contexts: [OpaquePointer]
    /// `applicationProtocols` in ALPN wire format (length-prefixed), read by the ALPN callback.
    private let alpnWire: UnsafeMutableRawBufferPointer

    /// Loads every certificate and key; throws a ``TLSError`` naming the file that failed.
    public init(configuration: TLSConfiguration) throws {
        guard !configuration.certificates.isEmpty else {
            throw TLSError.configuration("no certificates configured")
        }
        let wire = try Self.alpnWireFormat(configuration.applicationProtocols)

        var contexts: [OpaquePointer] = []
        var certificateNames: [[String]] = []
        var serverNames = ServerNameTable()
        do {
            for (index, files) in configuration.certificates.enumerated() {
                let context = try Self.makeContext(configuration)
                contexts.append(context)
                try Self.load(files, into: context)
                let names = Self.dnsNames(of: context)
                certificateNames.append(names)
                serverNames.add(names: names, forCertificateAt: index)
            }
        } catch {
            for context in contexts { SSL_CTX_free(context) }
            throw error
        }

        let alpnWire = UnsafeMutableRawBufferPointer.allocate(byteCount: max(wire.count, 1), alignment: 1)
        alpnWire.copyBytes(from: wire)
        self.alpnWire = UnsafeMutableRawBufferPointer(rebasing: alpnWire[0..<wire.count])
        self.configuration = configuration
        self.certificateNames = certificateNames
        self.serverNames = serverNames
        self.contexts = contexts

        // Unretained: every SSL made from these contexts belongs to a TLSConnection that keeps `self` alive.
        let owner = Unmanaged.passUnretained(self).toOpaque()
        for context in contexts {
            _ = porthole_SSL_CTX_set_tlsext_servername_callback(context, tlsServerNameCallback)
            _ = porthole_SSL_CTX_set_tlsext_servername_arg(context, owner)
            SSL_CTX_set_alpn_select_cb(context, tlsALPNSelectCallback, owner)
        }
    }

    deinit {
        for context in self.contexts { SSL_CTX_free(context) }
        self.alpnWire.deallocate()
    }

    /// A new server-side `SSL*` on the default certificate; the caller owns it.
    func makeSSL() -> OpaquePointer? {
        SSL_new(self.contexts[0])
    }

    // MARK: - Callbacks

    fileprivate func selectCertificate(for ssl: OpaquePointer) {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return }
        guard let index = self.serverNames.certificateIndex(forServerName: String(cString: name)),
            index != 0
        else { return }
        _ = SSL_set_SSL_CTX(ssl, self.contexts[index])
    }

    fileprivate func selectApplicationProtocol(
        _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>,
        _ outLength: UnsafeMutablePointer<UInt8>,
        offered: UnsafePointer<UInt8>,
        offeredLength: UInt32
    ) -> Int32 {
        guard self.alpnWire.count > 0 else { return SSL_TLSEXT_ERR_NOACK }
        var selected: UnsafeMutablePointer<UInt8>? = nil
        var selectedLength: UInt8 = 0
        // Our list first: SSL_select_next_proto prefers the order of its "server" argument.
        let result = SSL_select_next_proto(
            &selected,
            &selectedLength,
            self.alpnWire.baseAddress!.assumingMemoryBound(to: UInt8.self),
            UInt32(self.alpnWire.count),
            offered,
            offeredLength
        )
        // No overlap means "no ALPN" (RFC 7301 §3.2 allows it) rather than a fatal alert: a client
        // offering only protocols we do not know still gets HTTP/1.1 by default.
        guard result == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
        out.pointee = UnsafePointer(selected)
        outLength.pointee = selectedLength
        return SSL_TLSEXT_ERR_OK
    }

    // MARK: - Building

    private static func makeContext(_ configuration: TLSConfiguration) throws -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.configuration(drainOpenSSLErrors())
        }
        func check(_ ok: Bool, _ what: String) throws {
            guard ok else {
                SSL_CTX_free(context)
                throw TLSError.configuration("\(what): \(drainOpenSSLErrors())")
            }
        }
        try check(
            porthole_SSL_CTX_set_min_proto_version(context, porthole_TLS1_2_VERSION()) == 1,
            "minimum protocol version"
        )
        try check(
            porthole_SSL_CTX_set_max_proto_version(context, porthole_TLS1_3_VERSION()) == 1,
            "maximum protocol version"
        )
        try check(SSL_CTX_set_cipher_list(context, configuration.tls12Ciphers) == 1, "TLS 1.2 cipher list")
        try check(porthole_SSL_CTX_set1_groups_list(context, configuration.groups) == 1, "groups")
        _ = porthole_SSL_CTX_set_options(
            context,
            porthole_SSL_OP_NO_COMPRESSION()  // CRIME
                | porthole_SSL_OP_NO_RENEGOTIATION()  // client-initiated renegotiation is a CPU DoS
                | porthole_SSL_OP_CIPHER_SERVER_PREFERENCE()
        )
        // Idle keep-alive connections then hold no OpenSSL record buffers (about 34 KiB each otherwise).
        _ = porthole_SSL_CTX_set_mode(context, porthole_SSL_MODE_RELEASE_BUFFERS())
        // Resumption comes from stateless session tickets (on by default). The stateful cache is off:
        // it is one locked table shared by every event loop and would only serve clients without tickets.
        _ = porthole_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        return context
    }

    private static func load(_ files: TLSConfiguration.CertificateFiles, into context: OpaquePointer) throws {
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(context, files.certificateChainPath) == 1 else {
            throw TLSError.certificateFile(files.certificateChainPath, reason: drainOpenSSLErrors())
        }
        // Loading the key also checks it against the certificate: a deployment that replaced one file
        // but not yet the other fails here, and the previous pair stays in use.
        guard SSL_CTX_use_PrivateKey_file(context, files.privateKeyPath, SSL_FILETYPE_PEM) == 1,
            SSL_CTX_check_private_key(context) == 1
        else {
            var reason = drainOpenSSLErrors()
            if reason.contains("mismatch") { reason = "does not match \(files.certificateChainPath): \(reason)" }
            throw TLSError.privateKeyFile(files.privateKeyPath, reason: reason)
        }
    }

    /// The leaf's SAN dNSNames, or its subject CN when it has none (RFC 6125 §6.4.4 fallback).
    private static func dnsNames(of context: OpaquePointer) -> [String] {
        guard let certificate = SSL_CTX_get0_certificate(context) else { return [] }
        var names: [String] = []
        if let alternativeNames = porthole_X509_get_subject_alt_names(certificate) {
            defer { porthole_GENERAL_NAMES_free(alternativeNames) }
            for index in 0..<porthole_GENERAL_NAMES_count(alternativeNames) {
                var length: Int32 = 0
                guard let bytes = porthole_GENERAL_NAMES_dns_at(alternativeNames, index, &length) else { continue }
                names.append(String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self))
            }
        }
        if names.isEmpty, let subject = X509_get_subject_name(certificate) {
            let position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
            if position >= 0, let entry = X509_NAME_get_entry(subject, position),
                let data = X509_NAME_ENTRY_get_data(entry), let bytes = ASN1_STRING_get0_data(data)
            {
                let length = Int(ASN1_STRING_length(data))
                names.append(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
            }
        }
        ERR_clear_error()
        return names
    }

    private static func alpnWireFormat(_ protocols: [String]) throws -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError.configuration("ALPN protocol name must be 1-255 bytes: \"\(name)\"")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        return wire
    }
}

// MARK: - C callbacks

/// SNI: runs once per handshake, before the certificate is chosen. Unknown names keep the default
/// certificate rather than failing, as browsers probing by IP or with odd names expect.
private func tlsServerNameCallback(
    _ ssl: OpaquePointer?,
    _ alert: UnsafeMutablePointer<Int32>?,
    _ owner: UnsafeMutableRawPointer?
) -> Int32 {
    guard let ssl, let owner else { return SSL_TLSEXT_ERR_OK }
    Unmanaged<TLSContext>.fromOpaque(owner).takeUnretainedValue().selectCertificate(for: ssl)
    return SSL_TLSEXT_ERR_OK
}

private func tlsALPNSelectCallback(
    _ ssl: OpaquePointer?,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?,
    _ offeredLength: UInt32,
    _ owner: UnsafeMutableRawPointer?
) -> Int32 {
    guard let out, let outLength, let offered, let owner else { return SSL_TLSEXT_ERR_NOACK }
    return Unmanaged<TLSContext>.fromOpaque(owner).takeUnretainedValue()
        .selectApplicationProtocol(out, outLength, offered: offered, offeredLength: offeredLength)
}
