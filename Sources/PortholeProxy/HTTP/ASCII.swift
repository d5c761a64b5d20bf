/// Byte classes of RFC 9110 §5.6 and a table-driven test for each, so the head parsers never
/// touch Character or String on the hot path.
@_spi(Benchmarks) public enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA,
    /// as a 128-bit set split in two words. Bit tests on constants: no lazy globals (a `swift_once`
    /// per byte showed up in profiles) and no bounds checks.
    private static let tokenLow: UInt64 = 0x03FF_6CFA_0000_0000  // 0x00–0x3F: ! # $ % & ' * + - . 0–9
    private static let tokenHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // 0x40–0x7F: A–Z ^ _ ` a–z | ~

    @inline(__always) static func isToken(_ byte: UInt8) -> Bool {
        if byte < 64 { return tokenLow >> UInt64(byte) & 1 == 1 }
        if byte < 128 { return tokenHigh >> UInt64(byte - 64) & 1 == 1 }
        return false
    }

    /// field-vchar / SP / HTAB / obs-text: anything but control characters and DEL.
    @inline(__always) static func isFieldValue(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == 0x09
    }

    /// Request-target characters: visible ASCII (RFC 9112 §3.2; spaces and controls are refused).
    @inline(__always) static func isTarget(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    /// Case-insensitive comparison with a lowercase ASCII literal made of letters, digits and `-`.
    /// `byte | 0x20` folds A–Z onto a–z and leaves digits and `-` alone; token bytes never fold onto
    /// those by accident (only CR folds onto `-`, and CR is not a token byte).
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let literal = lowercase.utf8Start
        var index = 0
        for position in range {
            if bytes[position] | 0x20 != literal[index] { return false }
            index += 1
        }
        return true
    }

    /// True when the comma-separated list in `range` contains `lowercaseToken` (case-insensitive, OWS tolerated).
    static func listContains(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercaseToken: StaticString) -> Bool {
        var found = false
        forEachListElement(bytes, range) { element in
            if equalsLowercase(bytes, element, lowercaseToken) { found = true }
        }
        return found
    }

    /// Calls `body` with each non-empty element of a comma-separated list, trimmed of OWS.
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        var start = range.lowerBound
        while start <= range.upperBound {
            var end = start
            while end < range.upperBound && bytes[end] != comma { end += 1 }
            var lower = start
            var upper = end
            while lower < upper && (bytes[lower] == space || bytes[lower] == tab) { lower += 1 }
            while upper > lower && (bytes[upper - 1] == space || bytes[upper - 1] == tab) { upper -= 1 }
            if lower < upper { body(lower..<upper) }
            start = end + 1
        }
    }

    /// Where a head ends, if the bytes so far contain all of it.
    @_spi(Benchmarks) public enum HeadEnd: Equatable {
        /// No CRLFCRLF yet: read more.
        case incomplete
        /// Index just past the CRLFCRLF.
        case complete(Int)
        /// A line ends in a bare LF: refused at once rather than waited on (RFC 9112 §2.2 lets a
        /// recipient accept it; two parsers disagreeing on line ends is how smuggling starts).
        case bareLineFeed
    }

    /// Finds the end of a head in `bytes`.
    @_spi(Benchmarks) public static func headEnd(_ bytes: UnsafeRawBufferPointer) -> HeadEnd {
        var index = 0
        let count = bytes.count
        while index < count {
            if bytes[index] == lf {
                guard index > 0, bytes[index - 1] == cr else { return .bareLineFeed }
                if index >= 3 && bytes[index - 2] == lf && bytes[index - 3] == cr { return .complete(index + 1) }
            }
            index += 1
        }
        return .incomplete
    }

    /// True when `needle` occurs in `bytes[range]` (byte-exact). Used to skip rare slow paths cheaply.
    static func contains(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ needle: String) -> Bool {
        var needle = needle
        return needle.withUTF8 { pattern in
            guard let first = pattern.first, range.count >= pattern.count else { return false }
            var index = range.lowerBound
            let last = range.upperBound - pattern.count
            while index <= last {
                if bytes[index] == first {
                    var offset = 1
                    while offset < pattern.count && bytes[index + offset] == pattern[offset] { offset += 1 }
                    if offset == pattern.count { return true }
                }
                index += 1
            }
            return false
        }
    }
}
