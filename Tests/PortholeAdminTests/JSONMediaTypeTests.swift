@testable import PortholeAdmin
import Testing

@Suite("JSONMediaType")
struct JSONMediaTypeTests {
    @Test(arguments: [
        "application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8",
        "application/json; charset=\"utf-8\"", "application/json ; charset=utf8", "application/merge-patch+json",
        "application/vnd.porthole.v1+json; charset=utf-8", "application/json; foo=bar", "application/json;", " application/json\t",
    ])
    func jsonIsAccepted(contentType: String) {
        #expect(JSONMediaType.accepts(contentType))
    }

    @Test(arguments: [
        "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json",
        "application/jsonx", "application/json-seq", "application/+json", "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16", "application/json, text/plain", "application / json", "json", "application/",
        "application/json; charset=",
    ])
    func anythingElseIsRefused(contentType: String) {
        #expect(!JSONMediaType.accepts(contentType))
    }
}
