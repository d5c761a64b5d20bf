import PortholeCore
import Testing

@Suite("PreviewHost")
struct PreviewHostTests {
    static let domains = ["preview.localhost"]

    struct Valid: Sendable, CustomTestStringConvertible {
        let host: String
        let port: UInt16
        let id: String
        var baseDomain = "preview.localhost"
        var testDescription: String { host }
    }

    static let valid: [Valid] = [
        Valid(host: "3000-abc.preview.localhost", port: 3000, id: "abc"),
        Valid(host: "3000-ABC.Preview.LocalHost", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost.", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost:8443", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost.:8443", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost:1", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost:65535", port: 3000, id: "abc"),
        Valid(host: "3000-abc.preview.localhost:08443", port: 3000, id: "abc"),
        Valid(host: "1-a.preview.localhost", port: 1, id: "a"),
        Valid(host: "9-a.preview.localhost", port: 9, id: "a"),
        Valid(host: "10-a.preview.localhost", port: 10, id: "a"),
        Valid(host: "65535-a.preview.localhost", port: 65535, id: "a"),
        Valid(host: "65534-a.preview.localhost", port: 65534, id: "a"),
        Valid(host: "8080-0.preview.localhost", port: 8080, id: "0"),
        Valid(host: "3000-my-app.preview.localhost", port: 3000, id: "my-app"),
        Valid(host: "3000-a-b-c.preview.localhost", port: 3000, id: "a-b-c"),
        Valid(host: "3000-a--b.preview.localhost", port: 3000, id: "a--b"),
        Valid(host: "3000-3000.preview.localhost", port: 3000, id: "3000"),
        Valid(host: "5173-SANDBOX-WITH-A-LONG-ID-0123456789.PREVIEW.LOCALHOST", port: 5173, id: "sandbox-with-a-long-id-0123456789"),
        Valid(host: "1-" + String(repeating: "x", count: 61) + ".preview.localhost", port: 1, id: String(repeating: "x", count: 61)),
        Valid(host: "65535-" + String(repeating: "y", count: 57) + ".preview.localhost", port: 65535, id: String(repeating: "y", count: 57)),
    ]

    @Test(arguments: valid)
    func parsesValidHosts(_ testCase: Valid) throws {
        let host = try PreviewHost.parse(testCase.host, baseDomains: Self.domains).get()
        #expect(host == PreviewHost(port: testCase.port, sandboxID: testCase.id, baseDomain: testCase.baseDomain))
    }

    @Test(arguments: valid)
    func byteOverloadAgreesWithStringOverload(_ testCase: Valid) {
        let fromString = PreviewHost.parse(testCase.host, baseDomains: Self.domains)
        let fromBytes = Array(testCase.host.utf8).withUnsafeBytes { PreviewHost.parse($0, baseDomains: Self.domains) }
        #expect(fromString == fromBytes)
    }

    @Test func matchesAnyConfiguredBaseDomainAndReportsWhich() throws {
        let domains = ["preview.localhost", "preview.example.dev"]
        let first = try PreviewHost.parse("3000-abc.preview.localhost", baseDomains: domains).get()
        let second = try PreviewHost.parse("4000-xyz.PREVIEW.Example.Dev", baseDomains: domains).get()
        #expect(first.baseDomain == "preview.localhost")
        #expect(second == PreviewHost(port: 4000, sandboxID: "xyz", baseDomain: "preview.example.dev"))
    }

    @Test func nestedBaseDomainsPickTheExactOne() throws {
        // With both `localhost` and `preview.localhost` configured, `3000-abc.preview.localhost` is under
        // `preview.localhost`; `preview` is not a port-id label.
        let domains = ["localhost", "preview.localhost"]
        let host = try PreviewHost.parse("3000-abc.preview.localhost", baseDomains: domains).get()
        #expect(host.baseDomain == "preview.localhost")
        let short = try PreviewHost.parse("3000-abc.localhost", baseDomains: domains).get()
        #expect(short.baseDomain == "localhost")
    }

    @Test func hostNameIsCanonical() throws {
        let host = PreviewHost.parse("03000-x.preview.localhost", baseDomains: Self.domains)
        #expect(throws: PreviewHostError.self) { try host.get() }
        let canonical = try PreviewHost.parse("3000-ABC.preview.localhost.:443", baseDomains: Self.domains).get()
        #expect(canonical.hostName == "3000-abc.preview.localhost")
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        let host: String
        let reason: PreviewHostError.Reason
        var testDescription: String { "\(host.debugDescription) → \(reason)" }
    }

    static let invalid: [Invalid] = [
        Invalid(host: "", reason: .empty),
        Invalid(host: ":8443", reason: .empty),
        Invalid(host: ".", reason: .empty),
        Invalid(host: "[::1]", reason: .ipLiteral),
        Invalid(host: "[::1]:3000", reason: .ipLiteral),
        Invalid(host: "::1", reason: .ipLiteral),
        Invalid(host: "fe80::1", reason: .ipLiteral),
        Invalid(host: "3000-abc.preview.localhost:1:2", reason: .ipLiteral),
        Invalid(host: "3000-äbc.preview.localhost", reason: .nonASCII),
        Invalid(host: "3000-abc.preview.localhöst", reason: .nonASCII),
        Invalid(host: "3000-abc .preview.localhost", reason: .invalidCharacter),
        Invalid(host: " 3000-abc.preview.localhost", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost ", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost\t", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost\r\n", reason: .invalidCharacter),
        Invalid(host: "3000_abc.preview.localhost", reason: .invalidCharacter),
        Invalid(host: "3000-a_b.preview.localhost", reason: .invalidCharacter),
        Invalid(host: "+3000-abc.preview.localhost", reason: .invalidCharacter),
        Invalid(host: "user@3000-abc.preview.localhost", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost/path", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost\u{0}", reason: .invalidCharacter),
        Invalid(host: "3000-abc.preview.localhost:", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:0", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:00", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:65536", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:4294967297", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:99999999999999999999999", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:-1", reason: .invalidHeaderPort),
        Invalid(host: "3000-abc.preview.localhost:https", reason: .invalidHeaderPort),
        Invalid(host: "preview.localhost", reason: .bareBaseDomain),
        Invalid(host: "preview.localhost.", reason: .bareBaseDomain),
        Invalid(host: "PREVIEW.localhost:8443", reason: .bareBaseDomain),
        Invalid(host: "3000-abc.x.preview.localhost", reason: .extraLabels),
        Invalid(host: "a.b.3000-abc.preview.localhost", reason: .extraLabels),
        Invalid(host: "3000-abc.preview.example", reason: .notUnderBaseDomain),
        Invalid(host: "3000-abc.localhost", reason: .notUnderBaseDomain),
        Invalid(host: "3000-abc.evilpreview.localhost", reason: .notUnderBaseDomain),
        Invalid(host: "3000-abc.preview.localhost.evil.com", reason: .notUnderBaseDomain),
        Invalid(host: "3000-abc", reason: .notUnderBaseDomain),
        Invalid(host: "localhost", reason: .notUnderBaseDomain),
        Invalid(host: "127.0.0.1", reason: .notUnderBaseDomain),
        Invalid(host: "127.0.0.1:8443", reason: .notUnderBaseDomain),
        Invalid(host: "3000-abc.preview.localhost..", reason: .emptyLabel),
        Invalid(host: ".3000-abc.preview.localhost", reason: .emptyLabel),
        Invalid(host: "3000-abc..preview.localhost", reason: .emptyLabel),
        Invalid(host: ".preview.localhost", reason: .emptyLabel),
        Invalid(host: "..", reason: .emptyLabel),
        Invalid(host: "1-" + String(repeating: "x", count: 62) + ".preview.localhost", reason: .labelTooLong),
        Invalid(host: String(repeating: "9", count: 100) + "-a.preview.localhost", reason: .labelTooLong),
        Invalid(host: "3000abc.preview.localhost", reason: .missingSeparator),
        Invalid(host: "3000.preview.localhost", reason: .missingSeparator),
        Invalid(host: "-abc.preview.localhost", reason: .missingPort),
        Invalid(host: "-.preview.localhost", reason: .missingPort),
        Invalid(host: "30a0-abc.preview.localhost", reason: .portNotNumeric),
        Invalid(host: "abc-3000.preview.localhost", reason: .portNotNumeric),
        Invalid(host: "0x10-abc.preview.localhost", reason: .portNotNumeric),
        Invalid(host: "03000-abc.preview.localhost", reason: .portLeadingZero),
        Invalid(host: "00-abc.preview.localhost", reason: .portLeadingZero),
        Invalid(host: "01-abc.preview.localhost", reason: .portLeadingZero),
        Invalid(host: "0-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "65536-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "99999-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "100000-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "4294967297-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "18446744073709551617-abc.preview.localhost", reason: .portOutOfRange),
        Invalid(host: "3000-.preview.localhost", reason: .missingSandboxID),
        Invalid(host: "3000--abc.preview.localhost", reason: .sandboxIDHyphen),
        Invalid(host: "3000-abc-.preview.localhost", reason: .sandboxIDHyphen),
        Invalid(host: "3000---.preview.localhost", reason: .sandboxIDHyphen),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidHosts(_ testCase: Invalid) {
        let result = PreviewHost.parse(testCase.host, baseDomains: Self.domains)
        guard case .failure(let error) = result else {
            Issue.record("expected \(testCase.reason), got \(result)")
            return
        }
        #expect(error.reason == testCase.reason)
        #expect(error.message.contains("expected a host of the form <port>-<sandboxId>.preview.localhost"))
    }

    @Test(arguments: invalid)
    func byteOverloadRejectsTheSame(_ testCase: Invalid) {
        let result = Array(testCase.host.utf8).withUnsafeBytes { PreviewHost.parse($0, baseDomains: Self.domains) }
        guard case .failure(let error) = result else {
            Issue.record("expected \(testCase.reason), got \(result)")
            return
        }
        #expect(error.reason == testCase.reason)
    }

    @Test(arguments: [[0xFF], [0x80], [0x33, 0x2D, 0x61, 0xC3], Array("3000-abc.preview.localhost".utf8) + [0xFE]] as [[UInt8]])
    func rejectsInvalidUTF8Bytes(_ bytes: [UInt8]) {
        let result = bytes.withUnsafeBytes { PreviewHost.parse($0, baseDomains: Self.domains) }
        #expect(result.failureReason == .nonASCII)
    }

    @Test func emptyBufferIsEmptyHost() {
        let result = PreviewHost.parse(UnsafeRawBufferPointer(start: nil, count: 0), baseDomains: Self.domains)
        #expect(result.failureReason == .empty)
    }

    @Test func noBaseDomainsRejectsEverything() {
        let result = PreviewHost.parse("3000-abc.preview.localhost", baseDomains: [])
        #expect(result.failureReason == .notUnderBaseDomain)
        #expect(result.failureMessage?.contains("<port>-<sandboxId>.<preview domain>") == true)
    }

    @Test func messagesSayWhatWasWrong() {
        func message(_ host: String) -> String {
            PreviewHost.parse(host, baseDomains: Self.domains).failureMessage ?? ""
        }
        #expect(
            message("65536-abc.preview.localhost")
                == "port 65536 is out of range 1-65535; expected a host of the form <port>-<sandboxId>.preview.localhost, e.g. 3000-abc123.preview.localhost")
        #expect(message("03000-abc.preview.localhost").hasPrefix("port \"03000\" has a leading zero;"))
        #expect(message("3a-abc.preview.localhost").hasPrefix("port \"3a\" is not a number;"))
        #expect(message("0-abc.preview.localhost").hasPrefix("port 0 is out of range 1-65535;"))
        #expect(message("3000-abc.x.preview.localhost").hasPrefix("the host has more than one label before the preview domain;"))
        #expect(message("preview.localhost").hasPrefix("the host has no <port>-<sandboxId> label;"))
        #expect(message("[::1]").hasPrefix("an IP address is not a preview host;"))
        #expect(message("").hasPrefix("the host is empty;"))
    }

    @Test func longPortDetailIsBounded() {
        let message = PreviewHost.parse(String(repeating: "9", count: 40) + "-a.preview.localhost", baseDomains: Self.domains).failureMessage ?? ""
        #expect(message.hasPrefix("port 9999999999999999… is out of range"))
    }

    @Test func messageListsEveryBaseDomainAndNeverEchoesTheHost() {
        let result = PreviewHost.parse("3000-abc.attacker-controlled.example", baseDomains: ["preview.localhost", "p.example.dev"])
        let message = result.failureMessage ?? ""
        #expect(message.contains("<port>-<sandboxId>.preview.localhost or <port>-<sandboxId>.p.example.dev"))
        #expect(!message.contains("attacker"))
        if case .failure(let error) = result {
            #expect(error.description == error.message)
            #expect(error.baseDomains == ["preview.localhost", "p.example.dev"])
        }
    }

    @Test func reasonsHaveStableNames() {
        #expect(PreviewHostError.Reason.portOutOfRange.description == "port_out_of_range")
        #expect(PreviewHostError.Reason.bareBaseDomain.description == "bare_base_domain")
        #expect(PreviewHostError.Reason.portOutOfRange != .portLeadingZero)
    }

    // MARK: isBaseDomain

    @Test(arguments: [
        ("preview.localhost", true),
        ("PREVIEW.LocalHost", true),
        ("preview.localhost.", true),
        ("preview.localhost:8443", true),
        ("preview.localhost.:8443", true),
        ("example.dev", true),
        ("preview.localhost:0", false),
        ("preview.localhost:65536", false),
        ("preview.localhost:", false),
        ("preview.localhost..", false),
        ("3000-abc.preview.localhost", false),
        ("x.preview.localhost", false),
        ("localhost", false),
        ("", false),
        (" preview.localhost", false),
        ("[::1]", false),
        ("evilpreview.localhost", false),
    ])
    func recognisesBaseDomain(_ host: String, _ expected: Bool) {
        let domains = ["preview.localhost", "example.dev"]
        #expect(PreviewHost.isBaseDomain(host, baseDomains: domains) == expected)
        let fromBytes = Array(host.utf8).withUnsafeBytes { PreviewHost.isBaseDomain($0, baseDomains: domains) }
        #expect(fromBytes == expected)
    }
}

extension Result where Success == PreviewHost, Failure == PreviewHostError {
    var failureReason: PreviewHostError.Reason? {
        if case .failure(let error) = self { return error.reason }
        return nil
    }

    var failureMessage: String? {
        if case .failure(let error) = self { return error.message }
        return nil
    }
}
