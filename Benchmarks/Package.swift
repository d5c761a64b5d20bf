// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of Porthole's pure hot-path pieces, with ordo-one/benchmark. A package of its own
// (the layout ordo-one's "Getting Started" recommends for keeping the dependency out of a project), so
// neither the benchmark package nor its malloc interposer enters the main build: `swift build` at the
// repository root never resolves them. See README.md, "Micro-benchmarks".

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "porthole-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // A path dependency's identity is its folder's name, which depends on where the repository
        // was cloned; `name:` gives the products below a name that does not.
        .package(name: "porthole", path: ".."),
        // The same versions the main package resolves, for the NIO and logging types the fixtures build.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Naming the trait turns off the default ones: malloc counts come from the interposer (Swift
        // 6.3+), and the Linux ARC runtime interposer, which is not needed here, is not resolved.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // ordo-one/benchmark finds its targets under Benchmarks/<Name>/<Name>.swift.
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "PortholeCore", package: "porthole"),
                .product(name: "PortholeProxy", package: "porthole"),
                .product(name: "PortholeStore", package: "porthole"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotPath",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ]
)
