import FurrowDNS
import FurrowDNSWire

/// A large zone and a desired set that differs from it in 5% of names (250 changed values,
/// 250 names gone, 250 new), for the planning test and the benchmark.
public struct SyncScenario: Sendable {
    public let zone: DNSZoneName
    public let owner = "chitragupta"
    public let current: [DNSRecordSet]
    public let desired: [DNSRecordSet]

    public init(records: Int = 10_000) throws {
        zone = try DNSZoneName("dev.example.com")
        let registry = try OwnershipRegistry()
        var current: [DNSRecordSet] = []
        var desired: [DNSRecordSet] = []
        var added = 0
        for index in 0..<records {
            let name = try DNSName("svc\(index).env\(index % 100).dev.example.com")
            let address = DNSRData.a([10, UInt8(index >> 16), UInt8((index >> 8) & 0xFF), UInt8(index & 0xFF)])
            current.append(DNSRecordSet(name: name, type: .a, ttl: 10, values: [address]))
            current.append(try registry.record(for: name, owner: owner))
            switch index % 40 {
            case 0: desired.append(DNSRecordSet(name: name, type: .a, ttl: 10, values: [.a([192, 168, 0, 1])]))
            case 1:
                desired.append(DNSRecordSet(name: try DNSName("new\(added).dev.example.com"), type: .a, ttl: 10,
                                            values: [.a([10, 9, UInt8(added >> 8), UInt8(added & 0xFF)])]))
                added += 1
            default: desired.append(DNSRecordSet(name: name, type: .a, ttl: 10, values: [address]))
            }
        }
        self.current = current
        self.desired = desired
    }

    /// How many creates, updates and deletes the plan must have.
    public var expectedChanges: Int { current.count / 2 / 40 }
}
