import FurrowDNSWire
import FurrowJSON

/// One change to one rrset. Updates and deletes carry the rrset as it was read, so a provider
/// can make the write conditional on it (RFC 2136 prerequisites, Route53 DELETE of exact values).
public enum DNSRecordChange: Sendable, Hashable, CustomStringConvertible {
    case create(DNSRecordSet)
    case update(from: DNSRecordSet, to: DNSRecordSet)
    case delete(DNSRecordSet)

    /// The rrset the change is about.
    public var key: DNSRecordKey {
        switch self {
        case .create(let set), .delete(let set): set.key
        case .update(let from, _): from.key
        }
    }

    public var description: String {
        switch self {
        case .create(let set): "create \(set)"
        case .update(let from, let to): "update \(from.name.textWithoutTrailingDot) \(from.type): \(from.valueStrings.joined(separator: ", ")) (ttl \(from.ttl)) -> \(to.valueStrings.joined(separator: ", ")) (ttl \(to.ttl))"
        case .delete(let set): "delete \(set)"
        }
    }
}

/// Changes to a zone, in groups that must land together (a name's records with the ownership
/// record that covers them). Providers may split a change set between requests, but never a group.
public struct ZoneChangeSet: Sendable, Hashable {
    public private(set) var groups: [[DNSRecordChange]] = []

    public init(groups: [[DNSRecordChange]] = []) {
        self.groups = groups.filter { !$0.isEmpty }
    }

    public mutating func append(group: [DNSRecordChange]) {
        if !group.isEmpty { groups.append(group) }
    }

    public var changes: [DNSRecordChange] { groups.flatMap { $0 } }
    public var isEmpty: Bool { groups.isEmpty }
}

/// Where a zone's records live: an RFC 2136 server, Route53, or Furrow's local SQLite zone.
///
/// Both calls are synchronous and throwing. `records` returns every rrset (all pages);
/// `apply` writes a change set, each group atomically, and should refuse a change whose
/// rrset no longer looks as it did when read (throwing `DNSZoneError.concurrentChange`).
public protocol ZoneProvider: Sendable {
    /// The zone this provider serves.
    var zone: DNSZoneName { get }
    /// Where the zone is kept, for messages (`rfc2136 127.0.0.1:5300`, `route53 Z123`, `local`).
    var location: String { get }
    /// Every rrset of the zone, or only those of `type`.
    func records(type: DNSRecordType?) throws -> [DNSRecordSet]
    /// Writes the changes.
    func apply(_ changes: ZoneChangeSet) throws
}
