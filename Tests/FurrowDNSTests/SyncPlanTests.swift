import Foundation
import Testing
import FurrowJSON
@testable import FurrowDNS
import FurrowDNSWire
import FurrowDNSTestSupport

let testZone = try! DNSZoneName("dev.example.com")

func rrset(_ name: String, _ type: String, _ values: [String], ttl: Int = 60) throws -> DNSRecordSet {
    try DNSRecordSet(name: name, type: type, ttl: ttl, values: values, zone: testZone)
}

func registry(_ name: String, owner: String) throws -> DNSRecordSet {
    try OwnershipRegistry().record(for: try testZone.absolute(name), owner: owner)
}

@Suite("DNS record sets and sync planning")
struct SyncPlanTests {
    @Test func namesNormaliseRelativeAbsoluteAndCase() throws {
        #expect(try testZone.absolute("tyk.feat-x") == (try DNSName("tyk.feat-x.dev.example.com")))
        #expect(try testZone.absolute("TYK.feat-x.dev.example.com") == (try DNSName("tyk.feat-x.dev.example.com")))
        #expect(try testZone.absolute("tyk.feat-x.dev.example.com.") == (try DNSName("tyk.feat-x.dev.example.com")))
        #expect(try testZone.absolute("@") == testZone.origin)
        #expect(try testZone.absolute("*.apps") == (try DNSName("*.apps.dev.example.com")))
        #expect(try testZone.absolute("_sip._tcp") == (try DNSName("_sip._tcp.dev.example.com")))
        #expect(try testZone.absolute(" \tSvc1.Env1 ") == (try DNSName("svc1.env1.dev.example.com")))
        #expect(try testZone.absolute("") == testZone.origin)
        #expect(try testZone.absolute(" @ ") == testZone.origin)
        #expect(try testZone.absolute("dev.example.com") == testZone.origin)
        #expect(try testZone.absolute("DEV.example.com.") == testZone.origin)
        #expect(try testZone.absolute("x.dev.example.com.dev.example.com") == (try DNSName("x.dev.example.com.dev.example.com")))
        // A name that only ends in the zone's last labels is relative to it.
        #expect(try testZone.absolute("x.example.com") == (try DNSName("x.example.com.dev.example.com")))
        #expect(try testZone.absolute("xdev.example.com") == (try DNSName("xdev.example.com.dev.example.com")))
        #expect(testZone.relative(try DNSName("a.b.dev.example.com")) == "a.b")
        #expect(testZone.relative(testZone.origin) == "@")
    }

    @Test func invalidNamesAndValuesAreRefusedClearly() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try testZone.absolute(String(repeating: "a", count: 64)) }.contains("limit is 63"))
        #expect(message { _ = try testZone.absolute("a.*.b") }.contains("leftmost"))
        #expect(message { _ = try testZone.absolute("*x.apps") }.contains("'*'"))
        #expect(message { _ = try testZone.absolute("**.apps") }.contains("'*'"))
        #expect(message { _ = try testZone.absolute("*.*.apps") }.contains("leftmost"))
        // A zone whose own name holds a `*` leaves no leftmost place for one in its names.
        let starZone = try DNSZoneName("*.example.com")
        #expect(message { _ = try starZone.absolute("x") }.contains("leftmost"))
        #expect(try starZone.absolute("@") == (try DNSName("*.example.com")))
        #expect(message { _ = try testZone.absolute("bad name") }.contains("' '"))
        #expect(message { _ = try testZone.absolute("x.other.org.") }.contains("outside zone dev.example.com"))
        let long = Array(repeating: String(repeating: "a", count: 60), count: 4).joined(separator: ".")
        #expect(message { _ = try testZone.absolute(long) }.contains("limit is 253"))
        #expect(message { _ = try testZone.absolute("a..b") }.contains("empty label"))
        #expect(message { _ = try testZone.absolute(".") }.contains("empty label"))
        #expect(message { _ = try testZone.absolute("a.") }.contains("outside zone dev.example.com"))
        #expect(message { _ = try testZone.absolute("café") }.contains("'Ã'"))
        #expect(message { _ = try testZone.absolute("a/b") }.contains("'/'"))
        #expect(message { _ = try rrset("a", "A", ["300.1.1.1"]) }.contains("invalid A value '300.1.1.1' for a.dev.example.com"))
        #expect(message { _ = try rrset("a", "CNAME", ["x.example.com", "y.example.com"]) }.contains("exactly one"))
        #expect(message { _ = try rrset("a", "A", []) }.contains("no values"))
        #expect(message { _ = try rrset("a", "BOGUS", ["1"]) }.contains("unknown DNS record type"))
    }

    @Test func recordSetsFromJSON() throws {
        let set = try DNSRecordSet(json: ["name": "tyk.feat-x", "type": "a", "ttl": 10, "values": ["10.0.0.8", "10.0.0.7", "10.0.0.7"]], zone: testZone)
        #expect(set.valueStrings == ["10.0.0.7", "10.0.0.8"])
        #expect(set.ttl == 10)
        #expect(set.json(zone: testZone)["name"] == "tyk.feat-x")
        #expect(set.json(zone: testZone)["fqdn"] == "tyk.feat-x.dev.example.com")
        let single = try DNSRecordSet(json: ["name": "t", "type": "TXT", "value": "hello world"], zone: testZone)
        #expect(single.valueStrings == ["\"hello world\""])
        #expect(single.ttl == DNSRecordSet.defaultTTL)
        #expect(throws: DNSZoneError.self) { try DNSRecordSet(json: ["name": "t", "type": "A"], zone: testZone) }
    }

    @Test func createsNewNamesWithTheirRegistryRecords() throws {
        let plan = try planSync(current: [], desired: [try rrset("tyk.feat-x", "A", ["10.0.0.7"]), try rrset("tyk.feat-x", "TXT", ["info"])],
                                zone: testZone, owner: "chitragupta")
        #expect(plan.creates.count == 2)
        #expect(plan.changeSet.groups.count == 1)
        let registryName = try DNSName("_furrow-owner.tyk.feat-x.dev.example.com")
        #expect(plan.changeSet.changes.contains(.create(try registry("tyk.feat-x", owner: "chitragupta"))))
        #expect(plan.changeSet.changes.contains { $0.key.name == registryName })
        #expect(plan.summary == "zone dev.example.com: 2 to create, 0 to update, 0 to delete")
        #expect(plan.json["creates"]?.arrayValue?.count == 2)
    }

    @Test func namesThatAlreadyMatchAreLeftOutAndTheRestStayInCanonicalOrder() throws {
        var current: [DNSRecordSet] = []
        var desired: [DNSRecordSet] = []
        for name in ["b", "a.b", "z", "c.a", "a", "y.z"] {
            current += [try rrset(name, "A", ["10.0.0.1"]), try registry(name, owner: "chitragupta")]
            desired.append(try rrset(name, "A", [name.count == 1 ? "10.0.0.1" : "10.0.0.2"]))
        }
        desired.append(try rrset("b", "TXT", ["added"]))
        let plan = try planSync(current: current, desired: desired.reversed(), zone: testZone, owner: "chitragupta")
        // Canonical order: labels compared from the right, so a.b sorts after b, c.a after a.
        #expect(plan.updates.map { testZone.relative($0.to.name) } == ["c.a", "a.b", "y.z"])
        #expect(plan.creates.map { "\(testZone.relative($0.name)) \($0.type)" } == ["b TXT"])
        #expect(plan.changeSet.groups.count == 4)
        let settled = try planSync(current: current, desired: current.filter { $0.type == .a }, zone: testZone, owner: "chitragupta")
        #expect(settled.isEmpty)
    }

    @Test func updatesAndDeletesOnlyOwnedNames() throws {
        let current = [
            try rrset("mine", "A", ["10.0.0.1"]), try registry("mine", owner: "chitragupta"),
            try rrset("gone", "A", ["10.0.0.2"]), try registry("gone", owner: "chitragupta"),
            try rrset("theirs", "A", ["10.0.0.3"]), try registry("theirs", owner: "someone-else"),
            try rrset("manual", "A", ["10.0.0.4"]),
            try rrset("manual-gone", "A", ["10.0.0.5"]),
        ]
        let desired = [try rrset("mine", "A", ["10.0.0.9"]), try rrset("theirs", "A", ["10.0.0.9"]), try rrset("manual", "A", ["10.0.0.9"])]
        let plan = try planSync(current: current, desired: desired, zone: testZone, owner: "chitragupta")
        #expect(plan.updates.map(\.to) == [try rrset("mine", "A", ["10.0.0.9"])])
        #expect(plan.deletes == [try rrset("gone", "A", ["10.0.0.2"])])
        #expect(plan.creates.isEmpty)
        #expect(plan.changeSet.changes.contains(.delete(try registry("gone", owner: "chitragupta"))))
        #expect(Set(plan.skipped.map { testZone.relative($0.name) }) == ["theirs", "manual"])
        #expect(plan.skipped.first { testZone.relative($0.name) == "theirs" }?.reason == "owned by someone-else")
        #expect(!plan.changeSet.changes.contains { $0.key.name.description.contains("manual-gone") })
        #expect(plan.summary.contains("2 skipped"))
    }

    @Test func policiesLimitWhatChanges() throws {
        let current = [try rrset("a", "A", ["10.0.0.1"]), try registry("a", owner: "o"),
                       try rrset("b", "A", ["10.0.0.2"]), try registry("b", owner: "o")]
        let desired = [try rrset("a", "A", ["10.0.0.9"]), try rrset("c", "A", ["10.0.0.3"])]
        let sync = try planSync(current: current, desired: desired, zone: testZone, owner: "o", policy: .sync)
        #expect((sync.creates.count, sync.updates.count, sync.deletes.count) == (1, 1, 1))
        let upsert = try planSync(current: current, desired: desired, zone: testZone, owner: "o", policy: .upsertOnly)
        #expect((upsert.creates.count, upsert.updates.count, upsert.deletes.count) == (1, 1, 0))
        let create = try planSync(current: current, desired: desired, zone: testZone, owner: "o", policy: .createOnly)
        #expect((create.creates.count, create.updates.count, create.deletes.count) == (1, 0, 0))
        #expect(try SyncPolicy(parsing: "upsert_only") == .upsertOnly)
        #expect(throws: DNSZoneError.self) { try SyncPolicy(parsing: "everything") }
    }

    @Test func duplicatesMergeOrConflict() throws {
        let same = try planSync(current: [], desired: [try rrset("a", "A", ["10.0.0.1"]), try rrset("A.dev.example.com.", "A", ["10.0.0.1"])],
                                zone: testZone, owner: "o")
        #expect(same.creates.count == 1)
        do {
            _ = try planSync(current: [], desired: [try rrset("a", "A", ["10.0.0.1"]), try rrset("a", "A", ["10.0.0.2"])], zone: testZone, owner: "o")
            Issue.record("conflicting duplicates were accepted")
        } catch {
            #expect("\(error)".contains("a.dev.example.com A twice"))
        }
        #expect(throws: DNSZoneError.self) {
            try planSync(current: [], desired: [try rrset("a", "CNAME", ["x.example.com"]), try rrset("a", "TXT", ["t"])], zone: testZone, owner: "o")
        }
        // Turning an owned A into a CNAME without deleting the A (upsert-only) is refused too.
        #expect(throws: DNSZoneError.self) {
            try planSync(current: [try rrset("a", "A", ["10.0.0.1"]), try registry("a", owner: "o")],
                         desired: [try rrset("a", "CNAME", ["x.example.com"])], zone: testZone, owner: "o", policy: .upsertOnly)
        }
        let swap = try planSync(current: [try rrset("a", "A", ["10.0.0.1"]), try registry("a", owner: "o")],
                                desired: [try rrset("a", "CNAME", ["x.example.com"])], zone: testZone, owner: "o")
        #expect(swap.changeSet.groups.count == 1 && swap.creates.count == 1 && swap.deletes.count == 1)
    }

    @Test func maxDeletesRefusesTheWholePlan() throws {
        let current = try (0..<5).flatMap { [try rrset("h\($0)", "A", ["10.0.0.\($0)"]), try registry("h\($0)", owner: "o")] }
        #expect(throws: DNSZoneError.self) { try planSync(current: current, desired: [], zone: testZone, owner: "o", maxDeletes: 4) }
        #expect(try planSync(current: current, desired: [], zone: testZone, owner: "o", maxDeletes: 5).deletes.count == 5)
        do { _ = try planSync(current: current, desired: [], zone: testZone, owner: "o", maxDeletes: 1) } catch {
            #expect("\(error)" == "sync of zone dev.example.com would delete 5 record sets, more than max_deletes 1; nothing was changed")
        }
    }

    @Test func aScopedPlanSeesOnlyItsSubtree() throws {
        let current = try ["tyk.feat-x", "feat-x", "a.b.feat-x", "tyk.feat-xx", "tyk.other"].flatMap {
            [try rrset($0, "A", ["10.0.0.1"]), try registry($0, owner: "o")]
        } + [try rrset("mail.feat-x", "A", ["10.0.0.9"]), try rrset("www.feat-x", "A", ["10.0.0.8"]), try registry("www.feat-x", owner: "other"),
             try rrset("*.feat-x", "A", ["10.0.0.7"]), try registry("*.feat-x", owner: "o")]
        let scope = try testZone.absolute("feat-x")
        let plan = try planSync(current: current, desired: [], zone: testZone, owner: "o", scope: scope)
        #expect(Set(plan.deletes.map { testZone.relative($0.name) }) == ["tyk.feat-x", "feat-x", "a.b.feat-x", "*.feat-x"])
        #expect(plan.skipped.isEmpty && plan.creates.isEmpty && plan.updates.isEmpty)
        // every change lies in the subtree: the data records and their registry records
        #expect(plan.changeSet.changes.allSatisfy { $0.key.name.isSubdomain(of: scope) })
        #expect(plan.changeSet.changes.count == 8)
        #expect(plan.summary == "zone dev.example.com under feat-x: 0 to create, 0 to update, 4 to delete")
        #expect(plan.json["under"] == "feat-x")
        #expect(try planSync(current: current, desired: [], zone: testZone, owner: "o").json["under"] == nil)
        // max_deletes counts the scoped deletes only
        #expect(throws: DNSZoneError.self) { try planSync(current: current, desired: [], zone: testZone, owner: "o", maxDeletes: 3, scope: scope) }
        #expect(try planSync(current: current, desired: [], zone: testZone, owner: "o", maxDeletes: 4, scope: scope).deletes.count == 4)
        // a desired name outside the scope, a scope outside the zone or in the registry are refused
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try planSync(current: current, desired: [try rrset("tyk.feat-xx", "A", ["10.0.0.2"])], zone: testZone, owner: "o", scope: scope) }
            == "invalid record name 'tyk.feat-xx.dev.example.com': it is outside feat-x, the scope of this sync")
        #expect(message { _ = try planSync(current: [], desired: [], zone: testZone, owner: "o", scope: try DNSName("feat-x.other.org")) }
            .contains("must lie in zone dev.example.com"))
        #expect(message { _ = try planSync(current: [], desired: [], zone: testZone, owner: "o", scope: try testZone.absolute("_furrow-owner.feat-x")) }
            .contains("reserved for ownership records"))
        // inside the scope, a sync updates and creates as usual
        let update = try planSync(current: current, desired: [try rrset("tyk.feat-x", "A", ["10.0.0.5"]), try rrset("new.feat-x", "A", ["10.0.0.6"])],
                                  zone: testZone, owner: "o", scope: scope)
        #expect(update.updates.count == 1 && update.creates.count == 1 && update.deletes.count == 3)
    }

    @Test func wildcardsApexAndCustomPrefix() throws {
        let plan = try planSync(current: [], desired: [try rrset("*.apps", "A", ["10.0.0.1"]), try rrset("@", "A", ["10.0.0.2"])],
                                zone: testZone, owner: "o", registryPrefix: "_owner.reg")
        let names = Set(plan.changeSet.changes.map { $0.key.name.textWithoutTrailingDot })
        #expect(names == ["*.apps.dev.example.com", "_owner.reg._wildcard.apps.dev.example.com", "dev.example.com", "_owner.reg.dev.example.com"])
        #expect(throws: DNSZoneError.self) {
            try planSync(current: [], desired: [try rrset("_furrow-owner.x", "TXT", ["forged"])], zone: testZone, owner: "o")
        }
        #expect(throws: DNSZoneError.self) { try planSync(current: [], desired: [], zone: testZone, owner: "bad,owner") }
    }

    @Test func tenThousandRecordZonePlansQuickly() throws {
        let scenario = try SyncScenario(records: 10_000)
        let clock = ContinuousClock()
        var plan: SyncPlan?
        let elapsed = try clock.measure {
            plan = try planSync(current: scenario.current, desired: scenario.desired, zone: scenario.zone, owner: scenario.owner)
        }
        let result = try #require(plan)
        #expect(result.creates.count == scenario.expectedChanges)
        #expect(result.updates.count == scenario.expectedChanges)
        #expect(result.deletes.count == scenario.expectedChanges)
        #expect(result.skipped.isEmpty)
        #expect(result.changeSet.groups.count == 3 * scenario.expectedChanges)
        // Debug builds are far slower than release (see furrow-dns-bench); this bound only
        // catches quadratic behaviour.
        #expect(elapsed < .seconds(5), "planning took \(elapsed)")
    }
}

/// A provider that keeps the zone in memory and refuses stale writes like a real one would:
/// it lets the facade's JSON entry point be checked without a server.
final class MemoryProvider: ZoneProvider, @unchecked Sendable {
    let zone: DNSZoneName
    var sets: [DNSRecordKey: DNSRecordSet] = [:]
    var location: String { "memory" }
    init(zone: DNSZoneName) { self.zone = zone }
    func records(type: DNSRecordType?) throws -> [DNSRecordSet] { sets.values.filter { type == nil || $0.type == type } }
    func apply(_ changes: ZoneChangeSet) throws {
        for change in changes.changes {
            switch change {
            case .create(let set): sets[set.key] = set
            case .update(_, let to): sets[to.key] = to
            case .delete(let set): sets[set.key] = nil
            }
        }
    }
}

@Test func desiredRecordsFromJSONSyncThroughAnyProvider() throws {
    let zone = DNSZone(provider: MemoryProvider(zone: testZone))
    let desired = try zone.recordSets(fromJSON: [
        ["name": "tyk.feat-x", "type": "A", "ttl": 10, "values": ["10.0.0.7"]],
        ["name": "dash.feat-x.dev.example.com.", "type": "CNAME", "value": "tyk.feat-x.dev.example.com"],
    ])
    let plan = try zone.sync(desired, owner: "chitragupta")
    #expect(plan.creates.count == 2)
    #expect(try zone.get("dash.feat-x", "CNAME")?.valueStrings == ["tyk.feat-x.dev.example.com."])
    #expect(try zone.plan(desired, owner: "chitragupta").isEmpty)
    #expect { try zone.recordSets(fromJSON: [["name": "x", "type": "A", "values": ["nope"]]]) } throws: {
        "\($0)".contains("entry 0: invalid A value 'nope'")
    }
}
