// swift-tools-version:6.0
import PackageDescription

// Targets depend one way only (see docs/architecture.md):
// Syntax → Runtime → domain modules → Library → REPL → furrow.
// Pure protocol layers (JSON, AWS, DNS wire, HCL) depend on nothing of ours.
let package = Package(
    name: "Furrow",
    products: [
        .executable(name: "furrow", targets: ["furrow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "FurrowJSON",
            dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .testTarget(name: "FurrowJSONTests", dependencies: ["FurrowJSON"]),
        .target(name: "FurrowSyntax"),
        .target(
            name: "FurrowRuntime",
            dependencies: ["FurrowSyntax", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections")],
            // The evaluator's fibers are confined to one thread each; dynamic exclusivity
            // checks on their stack pointer cost a third of every call (see docs/architecture.md).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .target(
            name: "FurrowLibrary",
            dependencies: [
                "FurrowRuntime", "FurrowSyntax", "FurrowJSON", "FurrowHCL", "FurrowAWS", "FurrowProcess", "FurrowTerraform", "FurrowEnvironment",
                "FurrowState", "FurrowStateDynamoDB", "FurrowDNS", "FurrowDNSRoute53", "FurrowDNSWire",
                "FurrowHTTP",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline"),
        // readline is a C library of global variables: this target uses Swift 5 mode for them.
        .target(
            name: "FurrowREPL", dependencies: ["CReadline", "FurrowLibrary", "FurrowProcess", "FurrowRuntime", "FurrowSyntax"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "furrow", dependencies: ["FurrowREPL", "FurrowLibrary", "FurrowRuntime", "FurrowSyntax", "FurrowHTTP", "FurrowProcess"],
            // Start-up (docs/architecture.md, "Release binaries"): a release binary that is not
            // position-independent has no relative relocations for the loader to apply to the
            // Swift metadata, a third fewer page faults before `main`.
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "ScriptTests", dependencies: ["furrow", "FurrowLibrary", "FurrowRuntime", "FurrowTestSupport"],
            exclude: ["TOML"]
        ),
        .testTarget(name: "JobTests", dependencies: ["furrow", "FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .testTarget(name: "FurrowEnvironmentTests", dependencies: ["furrow", "FurrowTestSupport"]),
        // Child processes for os.exec and terraform: process groups, timeouts, stop requests.
        .target(name: "FurrowProcess"),
        .testTarget(name: "FurrowProcessTests", dependencies: ["FurrowProcess"]),
        .target(
            name: "FurrowTerraform",
            dependencies: ["FurrowProcess", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .testTarget(
            name: "FurrowTerraformTests",
            dependencies: ["FurrowTerraform", "FurrowJSON"],
            exclude: ["Fixtures"]
        ),
        .target(
            name: "FurrowEnvironment",
            dependencies: ["FurrowHCL", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .testTarget(name: "FurrowEnvironmentModelTests", dependencies: ["FurrowEnvironment", "FurrowJSON"]),
        .target(
            name: "FurrowHCL",
            dependencies: ["FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .testTarget(
            name: "FurrowHCLTests",
            dependencies: ["FurrowHCL", "FurrowJSON", "FurrowTestSupport", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "FurrowSQLite", dependencies: ["CSQLite"]),
        .target(
            name: "FurrowState",
            dependencies: [
                "FurrowSQLite", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .executableTarget(name: "furrow-state-race", dependencies: ["FurrowState"]),
        .executableTarget(name: "furrow-state-bench", dependencies: ["FurrowState", "FurrowJSON"]),
        .testTarget(name: "FurrowStateTests", dependencies: ["FurrowState", "FurrowSQLite", "furrow-state-race"]),
        .target(
            name: "FurrowAWS",
            dependencies: [
                "FurrowJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .target(name: "FurrowTestSupport"),
        .testTarget(name: "FurrowAWSTests", dependencies: ["FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        // The AWS clients against the local AWS-compatible server.
        .testTarget(name: "FurrowAWSServerTests", dependencies: ["FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .target(
            name: "FurrowDNSWire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The DNS domain: record sets, sync plans, the RFC 2136 provider and the embedded
        // zone kept in the SQLite state file.
        .target(name: "FurrowDNS", dependencies: ["FurrowDNSWire", "FurrowJSON", "FurrowSQLite"]),
        // The Route53 adapter of the DNS domain.
        .target(name: "FurrowDNSRoute53", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowAWS"]),
        .target(name: "FurrowDNSTestSupport", dependencies: ["FurrowDNSWire", "FurrowDNS"]),
        .executableTarget(name: "furrow-dns-bench", dependencies: ["FurrowDNS", "FurrowDNSTestSupport"]),
        .testTarget(name: "FurrowDNSTests", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowTestSupport"]),
        // The DNS client and the RFC 2136 provider against a real server (Knot).
        .testTarget(
            name: "FurrowDNSServerTests",
            dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowJSON", "FurrowDNSTestSupport", "FurrowTestSupport"]
        ),
        // The dns builtins through the real binary on Route53 (local AWS server) and RFC 2136 (Knot).
        .testTarget(
            name: "DNSBindingTests",
            dependencies: ["furrow", "FurrowAWS", "FurrowDNS", "FurrowDNSRoute53", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowTestSupport"]
        ),
        .target(
            name: "FurrowStateDynamoDB",
            dependencies: [
                "FurrowState", "FurrowAWS", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .testTarget(name: "FurrowStateBindingTests", dependencies: ["furrow", "FurrowTestSupport"]),
        // HTTP mechanics without the interpreter: server (NIO + TLS), router, metrics, client.
        // Swift 5 mode: NIO channel handlers are confined to their event loop, which the
        // Swift 6 checker cannot see.
        .target(
            name: "FurrowHTTP",
            dependencies: [
                "FurrowJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(name: "FurrowHTTPTests", dependencies: ["FurrowHTTP", "FurrowJSON"]),
        .testTarget(name: "ServeTests", dependencies: ["furrow", "FurrowHTTP", "FurrowTestSupport"]),
    ]
)

// libFuzzer targets (docs/fuzzing.md). They have no `main` of their own — libFuzzer's runtime
// supplies it — so they only link when built with `--sanitize=fuzzer -Xswiftc -parse-as-library`,
// which scripts/fuzz does, in its own scratch path, with FURROW_FUZZ=1. Every other build
// leaves them out and stays uninstrumented.
if Context.environment["FURROW_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(
            name: "FurrowFuzzLanguage", dependencies: ["FurrowLibrary", "FurrowRuntime", "FurrowSyntax"]
        ),
        .executableTarget(
            name: "FurrowFuzzFormats",
            dependencies: ["FurrowJSON", "FurrowHCL", "FurrowDNSWire", "FurrowLibrary", "FurrowRuntime"]
        ),
    ]
}
