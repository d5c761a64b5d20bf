/// What a request head tells about its sender, read field by field as the proxy meets them: the
/// one place that decides "is this a browser navigation" (``kind``) and "does the client want an
/// HTML error page" (``prefersHTML``). Byte-level and allocation-free, so the proxy calls it on
/// its hot path and the table-driven tests cover exactly what runs.
public struct RequestHints: Sendable, Hashable {
    /// The request methods the rules tell apart (methods are case-sensitive, RFC 9110 §9.1).
    public enum Method: Sendable, Hashable {
        case get, head, options, other
    }

    public var method: Method
    /// `Connection: upgrade` with an `Upgrade` field in an HTTP/1.1 request: what the proxy
    /// forwards as an upgrade. A bare `Upgrade` field is not one (RFC 9110 §7.8: the sender must
    /// list it in `Connection`), and is forwarded as an ordinary request.
    public var isUpgrade: Bool
    /// A well-formed CORS preflight (``CORSPreflight``).
    public var isPreflight: Bool
    /// `Sec-Fetch-Mode`: `nil` when absent, else whether it says `navigate`.
    public private(set) var secFetchModeIsNavigate: Bool?
    /// An `Accept` field lists `text/html` or `application/xhtml+xml` with a quality above zero.
    public private(set) var acceptsHTML = false
    /// `Sec-Fetch-Site: cross-site`: the request was started by a page of another site.
    public private(set) var isCrossSite = false
    /// `Sec-Fetch-Dest: iframe` (or `frame`): the response will be shown inside a frame.
    public private(set) var isForFrame = false

    public init(method: Method, isUpgrade: Bool = false, isPreflight: Bool = false) {
        self.method = method
        self.isUpgrade = isUpgrade
        self.isPreflight = isPreflight
    }

    /// Reads one `Sec-Fetch-Mode` field value; a repeated field counts as its last value.
    public mutating func readSecFetchMode(_ value: UnsafeRawBufferPointer) {
        secFetchModeIsNavigate = ASCIIByte.equalsIgnoringCase(ASCIIByte.trimmingWhitespace(value), "navigate")
    }

    /// Reads one `Sec-Fetch-Site` field value.
    public mutating func readSecFetchSite(_ value: UnsafeRawBufferPointer) {
        isCrossSite = ASCIIByte.equalsIgnoringCase(ASCIIByte.trimmingWhitespace(value), "cross-site")
    }

    /// Reads one `Sec-Fetch-Dest` field value.
    public mutating func readSecFetchDest(_ value: UnsafeRawBufferPointer) {
        let destination = ASCIIByte.trimmingWhitespace(value)
        isForFrame = ASCIIByte.equalsIgnoringCase(destination, "iframe") || ASCIIByte.equalsIgnoringCase(destination, "frame")
    }

    /// A page of another site loads this preview into a frame (a dashboard embedding it): a
    /// session cookie issued now must be partitioned to that site to be stored at all (CHIPS).
    /// Fetch Metadata comes from the browser; a client that forges it only changes the attributes
    /// of its own cookie.
    public var isCrossSiteFrame: Bool { isCrossSite && isForFrame }

    /// Reads one `Accept` field value. Repeated fields are one list (RFC 9110 §5.3), so any of them
    /// that accepts HTML counts.
    public mutating func readAccept(_ value: UnsafeRawBufferPointer) {
        if !acceptsHTML { acceptsHTML = Self.listsHTML(value) }
    }

    /// How authorisation treats the request.
    ///
    /// Only `GET` and `HEAD` are navigations: the token-for-cookie redirect replays the request as
    /// a `GET`, which would drop the body of a form `POST` sent with `Sec-Fetch-Mode: navigate`.
    /// When `Sec-Fetch-Mode` is present it is trusted over `Accept`, since `fetch()` calls can ask
    /// for `text/html` too; `Accept` decides for clients that predate Fetch Metadata.
    public var kind: RequestKind {
        if isUpgrade { return .upgrade }
        if isPreflight { return .preflight }
        guard method == .get || method == .head else { return .other }
        if let secFetchModeIsNavigate { return secFetchModeIsNavigate ? .navigation : .other }
        return acceptsHTML ? .navigation : .other
    }

    /// HTML for browser page loads, JSON for everything else: `Sec-Fetch-Mode: navigate`, or an
    /// `Accept` that lists HTML, whatever the method (a form `POST` that fails shows a page).
    public var prefersHTML: Bool {
        secFetchModeIsNavigate == true || acceptsHTML
    }

    /// Whether a comma-separated list of media ranges (`text/html;q=0.9, */*;q=0.8`) names
    /// `text/html` or `application/xhtml+xml`, in any case, without `q=0`. `*/*` does not count:
    /// curl sends it, and wants JSON.
    static func listsHTML(_ value: UnsafeRawBufferPointer) -> Bool {
        var found = false
        WeightedList.forEachElement(value) { mediaType, weight in
            if weight > 0, ASCIIByte.equalsIgnoringCase(mediaType, "text/html") || ASCIIByte.equalsIgnoringCase(mediaType, "application/xhtml+xml") {
                found = true
            }
        }
        return found
    }
}

extension RequestHints {
    /// The same hints from header values as text (`nil` when a field is absent): for callers that
    /// hold strings, and for the tables of tests. The method is matched case-sensitively.
    public init(method: String, isUpgrade: Bool = false, isPreflight: Bool = false, secFetchMode: String? = nil, accept: String? = nil) {
        let parsed: Method =
            switch method {
            case "GET": .get
            case "HEAD": .head
            case "OPTIONS": .options
            default: .other
            }
        self.init(method: parsed, isUpgrade: isUpgrade, isPreflight: isPreflight)
        if var secFetchMode { secFetchMode.withUTF8 { readSecFetchMode(UnsafeRawBufferPointer($0)) } }
        if var accept { accept.withUTF8 { readAccept(UnsafeRawBufferPointer($0)) } }
    }
}
