import PortholeCore
import Testing

@Suite("UpstreamTargetPolicy")
struct UpstreamTargetPolicyTests {
    @Test(arguments: ["127.0.0.1", "127.1.2.3", "::1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "fd12::1"])
    func theDefaultAllowsPrivateRangesAndLoopback(_ address: String) {
        #expect(UpstreamTargetPolicy.default.refusal(for: address) == nil)
    }

    @Test(arguments: [
        "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255",
        "240.0.0.1", "::", "fe80::1", "ff02::1", "fd00:ec2::254", "::ffff:169.254.169.254",
    ])
    func someAddressesAreNeverTargets(_ address: String) throws {
        let everything = UpstreamTargetPolicy(allowed: try AddressRanges.parse("0.0.0.0/0,::/0"))
        #expect(everything.refusal(for: address) == .neverAllowed(address))
    }

    @Test(arguments: ["8.8.8.8", "2001:db8::1", "198.51.100.7"])
    func publicAddressesNeedAnAllowedRange(_ address: String) throws {
        #expect(UpstreamTargetPolicy.default.refusal(for: address) != nil)
        let wide = UpstreamTargetPolicy(allowed: try AddressRanges.parse("198.51.100.0/24,2001:db8::/32,8.8.8.8"))
        #expect(wide.refusal(for: address) == nil)
    }

    @Test func anOperatorRangeReplacesTheDefault() throws {
        let sandboxes = UpstreamTargetPolicy(allowed: try AddressRanges.parse("10.88.0.0/16", noun: "allowed target"))
        #expect(sandboxes.refusal(for: "10.88.3.4") == nil)
        let refusal = try #require(sandboxes.refusal(for: "127.0.0.1"))
        #expect(refusal.description.contains("--allow-target"))
        #expect(sandboxes.refusal(for: "localhost") == .notAnAddress("localhost"))
    }

    @Test func errorsNameTheSetting() {
        #expect(throws: TrustedProxiesError.self) { try AddressRanges.parse("10.0.0.1/8", noun: "allowed target") }
        do {
            _ = try AddressRanges.parse("10.0.0.1/8", noun: "allowed target")
        } catch {
            #expect(error.message.hasPrefix("allowed target \"10.0.0.1/8\" has host bits set"))
        }
    }
}
