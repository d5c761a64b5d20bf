// swift-tools-version:6.1
import PackageDescription

// One set of settings for every Swift target, as Hummingbird does. CI (.ci/run) sets
// PORTHOLE_WARNINGS_AS_ERRORS=1: a warning in Porthole's own targets fails its build there, while
// dependencies keep their warnings and local builds stay usable mid-change.
let swiftSettings: [SwiftSetting] =
    [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ] + (Context.environment["PORTHOLE_WARNINGS_AS_ERRORS"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

let package = Package(
    name: "porthole",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "porthole", targets: ["porthole"]),
        .library(name: "PortholeAPI", targets: ["PortholeAPI"]),
        .library(name: "PortholeCore", targets: ["PortholeCore"]),
        .library(name: "PortholeNIOUtilities", targets: ["PortholeNIOUtilities"]),
        .library(name: "PortholeTLS", targets: ["PortholeTLS"]),
        .library(name: "PortholeStore", targets: ["PortholeStore"]),
        .library(name: "PortholePostgres", targets: ["PortholePostgres"]),
        .library(name: "PortholeProxy", targets: ["PortholeProxy"]),
        .library(name: "PortholeAdmin", targets: ["PortholeAdmin"]),
        .library(name: "PortholeClient", targets: ["PortholeClient"]),
        .library(name: "PortholeEgress", targets: ["PortholeEgress"]),
        .library(name: "PortholeDNS", targets: ["PortholeDNS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Only for postgres-nio's TLS configuration (its connections use NIOSSL); the proxy's TLS is
        // the system OpenSSL.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The admin API's HTTP server. Its default traits pull in swift-configuration, which we do not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // HTTP/2 towards browsers: framing, HPACK, flow control and the protocol's DoS limits.
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        // System OpenSSL 3 (libssl-dev) plus static-inline shims for the macros Swift cannot import.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // The system zlib (zlib1g-dev), for compressing responses.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The kernel's nftables through the system libnftables (libnftables-dev).
        .systemLibrary(
            name: "CNftables",
            pkgConfig: "libnftables",
            providers: [.apt(["libnftables-dev"])]
        ),
        // The admin API's wire types (and the percent codec of its URLs): plain data without a
        // dependency, so the Swift client builds without the rest of Porthole (or libssl's headers).
        .target(
            name: "PortholeAPI",
            swiftSettings: swiftSettings
        ),
        // HMAC-SHA256 over the system OpenSSL and constant-time comparison: the only cryptography
        // Core's cookies and signed URLs need, kept out of Core's pure logic.
        .target(
            name: "PortholeCrypto",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortholeCore",
            dependencies: ["PortholeAPI", "PortholeCrypto"],
            swiftSettings: swiftSettings
        ),
        // The DNS wire codec of the egress resolver: pure, no dependencies, so it is tested and fuzzed alone.
        .target(
            name: "PortholeDNS",
            swiftSettings: swiftSettings
        ),
        // Small SwiftNIO and system helpers the server's targets share (ReusableBuffer,
        // PrivateDirectory, OneShotHTTPRequest).
        .target(
            name: "PortholeNIOUtilities",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortholeTLS",
            dependencies: [
                "COpenSSL",
                "PortholeNIOUtilities",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortholeStore",
            dependencies: [
                "PortholeCore",
                "PortholeNIOUtilities",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared policy store for several instances: PostgreSQL through postgres-nio's pool,
        // LISTEN/NOTIFY for the change feed. A target of its own, so only the binary links it.
        .target(
            name: "PortholePostgres",
            dependencies: [
                "PortholeCore",
                "PortholeStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortholeProxy",
            dependencies: [
                "CZlib",
                "PortholeCore",
                "PortholeCrypto",
                "PortholeNIOUtilities",
                "PortholeTLS",
                "PortholeStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortholeAdmin",
            dependencies: [
                "PortholeCore",
                "PortholeStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The OpenAPI document is committed as JSON and compiled into the binary, so the served
            // document is byte for byte the reviewed file and needs no resource bundle at run time.
            resources: [.embedInCode("openapi.json"), .embedInCode("daytona-openapi.json")],
            swiftSettings: swiftSettings
        ),
        // Network limits: the nftables table kept in step with the policy store.
        .target(
            name: "PortholeEgress",
            dependencies: [
                "CNftables",
                "PortholeCore",
                "PortholeDNS",
                "PortholeStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Swift client of the admin API: SwiftNIO's HTTP/1.1 codec only, no HTTP client framework.
        .target(
            name: "PortholeClient",
            dependencies: [
                "PortholeAPI",
                "PortholeNIOUtilities",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "porthole",
            dependencies: [
                "PortholeCore",
                "PortholeTLS",
                "PortholeStore",
                "PortholePostgres",
                "PortholeProxy",
                "PortholeAdmin",
                "PortholeClient",
                "PortholeEgress",
                "PortholeNIOUtilities",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeCoreTests",
            dependencies: ["PortholeCore", "PortholeCrypto", "PortholeTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeCryptoTests",
            dependencies: ["PortholeCrypto", "PortholeCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeEgressTests",
            dependencies: [
                "PortholeEgress", "PortholeCore", "PortholeDNS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeDNSTests",
            dependencies: ["PortholeDNS", "PortholeTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeTLSTests",
            dependencies: [
                "PortholeTLS",
                "PortholeNIOUtilities",
                // A second, independent TLS implementation as the in-memory tests' client.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "PortholeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeStoreTests",
            dependencies: [
                "PortholeStore",
                "PortholePostgres",
                "PortholeCore",
                "PortholeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeProxyTests",
            dependencies: [
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                // zlib's inflate, to read what the proxy compressed.
                "CZlib",
                "PortholeCrypto",
                "PortholeTestSupport",
                "PortholeProxy",
                "PortholeCore",
                "PortholeStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PortholeAdminTests",
            dependencies: [
                "PortholeTestSupport",
                "PortholeAdmin",
                "PortholeClient",
                "PortholeCore",
                "PortholeStore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Process and path helpers shared by the test targets that start the real binary.
        .target(
            name: "PortholeTestSupport",
            dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Tests/PortholeTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "PortholeTestSupport",
                "PortholeCore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Peers"],
            swiftSettings: swiftSettings
        ),
    ]
)
