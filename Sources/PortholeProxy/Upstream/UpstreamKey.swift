/// Identifies a pool of interchangeable upstream connections: one sandbox address and port.
struct UpstreamKey: Hashable {
    var target: String
    var port: UInt16
}
