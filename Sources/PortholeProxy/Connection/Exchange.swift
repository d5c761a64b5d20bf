import NIOCore
import PortholeCore

/// One request and its response as a client connection relays them. Made when a request head
/// is parsed and replaced whole by the next one (or by an empty one when the connection goes
/// idle), so nothing of one exchange can leak into the next.
struct Exchange {
    /// The parsed head; its ranges point into `headBytes`. Its field array is the loop's, lent
    /// for this exchange (``ProxyLoopContext/takeFieldArray()``).
    var head: RequestHead
    /// The head as received.
    var headBytes: ByteBuffer
    /// When the head was complete.
    let started: NIODeadline
    /// The connection closes after this exchange (the client asked, HTTP/1.0, a drain, an error).
    var closeAfterResponse: Bool

    // Routing and authorisation.
    /// The sandbox and port the Host field names, once parsed.
    var target: PreviewHost?
    var policy: SandboxPolicy?
    /// The policy came from the store, not the cache: time passed since the head was complete.
    var policyLoadedLater = false
    /// The request target without `preview_token`, when the client sent one.
    var strippedTarget: String?
    /// While the sandbox is woken: when holding the request ends (``WakeSettings/holdTimeout``
    /// after it was first held).
    var wakeDeadline: NIODeadline?
    /// The sandbox whose concurrent-exchange count this exchange holds (``ConnectionLimits``).
    var countedSandbox: String?

    // The request body, streaming upstream.
    var requestBody: BodyProgress
    var bodyClock = RequestBodyClock()

    // The upstream side.
    var lease: UpstreamPool.Lease?
    var upstreamSentAt: NIODeadline = .distantPast
    /// Until the first response byte: a safe request sent on a reused connection that then closed
    /// (a keep-alive race) is sent again, with the same head, on a fresh one.
    var mayRetry = false
    /// A response head that arrived in pieces, until it is complete.
    var upstreamHeadPartial: ByteBuffer?
    var responseHeadDone = false
    var responseBody = BodyProgress(.none)
    /// The upstream announced it closes after this response.
    var upstreamWillClose = false
    /// The upstream sent bytes past the end of its response: it cannot be trusted with another request.
    var upstreamMisbehaved = false
    /// The response body is compressed on its way to the client (``ResponseCompression``); the
    /// stream goes back to the loop's pool when the exchange finishes.
    var compression: Deflater?

    // Accounting, for the metrics and the access log.
    var decision: ProxyMetrics.Decision = .error
    var responseStatus = 0
    var bytesToClient = 0
    /// Counted and logged (each exchange exactly once).
    var isRecorded: Bool

    init(head: RequestHead, headBytes: ByteBuffer, started: NIODeadline, closeAfterResponse: Bool) {
        self.head = head
        self.headBytes = headBytes
        self.started = started
        self.closeAfterResponse = closeAfterResponse
        self.requestBody = BodyProgress(head.framing)
        self.isRecorded = false
    }

    /// No exchange: a connection between requests, or one whose head could not be parsed (such a
    /// request is answered but neither counted nor logged as an exchange).
    static var none: Exchange {
        var empty = Exchange(head: RequestHead(), headBytes: ByteBuffer(), started: .distantPast, closeAfterResponse: false)
        empty.isRecorded = true
        return empty
    }

    /// Whether the connection can take another request after this exchange's response: the
    /// request's body was read to its end (else its rest would be taken for the next request) and
    /// nothing asked to close.
    var keepsAlive: Bool {
        !closeAfterResponse && requestBody.isComplete
    }
}
