import OrderedCollections

/// A JSON text that does not parse, with the byte offset and line/column of the fault.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let offset: Int
    public let line: Int
    public let column: Int
    public var description: String { "\(message) at line \(line), column \(column)" }
}

extension JSONValue {
    /// Parses JSON text (RFC 8259). Integers that fit in 64 bits stay exact; other numbers are doubles.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        return try text.withUTF8 { parse(buffer: UnsafeRawBufferPointer($0)) }.get()
    }

    /// Parses JSON from raw bytes (which must be UTF-8).
    public static func parse(bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBytes { parse(buffer: $0) }.get()
    }

    /// Parses JSON from bytes in memory the caller owns (a database row, a network buffer), without
    /// copying them first; the bytes must stay valid for the call only.
    public static func parse(buffer: UnsafeRawBufferPointer) -> Result<JSONValue, JSONSyntaxError> {
        var parser = JSONParser(bytes: buffer.bindMemory(to: UInt8.self))
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }

    /// Compact JSON text; object members keep their order.
    public func encoded() -> String {
        var out = ""
        write(to: &out, indent: nil, depth: 0)
        return out
    }

    /// Indented JSON text (two spaces) for humans.
    public func prettyEncoded() -> String {
        var out = ""
        write(to: &out, indent: "  ", depth: 0)
        return out
    }

    private func write(to out: inout String, indent: String?, depth: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONValue.formatDouble(d)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                JSONValue.newline(&out, indent, depth + 1)
                element.write(to: &out, indent: indent, depth: depth + 1)
            }
            JSONValue.newline(&out, indent, depth)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            var first = true
            for (key, value) in members {
                if !first { out += "," }
                first = false
                JSONValue.newline(&out, indent, depth + 1)
                JSONValue.writeString(key, to: &out)
                out += indent == nil ? ":" : ": "
                value.write(to: &out, indent: indent, depth: depth + 1)
            }
            JSONValue.newline(&out, indent, depth)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ depth: Int) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<depth { out += indent }
    }

    /// Doubles print in their shortest round-trip form; non-finite values have no JSON form and become null.
    public static func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded() && abs(d) < 1e16 {
            return String(Int64(d)) + ".0"
        }
        return String(d)
    }

    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes with a nesting limit, so hostile input cannot overflow the stack.
/// It reads the bytes in place; they must outlive the parser (see `JSONValue.parse(buffer:)`).
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count { throw error("unexpected text after the JSON value") }
        return value
    }

    /// A byte of the input as an error message names it: a printable ASCII character as
    /// itself, anything else (a control character, part of a UTF-8 sequence or a byte that
    /// is not UTF-8 at all) by its value, which no decoding can misrepresent.
    static func describe(_ byte: UInt8) -> String {
        if (0x21...0x7E).contains(byte) { return "character '\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count < 2 ? "0" : "") + hex
    }

    func error(_ message: String) -> JSONSyntaxError {
        var line = 1, column = 1
        for b in bytes[..<min(position, bytes.count)] {
            if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(message: message, offset: position, line: line, column: column)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(JSONParser.describe(bytes[position]))")
        }
    }

    mutating func expectWord(_ word: String) throws(JSONSyntaxError) {
        for b in word.utf8 {
            guard position < bytes.count, bytes[position] == b else { throw error("invalid literal, expected \(word)") }
            position += 1
        }
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("JSON nested deeper than \(JSONParser.maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members = OrderedDictionary<String, JSONValue>()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':' after key") }
            position += 1
            skipWhitespace()
            members[key] = try parseValue()
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw error("expected ',' or '}' in object")
        }
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw error("expected ',' or ']' in array")
        }
    }

    /// A string without escapes (nearly every key and value) becomes a `String` straight from the
    /// bytes; one with escapes is decoded into a buffer first (`parseEscapedString`).
    mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1
        let start = position
        var ascii = true
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                if ascii { return String(decoding: text, as: UTF8.self) }
                guard let s = String(validating: text, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            if b >= 0x80 { ascii = false }
            position += 1
        }
        return try parseEscapedString(from: start)
    }

    /// The rest of a string from the first escape (or fault) on; the bytes from `start` up to the
    /// current position are plain text.
    mutating func parseEscapedString(from start: Int) throws(JSONSyntaxError) -> String {
        var utf8 = Array(bytes[start..<position])
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") { position += 1; break }
            if b < 0x20 { throw error("control character in string") }
            if b != UInt8(ascii: "\\") {
                utf8.append(b)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let e = bytes[position]
            position += 1
            let decoded: Unicode.Scalar
            switch e {
            case UInt8(ascii: "\""): decoded = "\""
            case UInt8(ascii: "\\"): decoded = "\\"
            case UInt8(ascii: "/"): decoded = "/"
            case UInt8(ascii: "b"): decoded = "\u{08}"
            case UInt8(ascii: "f"): decoded = "\u{0C}"
            case UInt8(ascii: "n"): decoded = "\n"
            case UInt8(ascii: "r"): decoded = "\r"
            case UInt8(ascii: "t"): decoded = "\t"
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate in string") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let s = Unicode.Scalar(code) else { throw error("invalid unicode escape") }
                decoded = s
            default:
                if (0x21...0x7E).contains(e) { throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'") }
                throw error("invalid escape: '\\' followed by \(JSONParser.describe(e))")
            }
            utf8.append(contentsOf: String(decoded).utf8)
        }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
        return s
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated unicode escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in unicode escape")
            }
            code = code * 16 + digit
            position += 1
        }
        return code
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.position
            while p.position < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.position]) {
                p.position += 1
            }
            return p.position - s
        }
        if digits(&self) == 0 { throw error("invalid number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            if digits(&self) == 0 { throw error("invalid number: digits expected after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            if digits(&self) == 0 { throw error("invalid number: digits expected in exponent") }
        }
        if isInteger {
            // Up to 18 digits always fit in 64 bits: add them up without making a string.
            let negative = bytes[start] == UInt8(ascii: "-")
            let first = negative ? start + 1 : start
            if position - first <= 18 {
                var n: Int64 = 0
                for index in first..<position { n = n * 10 + Int64(bytes[index] &- UInt8(ascii: "0")) }
                return .int(negative ? -n : n)
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw error("invalid number") }
        // beyond Double's range the number would read as infinity, which JSON cannot write back
        guard d.isFinite else { throw error("number \(text.prefix(40)) is too large for a 64-bit float") }
        return .double(d)
    }
}
