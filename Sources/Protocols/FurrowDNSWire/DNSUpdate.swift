/// An RFC 2136 dynamic update: a zone, prerequisites that must hold for the server to apply
/// anything, and the changes, applied atomically by the server.
public struct DNSUpdate: Sendable {
    public let zone: DNSName
    public private(set) var prerequisites: [DNSResourceRecord] = []
    public private(set) var updates: [DNSResourceRecord] = []

    public init(zone: DNSName) { self.zone = zone }

    // MARK: Prerequisites (RFC 2136 §2.4)

    /// The name owns at least one record.
    public mutating func requireNameInUse(_ name: DNSName) {
        prerequisites.append(DNSResourceRecord(name: name, type: .any, recordClass: .any, ttl: 0, data: .unknown([])))
    }

    /// The name owns no records.
    public mutating func requireNameNotInUse(_ name: DNSName) {
        prerequisites.append(DNSResourceRecord(name: name, type: .any, recordClass: .none, ttl: 0, data: .unknown([])))
    }

    /// An rrset of this name and type exists, whatever its values.
    public mutating func requireRRSetExists(_ name: DNSName, _ type: DNSRecordType) {
        prerequisites.append(DNSResourceRecord(name: name, type: type, recordClass: .any, ttl: 0, data: .unknown([])))
    }

    /// The rrset of this name and type exists with exactly these values (and no others).
    public mutating func requireRRSetExists(_ name: DNSName, _ type: DNSRecordType, values: [DNSRData]) {
        for value in values {
            prerequisites.append(DNSResourceRecord(name: name, type: type, recordClass: .internet, ttl: 0, data: value))
        }
    }

    /// No rrset of this name and type exists.
    public mutating func requireRRSetDoesNotExist(_ name: DNSName, _ type: DNSRecordType) {
        prerequisites.append(DNSResourceRecord(name: name, type: type, recordClass: .none, ttl: 0, data: .unknown([])))
    }

    // MARK: Updates (RFC 2136 §2.5)

    /// Adds records to an rrset (creating it if needed). Servers set the whole rrset's TTL to `ttl`.
    public mutating func add(_ name: DNSName, _ type: DNSRecordType, ttl: UInt32, values: [DNSRData]) {
        for value in values {
            updates.append(DNSResourceRecord(name: name, type: type, recordClass: .internet, ttl: ttl, data: value))
        }
    }

    /// Deletes a whole rrset.
    public mutating func deleteRRSet(_ name: DNSName, _ type: DNSRecordType) {
        updates.append(DNSResourceRecord(name: name, type: type, recordClass: .any, ttl: 0, data: .unknown([])))
    }

    /// Deletes the given records from an rrset, leaving its other records.
    public mutating func delete(_ name: DNSName, _ type: DNSRecordType, values: [DNSRData]) {
        for value in values {
            updates.append(DNSResourceRecord(name: name, type: type, recordClass: .none, ttl: 0, data: value))
        }
    }

    /// Deletes every rrset at a name (servers keep the apex SOA and NS).
    public mutating func deleteAllRRSets(_ name: DNSName) {
        updates.append(DNSResourceRecord(name: name, type: .any, recordClass: .any, ttl: 0, data: .unknown([])))
    }

    /// The UPDATE message to send.
    public var message: DNSMessage {
        var message = DNSMessage(opcode: .update)
        message.questions = [DNSQuestion(name: zone, type: .soa)]
        message.answers = prerequisites
        message.authorities = updates
        return message
    }

    /// Octets of the encoded message, for splitting large change sets.
    public var encodedSize: Int {
        12 + zone.wireLength + 4 + (prerequisites + updates).reduce(0) { $0 + $1.name.wireLength + 10 + $1.data.wireBytes.count }
    }
}
