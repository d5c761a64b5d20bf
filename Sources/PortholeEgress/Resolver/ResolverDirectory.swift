import NIOConcurrencyHelpers
public import PortholeCore

/// What the resolver needs to know of each sandbox, by source address, as the agent last applied
/// it to the kernel: shared between the agent (writer) and the resolver's event loops (readers).
public final class ResolverDirectory: Sendable {
    public struct Entry: Sendable, Hashable {
        public var egressClass: SandboxEgress.Class
        /// The sandbox's own domain allow list, if it has one.
        public var domains: DomainAllowList?

        /// Whether an answer allowed under this entry may still go into the kernel for a source
        /// whose applied entry is now `current`: not when the source is gone or its class or
        /// domain list changed while the answer was upstream (a tighter policy must not be opened
        /// by an answer to a query the old one allowed).
        func stillHolds(in current: EgressState.Entry?) -> Bool {
            current.map(Self.init) == self
        }
    }

    private let entries = NIOLockedValueBox<[SandboxEgress.Source: Entry]>([:])

    public init() {}

    func replace(with state: [SandboxEgress.Source: Entry]) {
        entries.withLockedValue { $0 = state }
    }

    func update(_ changed: [SandboxEgress.Source: Entry?]) {
        entries.withLockedValue { entries in
            for (source, entry) in changed { entries[source] = entry }
        }
    }

    func entry(for source: SandboxEgress.Source) -> Entry? {
        entries.withLockedValue { $0[source] }
    }
}

extension ResolverDirectory.Entry {
    /// What the resolver needs of the kernel's entry for a source (declared here, so the
    /// memberwise initialiser stays).
    init(_ entry: EgressState.Entry) {
        self.init(egressClass: entry.egressClass, domains: entry.domains)
    }
}
