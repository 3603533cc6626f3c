import FurrowDNSWire
import FurrowJSON

/// A zone as Furrow scripts see it (`dns.zone(name, provider:)`): reads, single-rrset writes
/// and owned syncs over any `ZoneProvider`. Names are written relative to the zone or absolute.
public struct DNSZone: Sendable {
    public let provider: any ZoneProvider
    public var zone: DNSZoneName { provider.zone }

    public init(provider: any ZoneProvider) { self.provider = provider }

    /// Every rrset, or those of one type.
    public func records(type: String? = nil) throws -> [DNSRecordSet] {
        try provider.records(type: try type.map(Self.recordType))
    }

    /// The rrset at `name` of `type`, or nil.
    public func get(_ name: String, _ type: String) throws -> DNSRecordSet? {
        let key = DNSRecordKey(name: try zone.absolute(name), type: try Self.recordType(type))
        return try provider.records(type: key.type).first { $0.key == key }
    }

    /// Makes `name`/`type` hold exactly `values`. Returns the change made, or nil when the rrset
    /// already matched. A CNAME beside other records is refused. Ownership is not checked:
    /// this is the explicit, single-record tool.
    @discardableResult
    public func upsert(_ name: String, _ type: String, _ values: [String], ttl: Int? = nil) throws -> DNSRecordChange? {
        let target = try DNSRecordSet(name: name, type: type, ttl: ttl, values: values, zone: zone)
        let atName = try provider.records(type: nil).filter { $0.name == target.name }
        let others = atName.filter { $0.type != target.type }.map(\.type)
        if (target.type == .cname && !others.isEmpty) || (target.type != .cname && others.contains(.cname)) {
            throw DNSZoneError.cnameConflict(name: target.name.textWithoutTrailingDot,
                                             otherTypes: (others + [target.type]).filter { $0 != .cname }.map(\.description))
        }
        let change: DNSRecordChange
        if let existing = atName.first(where: { $0.type == target.type }) {
            if existing == target { return nil }
            change = .update(from: existing, to: target)
        } else {
            change = .create(target)
        }
        try provider.apply(ZoneChangeSet(groups: [[change]]))
        return change
    }

    /// Deletes the rrset at `name` of `type`. Returns what was deleted, or nil if there was none.
    @discardableResult
    public func delete(_ name: String, _ type: String) throws -> DNSRecordSet? {
        guard let existing = try get(name, type) else { return nil }
        try provider.apply(ZoneChangeSet(groups: [[.delete(existing)]]))
        return existing
    }

    /// Plans a sync of the records `owner` manages against `desired` (see `planSync`) without
    /// changing anything; with `under`, only that name and the names below it.
    public func plan(_ desired: [DNSRecordSet], owner: String, policy: SyncPolicy = .sync,
                     maxDeletes: Int? = nil, registryPrefix: String = OwnershipRegistry.defaultPrefix,
                     under scope: String? = nil) throws -> SyncPlan {
        try planSync(current: try provider.records(type: nil), desired: desired, zone: zone, owner: owner,
                     policy: policy, registryPrefix: registryPrefix, maxDeletes: maxDeletes,
                     scope: try scope.map { text throws(DNSZoneError) in try zone.absolute(text) })
    }

    /// Plans and applies a sync; returns the plan that was applied. A refused plan (max deletes,
    /// conflicting duplicates) sends nothing.
    @discardableResult
    public func sync(_ desired: [DNSRecordSet], owner: String, policy: SyncPolicy = .sync,
                     maxDeletes: Int? = nil, registryPrefix: String = OwnershipRegistry.defaultPrefix,
                     under scope: String? = nil) throws -> SyncPlan {
        let plan = try plan(desired, owner: owner, policy: policy, maxDeletes: maxDeletes, registryPrefix: registryPrefix, under: scope)
        if !plan.isEmpty { try provider.apply(plan.changeSet) }
        return plan
    }

    /// Desired rrsets from a JSON list of `{name, type, ttl?, values | value}` objects, names
    /// relative to this zone or absolute. Errors say which entry was wrong.
    public func recordSets(fromJSON json: JSONValue) throws(DNSZoneError) -> [DNSRecordSet] {
        guard let entries = json.arrayValue else { throw .invalidRecord("desired records must be a list of objects") }
        var result: [DNSRecordSet] = []
        result.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            do { result.append(try DNSRecordSet(json: entry, zone: zone)) } catch {
                throw .invalidRecord("entry \(index): \(error.description)")
            }
        }
        return result
    }

    static func recordType(_ text: String) throws(DNSZoneError) -> DNSRecordType {
        do { return try DNSRecordType(text) } catch { throw .invalidRecord(error.description) }
    }
}
