/// Where a streaming message body stands: how many more bytes belong to it, or that it is chunked
/// and still open. One value per direction of the exchange in flight.
@_spi(Benchmarks) public struct BodyProgress: Sendable {
    private enum State: Sendable {
        /// The body is complete (or there never was one).
        case complete
        /// This many bytes remain.
        case remaining(Int64)
        /// A chunked body that has not ended yet.
        case chunked(ChunkedBodyScanner)
        /// Until the peer closes (responses without a length).
        case untilClose
    }

    private var state: State

    public init(_ framing: MessageFraming) {
        switch framing {
        case .none: state = .complete
        case .contentLength(let length): state = length == 0 ? .complete : .remaining(length)
        case .chunked: state = .chunked(ChunkedBodyScanner())
        case .untilClose: state = .untilClose
        }
    }

    public var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    public var isUntilClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// Accounts for the bytes at the front of `bytes`; returns how many of them belong to this body.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        try consume(bytes) { _ in }
    }

    /// The same, and calls `payload` with the range of each piece of the body's content in
    /// `bytes` (without chunk framing), in order.
    @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, payload: (Range<Int>) -> Void) throws(HTTPParseError) -> Int {
        switch state {
        case .complete:
            return 0
        case .untilClose:
            if !bytes.isEmpty { payload(0..<bytes.count) }
            return bytes.count
        case .remaining(let remaining):
            let taken = Int(min(remaining, Int64(bytes.count)))
            state = remaining == Int64(taken) ? .complete : .remaining(remaining - Int64(taken))
            if taken > 0 { payload(0..<taken) }
            return taken
        case .chunked(var scanner):
            state = .complete  // avoid a copy-on-write of the scanner while it is mutated
            let taken = try scanner.scan(bytes, data: payload)
            state = scanner.isComplete ? .complete : .chunked(scanner)
            return taken
        }
    }
}
