import PortholeNIOUtilities
import Testing

/// The one parser of `http://` addresses (the admin API's for the CLI, the wake webhook's). It
/// lives beside PrivateDirectoryTests: this target is the one that tests PortholeNIOUtilities.
@Suite struct PlainHTTPURLTests {
    @Test(arguments: [
        ("http://orchestrator.internal/wake", "orchestrator.internal", 80, "/wake"),
        ("http://10.0.0.5:8080/hooks/wake?x=1", "10.0.0.5", 8080, "/hooks/wake?x=1"),
        ("http://127.0.0.1:9000", "127.0.0.1", 9000, ""),
        ("http://[::1]:9000/w", "[::1]", 9000, "/w"),
        ("http://[fd00::5]/", "[fd00::5]", 80, "/"),
    ])
    func parses(_ text: String, _ host: String, _ port: Int, _ path: String) throws {
        let url = try #require(PlainHTTPURL(text))
        #expect(url.host == host && url.port == port && url.path == path)
    }

    @Test(arguments: [
        "https://orchestrator/wake", "ftp://x/", "http://", "http://host:0/", "http://host:99999/", "http://host:x/",
        "http://user@host/", "http://host/a b", "http://[::1/", "http://[::1]x/", "http://:80/",
    ])
    func refuses(_ text: String) {
        #expect(PlainHTTPURL(text) == nil)
    }
}
