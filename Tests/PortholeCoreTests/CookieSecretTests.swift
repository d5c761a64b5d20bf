import PortholeCore
import Testing

@Suite("CookieSecret")
struct CookieSecretTests {
    @Test func aShortOrEmptySecretCannotBeMade() throws {
        for length in [0, 1, 31] {
            let error = #expect(throws: CookieSecretError.self) { try CookieSecret(Array(repeating: 7, count: length)) }
            #expect(error?.length == length)
            #expect(error.map { "\($0)" } == "the cookie secret must be at least 32 bytes (64 hex digits), got \(length)")
        }
        #expect(try CookieSecret(Array(repeating: 7, count: 32)).bytes.count == 32)
        #expect(try CookieSecret(Array(repeating: 7, count: 64)).bytes.count == 64)
    }
}
