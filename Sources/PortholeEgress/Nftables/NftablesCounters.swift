import Foundation

/// Reads named counters out of `nft -j list counters` output.
enum NftablesCounters {
    /// Packets by counter name; an output that does not parse gives none.
    static func parse(_ json: String) -> [String: Int] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let items = object["nftables"] as? [[String: Any]]
        else { return [:] }
        var packets: [String: Int] = [:]
        for item in items {
            guard let counter = item["counter"] as? [String: Any], let name = counter["name"] as? String else { continue }
            packets[name] = (counter["packets"] as? NSNumber)?.intValue ?? 0
        }
        return packets
    }
}
