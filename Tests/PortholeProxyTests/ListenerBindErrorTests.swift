import NIOCore
@testable import PortholeProxy
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ListenerBindErrorTests {
    @Test(arguments: [
        (EADDRINUSE, "the address is in use"),
        (EACCES, "ports below 1024 need CAP_NET_BIND_SERVICE"),
        (EADDRNOTAVAIL, "not one of this host's"),
    ])
    func saysWhatToDo(code: Int32, advice: String) {
        let error = ListenerBindError(listener: "https", address: "0.0.0.0:443", underlying: IOError(errnoCode: code, reason: "bind(descriptor:ptr:bytes:)"))
        #expect(error.description.hasPrefix("the https listener cannot bind 0.0.0.0:443: "))
        #expect(error.description.contains(advice))
        #expect(!error.description.contains("descriptor"))
    }
}
