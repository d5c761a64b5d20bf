import PortholeCore
import Testing

@Suite("CookieHeader")
struct CookieHeaderTests {
    static let name = "porthole_session"

    @Test(arguments: [
        ("a=1; porthole_session=x; b=2", "x" as String?),
        ("porthole_session=x", "x"),
        ("porthole_session=", ""),
        ("porthole_session=x; porthole_session=y", "x"),
        ("a=1;porthole_session=x", "x"),
        ("a=1;   porthole_session = x  ; b=2", "x"),
        ("porthole_session=a=b", "a=b"),
        ("porthole_session=\"quoted\"", "\"quoted\""),
        ("xporthole_session=1; porthole_session_x=2; Porthole_Session=3", nil),
        ("porthole_session", nil),
        ("a=1; b=2", nil),
        ("", nil),
        (";;;", nil),
        ("a=é; porthole_session=ü", "ü"),
    ])
    func findsTheFirstValue(_ header: String, _ expected: String?) {
        #expect(CookieHeader.find(name: Self.name, in: header).map(String.init) == expected)
    }

    @Test func listsEveryValueInOrder() {
        let header = "porthole_session=tossed; a=1; porthole_session=mine; porthole_session="
        #expect(CookieHeader.values(name: Self.name, in: header) == ["tossed", "mine", ""])
        #expect(CookieHeader.values(name: Self.name, in: "a=1").isEmpty)
    }

    @Test(arguments: [
        ("a=1; porthole_session=x; b=2", "a=1; b=2" as String?),
        ("porthole_session=x; a=1", "a=1"),
        ("porthole_session=x;a=1", "a=1"),
        ("a=1; porthole_session=x", "a=1"),
        ("porthole_session=x", nil),
        ("porthole_session=x; porthole_session=y", nil),
        (" porthole_session=x ;  ", nil),
        ("a=1;porthole_session=x;b=2", "a=1;b=2"),
        ("a=1;  porthole_session=x;   b=2", "a=1;   b=2"),
        ("porthole_session=1; a=1; porthole_session=2; b=2; porthole_session=3", "a=1; b=2"),
        ("xporthole_session=1; porthole_session_x=2", "xporthole_session=1; porthole_session_x=2"),
        ("a=1; b=2", "a=1; b=2"),
        ("a=1;b=2 ;  c=3", "a=1;b=2 ;  c=3"),
        ("a=1; porthole_session=x;", "a=1;"),
        ("a=é; porthole_session=x; b=ü", "a=é; b=ü"),
        ("flag; porthole_session=x", "flag"),
        ("a=1; porthole_session; b=2", "a=1; porthole_session; b=2"),  // no `=`: not a cookie of that name
        ("a=\"x y\"; porthole_session=\"q\"; b=2", "a=\"x y\"; b=2"),
        ("", nil),
        ("  ", nil),
    ])
    func removesEveryCookieWithTheNameAndNothingElse(_ header: String, _ expected: String?) {
        #expect(CookieHeader.removing(name: Self.name, from: header) == expected)
    }

    @Test func keepsBytesOfOtherCookiesExactly() throws {
        let header = "_ga=GA1.1.123.456;  csrftoken=a+b/c==;porthole_session=v; theme=\"dark mode\"; ∆=1"
        let result = try #require(CookieHeader.removing(name: Self.name, from: header))
        #expect(Array(result.utf8) == Array("_ga=GA1.1.123.456;  csrftoken=a+b/c==; theme=\"dark mode\"; ∆=1".utf8))
    }

    @Test func nameMatchIsExactAndCaseSensitive() {
        #expect(CookieHeader.removing(name: "a", from: "a=1; A=2; aa=3") == "A=2; aa=3")
        #expect(CookieHeader.find(name: "A", in: "a=1; A=2") == "2")
    }
}
