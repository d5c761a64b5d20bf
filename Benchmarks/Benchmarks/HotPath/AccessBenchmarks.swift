import Benchmark
import PortholeCore

/// Routing and authorisation: the Host header to a sandbox and port, then the access decision.
func accessBenchmarks() {
    Benchmark("PreviewHost.parse.shortID") { benchmark in
        measureHostParse(benchmark, Fixtures.host)
    }

    Benchmark("PreviewHost.parse.uuidID") { benchmark in
        measureHostParse(benchmark, Fixtures.uuidHost)
    }

    let publicSandbox = SandboxPolicy(
        id: Fixtures.sandboxID,
        target: "127.0.0.1",
        isPublic: true,
        previewToken: Fixtures.previewToken
    )
    let privateSandbox = SandboxPolicy(
        id: Fixtures.sandboxID,
        target: "127.0.0.1",
        previewToken: Fixtures.previewToken
    )

    Benchmark("AccessDecision.public") { benchmark in
        let request = AccessRequest(port: Fixtures.port, kind: .navigation, now: Fixtures.now)
        measureDecision(benchmark, publicSandbox, request, expecting: .allow(.public))
    }

    // A script or API client with `X-Preview-Token`: a constant-time comparison of 43 bytes.
    Benchmark("AccessDecision.privateHeaderToken") { benchmark in
        let request = AccessRequest(
            port: Fixtures.port,
            headerToken: Fixtures.previewToken,
            kind: .other,
            now: Fixtures.now
        )
        measureDecision(benchmark, privateSandbox, request, expecting: .allow(.token))
    }

    // A browser on a private preview after the token exchange: a base64url decode and an HMAC.
    Benchmark("AccessDecision.privateSessionCookie") { benchmark in
        let request = AccessRequest(
            port: Fixtures.port,
            sessionCookie: Fixtures.sessionCookie,
            kind: .navigation,
            now: Fixtures.now
        )
        measureDecision(benchmark, privateSandbox, request, expecting: .allow(.cookie))
    }
}

/// The byte-level overload, which is the one the proxy calls with the Host field's bytes.
private func measureHostParse(_ benchmark: Benchmark, _ host: String) {
    let bytes = Array(host.utf8)
    let baseDomains = Fixtures.baseDomains
    bytes.withUnsafeBytes { bytes in
        guard case .success = PreviewHost.parse(bytes, baseDomains: baseDomains) else {
            fatalError("\(host) does not parse")
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(PreviewHost.parse(bytes, baseDomains: baseDomains))
        }
    }
}

private func measureDecision(
    _ benchmark: Benchmark,
    _ policy: SandboxPolicy,
    _ request: AccessRequest,
    expecting expected: AccessDecision
) {
    let rules = Fixtures.rules
    let decision = AccessDecision.decide(policy: policy, request: request, rules: rules)
    guard decision == expected else { fatalError("decided \(decision), expected \(expected)") }
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        blackHole(AccessDecision.decide(policy: policy, request: request, rules: rules))
    }
}
