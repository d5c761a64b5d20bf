/// A `Location` for a redirect that must stay on the preview's own origin (the token-for-cookie
/// exchange sends the browser back to the page it asked for, without the token).
///
/// The request target is the client's: `//evil.example/` or `/\evil.example/` copied into a
/// `Location` is a scheme-relative URL that browsers follow off-site (WHATWG URL treats `\` as
/// `/`). A leading run of slashes and backslashes becomes one `/`; anything that does not start
/// with `/` (absolute-form, asterisk-form) becomes `/`.
public enum SameOriginLocation {
    public static func path(from target: String) -> String {
        let utf8 = target.utf8
        guard utf8.first == UInt8(ascii: "/") else { return "/" }
        let rest = utf8.drop { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }
        return "/" + String(target[rest.startIndex...])
    }
}
