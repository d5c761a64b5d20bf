import PortholeCore
import Testing

@Suite("SameOriginLocation")
struct SameOriginLocationTests {
    @Test(arguments: [
        ("/", "/"),
        ("/app/page?x=1", "/app/page?x=1"),
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example/", "/evil.example/"),
        ("\\\\evil.example", "/"),
        ("///\\/evil.example/x", "/evil.example/x"),
        ("/a//b", "/a//b"),
        ("http://evil.example/", "/"),
        ("*", "/"),
        ("", "/"),
    ])
    func staysOnTheOrigin(_ target: String, _ expected: String) {
        #expect(SameOriginLocation.path(from: target) == expected)
    }
}
