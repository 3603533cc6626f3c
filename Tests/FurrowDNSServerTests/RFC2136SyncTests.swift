import Foundation
import Testing
import FurrowJSON
@testable import FurrowDNS
import FurrowDNSWire
import FurrowDNSTestSupport

/// A DNSZone over an RFC2136Provider talking to `server`.
func zoneClient(_ server: KnotServer, maxRecordsPerMessage: Int = 1000) throws -> DNSZone {
    DNSZone(provider: RFC2136Provider(zone: try DNSZoneName("test.furrow"), server: server.address, key: server.key,
                                      maxRecordsPerMessage: maxRecordsPerMessage))
}

func desiredSet(_ zone: DNSZone, _ entries: [(String, String, [String])], ttl: Int = 30) throws -> [DNSRecordSet] {
    try entries.map { try DNSRecordSet(name: $0.0, type: $0.1, ttl: ttl, values: $0.2, zone: zone.zone) }
}

@Suite("Zone sync through RFC 2136 against Knot", .serialized)
struct RFC2136SyncTests {
    @Test func syncCreatesUpdatesAndDeletesOwnedRecords() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let zone = try zoneClient(server)
        let first = try zone.sync(try desiredSet(zone, [("tyk.feat-x", "A", ["10.0.0.7"]), ("dash.feat-x", "A", ["10.0.0.8"]),
                                                        ("gone.feat-y", "A", ["10.0.0.9"])]), owner: "chitragupta")
        #expect((first.creates.count, first.updates.count, first.deletes.count) == (3, 0, 0))
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == ["10.0.0.7"])
        #expect(try server.dig("_furrow-owner.tyk.feat-x.test.furrow", "TXT") == ["\"heritage=furrow,owner=chitragupta\""])

        let second = try zone.sync(try desiredSet(zone, [("tyk.feat-x", "A", ["10.0.0.17"]), ("dash.feat-x", "A", ["10.0.0.8"])]),
                                   owner: "chitragupta")
        #expect((second.creates.count, second.updates.count, second.deletes.count) == (0, 1, 1))
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == ["10.0.0.17"])
        #expect(try server.dig("gone.feat-y.test.furrow", "A") == [])
        #expect(try server.dig("_furrow-owner.gone.feat-y.test.furrow", "TXT") == [])
        #expect(try zone.get("dash.feat-x", "A")?.valueStrings == ["10.0.0.8"])

        let again = try zone.plan(try desiredSet(zone, [("tyk.feat-x", "A", ["10.0.0.17"]), ("dash.feat-x", "A", ["10.0.0.8"])]),
                                  owner: "chitragupta")
        #expect(again.isEmpty)
        #expect(again.json["summary"] == "zone test.furrow: 0 to create, 0 to update, 0 to delete")
    }

    @Test func foreignAndUnmanagedRecordsAreLeftAlone() throws {
        let server = try KnotServer(records: [
            "manual A 10.0.0.50",
            "theirs A 10.0.0.51",
            "_furrow-owner.theirs TXT \"heritage=furrow,owner=other-job\"",
        ])
        defer { server.stop() }
        let zone = try zoneClient(server)
        let plan = try zone.sync(try desiredSet(zone, [("manual", "A", ["10.0.0.99"]), ("theirs", "A", ["10.0.0.99"]),
                                                       ("mine", "A", ["10.0.0.1"])]), owner: "chitragupta")
        #expect(plan.creates.map { zone.zone.relative($0.name) } == ["mine"])
        #expect(Set(plan.skipped.map { zone.zone.relative($0.name) }) == ["manual", "theirs"])
        #expect(try server.dig("manual.test.furrow", "A") == ["10.0.0.50"])
        #expect(try server.dig("theirs.test.furrow", "A") == ["10.0.0.51"])
        // An empty desired set removes only what chitragupta owns.
        let cleanup = try zone.sync([], owner: "chitragupta")
        #expect(cleanup.deletes.map { zone.zone.relative($0.name) } == ["mine"])
        #expect(try server.dig("mine.test.furrow", "A") == [])
        #expect(try server.dig("theirs.test.furrow", "A") == ["10.0.0.51"])
        #expect(try server.dig("ns.test.furrow", "A") == ["127.0.0.1"])
        #expect(try server.dig("test.furrow", "SOA").count == 1)
    }

    @Test func maxDeletesRefusalSendsNothing() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let zone = try zoneClient(server)
        try zone.sync(try desiredSet(zone, (0..<6).map { ("h\($0)", "A", ["10.0.1.\($0)"]) }), owner: "o")
        do {
            try zone.sync(try desiredSet(zone, [("h0", "A", ["10.0.1.100"])]), owner: "o", maxDeletes: 3)
            Issue.record("a sync deleting 5 rrsets passed max_deletes 3")
        } catch let error as DNSZoneError {
            #expect(error.description.contains("would delete 5 record sets, more than max_deletes 3"))
        }
        #expect(try server.dig("h0.test.furrow", "A") == ["10.0.1.0"])
        #expect(try server.dig("h5.test.furrow", "A") == ["10.0.1.5"])
    }

    @Test func interruptedSyncConvergesOnTheNextRun() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let zone = try zoneClient(server, maxRecordsPerMessage: 8)
        try zone.sync(try desiredSet(zone, (0..<20).map { ("old\($0)", "A", ["10.0.2.\($0)"]) }), owner: "o")
        let desired = try desiredSet(zone, (10..<20).map { ("old\($0)", "A", ["10.0.3.\($0)"]) } + (0..<15).map { ("new\($0)", "TXT", ["n \($0)"]) })
        let plan = try zone.plan(desired, owner: "o")
        #expect((plan.creates.count, plan.updates.count, plan.deletes.count) == (15, 10, 10))
        // The run is killed after half of its groups reached the server.
        let groups = plan.changeSet.groups
        try zone.provider.apply(ZoneChangeSet(groups: Array(groups.prefix(groups.count / 2))))
        let resumed = try zone.sync(desired, owner: "o")
        #expect(resumed.creates.count + resumed.updates.count + resumed.deletes.count == 35 - groups.count / 2)
        #expect(try zone.plan(desired, owner: "o").isEmpty)
        #expect(try server.dig("old15.test.furrow", "A") == ["10.0.3.15"])
        #expect(try server.dig("old5.test.furrow", "A") == [])
        #expect(try server.dig("new14.test.furrow", "TXT") == ["\"n 14\""])
        let owned = try zone.records(type: "TXT").filter { $0.name.description.hasPrefix("_furrow-owner.") }
        #expect(owned.count == 25)
    }

    @Test func largeChangeSetsSplitIntoSeveralMessages() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let zone = try zoneClient(server, maxRecordsPerMessage: 20)
        let desired = try desiredSet(zone, (0..<40).map { ("bulk\($0)", "A", ["10.0.4.\($0)", "10.0.5.\($0)"]) })
        let plan = try zone.plan(desired, owner: "o")
        let provider = try #require(zone.provider as? RFC2136Provider)
        let messages = provider.messages(for: plan.changeSet)
        #expect(messages.count > 5)
        // Each name's rrset and its registry record travel in the same message.
        for message in messages {
            let names = Set(message.updates.map { $0.name })
            for name in names where !name.description.hasPrefix("_furrow-owner.") {
                #expect(names.contains(try DNSName("_furrow-owner." + name.description)))
            }
        }
        try zone.provider.apply(plan.changeSet)
        #expect(try server.dig("bulk39.test.furrow", "A") == ["10.0.4.39", "10.0.5.39"])
        #expect(try zone.records(type: "A").filter { $0.name.description.hasPrefix("bulk") }.count == 40)
    }

    @Test func aChangeMadeAfterReadingIsNotOverwritten() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let zone = try zoneClient(server)
        try zone.sync(try desiredSet(zone, [("race", "A", ["10.0.6.1"])]), owner: "o")
        let plan = try zone.plan(try desiredSet(zone, [("race", "A", ["10.0.6.2"])]), owner: "o")
        // Someone else changes the rrset between our read and our write.
        let script = "server 127.0.0.1 \(server.port)\nzone test.furrow.\nupdate add race.test.furrow. 30 A 10.0.6.99\nsend\n"
        #expect(try ExternalTool.run(["nsupdate", "-y", server.digKeyArgument], input: script).status == 0)
        #expect { try zone.provider.apply(plan.changeSet) } throws: { error in
            guard let zoneError = error as? DNSZoneError, case .concurrentChange(let name, let at, _) = zoneError else { return false }
            return name == "test.furrow" && at == server.address.description && zoneError.description.contains("changed since it was read")
        }
        #expect(try server.dig("race.test.furrow", "A") == ["10.0.6.1", "10.0.6.99"])
    }

    @Test func upsertGetAndDeleteSingleRecords() throws {
        let server = try KnotServer(records: ["alias CNAME ns"])
        defer { server.stop() }
        let zone = try zoneClient(server)
        let created = try zone.upsert("tyk.feat-x", "A", ["10.0.0.7"], ttl: 10)
        #expect(created.map { if case .create = $0 { true } else { false } } == true)
        #expect(try zone.upsert("tyk.feat-x", "A", ["10.0.0.7"], ttl: 10) == nil)
        try zone.upsert("tyk.feat-x.test.furrow.", "A", ["10.0.0.8", "10.0.0.9"], ttl: 10)
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == ["10.0.0.8", "10.0.0.9"])
        #expect(try zone.get("tyk.feat-x", "a")?.ttl == 10)
        #expect(throws: DNSZoneError.self) { try zone.upsert("alias", "TXT", ["beside a CNAME"]) }
        #expect(try zone.delete("tyk.feat-x", "A")?.valueStrings == ["10.0.0.8", "10.0.0.9"])
        #expect(try zone.delete("tyk.feat-x", "A") == nil)
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == [])
        #expect(try zone.records().contains { $0.type == .soa })
    }
}
