public import NIOCore

/// The handler right above ``TLSServerHandler`` in a pipeline, taking plaintext from it by direct
/// calls instead of `fireChannelRead`/`fireChannelReadComplete`, and writing back with
/// ``TLSServerHandler/writePlaintext(_:)`` and ``TLSServerHandler/flushPlaintext()``.
///
/// Both handlers run on the channel's event loop, so this is the same order of events with four
/// fewer pipeline hops per request (each a context lookup, an `NIOAny` box and several reference
/// counts). Everything else (events, errors, close, `read()`) still goes through the pipeline.
/// Set ``TLSServerHandler/receiver`` when the receiver is added, and clear it when it is removed.
public protocol TLSPlaintextReceiver: AnyObject {
    /// Plaintext decrypted in this read cycle, as `channelRead` would have delivered it.
    func tlsPlaintextRead(_ plaintext: ByteBuffer)
    /// The end of the read cycle, as `channelReadComplete`.
    func tlsPlaintextReadComplete()
}
