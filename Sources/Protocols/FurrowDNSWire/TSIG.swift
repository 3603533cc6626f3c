import Crypto
import Foundation

/// A shared-secret TSIG key (RFC 8945). Its description never shows the secret.
public struct TSIGKey: Sendable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, CaseIterable {
        case hmacSHA256 = "hmac-sha256"
        case hmacSHA512 = "hmac-sha512"
        case hmacSHA1 = "hmac-sha1"

        /// The algorithm's name as it appears on the wire.
        public var wireName: DNSName { DNSName(checkedWire: [UInt8(rawValue.utf8.count)] + Array(rawValue.utf8) + [0], labelCount: 1) }

        func mac(_ data: [UInt8], secret: [UInt8]) -> [UInt8] {
            let secret = SymmetricKey(data: secret)
            return switch self {
            case .hmacSHA256: Array(HMAC<SHA256>.authenticationCode(for: data, using: secret))
            case .hmacSHA512: Array(HMAC<SHA512>.authenticationCode(for: data, using: secret))
            case .hmacSHA1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: secret))
            }
        }
    }

    public let name: DNSName
    public let algorithm: Algorithm
    let secret: [UInt8]

    public init(name: DNSName, algorithm: Algorithm, secret: [UInt8]) {
        self.name = name
        self.algorithm = algorithm
        self.secret = secret
    }

    /// A key from its name, algorithm name and base64 secret (the parts of `dig -y`).
    public init(name: String, algorithm: String, base64Secret: String) throws(DNSWireError) {
        guard let parsed = Algorithm(rawValue: algorithm.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))) else {
            throw .invalidKeyFile("unsupported TSIG algorithm '\(algorithm)' (use hmac-sha256, hmac-sha512 or hmac-sha1)")
        }
        guard let secret = Data(base64Encoded: base64Secret), !secret.isEmpty else {
            throw .invalidKeyFile("the secret of key '\(name)' is not valid base64")
        }
        self.init(name: try DNSName(name), algorithm: parsed, secret: Array(secret))
    }

    /// Reads a BIND key file (see `parseKeyFile`). Errors name the file, never the secret.
    public init(contentsOfKeyFile path: String, named name: String? = nil) throws(DNSWireError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .invalidKeyFile("cannot read \(path): \(error.localizedDescription)")
        }
        do { self = try TSIGKey.parseKeyFile(text, named: name) } catch {
            guard case .invalidKeyFile(let reason) = error else { throw error }
            throw .invalidKeyFile("\(path): \(reason)")
        }
    }

    /// Parses BIND key-file syntax: `key "name" { algorithm hmac-sha256; secret "base64=="; };`
    /// (comments allowed). With several keys, `named` picks one; otherwise the file must hold one.
    public static func parseKeyFile(_ text: String, named wanted: String? = nil) throws(DNSWireError) -> TSIGKey {
        let tokens = try keyFileTokens(text)
        var keys: [TSIGKey] = []
        var index = 0
        func next(_ what: String) throws(DNSWireError) -> String {
            guard index < tokens.count else { throw .invalidKeyFile("file ends where \(what) was expected") }
            defer { index += 1 }
            return tokens[index]
        }
        while index < tokens.count {
            let keyword = try next("'key'")
            guard keyword == "key" else { throw .invalidKeyFile("expected 'key', found '\(keyword)'") }
            let name = try next("a key name")
            guard try next("'{'") == "{" else { throw .invalidKeyFile("expected '{' after key \"\(name)\"") }
            var algorithm: String?, secret: String?
            while true {
                let field = try next("'}'")
                if field == "}" { break }
                let value = try next("a value for \(field)")
                guard try next("';'") == ";" else { throw .invalidKeyFile("expected ';' after \(field) in key \"\(name)\"") }
                switch field {
                case "algorithm": algorithm = value
                case "secret": secret = value
                default: throw .invalidKeyFile("unknown field '\(field)' in key \"\(name)\"")
                }
            }
            if index < tokens.count, tokens[index] == ";" { index += 1 }
            guard let algorithm else { throw .invalidKeyFile("key \"\(name)\" has no algorithm") }
            guard let secret else { throw .invalidKeyFile("key \"\(name)\" has no secret") }
            keys.append(try TSIGKey(name: name, algorithm: algorithm, base64Secret: secret))
        }
        if let wanted {
            let wantedName = try DNSName(wanted)
            guard let key = keys.first(where: { $0.name == wantedName }) else { throw .invalidKeyFile("no key named \"\(wanted)\" in the file") }
            return key
        }
        guard keys.count == 1 else { throw .invalidKeyFile("expected exactly one key, found \(keys.count); name the one to use") }
        return keys[0]
    }

    private static func keyFileTokens(_ text: String) throws(DNSWireError) -> [String] {
        var tokens: [String] = []
        let chars = Array(text)
        var index = 0
        while index < chars.count {
            let c = chars[index]
            if c.isWhitespace { index += 1; continue }
            if c == "#" || (c == "/" && index + 1 < chars.count && chars[index + 1] == "/") {
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            }
            if c == "/" && index + 1 < chars.count && chars[index + 1] == "*" {
                index += 2
                while index + 1 < chars.count && !(chars[index] == "*" && chars[index + 1] == "/") { index += 1 }
                index += 2
                continue
            }
            if c == "{" || c == "}" || c == ";" { tokens.append(String(c)); index += 1; continue }
            if c == "\"" {
                var end = index + 1
                while end < chars.count && chars[end] != "\"" { end += 1 }
                guard end < chars.count else { throw .invalidKeyFile("unterminated quoted string") }
                tokens.append(String(chars[(index + 1)..<end]))
                index = end + 1
                continue
            }
            var end = index
            while end < chars.count && !chars[end].isWhitespace && !"{};\"".contains(chars[end]) { end += 1 }
            tokens.append(String(chars[index..<end]))
            index = end
        }
        return tokens
    }

    public var description: String { "TSIG key \(name) (\(algorithm.rawValue))" }
}

/// The data of a TSIG record (RFC 8945 §4.2).
public struct TSIGRecord: Sendable, Equatable {
    public var keyName: DNSName
    public var algorithm: DNSName
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    public var error: UInt16
    public var otherData: [UInt8]

    init(keyName: DNSName, algorithm: DNSName, timeSigned: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16, error: UInt16, otherData: [UInt8]) {
        self.keyName = keyName
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }

    init(keyName: DNSName, rdata: [UInt8]) throws(DNSWireError) {
        var reader = WireReader(rdata)
        self.keyName = keyName
        algorithm = try reader.name("TSIG algorithm")
        timeSigned = try reader.u48("TSIG time")
        fudge = try reader.u16("TSIG fudge")
        mac = try reader.bytes(Int(try reader.u16("TSIG MAC size")), "TSIG MAC")
        originalID = try reader.u16("TSIG original ID")
        error = try reader.u16("TSIG error")
        otherData = try reader.bytes(Int(try reader.u16("TSIG other length")), "TSIG other data")
        guard reader.remaining == 0 else { throw .malformedMessage("trailing octets in TSIG data") }
    }

    var rdata: [UInt8] {
        var writer = WireWriter()
        writer.name(algorithm)
        writer.u48(timeSigned)
        writer.u16(fudge)
        writer.u16(UInt16(mac.count))
        writer.append(mac)
        writer.u16(originalID)
        writer.u16(error)
        writer.u16(UInt16(otherData.count))
        writer.append(otherData)
        return writer.bytes
    }

    /// The TSIG variables that follow the message in the MAC input (RFC 8945 §4.3.3).
    func variables(timersOnly: Bool) -> [UInt8] {
        var writer = WireWriter()
        if !timersOnly {
            writer.name(keyName.lowercased)
            writer.u16(DNSClass.any.rawValue)
            writer.u32(0)
            writer.name(algorithm.lowercased)
        }
        writer.u48(timeSigned)
        writer.u16(fudge)
        if !timersOnly {
            writer.u16(error)
            writer.u16(UInt16(otherData.count))
            writer.append(otherData)
        }
        return writer.bytes
    }
}

/// Signs requests and verifies the responses to them, including the chained MACs of a
/// multi-message zone transfer (RFC 8945 §5.3.1).
public struct TSIGSigner: Sendable {
    public let key: TSIGKey
    /// Allowed clock difference in seconds.
    public var fudge: UInt16 = 300
    /// The MAC of the last signed message of this exchange, which the next one chains from.
    private var priorMAC: [UInt8] = []
    /// Unsigned messages received since the last signed one (they are covered by the next MAC).
    private var unsignedSince: [UInt8] = []
    private var unsignedCount = 0
    private var sawFirstResponse = false

    public init(key: TSIGKey) { self.key = key }

    /// Appends a TSIG record to an encoded request and remembers its MAC for the response.
    /// `time` is seconds since the epoch; tests fix it to reproduce a known MAC.
    public mutating func sign(_ message: [UInt8], time: UInt64 = UInt64(Date().timeIntervalSince1970)) throws(DNSWireError) -> [UInt8] {
        guard message.count >= 12 else { throw .malformedMessage("message shorter than its header") }
        var record = TSIGRecord(keyName: key.name, algorithm: key.algorithm.wireName, timeSigned: time, fudge: fudge, mac: [],
                                originalID: UInt16(message[0]) << 8 | UInt16(message[1]), error: 0, otherData: [])
        record.mac = key.algorithm.mac(message + record.variables(timersOnly: false), secret: key.secret)
        priorMAC = record.mac
        unsignedSince = []
        unsignedCount = 0
        sawFirstResponse = false
        var writer = WireWriter(bytes: message)
        let additionalCount = UInt16(message[10]) << 8 | UInt16(message[11])
        guard additionalCount < UInt16.max else { throw .malformedMessage("no room for a TSIG record in the additional section") }
        writer.patchU16(at: 10, additionalCount + 1)
        DNSResourceRecord(name: key.name, type: .tsig, recordClass: .any, ttl: 0, data: .unknown(record.rdata)).encode(into: &writer)
        if writer.bytes.count > 65535 { throw .messageTooLarge(writer.bytes.count) }
        return writer.bytes
    }

    /// The MAC of the last request signed, for known-answer checks.
    public var requestMAC: [UInt8] { priorMAC }

    /// Checks a decoded response (`bytes` are what arrived). The server's TSIG error codes become
    /// `TSIGFailure`s; an unsigned message is allowed only between signed ones of a transfer.
    public mutating func verify(response message: DNSMessage, bytes: [UInt8], server: String, context: String,
                                now: UInt64 = UInt64(Date().timeIntervalSince1970)) throws(DNSWireError) {
        guard let tsig = message.tsig, let tsigOffset = message.tsigOffset else {
            // Only messages after the first of a transfer may go unsigned, at most 99 in a row
            // (RFC 8945 §5.3.1); anything else unsigned is a failure.
            if message.responseCode == .notAuth || !sawFirstResponse || unsignedCount >= 99 {
                if message.responseCode != .noError {
                    throw .responseCode(message.responseCode, server: server, context: context)
                }
                throw .tsig(.unsignedResponse, server: server, context: context)
            }
            unsignedSince += bytes
            unsignedCount += 1
            return
        }
        if tsig.error != 0 { throw .tsig(TSIGFailure(code: tsig.error), server: server, context: context) }
        guard tsig.keyName == key.name, tsig.algorithm == key.algorithm.wireName else {
            throw .tsig(.responseKeyMismatch, server: server, context: context)
        }
        let unsigned = messageWithoutTSIG(bytes, tsigOffset: tsigOffset, originalID: tsig.originalID)
        var input = WireWriter()
        input.u16(UInt16(priorMAC.count))
        input.append(priorMAC)
        input.append(unsignedSince)
        input.append(unsigned)
        input.append(tsig.variables(timersOnly: sawFirstResponse))
        let expected = key.algorithm.mac(input.bytes, secret: key.secret)
        guard constantTimeEqual(expected, tsig.mac) else { throw .tsig(.responseSignatureMismatch, server: server, context: context) }
        let skew = now > tsig.timeSigned ? now - tsig.timeSigned : tsig.timeSigned - now
        if skew > UInt64(tsig.fudge) { throw .tsig(.badTime, server: server, context: context) }
        priorMAC = tsig.mac
        unsignedSince = []
        unsignedCount = 0
        sawFirstResponse = true
    }

    /// Checks the signature of a request as a server would (used to validate other tools' signing).
    public static func verifyRequest(_ bytes: [UInt8], key: TSIGKey) throws(DNSWireError) -> Bool {
        let message = try DNSMessage.decode(bytes)
        guard let tsig = message.tsig, let offset = message.tsigOffset else { return false }
        let unsigned = messageWithoutTSIG(bytes, tsigOffset: offset, originalID: tsig.originalID)
        return constantTimeEqual(key.algorithm.mac(unsigned + tsig.variables(timersOnly: false), secret: key.secret), tsig.mac)
    }
}

/// The message as it was before the signer appended its TSIG record: the record cut off, the
/// additional count lowered, and the original ID restored (forwarders may change the ID).
private func messageWithoutTSIG(_ bytes: [UInt8], tsigOffset: Int, originalID: UInt16) -> [UInt8] {
    var unsigned = Array(bytes[0..<tsigOffset])
    unsigned[0] = UInt8(originalID >> 8)
    unsigned[1] = UInt8(originalID & 0xFF)
    let additionalCount = UInt16(unsigned[10]) << 8 | UInt16(unsigned[11])
    unsigned[10] = UInt8((additionalCount - 1) >> 8)
    unsigned[11] = UInt8((additionalCount - 1) & 0xFF)
    return unsigned
}

private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
