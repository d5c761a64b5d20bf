/// A byte as an error message shows it: printable ASCII as itself, anything else as its value, so
/// a message never carries control characters or half a UTF-8 sequence.
enum PrintableByte {
    static func describe(_ byte: UInt8) -> String {
        if byte > 0x20, byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        if byte == 0x20 { return "' '" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }

    /// A piece of input as an error message quotes it: at most `limit` characters, so a message
    /// stays readable whatever was sent.
    static func bounded(_ text: String, limit: Int = 12) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
