import PortholeTestSupport

extension TestPaths {
    /// The Python peers (upstream server, WebSocket client) the end-to-end tests start.
    static let peers = packageRoot + "/Tests/EndToEndTests/Peers"
}
