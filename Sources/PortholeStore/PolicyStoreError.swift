/// A failure of a ``PolicyStore``.
///
/// A struct wrapping a private enum, as NIO's errors are, so new cases never break callers.
/// Match on ``code`` (for example to answer 409, 404 or 503); ``description`` is a sentence a
/// person can act on.
public struct PolicyStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case alreadyExists
            case notFound
            case unavailable
            case corrupt
            case unsupportedSchema
            case fileReplaced
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A sandbox with that id already exists.
        public static let alreadyExists = Self(.alreadyExists)
        /// No sandbox has that id.
        public static let notFound = Self(.notFound)
        /// The store cannot be reached or used right now; retrying later may succeed.
        public static let unavailable = Self(.unavailable)
        /// Stored data cannot be read back as a policy record.
        public static let corrupt = Self(.corrupt)
        /// The database was written by a newer Porthole.
        public static let unsupportedSchema = Self(.unsupportedSchema)
        /// The database file was deleted, moved or replaced under the running process; writes are
        /// refused until a restart reopens the path.
        public static let fileReplaced = Self(.fileReplaced)

        public var description: String {
            switch self.base {
            case .alreadyExists: "alreadyExists"
            case .notFound: "notFound"
            case .unavailable: "unavailable"
            case .corrupt: "corrupt"
            case .unsupportedSchema: "unsupportedSchema"
            case .fileReplaced: "fileReplaced"
            }
        }
    }

    private enum Base: Hashable, Sendable {
        case alreadyExists(id: String)
        case notFound(id: String)
        case unavailable(reason: String)
        case corrupt(reason: String)
        case unsupportedSchema(found: Int, supported: Int, location: String)
        case fileReplaced(path: String, change: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// Creating a sandbox whose id is taken.
    public static func alreadyExists(_ id: String) -> Self {
        Self(.alreadyExists(id: id))
    }

    /// Updating a sandbox that does not exist.
    public static func notFound(_ id: String) -> Self {
        Self(.notFound(id: id))
    }

    /// The store cannot serve the call; `reason` says why (lock held too long, disk error, closed).
    public static func unavailable(_ reason: String) -> Self {
        Self(.unavailable(reason: reason))
    }

    /// Stored data is unreadable; `reason` names the record and the field.
    public static func corrupt(_ reason: String) -> Self {
        Self(.corrupt(reason: reason))
    }

    /// The database's schema version is newer than this build understands.
    public static func unsupportedSchema(found: Int, supported: Int, location: String) -> Self {
        Self(.unsupportedSchema(found: found, supported: supported, location: location))
    }

    /// The database file at `path` is no longer the one the store opened; `change` says how
    /// ("deleted", "moved away", "replaced by another file").
    public static func fileReplaced(path: String, change: String) -> Self {
        Self(.fileReplaced(path: path, change: change))
    }

    public var code: Code {
        switch self.base {
        case .alreadyExists: .alreadyExists
        case .notFound: .notFound
        case .unavailable: .unavailable
        case .corrupt: .corrupt
        case .unsupportedSchema: .unsupportedSchema
        case .fileReplaced: .fileReplaced
        }
    }

    /// The sandbox id the error is about, for ``Code/alreadyExists`` and ``Code/notFound``.
    public var sandboxID: String? {
        switch self.base {
        case .alreadyExists(let id), .notFound(let id): id
        case .unavailable, .corrupt, .unsupportedSchema, .fileReplaced: nil
        }
    }

    public var description: String {
        switch self.base {
        case .alreadyExists(let id):
            "A sandbox with id '\(id)' already exists; choose another id or update the existing sandbox."
        case .notFound(let id):
            "No sandbox has id '\(id)'; create it first or check the id."
        case .unavailable(let reason):
            "The policy store is unavailable: \(reason)"
        case .corrupt(let reason):
            "The policy store holds unreadable data: \(reason). Restore the database from a backup or delete the record."
        case .unsupportedSchema(let found, let supported, let location):
            "The policy database at \(location) has schema version \(found), but this Porthole understands versions up to \(supported); upgrade Porthole or point it at another database."
        case .fileReplaced(let path, let change):
            "The policy database \(path) was \(change) while porthole was running; writes are refused, since they would go to a file no later start opens. Restart porthole to reopen it (restore it from a backup first if it was deleted by mistake; until the restart, reads still answer from the old file, so `porthole sandbox list --json` can export its sandboxes)."
        }
    }
}
