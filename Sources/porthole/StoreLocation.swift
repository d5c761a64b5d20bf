import Logging
import NIOCore
import PortholePostgres
import PortholeStore

/// Where the policy store lives: the SQLite file in the data directory (the embedded default, one
/// machine), or PostgreSQL (`store` set to a `postgresql://` URL: several instances and egress
/// agents sharing one truth).
enum StoreLocation {
    case sqlite(DataDirectory)
    case postgres(PostgresStoreURL)

    /// `store` as given by `--store`, `PORTHOLE_STORE` or the config file; absent or empty: SQLite
    /// in the data directory.
    init(store: String?, dataDirectory: DataDirectory) throws {
        guard let store, !store.isEmpty else {
            self = .sqlite(dataDirectory)
            return
        }
        guard PostgresStoreURL.isPostgresURL(store) else {
            throw StoreLocationError(
                "store must be a postgresql:// URL (leave it unset for the SQLite file in the data directory), got something else"
            )
        }
        do {
            self = .postgres(try PostgresStoreURL.parse(store))
        } catch {
            throw StoreLocationError("store: \(error)")
        }
    }

    /// What logs may say of it.
    var description: String {
        switch self {
        case .sqlite(let directory): directory.databasePath
        case .postgres(let url): url.description
        }
    }

    /// Opens the store. For SQLite, `mayCreate` and `allowedBy` guard a lost database
    /// (``DataDirectory/checkDatabase(mayCreate:allowedBy:)``); PostgreSQL is created by its
    /// operator, and its schema by the first instance that connects.
    func open(group: any EventLoopGroup, logger: Logger, mayCreate: Bool, allowedBy: String) async throws -> any PolicyStore {
        switch self {
        case .sqlite(let directory):
            try directory.checkDatabase(mayCreate: mayCreate, allowedBy: allowedBy)
            return try await SQLitePolicyStore.open(path: directory.databasePath, eventLoopGroup: group, logger: logger)
        case .postgres(let url):
            return try await PostgresPolicyStore.open(url: url, eventLoopGroup: group, logger: logger)
        }
    }

    /// The key that signs session cookies and preview URLs, the same for every instance: from
    /// settings; else, with SQLite, generated once into the data directory; with PostgreSQL,
    /// generated once into the database (the first instance's candidate wins).
    func cookieSecret(configured: String?, dataDirectory: DataDirectory, store: any PolicyStore) async throws -> [UInt8] {
        if let configured { return try DataDirectory.configuredSecret(configured) }
        guard case .postgres = self, let shared = store as? PostgresPolicyStore else {
            return try dataDirectory.cookieSecret(configured: nil)
        }
        let text = try await shared.sharedSecret(named: "cookie-secret", candidate: DataDirectory.newSecret())
        guard let bytes = DataDirectory.secretBytes(text) else {
            throw StoreLocationError("the cookie secret stored in \(description) is damaged: expected at least 64 hex digits")
        }
        return bytes
    }
}

struct StoreLocationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
