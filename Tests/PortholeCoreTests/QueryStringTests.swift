import PortholeCore
import Testing

@Suite("QueryString")
struct QueryStringTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let target: String
        let expected: String
        let value: String?
        var testDescription: String { target }
    }

    static let cases: [Case] = [
        Case(target: "/path?a=1&preview_token=abc&b=2", expected: "/path?a=1&b=2", value: "abc"),
        Case(target: "/path?a=1&preview_token=abc&b=2#frag", expected: "/path?a=1&b=2#frag", value: "abc"),
        Case(target: "/p?preview_token=abc&a=1", expected: "/p?a=1", value: "abc"),
        Case(target: "/p?a=1&preview_token=abc", expected: "/p?a=1", value: "abc"),
        Case(target: "/p?preview_token=abc", expected: "/p", value: "abc"),
        Case(target: "/?preview_token=abc", expected: "/", value: "abc"),
        Case(target: "/p?preview_token=abc#x", expected: "/p#x", value: "abc"),
        Case(target: "/p?preview_token=abc#x?preview_token=y", expected: "/p#x?preview_token=y", value: "abc"),
        Case(target: "/p#x?preview_token=abc", expected: "/p#x?preview_token=abc", value: nil),
        Case(target: "/p?a=1", expected: "/p?a=1", value: nil),
        Case(target: "/p", expected: "/p", value: nil),
        Case(target: "/p?", expected: "/p?", value: nil),
        Case(target: "", expected: "", value: nil),
        Case(target: "*", expected: "*", value: nil),
        Case(target: "/p?xpreview_token=1&preview_tokenx=2&preview%5Ftoken=3", expected: "/p?xpreview_token=1&preview_tokenx=2&preview%5Ftoken=3", value: nil),
        Case(target: "/p?Preview_Token=1", expected: "/p?Preview_Token=1", value: nil),
        Case(target: "/p?preview_token=a%2Bb%3d%2F", expected: "/p", value: "a+b=/"),
        Case(target: "/p?preview_token=a%zzb", expected: "/p", value: "a%zzb"),
        Case(target: "/p?preview_token=ab%4", expected: "/p", value: "ab%4"),
        Case(target: "/p?preview_token=%", expected: "/p", value: "%"),
        Case(target: "/p?preview_token=%41%42", expected: "/p", value: "AB"),
        Case(target: "/p?preview_token=%E2%88%86", expected: "/p", value: "∆"),
        Case(target: "/p?preview_token=a+b", expected: "/p", value: "a+b"),
        Case(target: "/p?preview_token=a=b", expected: "/p", value: "a=b"),
        Case(target: "/p?preview_token", expected: "/p", value: ""),
        Case(target: "/p?preview_token=", expected: "/p", value: ""),
        Case(target: "/p?preview_token=a&x=1&preview_token=b", expected: "/p?x=1", value: "a"),
        Case(target: "/p?preview_token=a&preview_token=b", expected: "/p", value: "a"),
        Case(target: "/p?a=1&&preview_token=x&b", expected: "/p?a=1&&b", value: "x"),
        Case(target: "/p?&preview_token=x", expected: "/p", value: "x"),
        Case(target: "/p?preview_token=x&", expected: "/p", value: "x"),
        Case(target: "/p?a=%20&preview_token=x&b=é&c=+", expected: "/p?a=%20&b=é&c=+", value: "x"),
        Case(target: "/a/b;c?preview_token=x&q=a?b", expected: "/a/b;c?q=a?b", value: "x"),
        Case(target: "http://3000-abc.preview.localhost/p?preview_token=x&a=1", expected: "http://3000-abc.preview.localhost/p?a=1", value: "x"),
    ]

    @Test(arguments: cases)
    func removesTheParameter(_ testCase: Case) {
        let (target, value) = QueryString.removingParameter("preview_token", from: testCase.target)
        #expect(target == testCase.expected)
        #expect(Array(target.utf8) == Array(testCase.expected.utf8))
        #expect(value == testCase.value)
    }

    @Test func otherNamesWork() {
        #expect(QueryString.removingParameter("a", from: "/?a=1&aa=2&a=3").target == "/?aa=2")
        #expect(QueryString.removingParameter("", from: "/?=1&b=2") == ("/?b=2", "1"))
    }
}
