/// The data of an A record: four octets held inline, so an address costs no allocation
/// (a plan of a 10,000-name zone reads and parses 20,000 of them).
public struct IPv4Address: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The octets in network order, the first in the highest byte.
    public let bits: UInt32

    public init(bits: UInt32) { self.bits = bits }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        bits = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Nil unless `octets` holds exactly four.
    public init?<Octets: Collection<UInt8>>(octets: Octets) {
        guard octets.count == 4 else { return nil }
        var bits: UInt32 = 0
        for octet in octets { bits = bits << 8 | UInt32(octet) }
        self.bits = bits
    }

    /// `[10, 0, 0, 1]`; anything but four octets is a programming error.
    public init(arrayLiteral octets: UInt8...) {
        guard let address = IPv4Address(octets: octets) else { preconditionFailure("an IPv4 address has four octets, not \(octets.count)") }
        self = address
    }

    public var octets: [UInt8] { [UInt8(bits >> 24), UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits)] }

    /// The dotted quad, as `inet_ntop` writes it.
    public var description: String {
        "\(bits >> 24).\((bits >> 16) & 0xFF).\((bits >> 8) & 0xFF).\(bits & 0xFF)"
    }
}
