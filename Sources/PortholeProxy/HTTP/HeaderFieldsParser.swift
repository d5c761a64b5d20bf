/// Parses the field lines shared by request and response heads (RFC 9112 §5), strictly:
/// token names with no space before the colon, no control characters in values, CRLF line ends,
/// no obsolete line folding. Ranges point into the same buffer the caller parsed.
enum HeaderFieldsParser {
    /// Parses field lines from `start` (the first byte after the start line's CRLF) up to `end`,
    /// which is just past the terminating empty line. Appends to `fields`.
    static func parse(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        to end: Int,
        into fields: inout [HeaderField]
    ) throws(HTTPParseError) {
        var lineStart = start
        let last = end - 2  // index of the final empty line's CR
        while lineStart < last {
            let first = bytes[lineStart]
            if first == ASCII.space || first == ASCII.tab { throw .obsoleteLineFolding }
            // Name: one or more token bytes, then a colon with no whitespace before it (RFC 9112 §5.1).
            var index = lineStart
            var underscores = false
            while index < last && ASCII.isToken(bytes[index]) {
                underscores = underscores || bytes[index] == UInt8(ascii: "_")
                index += 1
            }
            guard index > lineStart, index < last, bytes[index] == ASCII.colon else { throw .invalidHeaderName }
            let name = lineStart..<index
            index += 1
            while index < last && (bytes[index] == ASCII.space || bytes[index] == ASCII.tab) { index += 1 }
            let valueStart = index
            while index < last && ASCII.isFieldValue(bytes[index]) { index += 1 }
            // The value must end exactly at CRLF; anything else is a control byte or a bare CR/LF.
            guard index < end - 1, bytes[index] == ASCII.cr else {
                throw bytes[index] == ASCII.lf ? .bareLineFeedOrCarriageReturn : .invalidHeaderValue
            }
            guard bytes[index + 1] == ASCII.lf else { throw .bareLineFeedOrCarriageReturn }
            var valueEnd = index
            while valueEnd > valueStart && (bytes[valueEnd - 1] == ASCII.space || bytes[valueEnd - 1] == ASCII.tab) {
                valueEnd -= 1
            }
            // No field the proxy knows has `_` in its name: such a name is never one of them.
            let kind = underscores ? HeaderField.Kind.underscored : HeaderField.classify(bytes, name)
            fields.append(HeaderField(name: name, value: valueStart..<valueEnd, lineEnd: index + 2, kind: kind))
            lineStart = index + 2
        }
    }

    /// Parses a Content-Length value: digits only, no sign, no list, no overflow (RFC 9110 §8.6).
    static func contentLength(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) -> Int64 {
        guard !range.isEmpty, range.count <= 18 else { throw .invalidContentLength }
        var value: Int64 = 0
        for index in range {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .invalidContentLength }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    /// Marks the fields named by `Connection` options as hop-by-hop (RFC 9110 §7.6.1).
    /// Standard options (`close`, `keep-alive`, `upgrade`) are handled by the callers.
    static func markConnectionOptions(_ bytes: UnsafeRawBufferPointer, _ fields: inout [HeaderField]) {
        for connectionIndex in fields.indices where fields[connectionIndex].kind == .connection {
            ASCII.forEachListElement(bytes, fields[connectionIndex].value) { option in
                // `Upgrade` is named by `Connection: upgrade`; the writers decide about it themselves.
                if ASCII.equalsLowercase(bytes, option, "close") || ASCII.equalsLowercase(bytes, option, "keep-alive")
                    || ASCII.equalsLowercase(bytes, option, "upgrade")
                {
                    return
                }
                for fieldIndex in fields.indices where fields[fieldIndex].name.count == option.count {
                    // Framing and routing fields are end-to-end whatever `Connection` says: letting a
                    // peer strip Content-Length or Transfer-Encoding would desynchronise the next hop.
                    switch fields[fieldIndex].kind {
                    case .contentLength, .transferEncoding, .host: continue
                    default: break
                    }
                    if namesEqual(bytes, fields[fieldIndex].name, option) {
                        fields[fieldIndex].listedInConnection = true
                    }
                }
            }
        }
    }

    private static func namesEqual(_ bytes: UnsafeRawBufferPointer, _ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var right = rhs.lowerBound
        for left in lhs {
            let a = bytes[left]
            let b = bytes[right]
            if a != b && !(isLetter(a) && a | 0x20 == b | 0x20) { return false }
            right += 1
        }
        return true
    }

    @inline(__always) private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
}
