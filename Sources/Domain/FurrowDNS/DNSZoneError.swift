import FurrowDNSWire

/// Why a zone operation was refused or failed. Nothing in here carries key material.
public enum DNSZoneError: Error, Sendable, CustomStringConvertible {
    case invalidName(name: String, reason: String)
    case invalidValue(name: String, type: String, value: String, reason: String)
    case invalidRecord(String)
    /// A CNAME would share its name with other records (RFC 1034 §3.6.2).
    case cnameConflict(name: String, otherTypes: [String])
    /// The desired set names the same rrset twice with different contents.
    case conflictingDuplicates(name: String, type: String, first: String, second: String)
    /// A sync would delete more rrsets than allowed; nothing was sent.
    case tooManyDeletes(zone: String, planned: Int, limit: Int)
    /// An update's prerequisites failed: the zone changed since it was read.
    case concurrentChange(zone: String, server: String, detail: String)
    case transport(DNSWireError)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason): return "invalid record name '\(name)': \(reason)"
        case .invalidValue(let name, let type, let value, let reason): return "invalid \(type) value '\(value)' for \(name): \(reason)"
        case .invalidRecord(let reason): return "invalid record: \(reason)"
        case .cnameConflict(let name, let others):
            return "\(name) cannot have a CNAME beside other records (\(others.joined(separator: ", ")))"
        case .conflictingDuplicates(let name, let type, let first, let second):
            return "desired records name \(name) \(type) twice with different contents: \(first) vs \(second)"
        case .tooManyDeletes(let zone, let planned, let limit):
            return "sync of zone \(zone) would delete \(planned) record sets, more than max_deletes \(limit); nothing was changed"
        case .concurrentChange(let zone, let server, let detail):
            return "zone \(zone) at \(server) changed since it was read (\(detail)); read it again and retry"
        case .transport(let error): return error.description
        }
    }
}
