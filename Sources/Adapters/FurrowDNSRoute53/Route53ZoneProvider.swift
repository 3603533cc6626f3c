import Foundation
import FurrowAWS
import FurrowDNS
import FurrowDNSWire

/// A zone in Route53, through `Route53Client`. Reads every page of `ListResourceRecordSets`;
/// writes `ChangeResourceRecordSets` batches that stay within Route53's limits and never split
/// a change group. An update is sent as DELETE of the rrset as read plus CREATE of the new one,
/// and a delete as DELETE of the record exactly as Route53 last returned it, so a batch whose
/// rrset changed meanwhile is refused by Route53 (a conflict: reported, never retried). The
/// client retries `Throttling` and `PriorRequestNotComplete` with backoff.
///
/// Alias records, routing-policy records (weighted, latency, ...) and rrsets whose values do
/// not parse as their type are not plain rrsets to Furrow: they are left out of `records` and
/// never changed (a create at such a name is refused by Route53, so nothing is overwritten).
public final class Route53ZoneProvider: ZoneProvider, @unchecked Sendable {
    public let zone: DNSZoneName
    public let client: Route53Client
    /// Wait until each batch is INSYNC before sending the next (and before returning).
    public let waitForSync: Bool
    /// Values per batch; an UPSERT counts its values twice (Route53's rule).
    public var maxValuesPerBatch = 1000
    /// Characters of values per batch; an UPSERT counts twice.
    public var maxCharactersPerBatch = 32_000

    private let lock = NSLock()
    private var hostedZoneId: String?
    /// The records as Route53 last returned them, so a DELETE sends them byte for byte.
    private var lastRead: [DNSRecordKey: Route53RecordSet] = [:]

    public init(zone: DNSZoneName, client: Route53Client, waitForSync: Bool = false) {
        self.zone = zone
        self.client = client
        self.waitForSync = waitForSync
    }

    public var location: String {
        "route53 \(client.http.configuration.endpoint?.absoluteString ?? client.http.configuration.region)"
    }

    /// The hosted zone's id, looked up by name once.
    public func zoneId() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let hostedZoneId { return hostedZoneId }
        guard let found = try client.hostedZone(named: zone.description) else {
            throw Route53ZoneError("no Route53 hosted zone named \(zone)")
        }
        hostedZoneId = found.id
        return found.id
    }

    public func records(type: DNSRecordType?) throws -> [DNSRecordSet] {
        let listed = try client.listResourceRecordSets(zoneId: try zoneId())
        var result: [DNSRecordSet] = []
        var read: [DNSRecordKey: Route53RecordSet] = [:]
        for record in listed where record.alias == nil && record.setIdentifier == nil {
            guard let set = try? Self.recordSet(record) else { continue }
            read[set.key] = record
            if type == nil || set.type == type { result.append(set) }
        }
        lock.lock()
        if type == nil { lastRead = read } else { lastRead.merge(read) { _, new in new } }
        lock.unlock()
        return result
    }

    public func apply(_ changes: ZoneChangeSet) throws {
        let id = try zoneId()
        for batch in try batches(for: changes) {
            let changeId: String
            do {
                changeId = try client.changeResourceRecordSets(zoneId: id, changes: batch, comment: "furrow")
            } catch let error as AWSError where error.code == "InvalidChangeBatch" || error.code == "InvalidInput" {
                throw Self.isConflict(error.message)
                    ? DNSZoneError.concurrentChange(zone: zone.description, server: location, detail: error.message)
                    : Route53ZoneError("Route53 refused the change: \(error.message)")
            }
            if waitForSync { try client.waitForChange(id: changeId) }
        }
    }

    /// Whole groups packed into batches within the value and character limits.
    public func batches(for changes: ZoneChangeSet) throws -> [[Route53Change]] {
        var result: [[Route53Change]] = []
        var current: [Route53Change] = []
        var values = 0, characters = 0
        for group in changes.groups {
            let piece = group.flatMap(route53Changes)
            let (pieceValues, pieceCharacters) = Self.weight(piece)
            if pieceValues > maxValuesPerBatch || pieceCharacters > maxCharactersPerBatch {
                throw Route53ZoneError("the changes to \(group.first.map { $0.key.name.textWithoutTrailingDot } ?? "?") exceed one Route53 batch (\(pieceValues) values, \(pieceCharacters) characters)")
            }
            if !current.isEmpty && (values + pieceValues > maxValuesPerBatch || characters + pieceCharacters > maxCharactersPerBatch) {
                result.append(current)
                current = []
                values = 0
                characters = 0
            }
            current += piece
            values += pieceValues
            characters += pieceCharacters
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// Values and characters a batch counts against Route53's limits.
    static func weight(_ changes: [Route53Change]) -> (values: Int, characters: Int) {
        var values = 0, characters = 0
        for change in changes {
            let factor = change.action == .upsert ? 2 : 1
            values += factor * change.recordSet.values.count
            characters += factor * change.recordSet.values.reduce(0) { $0 + $1.utf8.count }
        }
        return (values, characters)
    }

    private func route53Changes(_ change: DNSRecordChange) -> [Route53Change] {
        switch change {
        case .create(let set): [Route53Change(.create, Self.route53Record(set))]
        case .update(let from, let to): [Route53Change(.delete, asRead(from)), Route53Change(.create, Self.route53Record(to))]
        case .delete(let set): [Route53Change(.delete, asRead(set))]
        }
    }

    /// The record as Route53 returned it when it still matches `set`, else `set` itself.
    private func asRead(_ set: DNSRecordSet) -> Route53RecordSet {
        lock.lock()
        defer { lock.unlock() }
        if let raw = lastRead[set.key], let parsed = try? Self.recordSet(raw), parsed == set { return raw }
        return Self.route53Record(set)
    }

    static func route53Record(_ set: DNSRecordSet) -> Route53RecordSet {
        Route53RecordSet(name: set.name.description, type: set.type.description, ttl: Int(set.ttl), values: set.valueStrings)
    }

    static func recordSet(_ record: Route53RecordSet) throws -> DNSRecordSet {
        let type = try DNSRecordType(record.type)
        let values = try record.values.map { try DNSRData(type: type, text: $0) }
        return DNSRecordSet(name: try DNSName(record.name), type: type, ttl: UInt32(clamping: record.ttl ?? 0), values: values)
    }

    /// Route53's words for a batch refused because the zone is not as the batch assumed: a
    /// CREATE of an rrset that exists, a DELETE of one that is gone or holds other values. (The
    /// local AWS-compatible server refuses such a DELETE as InvalidInput "... found none in
    /// Change with [Action=DELETE ...".)
    static func isConflict(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("already exists") || lowered.contains("not found") || lowered.contains("do not match")
            || lowered.contains("does not match") || lowered.contains("conflicts with") || lowered.contains("action=delete")
    }
}

/// A Route53 zone failure that is not about one record's contents (the caller adds the zone).
struct Route53ZoneError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
