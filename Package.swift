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
                "FurrowRuntime", "FurrowSyntax", "FurrowJSON", "FurrowHCL", "FurrowAWS", "FurrowTerraform",
                "FurrowState", "FurrowStateDynamoDB", "FurrowDNS", "FurrowDNSWire", "FurrowSQLite",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline"),
        // readline is a C library of global variables: this target uses Swift 5 mode for them.
        .target(
            name: "FurrowREPL", dependencies: ["CReadline", "FurrowLibrary", "FurrowRuntime", "FurrowSyntax"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "furrow", dependencies: ["FurrowREPL", "FurrowLibrary", "FurrowRuntime", "FurrowSyntax"],
            // Start-up (docs/architecture.md, "Release binaries"): a release binary that is not
            // position-independent has no relative relocations for the loader to apply to the
            // Swift metadata, a third fewer page faults before `main`.
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .release))]
        ),
        .testTarget(name: "ScriptTests", dependencies: ["furrow", "FurrowLibrary", "FurrowTestSupport"]),
        .testTarget(name: "JobTests", dependencies: ["furrow", "FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .testTarget(
            name: "FurrowEnvironmentTests", dependencies: ["furrow", "FurrowTestSupport"],
            exclude: ["Scripts"]
        ),
        .target(
            name: "FurrowTerraform",
            dependencies: ["FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        .testTarget(
            name: "FurrowTerraformTests",
            dependencies: ["FurrowTerraform", "FurrowJSON"],
            exclude: ["Fixtures"]
        ),
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
        .target(
            name: "FurrowDNSWire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "FurrowDNS", dependencies: ["FurrowDNSWire", "FurrowJSON"]),
        .target(name: "FurrowDNSTestSupport", dependencies: ["FurrowDNSWire", "FurrowDNS"]),
        .executableTarget(name: "furrow-dns-bench", dependencies: ["FurrowDNS", "FurrowDNSTestSupport"]),
        .testTarget(name: "FurrowDNSTests", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowTestSupport"]),
        // The dns builtins through the real binary on Route53 (local AWS server) and RFC 2136 (Knot).
        .testTarget(
            name: "DNSBindingTests",
            dependencies: ["furrow", "FurrowLibrary", "FurrowAWS", "FurrowDNS", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowTestSupport"]
        ),
        .target(
            name: "FurrowStateDynamoDB",
            dependencies: [
                "FurrowState", "FurrowAWS", "FurrowJSON", .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .testTarget(name: "FurrowStateBindingTests", dependencies: ["furrow", "FurrowTestSupport"]),
    ]
)
