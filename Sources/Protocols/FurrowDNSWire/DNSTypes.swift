/// A resource record type (RFC 1035 §3.2.2 and later registrations), open to unknown values.
public struct DNSRecordType: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    public static let opt = DNSRecordType(rawValue: 41)
    public static let tsig = DNSRecordType(rawValue: 250)
    public static let ixfr = DNSRecordType(rawValue: 251)
    public static let axfr = DNSRecordType(rawValue: 252)
    public static let any = DNSRecordType(rawValue: 255)

    private static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
        41: "OPT", 250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "ANY",
    ]
    private static let byName: [String: UInt16] = Dictionary(uniqueKeysWithValues: names.map { ($1, $0) })

    /// Parses a mnemonic such as `A` or `txt`, or the generic `TYPE65534` form (RFC 3597).
    public init(_ text: String) throws(DNSWireError) {
        // The common types as written most often, compared without hashing or an uppercase copy
        // (a zone read parses one type per rrset).
        switch text {
        case "A": self = .a; return
        case "TXT": self = .txt; return
        case "AAAA": self = .aaaa; return
        case "CNAME": self = .cname; return
        default: break
        }
        let upper = text.uppercased()
        if let value = Self.byName[upper] { self.init(rawValue: value); return }
        if upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) { self.init(rawValue: value); return }
        throw .invalidRecordType(text)
    }

    /// A type from its mnemonic's UTF-8 bytes (a zone read parses one type per row): the common
    /// types compared as bytes, the rest as `init(_:)` reads them.
    public init(presentation bytes: UnsafeBufferPointer<UInt8>) throws(DNSWireError) {
        switch bytes.count {
        case 1 where bytes[0] == UInt8(ascii: "A"): self = .a; return
        case 3 where bytes[0] == UInt8(ascii: "T") && bytes[1] == UInt8(ascii: "X") && bytes[2] == UInt8(ascii: "T"):
            self = .txt; return
        default: try self.init(String(decoding: bytes, as: UTF8.self))
        }
    }

    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A record class. Furrow works in IN; ANY and NONE carry RFC 2136 meanings in updates.
public struct DNSClass: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let internet = DNSClass(rawValue: 1)
    public static let none = DNSClass(rawValue: 254)
    public static let any = DNSClass(rawValue: 255)
    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

/// The response code of a DNS message (RFC 1035, RFC 2136 additions).
public struct DNSResponseCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = Self(rawValue: 0)
    public static let formatError = Self(rawValue: 1)
    public static let serverFailure = Self(rawValue: 2)
    public static let nameError = Self(rawValue: 3)
    public static let notImplemented = Self(rawValue: 4)
    public static let refused = Self(rawValue: 5)
    public static let yxDomain = Self(rawValue: 6)
    public static let yxRRSet = Self(rawValue: 7)
    public static let nxRRSet = Self(rawValue: 8)
    public static let notAuth = Self(rawValue: 9)
    public static let notZone = Self(rawValue: 10)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        default: "RCODE\(rawValue)"
        }
    }

    /// What the code means, in words a person running a job can act on.
    public var meaning: String {
        switch rawValue {
        case 0: "no error"
        case 1: "the server could not interpret the message"
        case 2: "the server failed to process the request"
        case 3: "the name does not exist"
        case 4: "the server does not implement this kind of request"
        case 5: "the server refused the request (check its ACL and the TSIG key)"
        case 6: "a name that should not exist exists (update prerequisite failed)"
        case 7: "an rrset that should not exist exists (update prerequisite failed)"
        case 8: "an rrset that should exist does not, or has other values (update prerequisite failed)"
        case 9: "the server is not authoritative for the zone, or the request's signature was not accepted"
        case 10: "a name in the update is outside the zone"
        default: "unknown response code \(rawValue)"
        }
    }
}

/// The message kind in the header (RFC 1035 QUERY, RFC 2136 UPDATE).
public struct DNSOpcode: Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let query = DNSOpcode(rawValue: 0)
    public static let update = DNSOpcode(rawValue: 5)
}
