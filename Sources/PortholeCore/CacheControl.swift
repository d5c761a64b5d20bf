/// Directives of a `Cache-Control` field that change what the proxy may do (RFC 9111 §5.2).
public enum CacheControl {
    /// Whether the field value has the `no-transform` directive: intermediaries must not change
    /// the content, so it is not compressed (RFC 9111 §5.2.2.6).
    public static func hasNoTransform(_ value: UnsafeRawBufferPointer) -> Bool {
        var found = false
        WeightedList.forEachElement(value) { name, _ in
            if ASCIIByte.equalsIgnoringCase(name, "no-transform") { found = true }
        }
        return found
    }
}
