@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// `Connection` options: the fields they name are hop-by-hop (RFC 9110 §7.6.1), and `upgrade`
/// together with an `Upgrade` field asks for a protocol switch (RFC 9110 §7.8).
@Suite struct ConnectionOptionsTests {
    @Test func marksTheFieldsNamedByConnectionCaseInsensitively() throws {
        let parsed = try Wire.request(
            wireHead(
                "GET / HTTP/1.1", "Host: a", "Connection: close, X-Foo", "X-Foo: 1", "x-foo: 2", "X-Foo-Bar: 3", "X-Fo: 4", "Accept: */*"
            ))
        let listed = parsed.head.fields.filter(\.listedInConnection).map { parsed.text($0.name) }
        #expect(listed == ["X-Foo", "x-foo"])
        #expect(parsed.head.wantsClose)
    }

    @Test(arguments: [
        ["X-A , x-b"],
        ["X-A,x-b"],
        [",, X-A ,,\tx-b\t,"],
        ["X-A", "X-B"],
        ["keep-alive, X-A", "close,X-B"],
    ])
    func readsEveryOptionOfEveryConnectionLine(_ connection: [String]) throws {
        let lines = ["GET / HTTP/1.1", "Host: a"] + connection.map { "Connection: \($0)" } + ["X-A: 1", "X-B: 2", "X-C: 3"]
        let parsed = try Wire.request(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        let listed = parsed.head.fields.filter(\.listedInConnection).map { parsed.text($0.name) }
        #expect(listed == ["X-A", "X-B"])
    }

    @Test func optionNamesFoldOnlyLetters() throws {
        // `^`|0x20 is `~` and `_`|0x20 is DEL: a case-insensitive match must not fold those.
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host: a", "Connection: x~A, x_b", "X^A: 1", "X~a: 2", "X-B: 3", "X_B: 4"))
        let listed = parsed.head.fields.filter(\.listedInConnection).map { parsed.text($0.name) }
        #expect(listed == ["X~a", "X_B"])
    }

    @Test func optionsThatNameNoFieldMarkNothing() throws {
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host: a", "Connection: X-Missing, close, keep-alive", "X-Other: 1"))
        #expect(parsed.head.fields.allSatisfy { !$0.listedInConnection })
    }

    @Test func withoutConnectionNothingIsMarked() throws {
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host: a", "X-Foo: 1", "Keep-Alive: timeout=5"))
        #expect(parsed.head.fields.allSatisfy { !$0.listedInConnection })
    }

    @Test(arguments: [
        // (version, field lines, isUpgrade)
        ("HTTP/1.1", ["Connection: Upgrade", "Upgrade: websocket"], true),
        ("HTTP/1.1", ["Upgrade: websocket", "Connection: upgrade"], true),
        ("HTTP/1.1", ["Connection: keep-alive, Upgrade", "Upgrade: websocket"], true),
        ("HTTP/1.1", ["Connection: keep-alive", "Connection: UPGRADE", "Upgrade: h2c"], true),
        ("HTTP/1.1", ["Connection: upgrade", "Upgrade:"], true),
        ("HTTP/1.1", ["Upgrade: websocket"], false),
        ("HTTP/1.1", ["Connection: upgrade"], false),
        ("HTTP/1.1", ["Connection: upgrades", "Upgrade: websocket"], false),
        ("HTTP/1.1", ["Connection: close", "Upgrade: websocket"], false),
        ("HTTP/1.1", ["Connection: \"upgrade\"", "Upgrade: websocket"], false),
        ("HTTP/1.1", ["X-Connection: upgrade", "Upgrade: websocket"], false),
        ("HTTP/1.1", ["Connection: upgrade", "X-Upgrade: websocket"], false),
        // HTTP/1.0 has no Upgrade (RFC 9110 §7.8 is HTTP/1.1 only).
        ("HTTP/1.0", ["Connection: upgrade", "Upgrade: websocket"], false),
        ("HTTP/1.0", ["Connection: keep-alive, upgrade", "Upgrade: websocket"], false),
    ])
    func upgradeNeedsTheOptionAndTheFieldInHTTP11(_ version: String, _ fields: [String], _ isUpgrade: Bool) throws {
        let lines = ["GET /socket \(version)", "Host: a"] + fields
        let parsed = try Wire.request(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        #expect(parsed.head.isUpgrade == isUpgrade)
    }

    @Test func anUpgradeThatAlsoClosesStillUpgrades() throws {
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host: a", "Connection: Upgrade, close", "Upgrade: websocket"))
        #expect(parsed.head.isUpgrade)
        #expect(parsed.head.wantsClose)
    }

    @Test func markingFieldsDoesNotChangeFraming() throws {
        // Whatever Connection says, the proxy itself still frames the body it reads by these fields.
        let parsed = try Wire.request(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Connection: Content-Length"))
        #expect(parsed.head.framing == .contentLength(5))
        let chunked = try Wire.request(wireHead("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Connection: transfer-encoding"))
        #expect(chunked.head.framing == .chunked)
    }
}
