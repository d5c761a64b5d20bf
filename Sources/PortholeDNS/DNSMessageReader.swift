/// Reads a DNS message from the front, with every read bounds-checked: the bytes come from a sandbox
/// or from the network, and a bad count or pointer must end in a ``DNSMessageError``, never a trap.
///
/// Works on `[UInt8]` rather than a raw pointer so that a mistake here traps instead of reading
/// someone else's memory; a message is at most 64 KiB, so the copy from a socket buffer is cheap.
struct DNSMessageReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// What is being read, for ``DNSMessageError/truncated(_:)``: "question", "answer record"…
    var part = "header"

    /// RFC 1035 §4.1.1.
    static let headerLength = 12
    /// A name holds at most 127 labels, so a well-formed one never needs more pointers than that.
    /// The cap bounds the work for a chain of pointers to pointers, which the backwards rule alone
    /// allows to be thousands long.
    static let maximumPointers = 127

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func readUInt8() throws(DNSMessageError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(part) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSMessageError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated(part) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSMessageError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated(part) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func readBytes(_ count: Int) throws(DNSMessageError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw .truncated(part) }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4) and leaves the reader after it: after its
    /// terminating zero, or after its first pointer.
    ///
    /// A pointer must point into the message body (past the header, where names are) and strictly
    /// before the labels it continues: before the start of the name for the first pointer, before the
    /// previous pointer's target after that. Targets therefore decrease, so no chain of pointers can
    /// loop, including a pointer to itself; a forward pointer, which no compressor writes, is refused
    /// too. Labels whose length byte starts with 01 or 10 (RFC 6891 §5 retired the extended label
    /// types) are refused.
    mutating func readName() throws(DNSMessageError) -> DNSName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var position = offset
        var limit = offset
        var resumeOffset: Int? = nil
        var pointers = 0
        while true {
            guard position < bytes.count else { throw .truncated(part) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    offset = resumeOffset ?? position + 1
                    return DNSName(validatedWireFormat: wire)
                }
                let end = position + 1 + Int(length)
                guard end <= bytes.count else { throw .truncated(part) }
                // The label, plus the root's zero byte still to come.
                guard wire.count + 1 + Int(length) + 1 <= DNSName.maximumWireLength else { throw .nameTooLong }
                wire.append(contentsOf: bytes[position..<end])
                position = end
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated(part) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < bytes.count else { throw .pointerPastEnd(at: position, target: target) }
                guard target >= Self.headerLength else { throw .pointerIntoHeader(at: position, target: target) }
                guard target < limit else { throw .pointerNotBackwards(at: position, target: target) }
                pointers += 1
                guard pointers <= Self.maximumPointers else { throw .tooManyPointers }
                if resumeOffset == nil { resumeOffset = position + 2 }
                limit = target
                position = target
            default:
                throw .reservedLabelType(length, at: position)
            }
        }
    }
}

extension [UInt8] {
    /// Network byte order (RFC 1035 §2.3.2).
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
}
