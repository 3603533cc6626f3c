import Foundation
import FurrowAWS
import FurrowDNS
import FurrowDNSRoute53
import FurrowDNSWire
import FurrowRuntime

/// `dns.zone(...)` and `dns.lookup(...)`: zones kept locally (SQLite), in Route53 or on an
/// RFC 2136 server, read and changed record by record or synced against a desired set under an
/// owner (see docs/dns.md). Record names in results are relative to the zone (`@` for the
/// apex) with the absolute name beside them as `fqdn`; names given to Furrow may be either.
struct DNSBuiltins: BuiltinModule {
    let configuration: Configuration

    /// TTL of records written without one (`upsert`, desired entries without `ttl`).
    static let defaultTTL = 60

    func install(into interpreter: Interpreter) {
        interpreter.register(DNSZoneObject.members.description)
        interpreter.register("dns", .host(Namespace("dns", doc: "dns.zone(name, provider:), dns.lookup(name, type, server:)", members: [
            "zone": builtin("dns.zone", ["name", "provider", "wait"], required: 0, doc: """
                dns.zone(name = config.dns.zone, provider: config.dns.provider, wait: false) → zone
                A DNS zone: local (SQLite, config.state.path), route53 (config.aws) or rfc2136 (config.dns.server, config.dns.tsig_key). With wait: true, Route53 writes wait until INSYNC.
                """) { b, _ throws(FurrowError) in
                let name = try b[0].map { v throws(FurrowError) in try v.string("dns.zone()'s name") } ?? configuration.setting("dns", "zone")
                let kind = try b[1].map { v throws(FurrowError) in try v.string("provider") } ?? configuration.setting("dns", "provider")
                var wait = false
                if let w = b[2] {
                    guard case .bool(let flag) = w else { throw FurrowError.type("wait must be a bool, got \(w.typeName)") }
                    wait = flag
                } else if case .bool(let flag)? = configuration.value("dns", "wait") {
                    wait = flag
                }
                return .host(DNSZoneObject(zone: DNSZone(provider: try makeProvider(zone: name, kind: kind, wait: wait)), kind: kind))
            },
            "lookup": builtin("dns.lookup", ["name", "type", "server"], required: 1, doc: """
                dns.lookup(name, type = "A", server: null) → list of strings
                Asks a DNS server (server: "host:port"; default the system resolver) and returns the values of that type.
                """) { b, _ throws(FurrowError) in
                let name = try b[0]!.string("dns.lookup()'s name")
                let typeText = try b[1].map { v throws(FurrowError) in try v.string("type") } ?? "A"
                let serverText = try b[2].map { v throws(FurrowError) in try v.string("server") }
                return try Self.lookup(name: name, typeText: typeText, serverText: serverText)
            },
        ])))
    }

    func makeProvider(zone name: String, kind: String, wait: Bool) throws(FurrowError) -> any ZoneProvider {
        let zone: DNSZoneName
        do { zone = try DNSZoneName(name) } catch { throw FurrowError("invalid DNS zone name '\(name)': \(error.description)", kind: .dns) }
        switch kind {
        case "local":
            let path = configuration.setting("state", "path")
            do { return try LocalZoneProvider(zone: zone, path: path) } catch { throw FurrowError(error.description, kind: .dns) }
        case "route53":
            let aws = try AWSSettings.resolve(configuration.section("aws"))
            return Route53ZoneProvider(zone: zone, client: Route53Client(configuration: aws), waitForSync: wait)
        case "rfc2136":
            guard let serverText = configuration.string("dns", "server") else {
                throw FurrowError("the rfc2136 provider needs config.dns.server (\"host:port\") for zone \(zone)", kind: .config)
            }
            let server: DNSServerAddress
            do { server = try DNSServerAddress(serverText) } catch { throw FurrowError("config.dns.server: \(error.description)", kind: .config) }
            var key: TSIGKey?
            if let path = configuration.string("dns", "tsig_key"), !path.isEmpty {
                do { key = try TSIGKey(contentsOfKeyFile: path) } catch { throw FurrowError("config.dns.tsig_key: \(error.description)", kind: .config) }
            }
            return RFC2136Provider(zone: zone, server: server, key: key)
        default:
            throw FurrowError("unknown DNS provider '\(kind)' for zone \(zone); use local, route53 or rfc2136", kind: .config)
        }
    }

    static func lookup(name: String, typeText: String, serverText: String?) throws(FurrowError) -> Value {
        let type: DNSRecordType
        do { type = try DNSRecordType(typeText) } catch { throw FurrowError(error.description, kind: .dns) }
        let server: DNSServerAddress
        do throws(DNSWireError) {
            if let serverText { server = try DNSServerAddress(serverText) } else { server = try DNSServerAddress.systemResolver() }
        } catch {
            throw FurrowError("dns.lookup(\(name)): \(error.description)", kind: .dns)
        }
        do {
            let answers = try FurrowDNSWire.lookup(name, type, server: server, recursive: serverText == nil)
            return .list(answers.filter { $0.type == type }.map { .string($0.data.presentation) })
        } catch {
            if case .responseCode(let code, _, _) = error, code == .nameError { return .list([]) }
            throw FurrowError("dns.lookup(\(name) \(type)) at \(server): \(error.description)", kind: .dns)
        }
    }
}

/// Runs a zone operation, turning every failure into a Furrow error that names the zone and
/// where it is kept: `dns_limit` for a refused max-deletes, `dns_conflict` for conflicting
/// desired duplicates, `dns` for the rest.
func dnsOperation<T>(_ zone: DNSZone, _ body: () throws -> T) throws(FurrowError) -> T {
    do {
        return try body()
    } catch let error as FurrowError {
        throw error
    } catch let error as DNSZoneError {
        let kind: ErrorKind
        switch error {
        case .tooManyDeletes: kind = .dnsLimit
        case .conflictingDuplicates: kind = .dnsConflict
        default: kind = .dns
        }
        throw FurrowError("zone \(zone.zone) (\(zone.provider.location)): \(error.description)", kind: kind)
    } catch {
        throw FurrowError("zone \(zone.zone) (\(zone.provider.location)): \(error)", kind: .dns)
    }
}

/// A zone as scripts hold it: `z.records()`, `z.get`, `z.upsert`, `z.delete`, `z.plan`,
/// `z.sync`, `z.zone_file()`.
final class DNSZoneObject: HostObject, @unchecked Sendable {
    let zone: DNSZone
    let kind: String

    init(zone: DNSZone, kind: String) {
        self.zone = zone
        self.kind = kind
    }

    override var typeName: String { "dns_zone" }
    override var summary: String { "<dns zone \(zone.zone) (\(zone.provider.location))>" }
    override var fields: FurrowMap { ["name": .string(zone.zone.description), "provider": .string(kind)] }
    override var memberNames: [String] { Self.members.names }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, name, fiber: fiber)
    }

    static let members = HostMembers<DNSZoneObject>("dns_zone", [
        .property("name") { o, _ in .string(o.zone.zone.description) },
        .property("provider") { o, _ in .string(o.kind) },
        .method("records", ["type"], required: 0, doc: "z.records(type: null) → list of {name, fqdn, type, ttl, values}") { o, b, _ throws(FurrowError) in
            let zone = o.zone
            let type = try b[0].flatMap { v throws(FurrowError) -> String? in v.equals(.null) ? nil : try v.string("type") }
            let sets = try dnsOperation(zone) { try zone.records(type: type) }
            return .list(DNSZoneObject.sorted(sets).map { Format.fromJSON($0.json(zone: zone.zone)) })
        },
        .method("get", ["name", "type"], doc: "z.get(name, type) → {name, fqdn, type, ttl, values} or null") { o, b, _ throws(FurrowError) in
            let zone = o.zone
            let recordName = try b[0]!.string("name"), type = try b[1]!.string("type")
            let set = try dnsOperation(zone) { try zone.get(recordName, type) }
            return set.map { Format.fromJSON($0.json(zone: zone.zone)) } ?? .null
        },
        .method("upsert", ["name", "type", "values", "ttl"], required: 3, effect: .mutates, doc: "z.upsert(name, type, values, ttl: 60) → the record, with action create, update or unchanged") { o, b, args throws(FurrowError) in
            let zone = o.zone, zoneName = zone.zone.description
            let recordName = try b[0]!.string("name"), type = try b[1]!.string("type")
            let values: [String]
            if case .string(let single) = b[2]! { values = [single] } else { values = try b[2]!.strings("values") }
            let ttl = try b[3].map { v throws(FurrowError) in try v.int("ttl") } ?? DNSBuiltins.defaultTTL
            let target = try dnsOperation(zone) { try DNSRecordSet(name: recordName, type: type, ttl: ttl, values: values, zone: zone.zone) }
            guard case .map(var details) = Format.fromJSON(target.json(zone: zone.zone)) else { return .null }
            details["zone"] = .string(zoneName)
            return try args.fiber.interpreter.mutation(args.fiber, "set \(target.name.textWithoutTrailingDot) \(target.type) in zone \(zoneName)", details) { () throws(FurrowError) -> Value in
                let change = try dnsOperation(zone) { try zone.upsert(recordName, type, values, ttl: ttl) }
                var record = details
                record.removeValue(forKey: "zone")
                switch change {
                case .create?: record["action"] = .string("create")
                case .update?: record["action"] = .string("update")
                default: record["action"] = .string("unchanged")
                }
                return .map(record)
            }
        },
        .method("delete", ["name", "type"], effect: .mutates, doc: "z.delete(name, type) → the deleted record, or null if there was none") { o, b, args throws(FurrowError) in
            let zone = o.zone, zoneName = zone.zone.description
            let recordName = try b[0]!.string("name"), type = try b[1]!.string("type")
            let absolute = try dnsOperation(zone) { try zone.zone.absolute(recordName) }
            return try args.fiber.interpreter.mutation(args.fiber, "delete \(absolute.textWithoutTrailingDot) \(type.uppercased()) in zone \(zoneName)",
                                                       ["zone": .string(zoneName), "name": .string(zone.zone.relative(absolute)), "type": .string(type.uppercased())]) { () throws(FurrowError) -> Value in
                let deleted = try dnsOperation(zone) { try zone.delete(recordName, type) }
                return deleted.map { Format.fromJSON($0.json(zone: zone.zone)) } ?? .null
            }
        },
        .method("plan", ["desired", "owner", "policy", "max_deletes", "under"], required: 2, doc: "z.plan(desired, owner:, policy: \"sync\", max_deletes: null, under: null) → plan (creates, updates, deletes, skipped); changes nothing") { o, b, _ throws(FurrowError) in
            let zone = o.zone
            let request = try SyncRequest(b, zone: zone)
            let plan = try dnsOperation(zone) { try zone.plan(request.desired, owner: request.owner, policy: request.policy, maxDeletes: request.maxDeletes, under: request.scope) }
            return .host(DNSPlanObject(plan: plan, state: "planned"))
        },
        .method("sync", ["desired", "owner", "policy", "max_deletes", "under"], required: 2, effect: .mutates, doc: "z.sync(desired, owner:, policy: \"sync\", max_deletes: null, under: null) → the plan it applied (with --dry-run: computed, nothing sent); under: a name limits the sync to it and the names below it") { o, b, args throws(FurrowError) in
            let zone = o.zone, zoneName = zone.zone.description
            let request = try SyncRequest(b, zone: zone)
            let plan = try dnsOperation(zone) { try zone.plan(request.desired, owner: request.owner, policy: request.policy, maxDeletes: request.maxDeletes, under: request.scope) }
            var applied = false
            let counts: FurrowMap = ["zone": .string(zoneName), "owner": .string(request.owner), "creates": .int(plan.creates.count),
                                      "updates": .int(plan.updates.count), "deletes": .int(plan.deletes.count)]
            _ = try args.fiber.interpreter.mutation(args.fiber, "sync zone \(zoneName)\(plan.scope.map { " under \(zone.zone.relative($0))" } ?? "") (\(plan.creates.count) to create, \(plan.updates.count) to update, \(plan.deletes.count) to delete)", counts) { () throws(FurrowError) -> Value in
                if !plan.isEmpty { try dnsOperation(zone) { try zone.provider.apply(plan.changeSet) } }
                applied = true
                return .null
            }
            return .host(DNSPlanObject(plan: plan, state: applied ? "applied" : "dry-run"))
        },
        .method("zone_file", [], doc: "z.zone_file() → RFC 1035 zone-file text (a SOA and NS are generated when the zone has none)") { o, _, _ throws(FurrowError) in
            let zone = o.zone
            let sets = try dnsOperation(zone) { try zone.records() }
            return .string(zoneFileText(zone: zone.zone, sets: sets))
        },
    ])

    /// Records in a stable order for people: by name (canonical DNS order), then type.
    static func sorted(_ sets: [DNSRecordSet]) -> [DNSRecordSet] {
        sets.sorted { $0.name == $1.name ? $0.type < $1.type : $0.name < $1.name }
    }
}

/// The arguments shared by `plan` and `sync`.
private struct SyncRequest {
    let desired: [DNSRecordSet]
    let owner: String
    let policy: SyncPolicy
    let maxDeletes: Int?
    /// `under:`: the name whose subtree the sync is limited to.
    let scope: String?

    init(_ b: [Value?], zone: DNSZone) throws(FurrowError) {
        let items = try b[0]!.list("desired")
        var sets: [DNSRecordSet] = []
        sets.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do throws(DNSZoneError) {
                sets.append(try Self.recordSet(item, zone: zone.zone))
            } catch {
                throw FurrowError("zone \(zone.zone) (\(zone.provider.location)): desired entry \(index): \(error.description)", kind: .dns)
            }
        }
        desired = sets
        owner = try b[1]!.string("owner")
        policy = try dnsOperation(zone) { try SyncPolicy(parsing: try b[2].map { v throws(FurrowError) in try v.string("policy") } ?? "sync") }
        if let limit = b[3], !limit.equals(.null) {
            let value = try limit.int("max_deletes")
            guard value >= 0 else { throw FurrowError.value("max_deletes must be 0 or more, got \(value)") }
            maxDeletes = value
        } else {
            maxDeletes = nil
        }
        if let under = b[4], !under.equals(.null) {
            let name = try under.string("under")
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw FurrowError.value("under must name a part of zone \(zone.zone) (\"@\" for the whole zone), got an empty string")
            }
            scope = name
        } else {
            scope = nil
        }
    }

    /// One desired entry `{name, type, ttl?, values}` (`values` may be one string; `ttl`
    /// defaults to 60), read straight from the Furrow map.
    static func recordSet(_ item: Value, zone: DNSZoneName) throws(DNSZoneError) -> DNSRecordSet {
        guard case .map(let entry) = item else { throw .invalidRecord("must be a map {name, type, ttl?, values}, got \(item.typeName)") }
        guard case .string(let name)? = entry["name"] else { throw .invalidRecord("a record needs a string 'name'") }
        guard case .string(let type)? = entry["type"] else { throw .invalidRecord("record \(name) needs a string 'type'") }
        var ttl = DNSBuiltins.defaultTTL
        switch entry["ttl"] {
        case nil, .null?: break
        case .int(let value)?: ttl = value
        default: throw .invalidRecord("the ttl of \(name) must be an integer")
        }
        var values: [String] = []
        switch entry["values"] ?? entry["value"] {
        case .string(let single)?: values = [single]
        case .list(let list)?:
            for value in list {
                switch value {
                case .string(let text): values.append(text)
                case .int(let number): values.append(String(number))
                default: throw .invalidRecord("values of \(name) must be strings")
                }
            }
        default: throw .invalidRecord("record \(name) needs 'values' (a list of strings)")
        }
        return try DNSRecordSet(name: name, type: type, ttl: ttl, values: values, zone: zone)
    }
}

/// A sync plan: `creates`, `updates`, `deletes`, `skipped` (names relative to the zone),
/// `summary`, and `state` (`planned`, `applied` or `dry-run`). Prints as a table of changes;
/// `json.encode` gives its fields.
final class DNSPlanObject: HostObject, @unchecked Sendable {
    let plan: SyncPlan
    let state: String

    init(plan: SyncPlan, state: String) {
        self.plan = plan
        self.state = state
    }

    override var typeName: String { "dns_plan" }

    private let lock = NSLock()
    private var cachedFields: FurrowMap?

    /// Built once (under a lock, since parallel tasks may share a plan): scripts read
    /// `p.creates` and friends repeatedly.
    override var fields: FurrowMap {
        lock.lock()
        defer { lock.unlock() }
        if let cachedFields { return cachedFields }
        guard case .map(var map) = Format.fromJSON(plan.json) else { return [:] }
        map["state"] = .string(state)
        map["empty"] = .bool(plan.isEmpty)
        cachedFields = map
        return map
    }

    override var memberNames: [String] { Array(fields.keys) }

    override var summary: String {
        var rows: [FurrowMap] = []
        func row(_ action: String, _ set: DNSRecordSet, from: DNSRecordSet? = nil) {
            var values = set.valueStrings.joined(separator: ", ")
            if let from { values = "\(from.valueStrings.joined(separator: ", ")) (ttl \(from.ttl)) -> \(values)" }
            rows.append(["action": .string(action), "name": .string(plan.zone.relative(set.name)), "type": .string(set.type.description),
                         "ttl": .int(Int(set.ttl)), "values": .string(values)])
        }
        for set in plan.creates { row("create", set) }
        for update in plan.updates { row("update", update.to, from: update.from) }
        for set in plan.deletes { row("delete", set) }
        for skipped in plan.skipped {
            rows.append(["action": .string("skip"), "name": .string(plan.zone.relative(skipped.name)), "type": .string(""),
                         "ttl": .string(""), "values": .string(skipped.reason)])
        }
        let head = (state == "planned" ? "" : "[\(state)] ") + plan.summary
        return rows.isEmpty ? head : head + "\n" + Format.table(rows)
    }
}

/// RFC 1035 zone-file text for `sets`, with a SOA and an apex NS generated when missing.
func zoneFileText(zone: DNSZoneName, sets: [DNSRecordSet]) -> String {
    let origin = zone.origin.description
    var lines = ["$ORIGIN \(origin)", "$TTL \(DNSRecordSet.defaultTTL)"]
    if !sets.contains(where: { $0.type == .soa }) {
        lines.append("@ 3600 IN SOA ns.\(origin) hostmaster.\(origin) 1 3600 600 86400 300")
    }
    if !sets.contains(where: { $0.type == .ns && $0.name == zone.origin }) {
        lines.append("@ 3600 IN NS ns.\(origin)")
    }
    for set in DNSZoneObject.sorted(sets) {
        let owner = zone.relative(set.name)
        for value in set.valueStrings { lines.append("\(owner) \(set.ttl) IN \(set.type) \(value)") }
    }
    return lines.joined(separator: "\n") + "\n"
}
