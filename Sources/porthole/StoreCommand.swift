import ArgumentParser
import Foundation
import Logging
import NIOPosix
import PortholePostgres
import PortholeStore

/// `porthole store migrate`: from one machine's SQLite file to the shared PostgreSQL store.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the policy store.",
        subcommands: [Migrate.self]
    )

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy an embedded store (a data directory's SQLite file) into PostgreSQL, for several instances.",
            discussion: """
                Copies every sandbox record (tokens, revocations, timestamps unchanged) and the data directory's \
                cookie secret, so session cookies and signed preview URLs issued before keep working. The target \
                must hold no sandboxes; its schema is created if needed. Stop the instance that writes the data \
                directory first, or writes made during the copy may be missed (they are counted and reported).
                """
        )

        @Option(help: "Data directory holding porthole.sqlite.")
        var from: String
        @Option(help: "postgresql:// URL of the target database. (default: $PORTHOLE_STORE)")
        var to: String?

        func run() async throws {
            var logger = Logger(label: "porthole.store")
            logger.logLevel = .warning
            let directory = DataDirectory(path: from)
            guard FileManager.default.fileExists(atPath: directory.databasePath) else {
                throw ValidationError("no policy store at \(directory.databasePath): --from names a data directory holding porthole.sqlite")
            }
            guard let target = to ?? ProcessInfo.processInfo.environment["PORTHOLE_STORE"], PostgresStoreURL.isPostgresURL(target) else {
                throw ValidationError("--to (or PORTHOLE_STORE) must be a postgresql:// URL")
            }
            let url: PostgresStoreURL
            do {
                url = try PostgresStoreURL.parse(target)
            } catch {
                throw ValidationError("--to: \(error)")
            }
            let source = try await SQLitePolicyStore.open(path: directory.databasePath, logger: logger)
            let destination: PostgresPolicyStore
            do {
                destination = try await PostgresPolicyStore.open(url: url, logger: logger)
            } catch {
                try? await source.close()
                throw StoreCommandError("cannot open \(url): \(error)")
            }
            do {
                let copied = try await Self.copy(from: source, to: destination, directory: directory, url: url)
                print("copied \(copied.sandboxes) sandboxes\(copied.secret ? " and the cookie secret" : "") from \(directory.databasePath) to \(url)")
                if copied.writtenDuringCopy > 0 {
                    print(
                        "warning: \(copied.writtenDuringCopy) sandboxes were written in \(directory.databasePath) during the copy; stop its server and migrate again into an empty database"
                    )
                }
            } catch {
                try? await source.close()
                try? await destination.close()
                throw error
            }
            try? await source.close()
            try? await destination.close()
        }

        static func copy(
            from source: SQLitePolicyStore, to destination: PostgresPolicyStore, directory: DataDirectory, url: PostgresStoreURL
        ) async throws -> (sandboxes: Int, secret: Bool, writtenDuringCopy: Int) {
            guard try await destination.list(label: nil, after: nil, limit: 1).isEmpty else {
                throw StoreCommandError("\(url) already holds sandboxes: migrate into an empty database (nothing was copied)")
            }
            let before = try await source.changes(after: Int64.max).latest
            var count = 0
            var after: String?
            while true {
                let page = try await source.list(label: nil, after: after, limit: 500)
                for policy in page { try await destination.create(policy) }
                count += page.count
                guard let last = page.last, page.count == 500 else { break }
                after = last.id
            }
            var secret = false
            if let text = directory.existingCookieSecret() {
                try await destination.setSharedSecret(named: "cookie-secret", to: text)
                secret = true
            }
            let written = try await source.changes(after: before)
            return (count, secret, written.isComplete ? written.ids.count : Int.max)
        }
    }
}

struct StoreCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
