import Logging
import NIOCore
import NIOEmbedded
@testable import PortholeProxy
import Testing

@Suite("AcceptFailureHandler")
struct AcceptFailureHandlerTests {
    private struct SetupFailure: Error {}

    @Test("a failed set-up of an accepted connection is counted and not passed on; the cap is counted apart")
    func countsFailures() throws {
        let metrics = ProxyMetrics()
        let channel = EmbeddedChannel(handler: AcceptFailureHandler(listener: "test", metrics: metrics, logger: Logger(label: "test")))
        channel.pipeline.fireErrorCaught(SetupFailure())
        channel.pipeline.fireErrorCaught(SetupFailure())
        channel.pipeline.fireErrorCaught(ProxyServerError.connectionLimit)
        // Nothing reaches the end of the pipeline: EmbeddedChannel would rethrow it here.
        try channel.throwIfErrorCaught()
        let text = metrics.render()
        #expect(text.contains("porthole_accept_failures_total 2"))
        #expect(text.contains("porthole_connections_over_limit_total 1"))
        _ = try channel.finish()
    }
}
