import PortholeCore
import Testing

@Suite struct LocalOriginMappingTests {
    private func bytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var copy = text
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    @Test(arguments: [
        ("https://3000-abc.preview.localhost:8443", true),
        ("HTTPS://3000-ABC.Preview.Localhost:8443", true),
        ("https://3000-abc.preview.localhost", false),  // another port is another origin
        ("http://3000-abc.preview.localhost:8443", false),  // another scheme
        ("https://3000-abc.preview.localhost:8443/", false),  // an Origin has no path
        ("https://3001-abc.preview.localhost:8443", false),
        ("https://evil.example", false),
        ("null", false),
        ("", false),
    ])
    func origin(_ value: String, _ matches: Bool) {
        let result = bytes(value) { value in
            bytes("3000-abc.preview.localhost:8443") { LocalOriginMapping.isPreviewOrigin(value, scheme: "https", host: $0) }
        }
        #expect(result == matches)
    }

    @Test(
        arguments: [
            ("https://3000-abc.preview.localhost:8443/lab/tree?x=1", 39),
            ("https://3000-abc.preview.localhost:8443", 39),
            ("https://3000-abc.preview.localhost:8443?q", 39),
            ("https://3000-abc.preview.localhost:8443#top", 39),
            ("https://3000-abc.preview.localhost:84431/", nil),  // the port continues
            ("https://3000-abc.preview.localhost:8443.evil.example/", nil),
            ("https://other.example/", nil),
        ] as [(String, Int?)])
    func referer(_ value: String, _ prefix: Int?) {
        let result = bytes(value) { value in
            bytes("3000-abc.preview.localhost:8443") { LocalOriginMapping.previewOriginPrefix(value, scheme: "https", host: $0) }
        }
        #expect(result == prefix)
    }

    @Test(
        arguments: [
            ("http://localhost:3000/login?next=/", 21),
            ("http://localhost:3000", 21),
            ("HTTP://LOCALHOST:3000/x", 21),
            ("http://127.0.0.1:3000/x", 21),
            ("http://localhost:3001/x", nil),  // another port: another service, left alone
            ("http://localhost:30000/x", nil),
            ("http://localhost:3000.evil.example/", nil),
            ("https://localhost:3000/x", 22),  // a dev server with its own certificate
            ("https://127.0.0.1:3000", 22),
            ("/relative", nil),
            ("http://localhost/x", nil),
            ("http://localhost:", nil),
        ] as [(String, Int?)])
    func localOrigin(_ value: String, _ prefix: Int?) {
        #expect(bytes(value) { LocalOriginMapping.localOriginPrefix($0, port: 3000) } == prefix)
    }

    @Test(
        arguments: [
            ("5; url=http://localhost:3000/", 7),
            ("0;URL = http://x/", 8),
            ("5", nil),
            ("5; nothing", nil),
            ("5; url", nil),
        ] as [(String, Int?)])
    func refresh(_ value: String, _ start: Int?) {
        #expect(bytes(value) { LocalOriginMapping.refreshURLStart($0) } == start)
    }

    @Test(arguments: [
        ("http://localhost:3000/", true),
        ("http://127.0.0.1:8888/lab", true),
        ("5; url=HTTP://LOCALHOST:3000/", true),
        ("/relative/path/only", false),
        ("https://example.com/localhost:3000", false),
    ])
    func cheapTest(_ value: String, _ may: Bool) {
        #expect(bytes(value) { LocalOriginMapping.mayHoldLocalOrigin($0) } == may)
    }
}
