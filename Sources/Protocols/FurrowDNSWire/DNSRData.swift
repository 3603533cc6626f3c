#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The data of one resource record, decoded for the types Furrow manages and kept as raw
/// bytes for every other type (RFC 3597), so that nothing read from a zone is lost.
public enum DNSRData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa([UInt8])
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// One or more character-strings, each at most 255 octets.
    case txt([[UInt8]])
    case soa(SOAData)
    /// Data of a type Furrow does not decode, or the empty data of RFC 2136 deletions.
    case unknown([UInt8])

    // MARK: Wire form

    /// Decodes `length` octets at the reader's position as data of `type`.
    static func decode(type: DNSRecordType, from reader: inout WireReader, length: Int) throws(DNSWireError) -> DNSRData {
        let end = reader.offset + length
        try reader.need(length, "\(type) data")
        if length == 0 { return .unknown([]) }
        var sub = WireReader(reader.message, offset: reader.offset, limit: end)
        let data: DNSRData
        switch type {
        case .a:
            guard length == 4 else { throw .malformedMessage("A data of \(length) octets") }
            data = .a(IPv4Address(octets: try sub.bytes(4, "A"))!)
        case .aaaa:
            guard length == 16 else { throw .malformedMessage("AAAA data of \(length) octets") }
            data = .aaaa(try sub.bytes(16, "AAAA"))
        case .cname: data = .cname(try sub.name("CNAME"))
        case .ns: data = .ns(try sub.name("NS"))
        case .ptr: data = .ptr(try sub.name("PTR"))
        case .mx: data = .mx(preference: try sub.u16("MX"), exchange: try sub.name("MX"))
        case .srv:
            data = .srv(priority: try sub.u16("SRV"), weight: try sub.u16("SRV"), port: try sub.u16("SRV"), target: try sub.name("SRV"))
        case .txt:
            var strings: [[UInt8]] = []
            while sub.remaining > 0 {
                let count = Int(try sub.u8("TXT"))
                strings.append(try sub.bytes(count, "TXT"))
            }
            data = .txt(strings)
        case .soa:
            data = .soa(SOAData(
                primary: try sub.name("SOA"), responsible: try sub.name("SOA"), serial: try sub.u32("SOA"),
                refresh: try sub.u32("SOA"), retry: try sub.u32("SOA"), expire: try sub.u32("SOA"), minimum: try sub.u32("SOA")))
        default:
            data = .unknown(try sub.bytes(length, "\(type) data"))
        }
        guard sub.offset == end else { throw .malformedMessage("\(type) data has \(end - sub.offset) trailing octets") }
        reader.offset = end
        return data
    }

    /// The data in wire form (names uncompressed, as RFC 3597 requires for newer types anyway).
    public var wireBytes: [UInt8] {
        var writer = WireWriter()
        switch self {
        case .a(let address): writer.u32(address.bits)
        case .aaaa(let bytes), .unknown(let bytes): writer.append(bytes)
        case .cname(let name), .ns(let name), .ptr(let name): writer.name(name)
        case .mx(let preference, let exchange): writer.u16(preference); writer.name(exchange)
        case .srv(let priority, let weight, let port, let target):
            writer.u16(priority); writer.u16(weight); writer.u16(port); writer.name(target)
        case .txt(let strings):
            for string in strings { writer.u8(UInt8(string.count)); writer.append(string) }
        case .soa(let soa):
            writer.name(soa.primary); writer.name(soa.responsible)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writer.u32(value) }
        }
        return writer.bytes
    }

    // MARK: Presentation form

    /// Parses the presentation form of data of `type` (as in a zone file; names are absolute
    /// whether or not they end in a dot).
    public init(type: DNSRecordType, text: String) throws(DNSWireError) {
        if let plain = DNSRData(plainPresentation: text, type: type) {
            self = plain
            return
        }
        func fail(_ reason: String) -> DNSWireError { .invalidRData(type: type.description, text: text, reason: reason) }
        let tokens: [[UInt8]]
        let escapedTokens: [[UInt8]]
        do {
            tokens = try PresentationTokenizer.tokens(text)
            escapedTokens = try PresentationTokenizer.tokens(text, keepingEscapes: true)
        } catch { throw fail(error.reason) }
        let words = tokens.map { String(decoding: $0, as: UTF8.self) }
        // Names read their own escapes (`\.` inside a label differs from `.`), so they get
        // the words with escapes kept.
        let nameWords = escapedTokens.map { String(decoding: $0, as: UTF8.self) }
        func expect(_ count: Int, _ shape: String) throws(DNSWireError) {
            if words.count != count { throw fail("expected \(shape)") }
        }
        func number<T: FixedWidthInteger>(_ word: String, _ what: String, as: T.Type) throws(DNSWireError) -> T {
            guard let value = T(word) else { throw fail("\(what) '\(word)' is not a number in 0...\(T.max)") }
            return value
        }
        func name(_ index: Int) throws(DNSWireError) -> DNSName {
            do { return try DNSName(nameWords[index]) } catch { throw fail(error.description) }
        }
        if text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first == "\\#" {
            guard words.count >= 2, let length = Int(words[1]) else { throw fail("generic data needs '\\# LENGTH HEX'") }
            let hex = words.dropFirst(2).joined()
            guard let bytes = hexBytes(hex), bytes.count == length else { throw fail("hex data does not match length \(length)") }
            var reader = WireReader(bytes)
            do { self = try DNSRData.decode(type: type, from: &reader, length: bytes.count) } catch { throw fail(error.description) }
            return
        }
        switch type {
        case .a:
            try expect(1, "one IPv4 address")
            guard let bytes = parseAddress(words[0], family: AF_INET, size: 4), let address = IPv4Address(octets: bytes) else {
                throw fail("not an IPv4 address")
            }
            self = .a(address)
        case .aaaa:
            try expect(1, "one IPv6 address")
            guard let bytes = parseAddress(words[0], family: AF_INET6, size: 16) else { throw fail("not an IPv6 address") }
            self = .aaaa(bytes)
        case .cname: try expect(1, "one target name"); self = .cname(try name(0))
        case .ns: try expect(1, "one name server name"); self = .ns(try name(0))
        case .ptr: try expect(1, "one target name"); self = .ptr(try name(0))
        case .mx:
            try expect(2, "'PREFERENCE EXCHANGE'")
            self = .mx(preference: try number(words[0], "preference", as: UInt16.self), exchange: try name(1))
        case .srv:
            try expect(4, "'PRIORITY WEIGHT PORT TARGET'")
            self = .srv(priority: try number(words[0], "priority", as: UInt16.self), weight: try number(words[1], "weight", as: UInt16.self),
                        port: try number(words[2], "port", as: UInt16.self), target: try name(3))
        case .txt:
            guard !tokens.isEmpty else { throw fail("expected at least one character-string") }
            for token in tokens where token.count > 255 { throw fail("a character-string is \(token.count) octets; the limit is 255") }
            self = .txt(tokens)
        case .soa:
            try expect(7, "'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM'")
            self = .soa(SOAData(primary: try name(0), responsible: try name(1),
                                serial: try number(words[2], "serial", as: UInt32.self), refresh: try number(words[3], "refresh", as: UInt32.self),
                                retry: try number(words[4], "retry", as: UInt32.self), expire: try number(words[5], "expire", as: UInt32.self),
                                minimum: try number(words[6], "minimum", as: UInt32.self)))
        default:
            throw fail("values of type \(type) must use the generic form '\\# LENGTH HEX'")
        }
    }

    /// The two forms nearly every value is written in, read without tokenizing: an A value as a
    /// plain dotted quad (four decimal octets without leading zeros, as `inet_pton` reads them) and
    /// a TXT value as one quoted string of at most 255 octets without escapes or inner quotes. Nil
    /// for anything else, which the general reader takes (and explains when it is wrong).
    init?(plainPresentation text: String, type: DNSRecordType) {
        var text = text
        guard let parsed = text.withUTF8({ DNSRData(plainPresentation: $0, type: type) }) else { return nil }
        self = parsed
    }

    init?(plainPresentation bytes: UnsafeBufferPointer<UInt8>, type: DNSRecordType) {
        let parsed: DNSRData? = {
            switch type {
            case .a:
                var bits: UInt32 = 0, octets = 0
                var value = 0, digits = 0
                for byte in bytes {
                    if byte == UInt8(ascii: ".") {
                        guard digits > 0, octets < 3 else { return nil }
                        bits = bits << 8 | UInt32(value)
                        octets += 1
                        value = 0
                        digits = 0
                    } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                        guard !(digits > 0 && value == 0) else { return nil }
                        value = value * 10 + Int(byte - UInt8(ascii: "0"))
                        digits += 1
                        guard value <= 255 else { return nil }
                    } else {
                        return nil
                    }
                }
                guard digits > 0, octets == 3 else { return nil }
                return .a(IPv4Address(bits: bits << 8 | UInt32(value)))
            case .txt:
                guard bytes.count >= 2, bytes.count <= 257, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"") else { return nil }
                let inner = UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)])
                guard !inner.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return nil }
                return .txt([Array(inner)])
            default:
                return nil
            }
        }()
        guard let parsed else { return nil }
        self = parsed
    }

    /// `init(type:text:)` on text where it lies (a database column's bytes): the plain forms
    /// are read without making a `String` of them.
    public init(type: DNSRecordType, presentation bytes: UnsafeBufferPointer<UInt8>) throws(DNSWireError) {
        if let plain = DNSRData(plainPresentation: bytes, type: type) {
            self = plain
            return
        }
        try self.init(type: type, text: String(decoding: bytes, as: UTF8.self))
    }

    /// The presentation form, as a zone file or `dig` would print it.
    public var presentation: String {
        switch self {
        case .a(let address): return address.description
        case .aaaa(let bytes): return formatAddress(bytes, family: AF_INET6)
        case .cname(let name), .ns(let name), .ptr(let name): return name.description
        case .mx(let preference, let exchange): return "\(preference) \(exchange)"
        case .srv(let priority, let weight, let port, let target): return "\(priority) \(weight) \(port) \(target)"
        case .txt(let strings): return strings.map(quotedCharacterString).joined(separator: " ")
        case .soa(let soa):
            return "\(soa.primary) \(soa.responsible) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .unknown(let bytes):
            return bytes.isEmpty ? "\\# 0" : "\\# \(bytes.count) " + bytes.map { byteHex($0) }.joined()
        }
    }
}

/// The fields of an SOA record.
public struct SOAData: Hashable, Sendable {
    public var primary: DNSName
    public var responsible: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(primary: DNSName, responsible: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primary = primary
        self.responsible = responsible
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// A character-string in double quotes with `"` and `\` escaped and non-printables as `\DDD`.
func quotedCharacterString(_ bytes: [UInt8]) -> String {
    var out = "\""
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append("\\")
            out.append(Character(Unicode.Scalar(byte)))
        case 0x20...0x7E:
            out.append(Character(Unicode.Scalar(byte)))
        default:
            out.append("\\" + String(format3: byte))
        }
    }
    return out + "\""
}

/// Splits presentation text into tokens: whitespace-separated words or double-quoted strings,
/// with `\X` and `\DDD` escapes resolved in both.
enum PresentationTokenizer {
    struct Failure: Error { let reason: String }

    /// With `keepingEscapes`, escapes only protect what they escape from splitting and stay
    /// in the token as written.
    static func tokens(_ text: String, keepingEscapes: Bool = false) throws(Failure) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        var tokens: [[UInt8]] = []
        var index = 0
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while index < bytes.count {
            if isSpace(bytes[index]) { index += 1; continue }
            let quoted = bytes[index] == UInt8(ascii: "\"")
            if quoted { index += 1 }
            var token: [UInt8] = []
            var closed = !quoted
            while index < bytes.count {
                let byte = bytes[index]
                if quoted && byte == UInt8(ascii: "\"") { closed = true; index += 1; break }
                if !quoted && isSpace(byte) { break }
                if !quoted && byte == UInt8(ascii: "\"") { throw Failure(reason: "a quote inside an unquoted word") }
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count else { throw Failure(reason: "dangling backslash") }
                    if keepingEscapes {
                        token.append(byte)
                        token.append(bytes[index + 1])
                        index += 2
                        continue
                    }
                    if index + 3 < bytes.count, bytes[index + 1].isDigit, bytes[index + 2].isDigit, bytes[index + 3].isDigit {
                        let value = Int(bytes[index + 1] - 48) * 100 + Int(bytes[index + 2] - 48) * 10 + Int(bytes[index + 3] - 48)
                        guard value <= 255 else { throw Failure(reason: "escape \\\(value) is out of range") }
                        token.append(UInt8(value))
                        index += 4
                    } else {
                        token.append(bytes[index + 1])
                        index += 2
                    }
                    continue
                }
                token.append(byte)
                index += 1
            }
            if !closed { throw Failure(reason: "unterminated quoted string") }
            if quoted && index < bytes.count && !isSpace(bytes[index]) { throw Failure(reason: "text right after a closing quote") }
            tokens.append(token)
        }
        return tokens
    }
}

private func parseAddress(_ text: String, family: Int32, size: Int) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: size)
    let ok = buffer.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
    return ok == 1 ? buffer : nil
}

private func formatAddress(_ bytes: [UInt8], family: Int32) -> String {
    var output = [CChar](repeating: 0, count: 64)
    let result = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &output, socklen_t(output.count)) }
    guard result != nil else { return bytes.map { String($0) }.joined(separator: ".") }
    return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func byteHex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

func hexBytes(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
    var index = 0
    while index < chars.count {
        guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}
