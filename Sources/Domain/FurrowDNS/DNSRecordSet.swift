import FurrowDNSWire
import FurrowJSON

/// A zone's origin and the rules for turning user-written names into absolute ones.
public struct DNSZoneName: Sendable, Hashable, CustomStringConvertible {
    public let origin: DNSName
    /// The origin's labels are all letters, digits, `-` and `_` (no `*`): names in the zone may
    /// then take the fast path of `absolute`.
    private let originIsHostName: Bool

    public init(_ text: String) throws(DNSZoneError) {
        do { origin = try DNSName(text.lowercased()) } catch { throw .invalidName(name: text, reason: error.description) }
        if origin == .root { throw .invalidName(name: text, reason: "a zone cannot be the root") }
        originIsHostName = Self.isHostName(origin)
    }

    public init(origin: DNSName) {
        self.origin = origin.lowercased
        originIsHostName = Self.isHostName(self.origin)
    }

    /// The zone name without the trailing dot.
    public var description: String { origin.textWithoutTrailingDot }

    /// Resolves a record name: `@` or "" is the apex; a name ending in `.` is absolute; a name
    /// equal to the zone or ending in `.<zone>` is taken as already absolute; anything else is
    /// relative to the zone. The result is lowercased and checked as a host-style owner name:
    /// labels of letters, digits, `-` and `_`, at most 63 octets, a `*` only as the whole leftmost
    /// label, at most 253 characters in all, and inside the zone.
    public func absolute(_ text: String) throws(DNSZoneError) -> DNSName {
        if let name = plainAbsolute(text) { return name }
        let trimmed = text.trimmingCharacters(in: " \t")
        let zoneText = description
        let full: String
        if trimmed.isEmpty || trimmed == "@" {
            full = zoneText
        } else if trimmed.hasSuffix(".") {
            full = String(trimmed.dropLast())
        } else if trimmed.lowercased() == zoneText || trimmed.lowercased().hasSuffix("." + zoneText) {
            full = trimmed
        } else {
            full = trimmed + "." + zoneText
        }
        let lowered = full.lowercased()
        if lowered.utf8.count > 253 { throw .invalidName(name: text, reason: "the full name is \(lowered.utf8.count) characters; the limit is 253") }
        let labels = lowered.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if label.isEmpty { throw .invalidName(name: text, reason: "empty label") }
            if label.utf8.count > 63 { throw .invalidName(name: text, reason: "label '\(label)' is \(label.utf8.count) characters; the limit is 63") }
            if label == "*" {
                if index != 0 { throw .invalidName(name: text, reason: "'*' may only be the leftmost label") }
                continue
            }
            for byte in label.utf8 where !(byte.isHostCharacter) {
                throw .invalidName(name: text, reason: "label '\(label)' has '\(Character(Unicode.Scalar(byte)))'; use letters, digits, '-' and '_'")
            }
        }
        let name: DNSName
        do { name = try DNSName(lowered) } catch { throw .invalidName(name: text, reason: error.description) }
        guard name.isSubdomain(of: origin) else { throw .invalidName(name: text, reason: "it is outside zone \(zoneText)") }
        return name
    }

    /// `absolute(text)` for the common case, worked out on the bytes: an ASCII name whose labels
    /// are all valid. Nil for anything else (non-ASCII text, a bad label, a name outside the zone),
    /// which `absolute` then resolves the general way and explains.
    private func plainAbsolute(_ text: String) -> DNSName? {
        // Every accepted name ends in the origin's labels, so they must be host labels too.
        guard originIsHostName else { return nil }
        var text = text
        return text.withUTF8 { (bytes: UnsafeBufferPointer<UInt8>) -> DNSName? in
            var start = 0, end = bytes.count
            while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
            if end == start || (end == start + 1 && bytes[start] == UInt8(ascii: "@")) { return origin }
            let absolute = bytes[end - 1] == UInt8(ascii: ".")
            if absolute { end -= 1 }
            // The name's wire form, lowercased and checked as it is copied (host characters, `*`
            // only as the whole first label); each length octet is written once its label ends.
            var wire: [UInt8] = []
            wire.reserveCapacity(end - start + 2 + origin.wire.count)
            var lengthAt = 0
            wire.append(0)
            var count = 0
            var starLabel = false
            func endLabel() -> Bool {
                let length = wire.count - lengthAt - 1
                guard length > 0, length <= DNSName.maxLabelLength else { return false }
                wire[lengthAt] = UInt8(length)
                count += 1
                starLabel = false
                return true
            }
            for index in start..<end {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {
                    guard endLabel() else { return nil }
                    lengthAt = wire.count
                    wire.append(0)
                } else if byte == UInt8(ascii: "*") {
                    guard count == 0, wire.count == 1 else { return nil }
                    starLabel = true
                    wire.append(byte)
                } else {
                    guard !starLabel, byte.isHostCharacter else { return nil }
                    wire.append(byte.lowercasedASCII)
                }
            }
            guard endLabel() else { return nil }
            // Relative unless written absolute or already ending in the zone's name; an absolute
            // name elsewhere is outside the zone, which the general path explains.
            let zoneLabels = wire.count - (origin.wire.count - 1)
            let endsInZone = count >= origin.labelCount && zoneLabels >= 0
                && origin.wire.withUnsafeBufferPointer { zone in
                    wire.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[zoneLabels...]).elementsEqual(zone.dropLast()) }
                }
                && DNSName.offset(afterLabels: count - origin.labelCount, in: wire) == zoneLabels
            if endsInZone {
                wire.append(0)
            } else if absolute {
                return nil
            } else {
                wire.append(contentsOf: origin.wire)
                count += origin.labelCount
            }
            guard wire.count <= DNSName.maxWireLength else { return nil }
            return DNSName(checkedLowercaseWire: wire, labelCount: count)
        }
    }

    /// Every label is letters, digits, `-` and `_`.
    private static func isHostName(_ name: DNSName) -> Bool {
        name.wire.withUnsafeBufferPointer { wire in
            var offset = 0
            while wire[offset] != 0 {
                let start = offset + 1
                offset = start + Int(wire[offset])
                for index in start..<offset where !wire[index].isHostCharacter { return false }
            }
            return true
        }
    }

    /// The name relative to the zone (`@` for the apex), as people write it in Furrow.
    public func relative(_ name: DNSName) -> String {
        if name == origin { return "@" }
        guard name.isSubdomain(of: origin) else { return name.description }
        return name.keepingFirstLabels(name.labelCount - origin.labelCount).textWithoutTrailingDot
    }
}

extension UInt8 {
    var isHostCharacter: Bool {
        (self | 0x20) &- 97 < 26 || self &- 48 < 10 || self == 45 || self == 95
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

/// All records of one name and type: the unit every provider reads and writes.
/// Values are kept deduplicated and in a stable order (by case-folded presentation form, since
/// names compare without case), so two sets compare equal exactly when they hold the same records.
public struct DNSRecordSet: Hashable, Sendable, CustomStringConvertible {
    public let name: DNSName
    public let type: DNSRecordType
    public let ttl: UInt32
    public let values: [DNSRData]

    /// The default TTL for records whose TTL is not given.
    public static let defaultTTL: UInt32 = 300

    public init(name: DNSName, type: DNSRecordType, ttl: UInt32, values: [DNSRData]) {
        self.name = name.lowercased
        self.type = type
        self.ttl = ttl
        if values.count <= 1 {
            self.values = values
        } else {
            var seen = Set<DNSRData>()
            self.values = values.filter { seen.insert($0).inserted }
                .map { (folded: $0.presentation.lowercased(), text: $0.presentation, value: $0) }
                .sorted { ($0.folded, $0.text) < ($1.folded, $1.text) }.map(\.value)
        }
    }

    /// A record set from user-written parts, validated: the name resolved against `zone`, each
    /// value parsed for its type (TXT: see `plainText`). An empty value list is refused.
    public init(name: String, type: String, ttl: Int? = nil, values: [String], zone: DNSZoneName) throws(DNSZoneError) {
        let absolute = try zone.absolute(name)
        let recordType: DNSRecordType
        do { recordType = try DNSRecordType(type) } catch { throw .invalidRecord(error.description) }
        switch recordType {
        case .soa, .tsig, .opt, .axfr, .ixfr, .any: throw .invalidRecord("records of type \(recordType) cannot be managed")
        default: break
        }
        let ttlValue = ttl ?? Int(Self.defaultTTL)
        guard (0...2_147_483_647).contains(ttlValue) else { throw .invalidRecord("TTL \(ttlValue) of \(name) is outside 0...2147483647") }
        guard !values.isEmpty else { throw .invalidRecord("\(name) \(recordType) has no values") }
        var parsed: [DNSRData] = []
        parsed.reserveCapacity(values.count)
        for value in values {
            if recordType == .txt && !value.hasPrefix("\"") {
                parsed.append(Self.plainText(value))
                continue
            }
            do { parsed.append(try DNSRData(type: recordType, text: value)) } catch {
                throw .invalidValue(name: absolute.textWithoutTrailingDot, type: recordType.description, value: value, reason: Self.reason(error))
            }
        }
        if recordType == .cname && Set(parsed).count > 1 {
            throw .invalidRecord("\(absolute.textWithoutTrailingDot) has \(parsed.count) CNAME values; a CNAME has exactly one")
        }
        self.init(name: absolute, type: recordType, ttl: UInt32(ttlValue), values: parsed)
    }

    /// A record set from a JSON object `{name, type, ttl?, values: [..]}` (or `value: ".."`),
    /// the shape the interpreter hands over.
    public init(json: JSONValue, zone: DNSZoneName) throws(DNSZoneError) {
        guard let name = json["name"]?.stringValue else { throw .invalidRecord("a record needs a string 'name'") }
        guard let type = json["type"]?.stringValue else { throw .invalidRecord("record \(name) needs a string 'type'") }
        var ttl: Int? = nil
        if let ttlValue = json["ttl"], !ttlValue.isNull {
            guard let value = ttlValue.intValue else { throw .invalidRecord("the ttl of \(name) must be an integer") }
            ttl = Int(value)
        }
        var values: [String] = []
        if let list = json["values"]?.arrayValue {
            for item in list {
                if let text = item.stringValue { values.append(text) } else if let number = item.intValue { values.append(String(number)) } else {
                    throw .invalidRecord("values of \(name) must be strings")
                }
            }
        } else if let single = json["value"]?.stringValue {
            values = [single]
        } else {
            throw .invalidRecord("record \(name) needs 'values' (a list of strings) or 'value'")
        }
        try self.init(name: name, type: type, ttl: ttl, values: values, zone: zone)
    }

    /// A TXT value written without quotes is one text, split into 255-octet character-strings;
    /// a value starting with `"` is taken in presentation form (`"a" "b"` is two strings).
    private static func plainText(_ text: String) -> DNSRData {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return .txt([[]]) }
        return .txt(stride(from: 0, to: bytes.count, by: 255).map { Array(bytes[$0..<min($0 + 255, bytes.count)]) })
    }

    private static func reason(_ error: DNSWireError) -> String {
        if case .invalidRData(_, _, let reason) = error { return reason }
        return error.description
    }

    /// The values in presentation form.
    public var valueStrings: [String] { values.map(\.presentation) }

    public var description: String {
        "\(name.textWithoutTrailingDot) \(ttl) \(type) \(valueStrings.joined(separator: ", "))"
    }

    /// `{name, fqdn, type, ttl, values}` with `name` relative to the zone.
    public func json(zone: DNSZoneName) -> JSONValue {
        .object([
            "name": .string(zone.relative(name)),
            "fqdn": .string(name.textWithoutTrailingDot),
            "type": .string(type.description),
            "ttl": .int(Int64(ttl)),
            "values": .array(valueStrings.map { .string($0) }),
        ])
    }

    /// The identity of the rrset within a zone.
    public var key: DNSRecordKey { DNSRecordKey(name: name, type: type) }
}

/// A name and type: which rrset.
public struct DNSRecordKey: Hashable, Sendable {
    public let name: DNSName
    public let type: DNSRecordType
    public init(name: DNSName, type: DNSRecordType) {
        self.name = name
        self.type = type
    }
}
