#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A domain name, always fully qualified (the root is implied).
///
/// The name is kept in wire form, in one buffer: each label as its length octet and its bytes
/// as given, then the root's zero octet. A zone diff makes and compares tens of thousands of
/// names, and one buffer per name (none more when the name is lowercase already) is what keeps
/// that cheap; an array per label cost an allocation each.
///
/// Labels keep their bytes as given; comparison and hashing ignore ASCII case, as DNS does.
/// Text form uses RFC 1035 presentation rules: `.` separates labels, `\.` and `\DDD` escape.
public struct DNSName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The uncompressed wire form, root octet included.
    public let wire: [UInt8]
    /// `wire` with ASCII letters lowercased: equality and hashing use it. The same buffer as
    /// `wire` when the name has no uppercase letter.
    public let canonicalKey: [UInt8]
    /// How many labels there are (the root not counted).
    public let labelCount: Int

    /// The longest label RFC 1035 allows.
    public static let maxLabelLength = 63
    /// The longest name in wire form (length octets included, root included).
    public static let maxWireLength = 255

    public static let root = DNSName(checkedWire: [0], labelCount: 0)

    /// A name from a wire form already known to be well formed (labels of 1...63 octets, at
    /// most 255 octets, ending in the root's zero).
    init(checkedWire wire: [UInt8], labelCount: Int) {
        self.init(uncheckedWire: wire, labelCount: labelCount, hasUppercase: wire.contains(where: { $0 &- 65 < 26 }))
    }

    private init(uncheckedWire wire: [UInt8], labelCount: Int, hasUppercase: Bool) {
        self.wire = wire
        self.labelCount = labelCount
        self.canonicalKey = hasUppercase ? wire.map(\.asciiLowercased) : wire
    }

    /// A name from labels, checked against the label and name length limits.
    public init(labels: [[UInt8]]) throws(DNSWireError) {
        self.init(checkedWire: try Self.wire(of: labels, before: [0]), labelCount: labels.count)
    }

    /// `labels` in wire form followed by `suffix` (a name's wire form), checked: no empty
    /// label, none longer than 63 octets, at most 255 octets in all.
    private static func wire(of labels: [[UInt8]], before suffix: [UInt8]) throws(DNSWireError) -> [UInt8] {
        var wire: [UInt8] = []
        wire.reserveCapacity(labels.reduce(suffix.count) { $0 + 1 + $1.count })
        for label in labels {
            if label.isEmpty { throw .invalidName("empty label in a name") }
            if label.count > maxLabelLength {
                throw .invalidName("label '\(String(decoding: label, as: UTF8.self))' is \(label.count) octets long; the limit is 63")
            }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(contentsOf: suffix)
        if wire.count > maxWireLength {
            throw .invalidName("name is \(wire.count) octets in wire form; the limit is 255")
        }
        return wire
    }

    /// Parses presentation form. A trailing dot is optional: every name is taken as absolute.
    public init(_ text: String) throws(DNSWireError) {
        var contiguous = text
        let parsed = contiguous.withUTF8 { (bytes: UnsafeBufferPointer<UInt8>) -> Result<DNSName, DNSWireError> in
            Result { () throws(DNSWireError) -> DNSName in try DNSName(presentation: bytes) }
        }
        self = try parsed.get()
    }

    /// Parses presentation form given as UTF-8 bytes (a name read from a database column needs
    /// no `String` first).
    public init(presentation bytes: UnsafeBufferPointer<UInt8>) throws(DNSWireError) {
        if bytes.isEmpty || (bytes.count == 1 && bytes[0] == UInt8(ascii: ".")) { self = .root; return }
        self = try DNSName.parse(bytes)
    }

    /// The name a presentation form's bytes spell.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(DNSWireError) -> DNSName {
        // Escapes only shrink the text, so its length plus the first length octet and the
        // root's zero always suffice.
        var filled = Filled()
        let wire = [UInt8](unsafeUninitializedCapacity: bytes.count + 2) { out, initialized in
            filled = fill(out, from: bytes)
            initialized = filled.problem == nil ? filled.length : 0
        }
        var text: String { String(decoding: bytes, as: UTF8.self) }
        switch filled.problem {
        case nil: break
        case .emptyLabel: throw .invalidName("empty label in '\(text)'")
        case .danglingEscape: throw .invalidName("dangling escape in '\(text)'")
        case .escapeOutOfRange(let value): throw .invalidName("escape \\\(value) out of range in '\(text)'")
        case .emptyName: throw .invalidName("empty name")
        }
        if let (start, end) = filled.firstLongLabel {
            throw .invalidName("label '\(String(decoding: wire[start..<end], as: UTF8.self))' is \(end - start) octets long; the limit is 63")
        }
        if wire.count > maxWireLength {
            throw .invalidName("name is \(wire.count) octets in wire form; the limit is 255")
        }
        return DNSName(uncheckedWire: wire, labelCount: filled.labelCount, hasUppercase: filled.hasUppercase)
    }

    /// What `fill` wrote, or why it stopped.
    private struct Filled {
        enum Problem { case emptyLabel, danglingEscape, escapeOutOfRange(Int), emptyName }
        var length = 0
        var labelCount = 0
        var hasUppercase = false
        var problem: Problem? = nil
        /// Length limits are reported once the whole text has parsed, as syntax errors come first.
        var firstLongLabel: (Int, Int)? = nil
    }

    /// Writes the wire form of presentation-form `bytes` into `out`, straight from the text
    /// (a name is parsed for every record a zone read returns); a label's length octet is
    /// filled in once the label ends. All state is local: no captured variables to check.
    private static func fill(_ out: UnsafeMutableBufferPointer<UInt8>, from bytes: UnsafeBufferPointer<UInt8>) -> Filled {
        var result = Filled()
        var lengthAt = 0
        var at = 1
        var upper = false
        var count = 0
        out[0] = 0
        var index = 0
        var lastWasDot = false
        while index < bytes.count {
            var byte = bytes[index]
            lastWasDot = false
            if byte == UInt8(ascii: ".") {
                let length = at - lengthAt - 1
                if length == 0 { result.problem = .emptyLabel; return result }
                if length > maxLabelLength, result.firstLongLabel == nil { result.firstLongLabel = (lengthAt + 1, at) }
                out[lengthAt] = UInt8(truncatingIfNeeded: length)
                count += 1
                lengthAt = at
                out[at] = 0
                at += 1
                lastWasDot = true
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { result.problem = .danglingEscape; return result }
                if index + 3 < bytes.count, bytes[index + 1].isDigit, bytes[index + 2].isDigit, bytes[index + 3].isDigit {
                    let value = Int(bytes[index + 1] - 48) * 100 + Int(bytes[index + 2] - 48) * 10 + Int(bytes[index + 3] - 48)
                    guard value <= 255 else { result.problem = .escapeOutOfRange(value); return result }
                    byte = UInt8(value)
                    index += 4
                } else {
                    byte = bytes[index + 1]
                    index += 2
                }
            } else {
                index += 1
            }
            out[at] = byte
            at += 1
            if byte &- 65 < 26 { upper = true }
        }
        let length = at - lengthAt - 1
        if length > 0 {
            if length > maxLabelLength, result.firstLongLabel == nil { result.firstLongLabel = (lengthAt + 1, at) }
            out[lengthAt] = UInt8(truncatingIfNeeded: length)
            count += 1
            out[at] = 0
            at += 1
        } else if !lastWasDot {
            result.problem = .emptyName
            return result
        }
        // (After a trailing dot, the zero written for the next label's length is the root.)
        result.length = at
        result.labelCount = count
        result.hasUppercase = upper
        return result
    }

    /// A name from its uncompressed wire form, checked: labels of 1...63 octets, the root's zero
    /// at the end and nowhere before, at most 255 octets.
    public init(wire: [UInt8]) throws(DNSWireError) {
        guard wire.count <= Self.maxWireLength else {
            throw .invalidName("name is \(wire.count) octets in wire form; the limit is 255")
        }
        var offset = 0
        var count = 0
        while offset < wire.count, wire[offset] != 0 {
            let length = Int(wire[offset])
            guard length <= Self.maxLabelLength else { throw .invalidName("label of \(length) octets in a name; the limit is 63") }
            offset += 1 + length
            count += 1
        }
        guard offset == wire.count - 1 else { throw .invalidName("malformed wire form of a name") }
        self.init(checkedWire: wire, labelCount: count)
    }

    /// The labels from leftmost to the one below the root, each copied out.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(labelCount)
        forEachLabel { start, end in result.append(Array(wire[start..<end])) }
        return result
    }

    /// Calls `body` with the byte range of each label in `wire`, leftmost first.
    @inline(__always)
    func forEachLabel(_ body: (_ start: Int, _ end: Int) -> Void) {
        var offset = 0
        while wire[offset] != 0 {
            let start = offset + 1
            offset = start + Int(wire[offset])
            body(start, offset)
        }
    }

    /// Where the label after the first `count` labels starts in `wire` (its length octet).
    func offset(afterLabels count: Int) -> Int { Self.offset(afterLabels: count, in: wire) }

    /// Where the label after the first `count` labels starts in a wire form of at least that
    /// many labels (a root octet not needed: a name being built has none yet).
    public static func offset(afterLabels count: Int, in wire: [UInt8]) -> Int {
        var offset = 0
        for _ in 0..<count { offset += 1 + Int(wire[offset]) }
        return offset
    }

    /// The leftmost label's bytes, or nil for the root.
    public var firstLabel: ArraySlice<UInt8>? {
        labelCount == 0 ? nil : wire[1..<(1 + Int(wire[0]))]
    }

    /// The name without its first `count` labels (the root when there are no more).
    public func droppingFirstLabels(_ count: Int) -> DNSName {
        let count = min(count, labelCount)
        return DNSName(checkedWire: Array(wire[offset(afterLabels: count)...]), labelCount: labelCount - count)
    }

    /// The name made of only the first `count` labels, taken as absolute.
    public func keepingFirstLabels(_ count: Int) -> DNSName {
        let count = min(count, labelCount)
        return DNSName(checkedWire: Array(wire[..<offset(afterLabels: count)]) + [0], labelCount: count)
    }

    /// `labels` in front of this name, checked as a whole.
    public func prepending(_ labels: [[UInt8]]) throws(DNSWireError) -> DNSName {
        DNSName(checkedWire: try Self.wire(of: labels, before: wire), labelCount: labels.count + labelCount)
    }

    /// The name in wire form without compression.
    public var wireLength: Int { wire.count }

    /// Presentation form with a trailing dot, escaping bytes that are not plain.
    public var description: String {
        if labelCount == 0 { return "." }
        // Built as bytes (all ASCII), then one string: appending Characters one by one costs
        // hundreds of instructions a byte.
        var out: [UInt8] = []
        out.reserveCapacity(wire.count)
        forEachLabel { start, end in
            for byte in wire[start..<end] {
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
        DNSName(uncheckedWire: canonicalKey, canonicalKey: canonicalKey, labelCount: labelCount)
    }

    /// A name from a wire form its maker has checked as it wrote it: labels of 1 to 63 octets
    /// ending in the root label, at most 255 octets, no uppercase letter (so the wire form is its
    /// own canonical key). For the domain's fast paths, which would otherwise check it twice.
    package init(checkedLowercaseWire wire: [UInt8], labelCount: Int) {
        self.init(uncheckedWire: wire, canonicalKey: wire, labelCount: labelCount)
    }

    private init(uncheckedWire wire: [UInt8], canonicalKey: [UInt8], labelCount: Int) {
        self.wire = wire
        self.canonicalKey = canonicalKey
        self.labelCount = labelCount
    }

    /// True when `self` equals `ancestor` or lies below it: the canonical key ends in the
    /// ancestor's, starting at a label boundary.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        let extra = labelCount - ancestor.labelCount
        guard extra >= 0 else { return false }
        let offset = offset(afterLabels: extra)
        guard canonicalKey.count - offset == ancestor.canonicalKey.count else { return false }
        return canonicalKey.withUnsafeBytes { mine in
            ancestor.canonicalKey.withUnsafeBytes { theirs in memcmp(mine.baseAddress! + offset, theirs.baseAddress!, theirs.count) == 0 }
        }
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
    /// lowercased, each followed by a zero), for sorting many names without comparing label
    /// by label.
    public var canonicalOrderKey: [UInt8] {
        var starts: [(Int, Int)] = []
        starts.reserveCapacity(labelCount)
        forEachLabel { start, end in starts.append((start, end)) }
        var key: [UInt8] = []
        key.reserveCapacity(canonicalKey.count)
        for (start, end) in starts.reversed() {
            key.append(contentsOf: canonicalKey[start..<end])
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
