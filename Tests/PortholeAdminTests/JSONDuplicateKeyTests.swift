@testable import PortholeAdmin
import Testing

@Suite("JSONDuplicateKey")
struct JSONDuplicateKeyTests {
    @Test(arguments: [
        (#"{"public":false,"public":true}"#, ["public"]),
        (#"{"target":"x","labels":{"team":"a","team":"b"}}"#, ["labels", "team"]),
        (#"{"a":1,"\u0061":2}"#, ["a"]),
        (#"{"\ud83d\ude00":1,"😀":2}"#, ["😀"]),
        (#"{"é":1,"e\u0301":2}"#, ["é"]),
        (#"{"a":{"b":{"c":1,"c":2}}}"#, ["a", "b", "c"]),
        (#"{"a":[{"k":1,"k":2}]}"#, ["a", "k"]),
        (#"{"x":"\"a\":1","x":2}"#, ["x"]),
        (" { \"a\" : 1 ,\n \"a\" : 2 } ", ["a"]),
    ])
    func repeatedKeysAreFound(json: String, path: [String]) {
        #expect(JSONDuplicateKey.find(in: Array(json.utf8)) == path)
    }

    @Test(arguments: [
        #"{"public":false,"publik":true}"#,
        #"{"labels":{"team":"a"},"team":"b"}"#,
        #"{"a":{"k":1},"b":{"k":1}}"#,
        #"[{"k":1},{"k":1}]"#,
        #"{"a":"a","b":"a"}"#,
        #"{"a\\":1,"a":2}"#,
        #"{"A":1,"a":2}"#,
        #"{}"#,
        #""text""#,
    ])
    func distinctKeysPass(json: String) {
        #expect(JSONDuplicateKey.find(in: Array(json.utf8)) == nil)
    }
}
