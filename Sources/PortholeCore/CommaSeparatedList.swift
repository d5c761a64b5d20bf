/// The comma-separated lists of settings and API fields (allow lists, trusted proxies).
enum CommaSeparatedList {
    /// Entries are split and trimmed on bytes, not Characters: a combining mark after a comma would
    /// otherwise glue the comma into one grapheme and hide the separator. Empty entries are kept,
    /// so callers can refuse them with a message.
    static func entries(_ text: String) -> [Substring] {
        let utf8 = text.utf8
        var entries: [Substring] = []
        var start = utf8.startIndex
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: ",") {
                entries.append(trimmed(text[start..<index]))
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        entries.append(trimmed(text[start..<utf8.endIndex]))
        return entries
    }

    static func trimmed(_ text: Substring) -> Substring {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isSpace($0) }) else { return text[text.endIndex...] }
        let last = utf8.lastIndex(where: { !isSpace($0) })!
        return text[first..<utf8.index(after: last)]
    }
}
