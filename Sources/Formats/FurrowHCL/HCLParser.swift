import OrderedCollections
import FurrowJSON

/// Recursive-descent parser over the UTF-8 bytes of one HCL file.
///
/// Each expression parse reports the decoded value when the expression is literal and
/// always its byte span, so non-literal expressions can be returned as exact source text.
struct HCLParser {
    private let bytes: [UInt8]
    private let filename: String
    private let lineStarts: [Int]
    private var pos = 0
    private var depth = 0
    /// True inside `(...)`, `[...]`, interpolations and for-expressions, where newlines are
    /// whitespace; false in bodies and object constructors, where they separate items.
    private var newlinesAreSpace = false

    init(text: String, filename: String) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        self.bytes = bytes
        self.filename = filename
        var starts = [0]
        for (index, byte) in bytes.enumerated() where byte == .newline { starts.append(index + 1) }
        self.lineStarts = starts
    }

    // MARK: Bodies

    mutating func parseFile() throws(HCLError) -> HCLBody {
        try parseBody(openBrace: nil)
    }

    /// Parses attributes and blocks until end of file (top level) or the `}` matching `openBrace`.
    private mutating func parseBody(openBrace: Int?) throws(HCLError) -> HCLBody {
        var body = HCLBody()
        while true {
            try skipSpace(newlines: true)
            guard pos < bytes.count else {
                if let openBrace { throw error(at: openBrace, "unbalanced brackets: this { is never closed") }
                return body
            }
            if bytes[pos] == .closeBrace {
                guard openBrace != nil else { throw error(at: pos, "unbalanced brackets: } without a matching {") }
                return body
            }
            guard let nameStart = identifierStart() else {
                throw error(at: pos, "unexpected \(describeToken(at: pos)); expected an attribute name or a block type")
            }
            let name = readIdentifier()
            try skipSpace(newlines: false)
            if peek(.equals), peek(.equals, offset: 1) == false {
                pos += 1
                let value = try parseAttributeValue()
                if let first = body.attributes[name] {
                    throw error(at: nameStart, "duplicate attribute \"\(name)\" (first set at line \(first.range.start.line))")
                }
                body.attributes[name] = HCLAttribute(name: name, expression: expression(value),
                                                     range: range(nameStart, value.end))
            } else {
                body.blocks.append(try parseBlock(type: name, start: nameStart))
            }
            try expectItemEnd(insideBraces: openBrace != nil, what: "after \"\(name)\"")
        }
    }

    private mutating func parseAttributeValue() throws(HCLError) -> Parsed {
        let saved = newlinesAreSpace
        newlinesAreSpace = false
        defer { newlinesAreSpace = saved }
        try skipSpace(newlines: false)
        return try parseExpression()
    }

    private mutating func parseBlock(type: String, start: Int) throws(HCLError) -> HCLBlock {
        var labels: [String] = []
        while pos < bytes.count, bytes[pos] != .openBrace {
            if bytes[pos] == .quote {
                labels.append(try parseTemplate(quoted: true))
            } else if identifierStart() != nil {
                labels.append(readIdentifier())
            } else if bytes[pos] == .equals || bytes[pos] == .colon {
                throw error(at: pos, "unexpected \(describeToken(at: pos)) after \"\(type)\"; an attribute needs a single name before =")
            } else {
                throw error(at: pos, "unexpected \(describeToken(at: pos)); expected a block label or {")
            }
            try skipSpace(newlines: false)
        }
        guard pos < bytes.count else {
            throw error(at: pos, "unexpected end of file; expected = or { after \"\(type)\"")
        }
        let open = pos
        pos += 1
        try enterNesting(at: open)
        defer { depth -= 1 }
        let saved = newlinesAreSpace
        newlinesAreSpace = false
        defer { newlinesAreSpace = saved }
        let body = try parseBody(openBrace: open)
        pos += 1 // the closing brace
        return HCLBlock(type: type, labels: labels, body: body, range: range(start, pos))
    }

    /// After an attribute or block: a newline, end of file, or (inside a block) its closing brace.
    private mutating func expectItemEnd(insideBraces: Bool, what: String) throws(HCLError) {
        try skipSpace(newlines: false)
        guard pos < bytes.count else { return }
        if bytes[pos] == .newline { pos += 1; return }
        if insideBraces, bytes[pos] == .closeBrace { return }
        throw error(at: pos, "unexpected \(describeToken(at: pos)) \(what); expected a newline")
    }

    // MARK: Expressions

    /// An expression's span and, when it is literal, its value.
    private struct Parsed {
        var value: JSONValue?
        let start: Int
        var end: Int
    }

    private func expression(_ parsed: Parsed) -> HCLExpression {
        if let value = parsed.value { return .literal(value) }
        return .raw(text(parsed.start, parsed.end))
    }

    private mutating func parseExpression() throws(HCLError) -> Parsed {
        var condition = try parseBinary(minimumPrecedence: 1)
        try skipSpace(newlines: newlinesAreSpace)
        guard peek(.question) else { return condition }
        try enterNesting(at: pos)
        defer { depth -= 1 }
        pos += 1
        try skipSpace(newlines: newlinesAreSpace)
        _ = try parseExpression()
        try skipSpace(newlines: newlinesAreSpace)
        guard peek(.colon) else {
            throw error(at: pos, "unexpected \(describeToken(at: pos)); expected : in a conditional expression")
        }
        pos += 1
        try skipSpace(newlines: newlinesAreSpace)
        let otherwise = try parseExpression()
        condition.value = nil
        condition.end = otherwise.end
        return condition
    }

    private mutating func parseBinary(minimumPrecedence: Int) throws(HCLError) -> Parsed {
        var left = try parseUnary()
        while true {
            let save = pos
            try skipSpace(newlines: newlinesAreSpace)
            guard let (length, precedence) = binaryOperator(), precedence >= minimumPrecedence else {
                pos = save
                return left
            }
            pos += length
            try skipSpace(newlines: newlinesAreSpace)
            let right = try parseBinary(minimumPrecedence: precedence + 1)
            left.value = nil
            left.end = right.end
        }
    }

    /// The operator at the cursor as (length, precedence), loosest binding first.
    private func binaryOperator() -> (Int, Int)? {
        guard pos < bytes.count else { return nil }
        let next = pos + 1 < bytes.count ? bytes[pos + 1] : 0
        switch bytes[pos] {
        case .pipe where next == .pipe: return (2, 1)
        case .ampersand where next == .ampersand: return (2, 2)
        case .equals where next == .equals, .bang where next == .equals: return (2, 3)
        case .less where next == .equals, .greater where next == .equals: return (2, 4)
        case .less where next != .less, .greater: return (1, 4)
        case .plus: return (1, 5)
        case .minus: return (1, 5)
        case .star, .slash, .percent: return (1, 6)
        default: return nil
        }
    }

    private mutating func parseUnary() throws(HCLError) -> Parsed {
        guard pos < bytes.count, bytes[pos] == .minus || bytes[pos] == .bang else { return try parsePostfix() }
        let start = pos
        let isMinus = bytes[pos] == .minus
        pos += 1
        try skipSpace(newlines: newlinesAreSpace)
        if isMinus, pos < bytes.count, bytes[pos].isDigit {
            var number = try parseNumber(negative: true)
            number = Parsed(value: number.value, start: start, end: number.end)
            return try parsePostfix(after: number)
        }
        try enterNesting(at: start)
        defer { depth -= 1 }
        let operand = try parseUnary()
        return Parsed(value: nil, start: start, end: operand.end)
    }

    private mutating func parsePostfix() throws(HCLError) -> Parsed {
        try parsePostfix(after: parsePrimary())
    }

    /// Index, attribute and splat suffixes; any of them makes the expression non-literal.
    private mutating func parsePostfix(after term: Parsed) throws(HCLError) -> Parsed {
        var term = term
        while true {
            let save = pos
            try skipSpace(newlines: newlinesAreSpace)
            guard pos < bytes.count else { pos = save; return term }
            if bytes[pos] == .openBracket {
                let open = pos
                pos += 1
                try enterNesting(at: open)
                defer { depth -= 1 }
                try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
                    try parser.skipSpace(newlines: true)
                    if parser.peek(.star) {
                        parser.pos += 1
                    } else {
                        _ = try parser.parseExpression()
                    }
                    try parser.skipSpace(newlines: true)
                    try parser.expectClose(.closeBracket, opener: open)
                }
            } else if bytes[pos] == .dot, pos + 1 < bytes.count,
                      bytes[pos + 1] == .star || bytes[pos + 1].isDigit || isIdentifierStart(pos + 1) {
                pos += 1
                if bytes[pos] == .star {
                    pos += 1
                } else if bytes[pos].isDigit {
                    while pos < bytes.count, bytes[pos].isDigit { pos += 1 }
                } else {
                    _ = readIdentifier()
                }
            } else {
                pos = save
                return term
            }
            term.value = nil
            term.end = pos
        }
    }

    private mutating func parsePrimary() throws(HCLError) -> Parsed {
        let start = pos
        guard pos < bytes.count else { throw error(at: pos, "unexpected end of file; expected an expression") }
        let byte = bytes[pos]
        if byte.isDigit { return try parseNumber(negative: false) }
        if byte == .quote {
            let value = try parseTemplate(quoted: true)
            return Parsed(value: .string(value), start: start, end: pos)
        }
        if byte == .less, peek(.less, offset: 1) {
            let value = try parseHeredoc()
            return Parsed(value: .string(value), start: start, end: pos)
        }
        if byte == .openBracket || byte == .openBrace {
            try enterNesting(at: start)
            defer { depth -= 1 }
            if startsForExpression() { return try parseForExpression() }
            return byte == .openBracket ? try parseTuple() : try parseObject()
        }
        if byte == .openParen {
            try enterNesting(at: start)
            defer { depth -= 1 }
            pos += 1
            var inner = Parsed(value: nil, start: start, end: start)
            try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
                try parser.skipSpace(newlines: true)
                try parser.expectMore(opener: start)
                inner = try parser.parseExpression()
                try parser.skipSpace(newlines: true)
                try parser.expectClose(.closeParen, opener: start)
            }
            return Parsed(value: inner.value, start: start, end: pos)
        }
        if identifierStart() != nil {
            let name = readIdentifier()
            switch name {
            case "true": return Parsed(value: .bool(true), start: start, end: pos)
            case "false": return Parsed(value: .bool(false), start: start, end: pos)
            case "null": return Parsed(value: .null, start: start, end: pos)
            default: break
            }
            while peek(.colon), peek(.colon, offset: 1), isIdentifierStart(pos + 2) {
                pos += 2 // a provider-namespaced function such as provider::aws::arn_parse
                _ = readIdentifier()
            }
            let save = pos
            try skipSpace(newlines: false)
            if peek(.openParen) {
                try parseCallArguments()
            } else {
                pos = save
            }
            return Parsed(value: nil, start: start, end: pos)
        }
        throw error(at: pos, "unexpected \(describeToken(at: pos)); expected an expression")
    }

    private mutating func parseCallArguments() throws(HCLError) {
        let open = pos
        pos += 1
        try enterNesting(at: open)
        defer { depth -= 1 }
        try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
            while true {
                try parser.skipSpace(newlines: true)
                if parser.peek(.closeParen) { break }
                try parser.expectMore(opener: open)
                _ = try parser.parseExpression()
                try parser.skipSpace(newlines: true)
                if parser.peek(.dot), parser.peek(.dot, offset: 1), parser.peek(.dot, offset: 2) {
                    parser.pos += 3
                    try parser.skipSpace(newlines: true)
                    break
                }
                guard parser.peek(.comma) else { break }
                parser.pos += 1
            }
            try parser.expectClose(.closeParen, opener: open)
        }
    }

    private mutating func parseTuple() throws(HCLError) -> Parsed {
        let start = pos
        pos += 1
        var elements: [JSONValue]? = []
        try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
            while true {
                try parser.skipSpace(newlines: true)
                if parser.peek(.closeBracket) { break }
                try parser.expectMore(opener: start)
                let element = try parser.parseExpression()
                if let value = element.value { elements?.append(value) } else { elements = nil }
                try parser.skipSpace(newlines: true)
                guard parser.peek(.comma) else { break }
                parser.pos += 1
            }
            try parser.expectClose(.closeBracket, opener: start)
        }
        return Parsed(value: elements.map(JSONValue.array), start: start, end: pos)
    }

    /// `{ key = value, "key": value \n (expr) = value }`: items end at a comma or a newline.
    private mutating func parseObject() throws(HCLError) -> Parsed {
        let start = pos
        pos += 1
        var members: OrderedDictionary<String, JSONValue>? = [:]
        let saved = newlinesAreSpace
        newlinesAreSpace = false
        defer { newlinesAreSpace = saved }
        while true {
            try skipSpace(newlines: true)
            guard pos < bytes.count else { throw error(at: start, "unbalanced brackets: this { is never closed") }
            if bytes[pos] == .closeBrace { break }
            let keyStart = pos
            let key = try parseObjectKey()
            try skipSpace(newlines: false)
            guard peek(.equals) || peek(.colon) else {
                throw error(at: pos, "unexpected \(describeToken(at: pos)); expected = or : after an object key")
            }
            pos += 1
            try skipSpace(newlines: false)
            let value = try parseExpression()
            if let key, let value = value.value, members != nil {
                if members?[key] != nil { throw error(at: keyStart, "duplicate object key \"\(key)\"") }
                members?[key] = value
            } else {
                members = nil
            }
            try skipSpace(newlines: false)
            if peek(.comma) || peek(.newline) {
                pos += 1
            } else if !peek(.closeBrace) {
                if pos >= bytes.count { throw error(at: start, "unbalanced brackets: this { is never closed") }
                throw error(at: pos, "unexpected \(describeToken(at: pos)); expected a comma, a newline or } after an object item")
            }
        }
        pos += 1
        return Parsed(value: members.map(JSONValue.object), start: start, end: pos)
    }

    /// A bare identifier names itself; other keys are expressions whose literal value becomes
    /// the key. Returns nil when the key is not literal.
    private mutating func parseObjectKey() throws(HCLError) -> String? {
        if identifierStart() != nil {
            let save = pos
            let name = readIdentifier()
            try skipSpace(newlines: false)
            if (peek(.equals) && !peek(.equals, offset: 1)) || peek(.colon) { return name }
            pos = save
        }
        let key = try parseBinary(minimumPrecedence: 1)
        switch key.value {
        case .string(let string): return string
        case .int(let number): return String(number)
        case .double(let number): return JSONValue.formatDouble(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    private func startsForExpression() -> Bool {
        var probe = pos + 1
        while probe < bytes.count, bytes[probe].isSpace || bytes[probe] == .newline { probe += 1 }
        guard probe + 3 < bytes.count, bytes[probe] == UInt8(ascii: "f"), bytes[probe + 1] == UInt8(ascii: "o"),
              bytes[probe + 2] == UInt8(ascii: "r") else { return false }
        return bytes[probe + 3].isSpace || bytes[probe + 3] == .newline
    }

    /// `[for k, v in xs : expr if cond]` or `{for k, v in m : key => value... if cond}`, kept as text.
    private mutating func parseForExpression() throws(HCLError) -> Parsed {
        let start = pos
        let isObject = bytes[pos] == .openBrace
        pos += 1
        try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
            try parser.skipSpace(newlines: true)
            _ = parser.readIdentifier() // "for"
            try parser.expectIdentifier(what: "a variable name after for")
            if parser.peek(.comma) {
                parser.pos += 1
                try parser.expectIdentifier(what: "a second variable name after the comma")
            }
            guard parser.readKeyword("in") else {
                throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected in")
            }
            try parser.skipSpace(newlines: true)
            _ = try parser.parseExpression()
            try parser.skipSpace(newlines: true)
            guard parser.peek(.colon) else {
                throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected : in a for expression")
            }
            parser.pos += 1
            try parser.skipSpace(newlines: true)
            _ = try parser.parseExpression()
            try parser.skipSpace(newlines: true)
            if isObject {
                guard parser.peek(.equals), parser.peek(.greater, offset: 1) else {
                    throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected => in an object for expression")
                }
                parser.pos += 2
                try parser.skipSpace(newlines: true)
                _ = try parser.parseExpression()
                try parser.skipSpace(newlines: true)
                if parser.peek(.dot), parser.peek(.dot, offset: 1), parser.peek(.dot, offset: 2) {
                    parser.pos += 3
                    try parser.skipSpace(newlines: true)
                }
            }
            if parser.readKeyword("if") {
                try parser.skipSpace(newlines: true)
                _ = try parser.parseExpression()
                try parser.skipSpace(newlines: true)
            }
            try parser.expectClose(isObject ? .closeBrace : .closeBracket, opener: start)
        }
        return Parsed(value: nil, start: start, end: pos)
    }

    // MARK: Numbers

    private mutating func parseNumber(negative: Bool) throws(HCLError) -> Parsed {
        let start = pos
        while pos < bytes.count, bytes[pos].isDigit { pos += 1 }
        var isInteger = true
        if peek(.dot), pos + 1 < bytes.count, bytes[pos + 1].isDigit {
            isInteger = false
            pos += 1
            while pos < bytes.count, bytes[pos].isDigit { pos += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            var probe = pos + 1
            if probe < bytes.count, bytes[probe] == .plus || bytes[probe] == .minus { probe += 1 }
            if probe < bytes.count, bytes[probe].isDigit {
                isInteger = false
                pos = probe
                while pos < bytes.count, bytes[pos].isDigit { pos += 1 }
            }
        }
        let digits = (negative ? "-" : "") + text(start, pos)
        if isInteger {
            guard let integer = Int64(digits) else {
                throw error(at: start, "integer literal does not fit in 64 bits (write it as a string)")
            }
            return Parsed(value: .int(integer), start: start, end: pos)
        }
        guard let double = Double(digits), double.isFinite else {
            throw error(at: start, "number literal is out of range")
        }
        return Parsed(value: .double(double), start: start, end: pos)
    }

    // MARK: Templates

    /// A quoted string (cursor on `"`) or a heredoc body (`heredoc` given), decoded to text.
    /// Interpolations `${...}` and directives `%{...}` are validated and kept verbatim;
    /// `$${` and `%%{` produce `${` and `%{`. Escapes apply to quoted strings only.
    private mutating func parseTemplate(quoted: Bool, heredoc: (end: Int, indent: Int)? = nil) throws(HCLError) -> String {
        let open = pos
        if quoted { pos += 1 }
        var out: [UInt8] = []
        var atLineStart = !quoted
        while true {
            if let heredoc {
                if atLineStart {
                    var skipped = 0
                    while skipped < heredoc.indent, pos < heredoc.end, bytes[pos] == .space || bytes[pos] == .tab {
                        pos += 1
                        skipped += 1
                    }
                    atLineStart = false
                }
                if pos >= heredoc.end { break }
            } else if pos >= bytes.count || bytes[pos] == .newline {
                throw error(at: open, "unterminated string: a quoted string must end with \" on the line it starts")
            }
            let byte = bytes[pos]
            let next = pos + 1 < bytes.count ? bytes[pos + 1] : 0
            let afterNext = pos + 2 < bytes.count ? bytes[pos + 2] : 0
            switch byte {
            case .quote where quoted:
                pos += 1
                return String(decoding: out, as: UTF8.self)
            case .backslash where quoted:
                try decodeEscape(into: &out)
            case .dollar where next == .dollar && afterNext == .openBrace,
                 .percent where next == .percent && afterNext == .openBrace:
                out.append(byte)
                out.append(.openBrace)
                pos += 3
            case .dollar where next == .openBrace:
                let start = pos
                try parseInterpolation()
                if let heredoc, pos > heredoc.end {
                    throw error(at: start, "interpolation runs past the end of the heredoc")
                }
                out.append(contentsOf: bytes[start..<pos])
            case .percent where next == .openBrace:
                let start = pos
                try parseDirective()
                if let heredoc, pos > heredoc.end {
                    throw error(at: start, "template directive runs past the end of the heredoc")
                }
                out.append(contentsOf: bytes[start..<pos])
            default:
                out.append(byte)
                pos += 1
                if byte == .newline { atLineStart = true }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func decodeEscape(into out: inout [UInt8]) throws(HCLError) {
        let start = pos
        guard pos + 1 < bytes.count else { throw error(at: start, "unterminated string: escape at end of input") }
        let kind = bytes[pos + 1]
        pos += 2
        switch kind {
        case UInt8(ascii: "n"): out.append(.newline)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(.tab)
        case .quote: out.append(.quote)
        case .backslash: out.append(.backslash)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = kind == UInt8(ascii: "u") ? 4 : 8
            guard pos + count <= bytes.count,
                  let code = UInt32(text(pos, pos + count), radix: 16),
                  bytes[pos..<pos + count].allSatisfy({ $0.isHexDigit }) else {
                throw error(at: start, "invalid escape: \\\(Character(Unicode.Scalar(kind))) needs \(count) hexadecimal digits")
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw error(at: start, "invalid escape: U+\(String(code, radix: 16, uppercase: true)) is not a Unicode scalar value")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
            pos += count
        default:
            let shown = kind < 0x80 && kind >= 0x20 ? String(Character(Unicode.Scalar(kind))) : "byte \(kind)"
            throw error(at: start, "invalid escape \\\(shown) in a string; use \\n \\r \\t \\\" \\\\ \\uNNNN or \\UNNNNNNNN")
        }
    }

    /// `${ expr }` with optional `~` strip markers; the cursor ends after the `}`.
    private mutating func parseInterpolation() throws(HCLError) {
        let open = pos
        pos += 2
        try enterNesting(at: open)
        defer { depth -= 1 }
        try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
            if parser.peek(.tilde) { parser.pos += 1 }
            try parser.skipSpace(newlines: true)
            _ = try parser.parseExpression()
            try parser.skipSpace(newlines: true)
            if parser.peek(.tilde) { parser.pos += 1 }
            guard parser.peek(.closeBrace) else {
                if parser.pos >= parser.bytes.count { throw parser.error(at: open, "unterminated interpolation: ${ is never closed") }
                throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected } to end the interpolation")
            }
            parser.pos += 1
        }
    }

    /// `%{ if cond }`, `%{ for x in xs }`, `%{ else }`, `%{ endif }`, `%{ endfor }`.
    private mutating func parseDirective() throws(HCLError) {
        let open = pos
        pos += 2
        try enterNesting(at: open)
        defer { depth -= 1 }
        try withNewlinesAsSpace { (parser: inout HCLParser) throws(HCLError) in
            if parser.peek(.tilde) { parser.pos += 1 }
            try parser.skipSpace(newlines: true)
            let keywordStart = parser.pos
            let keyword = parser.identifierStart() != nil ? parser.readIdentifier() : ""
            try parser.skipSpace(newlines: true)
            switch keyword {
            case "if":
                _ = try parser.parseExpression()
            case "for":
                try parser.expectIdentifier(what: "a variable name after for")
                if parser.peek(.comma) {
                    parser.pos += 1
                    try parser.expectIdentifier(what: "a second variable name after the comma")
                }
                guard parser.readKeyword("in") else {
                    throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected in")
                }
                try parser.skipSpace(newlines: true)
                _ = try parser.parseExpression()
            case "else", "endif", "endfor":
                break
            default:
                throw parser.error(at: keywordStart, "unknown template directive; expected if, for, else, endif or endfor")
            }
            try parser.skipSpace(newlines: true)
            if parser.peek(.tilde) { parser.pos += 1 }
            guard parser.peek(.closeBrace) else {
                if parser.pos >= parser.bytes.count { throw parser.error(at: open, "unterminated template directive: %{ is never closed") }
                throw parser.error(at: parser.pos, "unexpected \(parser.describeToken(at: parser.pos)); expected } to end the directive")
            }
            parser.pos += 1
        }
    }

    /// `<<MARKER` or `<<-MARKER`, a newline, lines, and a line holding only the marker.
    /// The indented form removes the smallest indentation of its non-blank lines.
    private mutating func parseHeredoc() throws(HCLError) -> String {
        let start = pos
        pos += 2
        let indented = peek(.minus)
        if indented { pos += 1 }
        guard identifierStart() != nil else {
            throw error(at: pos, "unexpected \(describeToken(at: pos)); expected a heredoc marker name after <<")
        }
        let marker = Array(readIdentifier().utf8)
        if peek(0x0D) { pos += 1 }
        guard peek(.newline) else {
            throw error(at: pos, "unexpected \(describeToken(at: pos)); a heredoc marker must be followed by a newline")
        }
        let contentStart = pos + 1
        var lineStart = contentStart
        var contentEnd = 0
        var afterMarker = 0
        var indent = Int.max
        while true {
            guard lineStart < bytes.count else {
                throw error(at: start, "heredoc without end marker: no line holding \(String(decoding: marker, as: UTF8.self)) closes it")
            }
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != .newline { lineEnd += 1 }
            var first = lineStart
            while first < lineEnd, bytes[first] == .space || bytes[first] == .tab { first += 1 }
            var last = lineEnd
            while last > first, bytes[last - 1] == 0x0D || bytes[last - 1] == .space || bytes[last - 1] == .tab { last -= 1 }
            if bytes[first..<last].elementsEqual(marker) {
                contentEnd = lineStart
                afterMarker = first + marker.count
                break
            }
            if last > first { indent = min(indent, first - lineStart) }
            guard lineEnd < bytes.count else {
                throw error(at: start, "heredoc without end marker: no line holding \(String(decoding: marker, as: UTF8.self)) closes it")
            }
            lineStart = lineEnd + 1
        }
        pos = contentStart
        let value = try parseTemplate(quoted: false, heredoc: (contentEnd, indented && indent != .max ? indent : 0))
        pos = afterMarker
        return value
    }

    // MARK: Lexical helpers

    /// Skips blanks and comments, and newlines when `newlines` is true.
    private mutating func skipSpace(newlines: Bool) throws(HCLError) {
        while pos < bytes.count {
            let byte = bytes[pos]
            if byte.isSpace {
                pos += 1
            } else if byte == .newline {
                guard newlines else { return }
                pos += 1
            } else if byte == .hash || (byte == .slash && peek(.slash, offset: 1)) {
                while pos < bytes.count, bytes[pos] != .newline { pos += 1 }
            } else if byte == .slash && peek(.star, offset: 1) {
                let start = pos
                pos += 2
                while pos < bytes.count, !(bytes[pos] == .star && peek(.slash, offset: 1)) { pos += 1 }
                guard pos < bytes.count else { throw error(at: start, "unterminated comment: /* is never closed by */") }
                pos += 2
            } else {
                return
            }
        }
    }

    private mutating func withNewlinesAsSpace(_ body: (inout HCLParser) throws(HCLError) -> Void) throws(HCLError) {
        let saved = newlinesAreSpace
        newlinesAreSpace = true
        defer { newlinesAreSpace = saved }
        try body(&self)
    }

    private mutating func enterNesting(at offset: Int) throws(HCLError) {
        guard depth < HCLFile.maximumNesting else {
            throw error(at: offset, "nesting too deep: more than \(HCLFile.maximumNesting) levels")
        }
        depth += 1
    }

    private mutating func expectClose(_ closer: UInt8, opener: Int) throws(HCLError) {
        if peek(closer) {
            pos += 1
            return
        }
        let open = Character(Unicode.Scalar(bytes[opener]))
        if pos >= bytes.count {
            throw error(at: opener, "unbalanced brackets: this \(open) is never closed")
        }
        let close = Character(Unicode.Scalar(closer))
        let place = position(opener)
        if bytes[pos] == .closeParen || bytes[pos] == .closeBracket || bytes[pos] == .closeBrace {
            throw error(at: pos, "unbalanced brackets: found \(describeToken(at: pos)) where \(close) should close the \(open) at line \(place.line), column \(place.column)")
        }
        throw error(at: pos, "unexpected \(describeToken(at: pos)); expected a comma or \(close) to close the \(open) at line \(place.line), column \(place.column)")
    }

    /// Refuses end of file inside a bracket, pointing at the bracket that is never closed.
    private func expectMore(opener: Int) throws(HCLError) {
        guard pos >= bytes.count else { return }
        throw error(at: opener, "unbalanced brackets: this \(Character(Unicode.Scalar(bytes[opener]))) is never closed")
    }

    private mutating func expectIdentifier(what: String) throws(HCLError) {
        try skipSpace(newlines: true)
        guard identifierStart() != nil else {
            throw error(at: pos, "unexpected \(describeToken(at: pos)); expected \(what)")
        }
        _ = readIdentifier()
        try skipSpace(newlines: true)
    }

    private mutating func readKeyword(_ keyword: String) -> Bool {
        let save = pos
        if identifierStart() != nil, readIdentifier() == keyword { return true }
        pos = save
        return false
    }

    private func peek(_ byte: UInt8, offset: Int = 0) -> Bool {
        pos + offset < bytes.count && bytes[pos + offset] == byte
    }

    private func isIdentifierStart(_ offset: Int) -> Bool {
        guard offset < bytes.count else { return false }
        let byte = bytes[offset]
        return byte.isLetter || byte == .underscore || byte >= 0x80
    }

    private func identifierStart() -> Int? {
        isIdentifierStart(pos) ? pos : nil
    }

    /// Reads letters, digits, `_` and `-` (HCL identifiers may contain dashes).
    private mutating func readIdentifier() -> String {
        let start = pos
        while pos < bytes.count {
            let byte = bytes[pos]
            guard byte.isLetter || byte.isDigit || byte == .underscore || byte == .minus || byte >= 0x80 else { break }
            pos += 1
        }
        return text(start, pos)
    }

    private func describeToken(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of file" }
        if bytes[offset] == .newline { return "newline" }
        if isIdentifierStart(offset) {
            var end = offset
            while end < bytes.count, end - offset < 40,
                  bytes[end].isLetter || bytes[end].isDigit || bytes[end] == .underscore || bytes[end] == .minus || bytes[end] >= 0x80 {
                end += 1
            }
            return "\"\(text(offset, end))\""
        }
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "\"\(text(offset, end))\""
    }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    // MARK: Positions

    private func position(_ offset: Int) -> HCLPosition {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        var column = 1
        var index = lineStarts[low]
        while index < offset, index < bytes.count {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return HCLPosition(line: low + 1, column: column, offset: offset)
    }

    private func range(_ start: Int, _ end: Int) -> HCLRange {
        HCLRange(filename: filename, start: position(start), end: position(end))
    }

    private func error(at offset: Int, _ message: String) -> HCLError {
        let place = position(offset)
        return HCLError(filename: filename, line: place.line, column: place.column, message: message)
    }
}

private extension UInt8 {
    static let newline = UInt8(ascii: "\n")
    static let tab = UInt8(ascii: "\t")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let dollar = UInt8(ascii: "$")
    static let percent = UInt8(ascii: "%")
    static let tilde = UInt8(ascii: "~")
    static let hash = UInt8(ascii: "#")
    static let slash = UInt8(ascii: "/")
    static let star = UInt8(ascii: "*")
    static let equals = UInt8(ascii: "=")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let dot = UInt8(ascii: ".")
    static let question = UInt8(ascii: "?")
    static let bang = UInt8(ascii: "!")
    static let pipe = UInt8(ascii: "|")
    static let ampersand = UInt8(ascii: "&")
    static let less = UInt8(ascii: "<")
    static let greater = UInt8(ascii: ">")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let underscore = UInt8(ascii: "_")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")

    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isLetter: Bool { (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") }
    var isHexDigit: Bool { isDigit || ((self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "f")) }
    /// Blanks other than newline; a carriage return belongs to the newline that follows it.
    var isSpace: Bool { self == .space || self == .tab || self == 0x0D }
}
