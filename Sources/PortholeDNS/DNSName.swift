/// A domain name as DNS carries it: labels of arbitrary bytes (RFC 2181 §11), kept as received.
///
/// Equality and hashing ignore ASCII case (RFC 4343 §3): a stub that randomises the case of its
/// question (DNS 0x20) must still find its name in the answer. The bytes keep their case, so a reply
/// echoes the question exactly as asked.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// The uncompressed wire form: each label preceded by its length, ended by the root's zero byte.
    public let wireFormat: [UInt8]

    /// RFC 1035 §2.3.4.
    public static let maximumWireLength = 255
    public static let maximumLabelLength = 63

    public static let root = DNSName(validatedWireFormat: [0])

    /// Bytes already checked by the message reader or an initialiser: labels 1–63 bytes, total ≤ 255,
    /// one terminating zero.
    init(validatedWireFormat: [UInt8]) {
        self.wireFormat = validatedWireFormat
    }

    /// A name from its labels, most specific first (`["pypi", "org"]`), without the root's empty label.
    public init(labels: some Sequence<some Collection<UInt8>>) throws(DNSMessageError) {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.count <= Self.maximumLabelLength else { throw .labelTooLong(label.count) }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
            guard wire.count < Self.maximumWireLength else { throw .nameTooLong }
        }
        wire.append(0)
        self.init(validatedWireFormat: wire)
    }

    /// A name from dotted text, `pypi.org` or `pypi.org.`; `.` is the root. No escapes: a label holding
    /// a dot can only be made with ``init(labels:)``.
    public init(_ text: some StringProtocol) throws(DNSMessageError) {
        var utf8 = Array(text.utf8)
        if utf8 == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        if utf8.last == UInt8(ascii: ".") { utf8.removeLast() }
        guard !utf8.isEmpty else { throw .emptyLabel }
        try self.init(labels: utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false))
    }

    /// The labels, most specific first, without the root's empty label.
    public var labels: [ArraySlice<UInt8>] {
        var labels: [ArraySlice<UInt8>] = []
        var index = 0
        while index < wireFormat.count, wireFormat[index] != 0 {
            let end = index + 1 + Int(wireFormat[index])
            labels.append(wireFormat[(index + 1)..<end])
            index = end
        }
        return labels
    }

    public var isRoot: Bool { wireFormat.count == 1 }

    /// Appends the name uncompressed. The resolver never compresses: its messages hold one name.
    public func encode(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: wireFormat)
    }

    /// The presentation form without the trailing dot (`pypi.org`; the root is `.`), escaped as in
    /// RFC 1035 §5.1 and RFC 4343 §2.1: a dot or backslash inside a label as `\.` and `\\`, and any
    /// byte other than a letter, digit, `-`, `_` or `*` as `\DDD` (decimal). So the text of a name is
    /// never the text of another name: the wire label `evil.github` under `com` reads
    /// `evil\.github.com`, which no allow-list entry matches. Safe to log: no control characters.
    public var description: String {
        guard !isRoot else { return "." }
        var text: [UInt8] = []
        text.reserveCapacity(wireFormat.count + 8)
        for (index, label) in labels.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ".")) }
            for byte in label {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"):
                    text.append(byte)
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text.append(UInt8(ascii: "\\"))
                    text.append(byte)
                default:
                    text.append(UInt8(ascii: "\\"))
                    text.append(UInt8(ascii: "0") + byte / 100)
                    text.append(UInt8(ascii: "0") + byte / 10 % 10)
                    text.append(UInt8(ascii: "0") + byte % 10)
                }
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: - Case-insensitive identity (RFC 4343 §3)

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.wireFormat.count == rhs.wireFormat.count
            && zip(lhs.wireFormat, rhs.wireFormat).allSatisfy { lowercased($0) == lowercased($1) }
    }

    public func hash(into hasher: inout Hasher) {
        for byte in wireFormat {
            hasher.combine(Self.lowercased(byte))
        }
    }

    /// Only ASCII letters fold (RFC 4343 §3); length bytes are below 0x40 and never change.
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
