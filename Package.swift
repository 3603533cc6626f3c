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
            dependencies: [.product(name: "Collections", package: "swift-collections")]
        ),
        .testTarget(name: "FurrowJSONTests", dependencies: ["FurrowJSON"]),
        .executableTarget(name: "furrow", dependencies: ["FurrowJSON"]),
        .target(
            name: "FurrowDNSWire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "FurrowDNS", dependencies: ["FurrowDNSWire", "FurrowJSON"]),
        .target(name: "FurrowDNSTestSupport", dependencies: ["FurrowDNSWire", "FurrowDNS"]),
        .executableTarget(name: "furrow-dns-bench", dependencies: ["FurrowDNS", "FurrowDNSTestSupport"]),
        .testTarget(name: "FurrowDNSTests", dependencies: ["FurrowDNS", "FurrowDNSWire", "FurrowDNSTestSupport"]),
    ]
)
