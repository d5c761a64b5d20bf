import Foundation
import Logging
import PortholeAdmin
import PortholeClient
import PortholeCore
import NIOPosix
import PortholeStore

/// Where `porthole sandbox …` sends its operations: the running server's admin API (through
/// `PortholeClient`), or, when no server runs, the data directory's store directly through the same
/// control plane the server uses (same validation, same defaults). Both answer with the API's types
/// and throw ``PortholeCore/AdminAPIError`` for refusals.
protocol SandboxBackend: Sendable {
    func create(_ request: SandboxCreateRequest) async throws -> SandboxRecord
    func sandbox(id: String) async throws -> SandboxRecord
    func all(label: (key: String, value: String)?) async throws -> [SandboxRecord]
    func update(id: String, _ request: SandboxUpdateRequest) async throws -> SandboxRecord
    func delete(id: String) async throws
    func setPublic(id: String, _ isPublic: Bool) async throws -> SandboxRecord
    func setNetworkSettings(id: String, _ request: NetworkSettingsRequest) async throws -> SandboxRecord
    func egress(id: String) async throws -> EffectiveEgress
    func previewLink(id: String, port: Int) async throws -> PreviewLink
    func signedPreviewURL(id: String, port: Int, expiresInSeconds: Int?) async throws -> SignedPreviewURL
    func expireSignedPreviewURL(id: String, port: Int, token: String) async throws -> SignedPreviewURLRevocation
    func rotatePreviewToken(id: String) async throws -> SandboxRecord
    func createOrganization(_ request: OrganizationCreateRequest) async throws -> Organization
    func organizations() async throws -> OrganizationList
    func updateOrganization(id: String, _ request: OrganizationUpdateRequest) async throws -> Organization
    func createAPIKey(organizationID: String, _ request: APIKeyCreateRequest) async throws -> CreatedAPIKey
    func apiKeys(organizationID: String) async throws -> APIKeyList
    func revokeAPIKey(id: String) async throws -> APIKey
    func close() async
}

extension AdminClient: SandboxBackend {
    func create(_ request: SandboxCreateRequest) async throws -> SandboxRecord { try await createSandbox(request) }
    func all(label: (key: String, value: String)?) async throws -> [SandboxRecord] { try await allSandboxes(label: label) }
    func update(id: String, _ request: SandboxUpdateRequest) async throws -> SandboxRecord { try await updateSandbox(id: id, request) }
    func delete(id: String) async throws { try await deleteSandbox(id: id) }
    func close() async {}
}

/// The policy store, written directly (the data directory's SQLite file, or the shared
/// PostgreSQL database). A server on the same store picks the changes up from its change feed: at
/// once with PostgreSQL, within its poll interval (250 ms) with SQLite.
struct DirectStoreBackend: SandboxBackend {
    let store: any PolicyStore
    let controlPlane: SandboxControlPlane

    static func open(_ directory: DataDirectory, location: StoreLocation) async throws -> DirectStoreBackend {
        var logger = Logger(label: "porthole.cli")
        logger.logLevel = .warning
        let environment = ProcessInfo.processInfo.environment
        // As `serve` does: never a new, empty database beside an earlier start's secrets, and the
        // database before the secrets on a new data directory.
        let store = try await location.open(
            group: MultiThreadedEventLoopGroup.singleton, logger: logger,
            mayCreate: environment["PORTHOLE_CREATE_STORE"].flatMap(SettingsSource.parseBool) ?? false,
            allowedBy: "set PORTHOLE_CREATE_STORE=true (or start porthole serve with --create-store)"
        )
        let secret: [UInt8]
        do {
            secret = try await location.cookieSecret(configured: environment["PORTHOLE_COOKIE_SECRET"], dataDirectory: directory, store: store)
        } catch {
            try? await store.close()
            throw error
        }
        // Without a server, links use the settings a server would take from the environment.
        let baseDomain =
            environment["PORTHOLE_BASE_DOMAIN"]?.split(separator: ",").first.map {
                String($0).trimmingCharacters(in: .whitespaces).lowercased()
            } ?? "preview.localhost"
        let previewPort = (environment["PORTHOLE_PREVIEW_PORT"] ?? environment["PORTHOLE_HTTPS_PORT"]).flatMap { Int($0) } ?? 8443
        let maximumEntries = environment["PORTHOLE_MAX_ALLOW_LIST_ENTRIES"].flatMap { Int($0) } ?? NetworkAllowList.defaultMaxEntries
        let maximumDomainEntries = environment["PORTHOLE_MAX_DOMAIN_ALLOW_LIST_ENTRIES"].flatMap { Int($0) } ?? DomainAllowList.defaultMaxEntries
        let controlPlane = SandboxControlPlane(
            store: store,
            cache: nil,
            configuration: ControlPlaneConfiguration(
                baseDomain: baseDomain, previewPort: previewPort, signingSecret: secret, maximumAllowListEntries: maximumEntries,
                maximumDomainAllowListEntries: maximumDomainEntries
            )
        )
        return DirectStoreBackend(store: store, controlPlane: controlPlane)
    }

    func create(_ request: SandboxCreateRequest) async throws -> SandboxRecord { try await controlPlane.create(request) }
    func sandbox(id: String) async throws -> SandboxRecord { try await controlPlane.sandbox(id: id) }
    func all(label: (key: String, value: String)?) async throws -> [SandboxRecord] {
        var all: [SandboxRecord] = []
        var cursor: String? = nil
        repeat {
            let page = try await controlPlane.list(label: label.map { "\($0.key)=\($0.value)" }, cursor: cursor, limit: 500)
            all += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }
    func update(id: String, _ request: SandboxUpdateRequest) async throws -> SandboxRecord { try await controlPlane.update(id: id, request) }
    func delete(id: String) async throws { try await controlPlane.delete(id: id) }
    func setPublic(id: String, _ isPublic: Bool) async throws -> SandboxRecord { try await controlPlane.setPublic(id: id, isPublic) }
    func setNetworkSettings(id: String, _ request: NetworkSettingsRequest) async throws -> SandboxRecord {
        try await controlPlane.setNetworkSettings(id: id, request)
    }
    func egress(id: String) async throws -> EffectiveEgress { try await controlPlane.egress(id: id) }
    func previewLink(id: String, port: Int) async throws -> PreviewLink { try await controlPlane.previewLink(id: id, port: port) }
    func signedPreviewURL(id: String, port: Int, expiresInSeconds: Int?) async throws -> SignedPreviewURL {
        try await controlPlane.signPreviewURL(id: id, port: port, expiresInSeconds: expiresInSeconds.map(Int64.init))
    }
    func expireSignedPreviewURL(id: String, port: Int, token: String) async throws -> SignedPreviewURLRevocation {
        try await controlPlane.expireSignedPreviewURL(id: id, port: port, token: token)
    }
    func rotatePreviewToken(id: String) async throws -> SandboxRecord { try await controlPlane.rotatePreviewToken(id: id) }
    func createOrganization(_ request: OrganizationCreateRequest) async throws -> Organization {
        try await controlPlane.createOrganization(request)
    }
    func organizations() async throws -> OrganizationList { try await controlPlane.organizations() }
    func updateOrganization(id: String, _ request: OrganizationUpdateRequest) async throws -> Organization {
        try await controlPlane.updateOrganization(id: id, request)
    }
    func createAPIKey(organizationID: String, _ request: APIKeyCreateRequest) async throws -> CreatedAPIKey {
        try await controlPlane.createAPIKey(organizationID: organizationID, request)
    }
    func apiKeys(organizationID: String) async throws -> APIKeyList { try await controlPlane.apiKeys(organizationID: organizationID) }
    func revokeAPIKey(id: String) async throws -> APIKey { try await controlPlane.revokeAPIKey(id: id) }
    func close() async { try? await store.close() }
}
