internal import COpenSSL

extension HMACSHA256 {
    /// A secret prepared for many MACs: its inner and outer pads (RFC 2104 §2) are hashed once, and
    /// each MAC starts from a copy of those two SHA-256 states. The proxy checks a session cookie or a
    /// signed URL on every request of a browser on a private preview, always with the same secret.
    ///
    /// Gives the same codes as ``HMACSHA256/authenticationCode(for:key:)-(_,[UInt8])`` for every key
    /// and message (tests hold it to RFC 4231's vectors).
    public struct Key: Sendable {
        private let pads: Pads

        public init(_ secret: [UInt8]) {
            pads = Pads(secret)
        }

        /// The MAC of `first` followed by `second` (a fixed context and a payload, without joining them).
        public func authenticationCode(for first: some Collection<UInt8>, _ second: some Collection<UInt8> = EmptyCollection()) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: byteCount) { output, count in
                pads.code(first, second, into: UnsafeMutableRawBufferPointer(output))
                count = byteCount
            }
        }

        /// Whether `presented` is the MAC of `first` followed by `second`, compared in constant time and
        /// computed without allocating.
        public func isAuthenticationCode(_ presented: some Collection<UInt8>, for first: some Collection<UInt8>, _ second: some Collection<UInt8>) -> Bool {
            guard presented.count == byteCount else { return false }
            return withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 1) { expected in
                pads.code(first, second, into: expected)
                return ConstantTime.equals(UnsafeRawBufferPointer(expected), presented)
            }
        }
    }

    /// The two keyed states. A class so `Key` can be public without exposing OpenSSL's struct, and so
    /// copies of a key share them; never mutated after init (but wiped in deinit), hence Sendable.
    /// Everything derived from the secret is wiped once used, as OpenSSL's own HMAC does.
    private final class Pads: @unchecked Sendable {
        private var inner: SHA256_CTX
        private var outer: SHA256_CTX
        private static let blockSize = 64

        init(_ secret: [UInt8]) {
            // Keys longer than a block are hashed first; shorter ones are padded with zeros.
            var block = [UInt8](repeating: 0, count: Self.blockSize)
            defer { Self.wipe(&block) }
            if secret.count > Self.blockSize {
                var context = SHA256_CTX()
                porthole_SHA256_Init(&context)
                secret.withUnsafeBytes { porthole_SHA256_Update(&context, $0.baseAddress, $0.count) }
                block.withUnsafeMutableBytes { porthole_SHA256_Final($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &context) }
                Self.wipe(&context)
            } else {
                block.replaceSubrange(0..<secret.count, with: secret)
            }
            func keyed(_ pad: UInt8) -> SHA256_CTX {
                var context = SHA256_CTX()
                porthole_SHA256_Init(&context)
                var padded = block.map { $0 ^ pad }
                padded.withUnsafeBytes { porthole_SHA256_Update(&context, $0.baseAddress, $0.count) }
                Self.wipe(&padded)
                return context
            }
            inner = keyed(0x36)
            outer = keyed(0x5C)
        }

        deinit {
            Self.wipe(&inner)
            Self.wipe(&outer)
        }

        private static func wipe<T>(_ value: inout T) {
            withUnsafeMutableBytes(of: &value) { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }

        private static func wipe(_ bytes: inout [UInt8]) {
            bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }

        func code(_ first: some Collection<UInt8>, _ second: some Collection<UInt8>, into output: UnsafeMutableRawBufferPointer) {
            var context = inner
            Self.update(&context, first)
            Self.update(&context, second)
            let digest = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            porthole_SHA256_Final(digest, &context)
            context = outer
            porthole_SHA256_Update(&context, digest, byteCount)
            porthole_SHA256_Final(digest, &context)
            Self.wipe(&context)
        }

        private static func update(_ context: inout SHA256_CTX, _ bytes: some Collection<UInt8>) {
            let done: Void? = bytes.withContiguousStorageIfAvailable { porthole_SHA256_Update(&context, $0.baseAddress, $0.count) }
            if done == nil {
                Array(bytes).withUnsafeBytes { porthole_SHA256_Update(&context, $0.baseAddress, $0.count) }
            }
        }
    }
}
