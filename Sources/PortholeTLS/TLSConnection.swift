internal import COpenSSL
import NIOCore
import PortholeNIOUtilities

/// One server-side TLS session: the `SSL*` and a custom BIO that moves ciphertext straight between
/// OpenSSL and `ByteBuffer`s.
///
/// With memory BIOs every byte is copied twice per direction (socket buffer → BIO → OpenSSL's record
/// buffer, and back). Here OpenSSL's BIO read pulls from the `ByteBuffer` NIO read from the socket, and
/// its BIO write appends to one outbound `ByteBuffer` that becomes the socket write: one copy fewer
/// each way, and no BIO-owned memory to hold on idle connections.
///
/// Not thread-safe; owned by one ``TLSServerHandler`` on its event loop.
final class TLSConnection {
    enum HandshakeResult {
        /// The handshake finished; application data may flow.
        case complete
        /// OpenSSL needs more bytes from the peer.
        case incomplete
        /// The handshake failed; an alert may be waiting in the outbound buffer.
        case failed(TLSError)
    }

    enum ReadResult {
        /// Everything received has been decrypted; more ciphertext is needed.
        case wantRead
        /// The peer sent close_notify.
        case closeNotify
        /// A record could not be processed; the connection is unusable.
        case failed(TLSError)
    }

    /// Room for one full TLS record of plaintext (RFC 8446 §5.1).
    static let recordSize = 16 * 1024
    /// Per-record overhead upper bound: 5-byte header + AEAD tag (16) + TLS 1.3 inner content type,
    /// or the TLS 1.2 explicit nonce; 32 covers every suite we allow.
    static let recordOverhead = 32

    let context: TLSContext
    private let ssl: OpaquePointer
    private let allocator: ByteBufferAllocator
    /// Ciphertext received and not yet consumed by OpenSSL; set only while the handler processes one read.
    private var inbound: ByteBuffer?
    /// Ciphertext produced by OpenSSL and not yet handed to the channel; nil between flushes, so
    /// an idle connection holds no buffer.
    private var outbound: ByteBuffer?
    /// The loop's shared ciphertext buffer, if any (else each flush allocates its own).
    private let writeBuffer: ReusableBuffer?

    init(context: TLSContext, allocator: ByteBufferAllocator, writeBuffer: ReusableBuffer?) throws {
        guard let ssl = context.makeSSL() else {
            throw TLSError.configuration("SSL_new: \(drainOpenSSLErrors())")
        }
        guard let bio = BIO_new(tlsBIOMethod) else {
            SSL_free(ssl)
            throw TLSError.configuration("BIO_new: \(drainOpenSSLErrors())")
        }
        self.context = context
        self.ssl = ssl
        self.allocator = allocator
        self.writeBuffer = writeBuffer
        // Unretained: the BIO is owned by the SSL, which this object owns and frees in deinit.
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        // One BIO for both directions: SSL_set_bio takes over its single reference.
        SSL_set_bio(ssl, bio, bio)
        SSL_set_accept_state(ssl)
    }

    deinit {
        SSL_free(self.ssl)
    }

    // MARK: - Ciphertext in and out

    /// Makes `ciphertext` the bytes OpenSSL reads next. Call ``releaseInbound()`` when done.
    func receive(_ ciphertext: ByteBuffer) {
        self.inbound = ciphertext
    }

    /// Drops the inbound buffer so NIO can recycle it; any bytes OpenSSL did not ask for are discarded
    /// (only possible after close_notify or a fatal error, when they are meaningless anyway).
    func releaseInbound() {
        self.inbound = nil
    }

    /// The ciphertext produced since the last call, as one buffer to write to the channel.
    func takeOutbound() -> ByteBuffer? {
        guard let ready = self.outbound else { return nil }
        self.outbound = nil
        self.writeBuffer?.giveBack(ready)
        // Empty after a failed SSL_write: nothing to send.
        return ready.readableBytes > 0 ? ready : nil
    }

    /// Drops unsent ciphertext of a connection that is going away.
    func releaseOutbound() {
        self.outbound = nil
    }

    /// Makes sure the outbound buffer can take `count` more bytes without growing repeatedly.
    private func reserveOutbound(_ count: Int) {
        if self.outbound == nil {
            let capacity = max(count, 4096)
            self.outbound =
                self.writeBuffer?.take(capacity: capacity, allocator: self.allocator)
                ?? self.allocator.buffer(capacity: capacity)
            return
        }
        if self.outbound!.writableBytes < count {
            self.outbound!.reserveCapacity(minimumWritableBytes: count)
        }
    }

    // MARK: - BIO callbacks

    fileprivate func bioRead(into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard self.inbound != nil else { return 0 }
        return self.inbound!.readWithUnsafeReadableBytes { source in
            let count = min(source.count, destination.count)
            destination.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: count)
            return count
        }
    }

    fileprivate func bioWrite(_ source: UnsafeRawBufferPointer) {
        self.reserveOutbound(source.count)
        self.outbound!.writeBytes(source)
    }

    fileprivate var bioPendingBytes: Int { self.inbound?.readableBytes ?? 0 }

    // MARK: - TLS operations

    func handshake() -> HandshakeResult {
        ERR_clear_error()
        let result = SSL_do_handshake(self.ssl)
        if result == 1 { return .complete }
        switch SSL_get_error(self.ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .incomplete
        case SSL_ERROR_SYSCALL:
            return .failed(.handshakeFailed(drainOpenSSLErrors(or: "unexpected end of input")))
        default:
            return .failed(.handshakeFailed(drainOpenSSLErrors()))
        }
    }

    /// Decrypts everything available into `plaintext`, growing it one record at a time as needed.
    func read(into plaintext: inout ByteBuffer) -> ReadResult {
        ERR_clear_error()
        while true {
            var status: Int32 = 1
            let minimum = plaintext.writableBytes >= 1024 ? 1 : Self.recordSize
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: minimum) { space in
                var count = 0
                status = SSL_read_ex(self.ssl, space.baseAddress, space.count, &count)
                return status == 1 ? count : 0
            }
            if status == 1 { continue }
            switch SSL_get_error(self.ssl, status) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return .wantRead
            case SSL_ERROR_ZERO_RETURN:
                return .closeNotify
            default:
                return .failed(.protocolFailure(drainOpenSSLErrors(or: "unexpected end of input")))
            }
        }
    }

    /// Reads and discards application data until close_notify, for a connection we are closing.
    func discardUntilCloseNotify() -> ReadResult {
        ERR_clear_error()
        return withUnsafeTemporaryAllocation(byteCount: Self.recordSize, alignment: 1) { scratch in
            while true {
                var count = 0
                let status = SSL_read_ex(self.ssl, scratch.baseAddress, scratch.count, &count)
                if status == 1 { continue }
                switch SSL_get_error(self.ssl, status) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return .wantRead
                case SSL_ERROR_ZERO_RETURN:
                    return .closeNotify
                default:
                    return .failed(.protocolFailure(drainOpenSSLErrors(or: "unexpected end of input")))
                }
            }
        }
    }

    /// Encrypts all of `plaintext` into the outbound buffer (the BIO never pushes back, so OpenSSL
    /// always takes the whole write).
    func write(_ plaintext: ByteBuffer) -> TLSError? {
        let count = plaintext.readableBytes
        guard count > 0 else { return nil }
        let records = (count + Self.recordSize - 1) / Self.recordSize
        self.reserveOutbound(count + records * Self.recordOverhead)
        // No ERR_clear_error() first (it showed in profiles): SSL_get_error is not consulted here,
        // and every failure path empties the queue, so it is already empty.
        return plaintext.withUnsafeReadableBytes { bytes in
            var written = 0
            guard SSL_write_ex(self.ssl, bytes.baseAddress, bytes.count, &written) == 1 else {
                return .protocolFailure(drainOpenSSLErrors())
            }
            return nil
        }
    }

    /// Queues our close_notify. Returns true when the peer's close_notify has already been received.
    func shutdown() -> Bool {
        ERR_clear_error()
        let result = SSL_shutdown(self.ssl)
        if result < 0 { _ = drainOpenSSLErrors() }
        return result == 1
    }

    // MARK: - Negotiated parameters

    var negotiatedProtocol: String? {
        var bytes: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(self.ssl, &bytes, &length)
        guard let bytes, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
    }

    var serverName: String? {
        guard let name = SSL_get_servername(self.ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }
}

// MARK: - The BIO method

/// Created once per process; BIO methods are immutable and shared by every connection.
private nonisolated(unsafe) let tlsBIOMethod: OpaquePointer = {
    guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "porthole-bytebuffer") else {
        fatalError("BIO_meth_new failed: \(drainOpenSSLErrors())")
    }
    BIO_meth_set_create(method, tlsBIOCreate)
    BIO_meth_set_destroy(method, tlsBIODestroy)
    BIO_meth_set_read_ex(method, tlsBIORead)
    BIO_meth_set_write_ex(method, tlsBIOWrite)
    BIO_meth_set_ctrl(method, tlsBIOControl)
    return method
}()

private func tlsBIOCreate(_ bio: OpaquePointer?) -> Int32 {
    BIO_set_init(bio, 1)
    return 1
}

private func tlsBIODestroy(_ bio: OpaquePointer?) -> Int32 {
    BIO_set_data(bio, nil)
    return 1
}

private func tlsBIORead(
    _ bio: OpaquePointer?,
    _ destination: UnsafeMutablePointer<CChar>?,
    _ length: Int,
    _ readBytes: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let bio, let destination, let readBytes, let owner = BIO_get_data(bio) else { return 0 }
    porthole_BIO_clear_retry_flags(bio)
    // The SSL (and so this callback) runs only inside a TLSConnection method: the owner is alive.
    let count = Unmanaged<TLSConnection>.fromOpaque(owner)._withUnsafeGuaranteedRef {
        $0.bioRead(into: UnsafeMutableRawBufferPointer(start: destination, count: length))
    }
    guard count > 0 else {
        // Not EOF: the next channelRead brings more. "Retry" makes SSL_get_error say WANT_READ.
        porthole_BIO_set_retry_read(bio)
        readBytes.pointee = 0
        return 0
    }
    readBytes.pointee = count
    return 1
}

private func tlsBIOWrite(
    _ bio: OpaquePointer?,
    _ source: UnsafePointer<CChar>?,
    _ length: Int,
    _ writtenBytes: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let bio, let source, let writtenBytes, let owner = BIO_get_data(bio) else { return 0 }
    porthole_BIO_clear_retry_flags(bio)
    Unmanaged<TLSConnection>.fromOpaque(owner)._withUnsafeGuaranteedRef {
        $0.bioWrite(UnsafeRawBufferPointer(start: source, count: length))
    }
    writtenBytes.pointee = length
    return 1
}

private func tlsBIOControl(
    _ bio: OpaquePointer?,
    _ command: Int32,
    _ argument: Int,
    _ pointer: UnsafeMutableRawPointer?
) -> Int {
    switch command {
    case BIO_CTRL_FLUSH:
        // Writes land in the outbound ByteBuffer at once; the handler decides when the socket sees them.
        return 1
    case BIO_CTRL_PENDING:
        guard let bio, let owner = BIO_get_data(bio) else { return 0 }
        return Unmanaged<TLSConnection>.fromOpaque(owner).takeUnretainedValue().bioPendingBytes
    case BIO_CTRL_WPENDING:
        return 0
    default:
        // Everything else (kTLS, datagram, push/pop) is unsupported, which OpenSSL reads as "no".
        return 0
    }
}
