#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A domain name as a sequence of labels, always fully qualified (the root is implied).
///
/// Labels keep their bytes as given; comparison and hashing ignore ASCII case, as DNS does.
/// Text form uses RFC 1035 presentation rules: `.` separates labels, `\.` and `\DDD` escape.
public struct DNSName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The labels from leftmost to the one below the root.
    public let labels: [[UInt8]]
    /// The lowercased wire form, computed once: equality and hashing use it, which keeps
    /// large zone diffs fast.
    @usableFromInline let canonicalKey: [UInt8]

    /// The longest label RFC 1035 allows.
    public static let maxLabelLength = 63
    /// The longest name in wire form (length octets included, root included).
    public static let maxWireLength = 255

    public static let root = DNSName(uncheckedLabels: [])

    init(uncheckedLabels: [[UInt8]]) {
        self.labels = uncheckedLabels
        self.canonicalKey = Self.canonicalKey(uncheckedLabels)
    }

    private static func canonicalKey(_ labels: [[UInt8]]) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(labels.reduce(1) { $0 + 1 + $1.count })
        for label in labels {
            key.append(UInt8(label.count))
            for byte in label { key.append(byte.asciiLowercased) }
        }
        key.append(0)
        return key
    }

    /// A name from labels, checked against the label and name length limits.
    public init(labels: [[UInt8]]) throws(DNSWireError) {
        for label in labels {
            if label.isEmpty { throw .invalidName("empty label in a name") }
            if label.count > Self.maxLabelLength {
                throw .invalidName("label '\(String(decoding: label, as: UTF8.self))' is \(label.count) octets long; the limit is 63")
            }
        }
        let wireLength = labels.reduce(1) { $0 + 1 + $1.count }
        if wireLength > Self.maxWireLength {
            throw .invalidName("name is \(wireLength) octets in wire form; the limit is 255")
        }
        self.labels = labels
        self.canonicalKey = Self.canonicalKey(labels)
    }

    /// Parses presentation form. A trailing dot is optional: every name is taken as absolute.
    public init(_ text: String) throws(DNSWireError) {
        if text == "." || text.isEmpty { self = .root; return }
        var contiguous = text
        let labels = contiguous.withUTF8 { (bytes: UnsafeBufferPointer<UInt8>) -> Result<[[UInt8]], DNSWireError> in
            Result { () throws(DNSWireError) -> [[UInt8]] in try DNSName.labels(of: bytes, text: text) }
        }
        try self.init(labels: labels.get())
    }

    /// The labels of a name in presentation form. A label without escapes is copied out of
    /// the text in one piece; one with escapes is built byte by byte from its first escape on.
    private static func labels(of bytes: UnsafeBufferPointer<UInt8>, text: String) throws(DNSWireError) -> [[UInt8]] {
        var labels: [[UInt8]] = []
        labels.reserveCapacity(bytes.reduce(1) { $1 == UInt8(ascii: ".") ? $0 + 1 : $0 })
        var labelStart = 0
        var escaped: [UInt8]?
        var index = 0
        var lastWasDot = false
        func label() -> [UInt8] { escaped ?? Array(bytes[labelStart..<index]) }
        while index < bytes.count {
            let byte = bytes[index]
            lastWasDot = false
            if byte == UInt8(ascii: ".") {
                let current = label()
                if current.isEmpty { throw .invalidName("empty label in '\(text)'") }
                labels.append(current)
                escaped = nil
                lastWasDot = true
                index += 1
                labelStart = index
            } else if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { throw .invalidName("dangling escape in '\(text)'") }
                var current = escaped ?? Array(bytes[labelStart..<index])
                escaped = nil  // `current` is the only holder while it grows
                if index + 3 < bytes.count, bytes[index + 1].isDigit, bytes[index + 2].isDigit, bytes[index + 3].isDigit {
                    let value = Int(bytes[index + 1] - 48) * 100 + Int(bytes[index + 2] - 48) * 10 + Int(bytes[index + 3] - 48)
                    guard value <= 255 else { throw .invalidName("escape \\\(value) out of range in '\(text)'") }
                    current.append(UInt8(value))
                    index += 4
                } else {
                    current.append(bytes[index + 1])
                    index += 2
                }
                escaped = current
            } else {
                escaped?.append(byte)
                index += 1
            }
        }
        let last = label()
        if !last.isEmpty { labels.append(last) } else if !lastWasDot { throw .invalidName("empty name") }
        return labels
    }

    /// The name in wire form without compression.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// Presentation form with a trailing dot, escaping bytes that are not plain.
    public var description: String {
        if labels.isEmpty { return "." }
        // Built as bytes (all ASCII), then one string: appending Characters one by one costs
        // hundreds of instructions a byte.
        var out: [UInt8] = []
        out.reserveCapacity(wireLength)
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"),
                     UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case 0x21...0x7E:
                    out.append(byte)
                default:
                    out.append(UInt8(ascii: "\\"))
                    out.append(contentsOf: String(format3: byte).utf8)
                }
            }
            out.append(UInt8(ascii: "."))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Presentation form without the trailing dot (the root stays ".").
    public var textWithoutTrailingDot: String {
        let text = description
        return text == "." ? text : String(text.dropLast())
    }

    /// The same name with every ASCII letter lowercased (the canonical form used by TSIG).
    public var lowercased: DNSName {
        // Most names are lowercase already (zone names, names read back from a zone): keep them.
        guard labels.contains(where: { $0.contains { (65...90).contains($0) } }) else { return self }
        return DNSName(uncheckedLabels: labels.map { $0.map { $0.asciiLowercased } })
    }

    /// True when `self` equals `ancestor` or lies below it: the canonical key ends in the
    /// ancestor's, starting at a label boundary.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        let extra = labels.count - ancestor.labels.count
        guard extra >= 0 else { return false }
        let offset = labels.prefix(extra).reduce(0) { $0 + 1 + $1.count }
        guard canonicalKey.count - offset == ancestor.canonicalKey.count else { return false }
        return canonicalKey[offset...].elementsEqual(ancestor.canonicalKey)
    }

    @inlinable
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.canonicalKey.count == rhs.canonicalKey.count && lhs.canonicalKey.withUnsafeBytes { left in
            rhs.canonicalKey.withUnsafeBytes { right in memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0 }
        }
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        canonicalKey.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// A key whose byte order is the canonical DNS order of names (labels from the right,
    /// lowercased), for sorting many names without comparing label by label.
    public var canonicalOrderKey: [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(canonicalKey.count)
        for label in labels.reversed() {
            for byte in label { key.append(byte.asciiLowercased) }
            key.append(0)
        }
        return key
    }

    /// Canonical DNS order (RFC 4034 §6.1): compare labels from the right, case-insensitively.
    public static func < (lhs: DNSName, rhs: DNSName) -> Bool {
        var left = lhs.labels.reversed().makeIterator()
        var right = rhs.labels.reversed().makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let a?, let b?):
                for (x, y) in zip(a, b) where x.asciiLowercased != y.asciiLowercased {
                    return x.asciiLowercased < y.asciiLowercased
                }
                if a.count != b.count { return a.count < b.count }
            }
        }
    }
}

extension UInt8 {
    var asciiLowercased: UInt8 { (65...90).contains(self) ? self + 32 : self }
    var isDigit: Bool { (48...57).contains(self) }
}

extension String {
    /// Three decimal digits, zero-padded, as the `\DDD` escape wants.
    init(format3 value: UInt8) {
        let digits = String(value)
        self = String(repeating: "0", count: 3 - digits.count) + digits
    }
}
