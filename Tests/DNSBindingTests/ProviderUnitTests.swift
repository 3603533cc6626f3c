import Foundation
import FurrowAWS
import FurrowDNS
import FurrowDNSWire
import FurrowDNSRoute53
import FurrowSQLite
import FurrowTestSupport
import Testing

/// The providers' own rules: Route53 batch limits, and refusing a change whose rrset changed
/// since it was read (never retried) on Route53 and in the local zone.
@Suite struct ProviderUnitTests {
    let zone = try! DNSZoneName("batch.test.furrow")

    func aRecord(_ index: Int, values: Int = 1) -> DNSRecordSet {
        DNSRecordSet(name: try! DNSName("svc\(index).batch.test.furrow"), type: .a, ttl: 60,
                     values: (0..<values).map { .a([10, 0, UInt8(index % 256), UInt8($0)]) })
    }

    func route53Provider() throws -> Route53ZoneProvider {
        Route53ZoneProvider(zone: zone, client: try SharedAWS.route53())
    }

    @Test func route53BatchesStayWithinTheValueLimitAndNeverSplitAGroup() throws {
        let provider = try route53Provider()
        // 700 groups of a create and an ownership-style TXT: 1,400 values.
        let registry = try OwnershipRegistry()
        let groups: [[DNSRecordChange]] = try (0..<700).map { index in
            let set = aRecord(index)
            return [.create(set), .create(try registry.record(for: set.name, owner: "t"))]
        }
        let batches = try provider.batches(for: ZoneChangeSet(groups: groups))
        #expect(batches.map(\.count) == [1000, 400])
        for batch in batches {
            #expect(batch.reduce(0) { $0 + $1.recordSet.values.count } <= 1000)
            #expect(batch.first?.recordSet.type == "A" && batch.last?.recordSet.type == "TXT", "a group is never split")
        }
    }

    @Test func route53BatchesStayWithinTheCharacterLimit() throws {
        let provider = try route53Provider()
        let long = String(repeating: "x", count: 998)
        let groups: [[DNSRecordChange]] = try (0..<40).map { index in
            [.create(try DNSRecordSet(name: "t\(index)", type: "TXT", ttl: 60, values: [long], zone: zone))]
        }
        let batches = try provider.batches(for: ZoneChangeSet(groups: groups))
        // Each value is four quoted character-strings (255, 255, 255, 233 octets) separated by
        // spaces: 1,009 characters, so 31 fit in 32,000.
        #expect(batches.map(\.count) == [31, 9])
    }

    @Test func route53UpdatesAreDeleteOfTheRecordAsReadPlusCreate() throws {
        let provider = try route53Provider()
        let from = aRecord(1), to = aRecord(1, values: 2)
        let batches = try provider.batches(for: ZoneChangeSet(groups: [[.update(from: from, to: to)]]))
        #expect(batches.count == 1)
        #expect(batches[0].map(\.action) == [.delete, .create])
        #expect(batches[0][0].recordSet.values == ["10.0.1.0"] && batches[0][1].recordSet.values.count == 2)
    }

    @Test func route53RefusesAChangeToAnRRSetThatChangedAndDoesNotRetryIt() throws {
        let name = "conflict-\(UUID().uuidString.prefix(8).lowercased()).test.furrow"
        let zoneId = try SharedAWS.route53().createHostedZone(name: name).id
        let provider = Route53ZoneProvider(zone: try DNSZoneName(name), client: try SharedAWS.route53())
        let original = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.1"], zone: provider.zone)
        try provider.apply(ZoneChangeSet(groups: [[.create(original)]]))
        let stale = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.2"], zone: provider.zone)
        let target = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.3"], zone: provider.zone)
        #expect {
            try provider.apply(ZoneChangeSet(groups: [[.update(from: stale, to: target)]]))
        } throws: { error in
            guard case DNSZoneError.concurrentChange = error else { return false }
            return true
        }
        #expect(try provider.records(type: .a).first { $0.key == original.key } == original)
        #expect(SharedAWS.requests(try SharedAWS.server(), matching: "/hostedzone/\(zoneId)/rrset", method: "POST") == 2,
                "the refused batch was sent once, not retried")
    }

    @Test func localZoneRebuildsATableOfTheEarlierLayoutAndKeepsItsRecords() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-\(UUID().uuidString).db").path
        do {
            let earlier = try SQLiteDatabase(path: path)
            try earlier.execute("""
                CREATE TABLE furrow_dns_records (
                    zone TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
                    ttl INTEGER NOT NULL, vals TEXT NOT NULL,
                    PRIMARY KEY (zone, name, type));
                INSERT INTO furrow_dns_records VALUES ('batch.test.furrow', 'web.batch.test.furrow', 'A', 60, '10.0.0.2' || char(10) || '10.0.0.1');
                """)
        }
        func layout(_ database: SQLiteDatabase) throws -> String {
            try database.firstRow("SELECT sql FROM sqlite_schema WHERE name = 'furrow_dns_records'") { $0.string(0) } ?? ""
        }
        let provider = try LocalZoneProvider(zone: zone, path: path)
        #expect(try layout(provider.database).contains("WITHOUT ROWID"))
        let web = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.1", "10.0.0.2"], zone: zone)
        #expect(try provider.records(type: nil) == [web], "the row written in the earlier layout is read back")
        let again = try LocalZoneProvider(zone: zone, path: path)
        #expect(try again.records(type: .a) == [web])
        #expect(try again.database.firstRow("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'furrow_dns_records%'") { $0.int64(0) } == 1,
                "no table is left from the rebuild")
    }

    @Test func localZoneRollsBackAChangeSetWhoseRRSetChanged() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-\(UUID().uuidString).db").path
        let provider = try LocalZoneProvider(zone: zone, path: path)
        let web = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.1"], zone: zone)
        try provider.apply(ZoneChangeSet(groups: [[.create(web)]]))
        let api = try DNSRecordSet(name: "api", type: "A", ttl: 60, values: ["10.0.0.2"], zone: zone)
        let stale = try DNSRecordSet(name: "web", type: "A", ttl: 60, values: ["10.0.0.9"], zone: zone)
        #expect {
            try provider.apply(ZoneChangeSet(groups: [[.create(api)], [.delete(stale)]]))
        } throws: { error in
            guard case DNSZoneError.concurrentChange = error else { return false }
            return true
        }
        #expect(try provider.records(type: nil) == [web], "the create in the same change set was rolled back")
        #expect {
            try provider.apply(ZoneChangeSet(groups: [[.create(web)]]))
        } throws: { error in
            guard case DNSZoneError.concurrentChange = error else { return false }
            return true
        }
    }
}
