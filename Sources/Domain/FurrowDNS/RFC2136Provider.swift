import FurrowDNSWire

/// A zone on a server that speaks RFC 2136 dynamic update (BIND, Knot, PowerDNS): read with a
/// TSIG-signed AXFR, written with TSIG-signed UPDATE messages whose prerequisites make each
/// change conditional on the rrset still being as it was read.
public struct RFC2136Provider: ZoneProvider {
    public let zone: DNSZoneName
    public let client: DNSClient
    /// Records (prerequisites and updates) per UPDATE message before a change set is split.
    public var maxRecordsPerMessage: Int
    /// Octets per UPDATE message before a change set is split (TCP allows 65535).
    public var maxMessageSize: Int

    public init(zone: DNSZoneName, server: DNSServerAddress, key: TSIGKey?, timeout: Double = 5,
                maxRecordsPerMessage: Int = 1000, maxMessageSize: Int = 60_000) {
        self.zone = zone
        self.client = DNSClient(server: server, key: key, timeout: timeout)
        self.maxRecordsPerMessage = maxRecordsPerMessage
        self.maxMessageSize = maxMessageSize
    }

    public var location: String { "rfc2136 \(client.server)" }

    public func records(type: DNSRecordType?) throws -> [DNSRecordSet] {
        let transferred: [DNSResourceRecord]
        do { transferred = try client.zoneTransfer(zone.origin) } catch { throw DNSZoneError.transport(error) }
        var order: [DNSRecordKey] = []
        var grouped: [DNSRecordKey: (ttl: UInt32, values: [DNSRData])] = [:]
        for record in transferred where type == nil || record.type == type {
            let key = DNSRecordKey(name: record.name.lowercased, type: record.type)
            if grouped[key] == nil {
                order.append(key)
                grouped[key] = (record.ttl, [record.data])
            } else {
                grouped[key]!.values.append(record.data)
                grouped[key]!.ttl = min(grouped[key]!.ttl, record.ttl)
            }
        }
        return order.map { key in DNSRecordSet(name: key.name, type: key.type, ttl: grouped[key]!.ttl, values: grouped[key]!.values) }
    }

    public func apply(_ changes: ZoneChangeSet) throws {
        for update in messages(for: changes) {
            do {
                try client.update(update)
            } catch let error {
                if case .responseCode(let code, let server, _) = error, [.yxDomain, .yxRRSet, .nxRRSet, .nameError].contains(code) {
                    throw DNSZoneError.concurrentChange(zone: zone.description, server: server, detail: "\(code): \(code.meaning)")
                }
                throw DNSZoneError.transport(error)
            }
        }
    }

    /// Packs whole groups into as few UPDATE messages as the limits allow.
    public func messages(for changes: ZoneChangeSet) -> [DNSUpdate] {
        var result: [DNSUpdate] = []
        var current = DNSUpdate(zone: zone.origin)
        var currentRecords = 0
        for group in changes.groups {
            var piece = DNSUpdate(zone: zone.origin)
            for change in group { Self.add(change, to: &piece) }
            let pieceRecords = piece.prerequisites.count + piece.updates.count
            let pieceSize = piece.encodedSize
            if currentRecords > 0 && (currentRecords + pieceRecords > maxRecordsPerMessage || current.encodedSize + pieceSize > maxMessageSize) {
                result.append(current)
                current = DNSUpdate(zone: zone.origin)
                currentRecords = 0
            }
            for change in group { Self.add(change, to: &current) }
            currentRecords += pieceRecords
        }
        if currentRecords > 0 { result.append(current) }
        return result
    }

    private static func add(_ change: DNSRecordChange, to update: inout DNSUpdate) {
        switch change {
        case .create(let set):
            update.requireRRSetDoesNotExist(set.name, set.type)
            update.add(set.name, set.type, ttl: set.ttl, values: set.values)
        case .update(let from, let to):
            update.requireRRSetExists(from.name, from.type, values: from.values)
            update.deleteRRSet(from.name, from.type)
            update.add(to.name, to.type, ttl: to.ttl, values: to.values)
        case .delete(let set):
            update.requireRRSetExists(set.name, set.type, values: set.values)
            update.deleteRRSet(set.name, set.type)
        }
    }
}
