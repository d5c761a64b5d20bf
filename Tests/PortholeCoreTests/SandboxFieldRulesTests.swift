import PortholeTestSupport
import PortholeCore
import Testing

@Suite("SandboxFieldRules")
struct SandboxFieldRulesTests {
    @Test(arguments: [
        ("\u{0}", "U+0000"), ("a\nb", "U+000A"), ("\r", "U+000D"), ("\u{1B}[2J", "U+001B"), ("\u{7F}", "U+007F"),
        ("\u{85}", "U+0085"), ("\u{9F}", "U+009F"), ("\u{200E}", "U+200E"), ("\u{200F}", "U+200F"), ("abc\u{202A}", "U+202A"),
        ("\u{202E}gpj.exe", "U+202E"), ("\u{2066}", "U+2066"), ("x\u{2069}", "U+2069"), ("tab\there", "U+0009"),
    ])
    func labelValuesWithControlOrBidiCharactersAreRefused(value: String, named codePoint: String) throws {
        let problem = try #require(SandboxFieldRules.labelsProblem(["team": value]))
        #expect(problem.hasPrefix("the value of label \"team\" contains \(codePoint);"), "\(problem)")
        #expect(!problem.unicodeScalars.contains { SandboxFieldRules.forbiddenLabelCharacter(in: String($0)) != nil })
        #expect(value.wholeMatch(of: try Regex(SandboxFieldRules.labelValuePattern).matchingSemantics(.unicodeScalar)) == nil)
    }

    @Test(arguments: ["", "web", "välue with spaces", "日本語", "emoji 🙂", "e\u{301}", "\u{A0}non-breaking", "\u{200D}joiner", "a=b/c"])
    func otherLabelValuesAreAccepted(value: String) throws {
        #expect(SandboxFieldRules.labelsProblem(["team": value]) == nil)
        #expect(value.wholeMatch(of: try Regex(SandboxFieldRules.labelValuePattern).matchingSemantics(.unicodeScalar)) != nil)
    }

    @Test(arguments: ["a\u{0}", "\u{202E}a", "a\nb", "a\u{85}"])
    func labelKeysWithSuchCharactersAreRefusedAndQuotedEscaped(key: String) throws {
        let problem = try #require(SandboxFieldRules.labelsProblem([key: "x"]))
        #expect(problem.hasPrefix("label key \""), "\(problem)")
        #expect(problem.contains("\\u{"))
        #expect(!problem.unicodeScalars.contains { SandboxFieldRules.forbiddenLabelCharacter(in: String($0)) != nil })
    }

    /// A filter value is only compared, never stored: it stays free-form.
    @Test func labelFiltersTakeAnyValue() {
        #expect(SandboxFieldRules.parseLabelFilter("team=välue")! == ("team", "välue"))
        #expect(SandboxFieldRules.parseLabelFilter("team=a=b")! == ("team", "a=b"))
        #expect(SandboxFieldRules.parseLabelFilter("team=") != nil)
        #expect(SandboxFieldRules.parseLabelFilter("team=a\u{202E}b\n")! == ("team", "a\u{202E}b\n"))
        #expect(SandboxFieldRules.parseLabelFilter("te am=x") == nil)
    }

    @Test func shownEscapesWhatCouldRewriteATerminalAndCutsLongText() {
        #expect(SandboxFieldRules.shown("a\u{1B}[31mb\u{202E}c") == "a\\u{1B}[31mb\\u{202E}c")
        #expect(SandboxFieldRules.shown("plain välue") == "plain välue")
        #expect(SandboxFieldRules.shown(String(repeating: "x", count: 64)) == String(repeating: "x", count: 64))
        #expect(SandboxFieldRules.shown(String(repeating: "x", count: 65)) == String(repeating: "x", count: 64) + "…")
    }
}

@Suite("SandboxFieldRules: the domain allow-list pattern")
struct DomainAllowListPatternTests {
    /// The OpenAPI document's pattern and the parser give the same answer on every text: schemathesis
    /// sends what the pattern admits and expects it taken, and the rest expecting a 400. Random texts
    /// over the characters that matter (labels, dots, hyphens, the wildcard, separators, whitespace,
    /// digits for the numeric last label, and bytes a name never holds).
    @Test func agreesWithTheParserOnRandomTexts() throws {
        let regex = try Regex(SandboxFieldRules.domainAllowListPattern).matchingSemantics(.unicodeScalar)
        let alphabet: [String] = ["a", "b", "Z", "0", "7", "-", ".", ".", "*", ",", " ", "\t", "_", "é", "ab", "a.b", "*."]
        var random = SplitMix64(state: 0xD0_4A1A)
        var accepted = 0
        for _ in 0..<6_000 {
            let text = (0..<Int.random(in: 0...10, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
            let byPattern = text.wholeMatch(of: regex) != nil
            let byParser = (try? DomainAllowList.parse(text)) != nil
            #expect(byPattern == byParser, "\(text.debugDescription): pattern \(byPattern), parser \(byParser)")
            if byParser { accepted += 1 }
        }
        // Enough of both answers to mean something.
        #expect(accepted > 300 && accepted < 5_700, "\(accepted)")
    }
}
