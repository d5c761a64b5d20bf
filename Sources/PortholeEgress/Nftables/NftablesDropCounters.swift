import Foundation
import PortholeCore

/// Reads the per-sandbox drop counters out of `nft -j list set` output of a dynamic set whose
/// elements carry counters.
enum NftablesDropCounters {
    /// Packets by source address; an output that does not parse gives none.
    static func parse(_ json: String) -> [SandboxEgress.Source: Int64] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let items = object["nftables"] as? [[String: Any]]
        else { return [:] }
        var packets: [SandboxEgress.Source: Int64] = [:]
        for item in items {
            guard let set = item["set"] as? [String: Any], let elements = set["elem"] as? [Any] else { continue }
            for element in elements {
                guard let wrapper = element as? [String: Any], let inner = wrapper["elem"] as? [String: Any],
                    let value = inner["val"] as? String, let source = SandboxEgress.source(of: value)
                else { continue }
                let counter = inner["counter"] as? [String: Any]
                packets[source, default: 0] += (counter?["packets"] as? NSNumber)?.int64Value ?? 0
            }
        }
        return packets
    }
}
