public import PortholeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A sandbox record as every store keeps it: one column per field, plain values, the maps as JSON
/// text. One encoding and one set of checks on the way back, whichever database holds the row.
public struct PolicyRow: Sendable, Hashable {
    public var id: String
    public var target: String
    public var isPublic: Bool
    public var previewToken: String
    public var tokenGeneration: Int64
    public var networkBlockAll: Bool
    public var networkAllowList: String?
    public var tier: Int64
    /// A JSON object of strings.
    public var labels: String
    public var hostRewrite: Bool
    public var state: String
    public var createdAt: Int64
    public var updatedAt: Int64
    /// A JSON object of grant id → expiry (Unix seconds).
    public var revokedGrants: String
    public var domainAllowList: String?
    public var organizationID: String?

    public init(
        id: String, target: String, isPublic: Bool, previewToken: String, tokenGeneration: Int64, networkBlockAll: Bool,
        networkAllowList: String?, tier: Int64, labels: String, hostRewrite: Bool, state: String, createdAt: Int64, updatedAt: Int64,
        revokedGrants: String, domainAllowList: String?, organizationID: String? = nil
    ) {
        self.id = id
        self.target = target
        self.isPublic = isPublic
        self.previewToken = previewToken
        self.tokenGeneration = tokenGeneration
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.tier = tier
        self.labels = labels
        self.hostRewrite = hostRewrite
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.revokedGrants = revokedGrants
        self.domainAllowList = domainAllowList
        self.organizationID = organizationID
    }

    public init(_ policy: SandboxPolicy) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let labels: String
        let revokedGrants: String
        do {
            labels = String(decoding: try encoder.encode(policy.labels), as: UTF8.self)
            revokedGrants = String(decoding: try encoder.encode(policy.revokedGrants), as: UTF8.self)
        } catch {
            throw PolicyStoreError.corrupt("the labels of sandbox '\(policy.id)' cannot be encoded as JSON (\(error))")
        }
        self.init(
            id: policy.id, target: policy.target, isPublic: policy.isPublic, previewToken: policy.previewToken,
            tokenGeneration: Int64(policy.tokenGeneration), networkBlockAll: policy.networkBlockAll,
            networkAllowList: policy.networkAllowList, tier: Int64(policy.tier), labels: labels, hostRewrite: policy.hostRewrite,
            state: policy.state.rawValue, createdAt: policy.createdAt, updatedAt: policy.updatedAt, revokedGrants: revokedGrants,
            domainAllowList: policy.domainAllowList, organizationID: policy.organizationID
        )
    }

    /// The record, or ``PolicyStoreError/Code/corrupt`` naming the sandbox and the bad column.
    public func policy() throws -> SandboxPolicy {
        let labels: [String: String]
        do {
            labels = try JSONDecoder().decode([String: String].self, from: Data(self.labels.utf8))
        } catch {
            throw PolicyStoreError.corrupt("sandbox '\(id)' has labels that are not a JSON object of strings")
        }
        guard let tokenGeneration = UInt32(exactly: self.tokenGeneration) else {
            throw PolicyStoreError.corrupt("sandbox '\(id)' has token generation \(self.tokenGeneration), outside 0…\(UInt32.max)")
        }
        guard let state = SandboxState(rawValue: self.state) else {
            throw PolicyStoreError.corrupt("sandbox '\(id)' has unknown state '\(self.state)'")
        }
        guard let tier = Int(exactly: self.tier) else {
            throw PolicyStoreError.corrupt("sandbox '\(id)' has a malformed 'tier' column")
        }
        let revokedGrants: [String: Int64]
        do {
            revokedGrants = try JSONDecoder().decode([String: Int64].self, from: Data(self.revokedGrants.utf8))
        } catch {
            throw PolicyStoreError.corrupt("sandbox '\(id)' has revoked grants that are not a JSON object of expiry times")
        }
        return SandboxPolicy(
            id: id, target: target, isPublic: isPublic, previewToken: previewToken, tokenGeneration: tokenGeneration,
            networkBlockAll: networkBlockAll, networkAllowList: networkAllowList, domainAllowList: domainAllowList, tier: tier,
            organizationID: organizationID, labels: labels, hostRewrite: hostRewrite, state: state, createdAt: createdAt, updatedAt: updatedAt,
            revokedGrants: revokedGrants
        )
    }
}

/// Egress reports as the stores keep them: JSON text with sorted keys.
public enum EgressReportJSON {
    public static func encode(_ report: EgressReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    public static func decode(_ text: String, sandboxID: String, location: String) throws -> EgressReport {
        do {
            return try JSONDecoder().decode(EgressReport.self, from: Data(text.utf8))
        } catch {
            throw PolicyStoreError.corrupt("the egress report of sandbox \(sandboxID) in \(location) does not decode: \(error)")
        }
    }
}
