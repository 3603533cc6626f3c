// swift-tools-version:6.0
import PackageDescription

// Targets depend one way only (see docs/architecture.md, "Targets"):
// language → formats and protocols → domain → adapters → bindings → front ends.
// `Sources/` is grouped by that role: each target's sources are in `Sources/<role>/<name>`.

/// Puts each target of one role at `Sources/<role>/<name>`.
func role(_ role: String, _ targets: [Target]) -> [Target] {
    for target in targets where target.path == nil { target.path = "Sources/\(role)/\(target.name)" }
    return targets
}

let collections = Target.Dependency.product(name: "OrderedCollections", package: "swift-collections")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")

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
    targets: role("Language", [
        .target(name: "FurrowSyntax"),
        .target(
            name: "FurrowRuntime",
            dependencies: ["FurrowSyntax", "FurrowJSON", collections],
            // The evaluator's fibers are confined to one thread each; dynamic exclusivity
            // checks on their stack pointer cost a third of every call (see docs/architecture.md).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
    ]) + role("Formats", [
        .target(name: "FurrowJSON", dependencies: [collections]),
        .target(name: "FurrowHCL", dependencies: ["FurrowJSON", collections]),
    ]) + role("Protocols", [
        // The AWS clients' HTTP goes over AsyncHTTPClient: URLSession would bring FoundationNetworking and libcurl
        // (with its TLS, Kerberos and LDAP libraries) into every binary's start-up.
        .target(
            name: "FurrowAWS",
            dependencies: [
                "FurrowJSON", crypto, collections,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(name: "FurrowDNSWire", dependencies: [crypto]),
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
    ]) + role("System", [
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "FurrowSQLite", dependencies: ["CSQLite"]),
        // Child processes for os.exec and terraform: process groups, timeouts, stop requests.
        .target(name: "FurrowProcess"),
        .systemLibrary(name: "CReadline"),
    ]) + role("Domain", [
        .target(name: "FurrowTerraform", dependencies: ["FurrowProcess", "FurrowJSON", collections]),
        .target(name: "FurrowEnvironment", dependencies: ["FurrowHCL", "FurrowJSON", collections]),
        .target(name: "FurrowState", dependencies: ["FurrowSQLite", "FurrowJSON", collections]),
        // Record sets, sync plans, the RFC 2136 provider and the embedded zone kept in the
        // SQLite state file.
        .target(name: "FurrowDNS", dependencies: ["FurrowDNSWire", "FurrowJSON", "FurrowSQLite"]),
    ]) + role("Adapters", [
        .target(name: "FurrowStateDynamoDB", dependencies: ["FurrowState", "FurrowAWS", "FurrowJSON", collections]),
        .target(name: "FurrowDNSRoute53", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowAWS"]),
    ]) + role("Bindings", [
        .target(
            name: "FurrowLibrary",
            dependencies: [
                "FurrowRuntime", "FurrowSyntax", "FurrowJSON", "FurrowHCL", "FurrowAWS", "FurrowProcess", "FurrowTerraform", "FurrowEnvironment",
                "FurrowState", "FurrowStateDynamoDB", "FurrowDNS", "FurrowDNSRoute53", "FurrowDNSWire",
                "FurrowHTTP",
                collections,
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
    ]) + role("FrontEnds", [
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
    ]) + role("Tools", [
        .executableTarget(name: "furrow-state-race", dependencies: ["FurrowState"]),
        .executableTarget(name: "furrow-state-bench", dependencies: ["FurrowState", "FurrowJSON"]),
        .executableTarget(name: "furrow-dns-bench", dependencies: ["FurrowDNS", "FurrowDNSTestSupport"]),
    ]) + role("TestSupport", [
        .target(name: "FurrowTestSupport"),
        .target(name: "FurrowDNSTestSupport", dependencies: ["FurrowDNSWire", "FurrowDNS"]),
    ]) + [
        // Unit tests: no server, no terraform (scripts/test-unit runs these alone).
        .testTarget(name: "FurrowJSONTests", dependencies: ["FurrowJSON"]),
        .testTarget(name: "FurrowHCLTests", dependencies: ["FurrowHCL", "FurrowJSON", "FurrowTestSupport", collections]),
        .testTarget(name: "FurrowProcessTests", dependencies: ["FurrowProcess"]),
        .testTarget(name: "FurrowEnvironmentModelTests", dependencies: ["FurrowEnvironment", "FurrowJSON"]),
        .testTarget(name: "FurrowStateTests", dependencies: ["FurrowState", "FurrowSQLite", "furrow-state-race"]),
        .testTarget(name: "FurrowAWSTests", dependencies: ["FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .testTarget(name: "FurrowDNSTests", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowTestSupport"]),
        .testTarget(name: "FurrowHTTPTests", dependencies: ["FurrowHTTP", "FurrowJSON"]),
        // The binary: golden scripts, documented examples, the CLI, the REPL through a pty.
        .testTarget(
            name: "ScriptTests", dependencies: ["furrow", "FurrowLibrary", "FurrowRuntime", "FurrowTestSupport"],
            exclude: ["TOML"]
        ),
        // Against real components: terraform, the local AWS-compatible server, Knot.
        .testTarget(name: "FurrowTerraformTests", dependencies: ["FurrowTerraform", "FurrowJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "FurrowAWSServerTests", dependencies: ["FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .testTarget(
            name: "FurrowDNSServerTests",
            dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowJSON", "FurrowDNSTestSupport", "FurrowTestSupport"]
        ),
        .testTarget(
            name: "DNSBindingTests",
            dependencies: ["furrow", "FurrowAWS", "FurrowDNS", "FurrowDNSRoute53", "FurrowDNSWire", "FurrowDNSTestSupport", "FurrowSQLite", "FurrowTestSupport"]
        ),
        .testTarget(name: "FurrowStateBindingTests", dependencies: ["furrow", "FurrowTestSupport"]),
        .testTarget(name: "FurrowEnvironmentTests", dependencies: ["furrow", "FurrowTestSupport"]),
        .testTarget(name: "JobTests", dependencies: ["furrow", "FurrowAWS", "FurrowJSON", "FurrowTestSupport"]),
        .testTarget(name: "ServeTests", dependencies: ["furrow", "FurrowHTTP", "FurrowTestSupport"]),
    ]
)

// libFuzzer targets (docs/fuzzing.md). They have no `main` of their own — libFuzzer's runtime
// supplies it — so they only link when built with `--sanitize=fuzzer -Xswiftc -parse-as-library`,
// which scripts/fuzz does, in its own scratch path, with FURROW_FUZZ=1. Every other build
// leaves them out and stays uninstrumented.
if Context.environment["FURROW_FUZZ"] == "1" {
    package.targets += role("Tools", [
        .executableTarget(
            name: "FurrowFuzzLanguage", dependencies: ["FurrowLibrary", "FurrowRuntime", "FurrowSyntax"]
        ),
        .executableTarget(
            name: "FurrowFuzzFormats",
            dependencies: ["FurrowJSON", "FurrowHCL", "FurrowDNSWire", "FurrowLibrary", "FurrowRuntime"]
        ),
    ])
}
