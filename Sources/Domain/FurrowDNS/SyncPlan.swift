#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FurrowDNSWire
import FurrowJSON

/// How far a sync may go.
public enum SyncPolicy: String, Sendable, CaseIterable {
    /// Create, update and delete owned records so the zone matches the desired set.
    case sync
    /// Create and update, never delete.
    case upsertOnly = "upsert-only"
    /// Only create records that are missing.
    case createOnly = "create-only"

    /// Parses `sync`, `upsert-only` or `create-only` (underscores accepted too).
    public init(parsing text: String) throws(DNSZoneError) {
        guard let policy = SyncPolicy(rawValue: text.lowercased().replacingUnderscores()) else {
            throw .invalidRecord("unknown sync policy '\(text)'; use sync, upsert-only or create-only")
        }
        self = policy
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// A name the sync wanted to manage but left alone, and why.
public struct SkippedName: Sendable, Hashable {
    public let name: DNSName
    public let reason: String
}

/// What a sync will do. Creates, updates and deletes list the data rrsets; the ownership
/// records that go with them are only in `changeSet`, which is what a provider applies.
public struct SyncPlan: Sendable {
    public let zone: DNSZoneName
    public let owner: String
    public let policy: SyncPolicy
    /// The subtree the sync was limited to (`under:`), or nil for the whole zone.
    public let scope: DNSName?
    public internal(set) var creates: [DNSRecordSet] = []
    public internal(set) var updates: [(from: DNSRecordSet, to: DNSRecordSet)] = []
    public internal(set) var deletes: [DNSRecordSet] = []
    public internal(set) var skipped: [SkippedName] = []
    public internal(set) var changeSet = ZoneChangeSet()

    /// True when the zone already matches (skipped names do not count as work).
    public var isEmpty: Bool { changeSet.isEmpty }

    /// One line for people: `zone dev.example.com: 3 to create, 1 to update, 0 to delete, 2 skipped`.
    public var summary: String {
        let place = scope.map { "zone \(zone) under \(zone.relative($0))" } ?? "zone \(zone)"
        var text = "\(place): \(creates.count) to create, \(updates.count) to update, \(deletes.count) to delete"
        if !skipped.isEmpty { text += ", \(skipped.count) skipped (owned by others or unmanaged)" }
        return text
    }

    /// The plan as JSON: zone, owner, policy, summary and the lists, names relative to the zone.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("zone", .string(zone.description)),
            ("owner", .string(owner)),
            ("policy", .string(policy.rawValue)),
        ]
        if let scope { fields.append(("under", .string(zone.relative(scope)))) }
        fields += [
            ("summary", .string(summary)),
            ("creates", .array(creates.map { $0.json(zone: zone) })),
            ("updates", .array(updates.map { update in
                var object = update.to.json(zone: zone).objectValue ?? [:]
                object["from"] = .object(["ttl": .int(Int64(update.from.ttl)), "values": .array(update.from.valueStrings.map { .string($0) })])
                return .object(object)
            })),
            ("deletes", .array(deletes.map { $0.json(zone: zone) })),
            ("skipped", .array(skipped.map { .object(["name": .string(zone.relative($0.name)), "reason": .string($0.reason)]) })),
        ]
        return .object(.init(uniqueKeysWithValues: fields))
    }
}

/// The ownership registry: one TXT record per managed name, at `<prefix>.<name>`, whose value
/// `heritage=furrow,owner=<id>` says which owner manages every rrset at that name. A wildcard
/// name `*.x` is registered at `<prefix>._wildcard.x`, since `*` may only lead a name.
public struct OwnershipRegistry: Sendable {
    public let prefixLabels: [[UInt8]]
    /// The prefix's labels in wire form (no root): a registry name's canonical key starts with it.
    private let prefixWire: [UInt8]
    /// TTL of registry records.
    public var ttl: UInt32 = 300

    public static let defaultPrefix = "_furrow-owner"
    static let wildcardLabel: [UInt8] = Array("_wildcard".utf8)
    /// `_wildcard` as a label in wire form.
    private static let wildcardWire: [UInt8] = [UInt8(wildcardLabel.count)] + wildcardLabel

    public init(prefix: String = OwnershipRegistry.defaultPrefix) throws(DNSZoneError) {
        let labels = prefix.lowercased().split(separator: ".").map { Array($0.utf8) }
        guard !labels.isEmpty, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy(\.isHostCharacter) }) else {
            throw .invalidRecord("registry prefix '\(prefix)' must be one or more labels of letters, digits, '-' and '_'")
        }
        prefixLabels = labels
        prefixWire = labels.flatMap { [UInt8($0.count)] + $0 }
    }

    /// Where the registry record of `name` lives.
    public func registryName(for name: DNSName) throws(DNSZoneError) -> DNSName {
        var base = name
        var labels = prefixLabels
        if let first = name.firstLabel, first.elementsEqual([UInt8(ascii: "*")]) {
            base = name.droppingFirstLabels(1)
            labels.append(Self.wildcardLabel)
        }
        do { return try base.prepending(labels) } catch {
            throw .invalidName(name: name.textWithoutTrailingDot, reason: "its ownership record \(prefix) would be too long: \(error.description)")
        }
    }

    /// True when `name` lies under the registry prefix (a cheap check before `managedName`).
    public func isRegistryName(_ name: DNSName) -> Bool {
        name.labelCount > prefixLabels.count && name.canonicalKey.hasBytePrefix(prefixWire)
    }

    /// The managed name a registry record stands for, or nil when `name` is not a registry name.
    public func managedName(forRegistryName name: DNSName) -> DNSName? {
        guard isRegistryName(name) else { return nil }
        let managed = name.droppingFirstLabels(prefixLabels.count)
        if managed.canonicalKey.hasBytePrefix(Self.wildcardWire) {
            return try? managed.droppingFirstLabels(1).prepending([[UInt8(ascii: "*")]])
        }
        return managed
    }

    /// The owner named by a registry TXT record, or nil when it is not a Furrow registry value.
    public static func owner(in set: DNSRecordSet) -> String? {
        guard set.type == .txt, set.values.count == 1, case .txt(let strings) = set.values[0] else { return nil }
        let bytes = strings.count == 1 ? strings[0] : Array(strings.joined())
        // The value Furrow writes, checked without building strings (this runs once per managed name).
        if bytes.count > ownerValuePrefix.count, bytes.hasBytePrefix(ownerValuePrefix),
           !bytes[ownerValuePrefix.count...].contains(UInt8(ascii: ",")) {
            return String(decoding: bytes[ownerValuePrefix.count...], as: UTF8.self)
        }
        var fields: [Substring: Substring] = [:]
        for part in String(decoding: bytes, as: UTF8.self).split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            fields[pair[0]] = pair[1]
        }
        guard fields["heritage"] == "furrow", let owner = fields["owner"] else { return nil }
        return String(owner)
    }

    private static let ownerValuePrefix = Array("heritage=furrow,owner=".utf8)

    /// The registry record saying `owner` manages `name`.
    public func record(for name: DNSName, owner: String) throws(DNSZoneError) -> DNSRecordSet {
        DNSRecordSet(name: try registryName(for: name), type: .txt, ttl: ttl,
                     values: [.txt([Array("heritage=furrow,owner=\(owner)".utf8)])])
    }

    var prefix: String { prefixLabels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".") }
}

extension Array where Element == UInt8 {
    /// `starts(with:)` as one `memcmp` (the generic one steps through iterators; this runs for
    /// every record of a zone).
    func hasBytePrefix(_ prefix: [UInt8]) -> Bool {
        count >= prefix.count && withUnsafeBytes { mine in
            prefix.withUnsafeBytes { theirs in theirs.count == 0 || memcmp(mine.baseAddress!, theirs.baseAddress!, theirs.count) == 0 }
        }
    }
}

extension UInt8 {
    var lowercasedASCII: UInt8 { (65...90).contains(self) ? self + 32 : self }
}

/// The rrsets of one name and side (wanted or held), in the order added. Nearly every name
/// has one, kept inline: an array for each side of 10,000 names cost 20,000 allocations a plan.
private struct NameRecordSets: Sequence {
    private var first: DNSRecordSet?
    private var rest: [DNSRecordSet] = []

    var isEmpty: Bool { first == nil }
    var count: Int { first == nil ? 0 : 1 + rest.count }

    mutating func append(_ set: DNSRecordSet) {
        if first == nil { first = set } else { rest.append(set) }
    }

    /// Whether every set here is also in `other`: compared where they are held, without the
    /// copies (three reference counts each) that iterating would make.
    func allContained(in other: NameRecordSets) -> Bool {
        guard let first else { return true }
        guard other.holds(first) else { return false }
        return rest.allSatisfy { other.holds($0) }
    }

    private func holds(_ set: DNSRecordSet) -> Bool {
        if let first, first == set { return true }
        return rest.contains(set)
    }

    struct Iterator: IteratorProtocol {
        fileprivate var first: DNSRecordSet?
        fileprivate var rest: IndexingIterator<[DNSRecordSet]>

        mutating func next() -> DNSRecordSet? {
            if let set = first {
                first = nil
                return set
            }
            return rest.next()
        }
    }

    func makeIterator() -> Iterator { Iterator(first: first, rest: rest.makeIterator()) }
}

/// What the plan knows about one name.
private struct NameState {
    let name: DNSName
    var want = NameRecordSets()
    var have = NameRecordSets()
    var registration: (record: DNSRecordSet, owner: String)?

    /// Adds a desired rrset: identical duplicates merge, conflicting ones and a CNAME beside
    /// other types are errors.
    mutating func addDesired(_ set: DNSRecordSet) throws(DNSZoneError) {
        if let existing = want.first(where: { $0.type == set.type }) {
            guard existing == set else {
                throw .conflictingDuplicates(name: set.name.textWithoutTrailingDot, type: set.type.description,
                                             first: "ttl \(existing.ttl) [\(existing.valueStrings.joined(separator: ", "))]",
                                             second: "ttl \(set.ttl) [\(set.valueStrings.joined(separator: ", "))]")
            }
            return
        }
        want.append(set)
        if want.count > 1 && want.contains(where: { $0.type == .cname }) {
            throw .cnameConflict(name: set.name.textWithoutTrailingDot, otherTypes: want.filter { $0.type != .cname }.map(\.type.description))
        }
    }
}

extension NameState {
    /// True when the name is `owner`'s and holds exactly the wanted rrsets: nothing to plan.
    func isSettled(for owner: String) -> Bool {
        guard registration?.owner == owner, !want.isEmpty, want.count == have.count else { return false }
        return want.allContained(in: have)
    }
}

/// Record sets in type order (most names have one, which needs no sorting).
private func byType(_ sets: NameRecordSets) -> [DNSRecordSet] {
    sets.count <= 1 ? Array(sets) : sets.sorted { $0.type < $1.type }
}

/// Plans the changes that make the records `owner` manages in a zone match `desired`.
///
/// - Only names whose registry record names `owner` are ever updated or deleted; a desired name
///   with records but no registry, or with another owner's registry, is skipped and reported.
/// - A free desired name (no records) is created together with its registry record, and a
///   name that is no longer desired loses its records and registry record together.
/// - Identical duplicates in `desired` are merged; conflicting ones are an error, as is a CNAME
///   beside other records, before anything is planned.
/// - SOA records and the apex NS rrset are never touched.
/// - With `maxDeletes`, a plan deleting more rrsets than that is an error.
/// - With `scope`, only `scope` and the names under it are considered: records elsewhere are
///   neither read into the plan nor touched, so syncs of disjoint scopes (one environment's
///   names each) may run at once; a desired name outside the scope is an error.
public func planSync(current: [DNSRecordSet], desired: [DNSRecordSet], zone: DNSZoneName, owner: String,
                     policy: SyncPolicy = .sync, registryPrefix: String = OwnershipRegistry.defaultPrefix,
                     maxDeletes: Int? = nil, scope: DNSName? = nil) throws(DNSZoneError) -> SyncPlan {
    guard !owner.isEmpty, owner.utf8.allSatisfy({ $0.isHostCharacter || $0 == UInt8(ascii: ".") }) else {
        throw .invalidRecord("owner '\(owner)' must be letters, digits, '-', '_' or '.'")
    }
    let registry = try OwnershipRegistry(prefix: registryPrefix)
    let apex = zone.origin
    if let scope, !scope.isSubdomain(of: apex) {
        throw .invalidName(name: scope.textWithoutTrailingDot, reason: "the scope of a sync must lie in zone \(zone)")
    }
    if let scope, registry.isRegistryName(scope) {
        throw .invalidName(name: scope.textWithoutTrailingDot, reason: "names under '\(registry.prefix)' are reserved for ownership records")
    }
    func inScope(_ name: DNSName) -> Bool { scope.map { name.isSubdomain(of: $0) } ?? true }

    // Everything known about each name in one array, found through one table, so each record
    // costs one lookup and the states are read in place (a dictionary's values are copied when
    // iterated). A name has few types, so small arrays beat nested dictionaries.
    var states: [NameState] = []
    var table: [DNSName: Int] = [:]
    let expected = max(desired.count, current.count / 2)
    states.reserveCapacity(expected)
    table.reserveCapacity(expected)
    func state(_ name: DNSName) -> Int {
        if let index = table[name] { return index }
        states.append(NameState(name: name))
        table[name] = states.count - 1
        return states.count - 1
    }
    for set in desired {
        guard set.name.isSubdomain(of: apex) else {
            throw .invalidName(name: set.name.textWithoutTrailingDot, reason: "it is outside zone \(zone)")
        }
        if set.type == .soa || (set.type == .ns && set.name == apex) {
            throw .invalidRecord("\(set.name.textWithoutTrailingDot) \(set.type) belongs to the zone itself and cannot be synced")
        }
        if registry.isRegistryName(set.name) {
            throw .invalidName(name: set.name.textWithoutTrailingDot, reason: "names under '\(registry.prefix)' are reserved for ownership records")
        }
        if let scope, !set.name.isSubdomain(of: scope) {
            throw .invalidName(name: set.name.textWithoutTrailingDot, reason: "it is outside \(zone.relative(scope)), the scope of this sync")
        }
        try states[state(set.name)].addDesired(set)
    }

    // The zone as it is: data rrsets and the registry's owner of each managed name.
    for set in current {
        if registry.isRegistryName(set.name), let managed = registry.managedName(forRegistryName: set.name) {
            guard inScope(managed) else { continue }
            states[state(managed)].registration = (set, OwnershipRegistry.owner(in: set) ?? "an unrecognised registry value")
            continue
        }
        if set.type == .soa || (set.type == .ns && set.name == apex) || !inScope(set.name) { continue }
        states[state(set.name)].have.append(set)
    }

    var plan = SyncPlan(zone: zone, owner: owner, policy: policy, scope: scope)
    var work: [(key: [UInt8], index: Int)] = []
    // Only names with something to do are sorted: in a routine sync most names already hold
    // what is wanted, and sorting all of them by their keys cost more than the rest of the plan.
    for index in states.indices {
        guard !states[index].want.isEmpty || states[index].registration?.owner == owner, !states[index].isSettled(for: owner) else { continue }
        work.append((states[index].name.canonicalOrderKey, index))
    }
    work.sort { $0.key.lexicographicallyPrecedes($1.key) }
    for (_, index) in work {
        let state = states[index]
        let name = state.name
        let want = byType(state.want)
        let have = byType(state.have)
        let registration = state.registration
        var group: [DNSRecordChange] = []
        switch registration?.owner {
        case .some(let other) where other != owner:
            plan.skipped.append(SkippedName(name: name, reason: "owned by \(other)"))
            continue
        case .none:
            if !have.isEmpty {
                plan.skipped.append(SkippedName(name: name, reason: "has records not managed by Furrow (\(have.map(\.type.description).joined(separator: ", ")))"))
                continue
            }
            for target in want {
                plan.creates.append(target)
                group.append(.create(target))
            }
            group.append(.create(try registry.record(for: name, owner: owner)))
        default:
            var kept = have.map(\.type)
            for target in want {
                if let existing = have.first(where: { $0.type == target.type }) {
                    if existing != target && policy != .createOnly {
                        plan.updates.append((existing, target))
                        group.append(.update(from: existing, to: target))
                    }
                } else {
                    plan.creates.append(target)
                    group.append(.create(target))
                    kept.append(target.type)
                }
            }
            if policy == .sync {
                for existing in have where !want.contains(where: { $0.type == existing.type }) {
                    plan.deletes.append(existing)
                    group.append(.delete(existing))
                    kept.removeAll { $0 == existing.type }
                }
                if want.isEmpty, let registration { group.append(.delete(registration.record)) }
            }
            if kept.contains(.cname) && kept.count > 1 {
                throw .cnameConflict(name: name.textWithoutTrailingDot, otherTypes: kept.filter { $0 != .cname }.sorted().map(\.description))
            }
        }
        plan.changeSet.append(group: group)
    }
    if let maxDeletes, plan.deletes.count > maxDeletes {
        throw .tooManyDeletes(zone: zone.description, planned: plan.deletes.count, limit: maxDeletes)
    }
    return plan
}
