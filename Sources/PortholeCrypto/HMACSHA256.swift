internal import COpenSSL

/// HMAC-SHA256 (RFC 2104) from the system OpenSSL, the same library that already terminates TLS,
/// rather than a second hand-written SHA-256.
public enum HMACSHA256 {
    public static let byteCount = 32

    public static func authenticationCode(for message: some Sequence<UInt8>, key: [UInt8]) -> [UInt8] {
        if let code = message.withContiguousStorageIfAvailable({ authenticationCode(for: UnsafeRawBufferPointer($0), key: key) }) {
            return code
        }
        return Array(message).withUnsafeBytes { authenticationCode(for: $0, key: key) }
    }

    public static func authenticationCode(for message: UnsafeRawBufferPointer, key: [UInt8]) -> [UInt8] {
        precondition(key.count <= Int(Int32.max), "HMAC key too long")
        var code = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        // A one-byte dummy stands in for empty buffers: OpenSSL reads a NULL key as "reuse the previous
        // key" in HMAC_Init_ex, and a NULL data pointer is not guaranteed to be accepted.
        var dummy: UInt8 = 0
        let result = key.withUnsafeBytes { keyBytes in
            withUnsafeMutablePointer(to: &dummy) { dummyPointer in
                code.withUnsafeMutableBufferPointer { codeBuffer in
                    let keyPointer = UnsafeRawPointer(keyBytes.baseAddress) ?? UnsafeRawPointer(dummyPointer)
                    let dataPointer =
                        message.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
                        ?? UnsafePointer(dummyPointer)
                    return HMAC(EVP_sha256(), keyPointer, Int32(key.count), dataPointer, message.count, codeBuffer.baseAddress, &length)
                }
            }
        }
        // HMAC fails only when OpenSSL cannot allocate; there is nothing sensible to continue with.
        precondition(result != nil && length == UInt32(byteCount), "OpenSSL HMAC-SHA256 failed")
        return code
    }
}
