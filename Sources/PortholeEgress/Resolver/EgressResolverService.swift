public import Logging
public import NIOCore
public import PortholeCore

/// The running resolver: its listening sockets, its upstream socket, its counters.
public final class EgressResolverService: Sendable {
    private let channels: [any Channel]
    private let upstream: DNSUpstreamClient
    public let counters: ResolverCounters

    private init(channels: [any Channel], upstream: DNSUpstreamClient, counters: ResolverCounters) {
        self.channels = channels
        self.upstream = upstream
        self.counters = counters
    }

    /// Binds UDP and TCP port `port` on each of `listen` and starts answering for `agent`'s sandboxes.
    public static func start(
        agent: EgressAgent, listen: [String], port: Int = 53, upstreams: [SocketAddress],
        essentialServices: DomainAllowList, organizationDomains: DomainAllowList = DomainAllowList(entries: []), rateLimit: Int,
        counters: ResolverCounters = ResolverCounters(),
        group: any EventLoopGroup, logger: Logger
    ) async throws -> EgressResolverService {
        let upstream = try await DNSUpstreamClient.start(group: group, servers: upstreams)
        let resolver = EgressResolver(
            directory: agent.directory, essentialServices: essentialServices, organizationDomains: organizationDomains,
            upstream: upstream, rateLimit: rateLimit, counters: counters,
            allow: { source, name, addresses, set, decidedUnder in
                try await agent.allowResolved(source, name: name, addresses: addresses, in: set, decidedUnder: decidedUnder)
            },
            logger: logger
        )
        var channels: [any Channel] = []
        do {
            for host in listen {
                do {
                    channels += try await DNSListener.bind(host: host, port: port, group: group, resolver: resolver)
                } catch {
                    throw ResolverBindError(
                        description:
                            "the resolver cannot listen on \(host) port \(port) (UDP and TCP): \(error); the address must be one of this host's, and port 53 needs CAP_NET_BIND_SERVICE"
                    )
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            await upstream.close()
            throw error
        }
        logger.info("resolver listening", metadata: ["addresses": "\(listen.joined(separator: ","))", "upstreams": "\(upstreams)"])
        return EgressResolverService(channels: channels, upstream: upstream, counters: resolver.counters)
    }

    public func close() async {
        for channel in channels { try? await channel.close() }
        await upstream.close()
    }
}

/// The resolver could not take its address: says which and why.
public struct ResolverBindError: Error, CustomStringConvertible {
    public let description: String
}
