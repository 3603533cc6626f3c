/// A piece of a string literal: literal text, or the source span of an interpolated `${expr}`.
public enum StringPart: Sendable, Hashable {
    case text(String)
    case interpolation(Span)
}

public enum TokenKind: Sendable, Hashable {
    case eof, newline
    /// `;` ends a statement as a newline does, so several fit on one line.
    case semicolon
    case identifier(String)
    case int(Int64)
    case float(Double)
    /// Nanoseconds.
    case duration(Int64)
    case string([StringPart])
    // keywords
    case kwLet, kwVar, kwFn, kwIf, kwElse, kwFor, kwIn, kwWhile, kwBreak, kwContinue, kwReturn
    case kwTry, kwCatch, kwTrue, kwFalse, kwNull, kwParam, kwImport, kwAs, kwAnd, kwOr, kwNot
    // punctuation
    case lparen, rparen, lbracket, rbracket, lbrace, rbrace, comma, colon, dot, questionDot, questionQuestion
    case assign, plusAssign, minusAssign, starAssign, slashAssign
    case eq, ne, lt, le, gt, ge, plus, minus, star, slash, slashSlash, percent, bang, pipe, arrow
    case dotDot, dotDotLess, matchOp, question
}

public struct Token: Sendable {
    public var kind: TokenKind
    public var span: Span
    /// True when a newline or comment separates this token from the previous one.
    public var precededBySpace: Bool
}

let keywords: [String: TokenKind] = [
    "let": .kwLet, "var": .kwVar, "fn": .kwFn, "if": .kwIf, "else": .kwElse, "for": .kwFor, "in": .kwIn,
    "while": .kwWhile, "break": .kwBreak, "continue": .kwContinue, "return": .kwReturn, "try": .kwTry,
    "catch": .kwCatch, "true": .kwTrue, "false": .kwFalse, "null": .kwNull, "param": .kwParam,
    "import": .kwImport, "as": .kwAs, "and": .kwAnd, "or": .kwOr, "not": .kwNot,
]

/// The words Furrow reserves, for completion and help.
public let reservedWords: [String] = keywords.keys.sorted()

/// Turns source bytes into tokens. Errors become diagnostics and lexing goes on, so one
/// run reports every fault of a file.
public struct Lexer {
    let file: SourceFile
    let bytes: [UInt8]
    var pos: Int
    let end: Int
    public private(set) var diagnostics: [Diagnostic] = []

    public init(file: SourceFile, range: Span? = nil) {
        self.file = file
        self.bytes = file.bytes
        self.pos = range?.start ?? 0
        self.end = range?.end ?? file.bytes.count
        // A UTF-8 byte order mark at the start of a file is not part of the program.
        if range == nil, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
    }

    mutating func error(_ message: String, _ span: Span) {
        diagnostics.append(Diagnostic(message, at: SourceLocation(file: file, span: span)))
    }

    func peek(_ offset: Int = 0) -> UInt8 {
        let i = pos + offset
        return i < end ? bytes[i] : 0
    }

    public mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        var spaced = true
        while true {
            // whitespace and comments
            while pos < end {
                let c = bytes[pos]
                if c == 0x20 || c == 0x09 || c == 0x0D { pos += 1; spaced = true }
                else if c == UInt8(ascii: "#") {
                    while pos < end, bytes[pos] != 0x0A { pos += 1 }
                } else if c == UInt8(ascii: "\\"), peek(1) == 0x0A {
                    pos += 2  // explicit line continuation
                    spaced = true
                } else { break }
            }
            if pos >= end {
                tokens.append(Token(kind: .eof, span: Span(end, end), precededBySpace: true))
                return tokens
            }
            let start = pos
            let kind = lexToken()
            if let kind {
                tokens.append(Token(kind: kind, span: Span(start, pos), precededBySpace: spaced))
                spaced = kind == .newline || kind == .semicolon
            }
        }
    }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c >= 0x80
    }
    static func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    mutating func lexToken() -> TokenKind? {
        let start = pos
        let c = bytes[pos]
        if c == 0x0A { pos += 1; return .newline }
        if Lexer.isIdentStart(c) {
            while pos < end, Lexer.isIdentPart(bytes[pos]) { pos += 1 }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            return keywords[text] ?? .identifier(text)
        }
        if Lexer.isDigit(c) { return lexNumber() }
        if c == UInt8(ascii: "\"") {
            if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") { return lexTripleString() }
            return lexString()
        }
        if c == UInt8(ascii: "'") { return lexRawString() }
        pos += 1
        func next(_ ch: Character) -> Bool {
            if pos < end, bytes[pos] == ch.asciiValue! { pos += 1; return true }
            return false
        }
        switch c {
        case UInt8(ascii: "("): return .lparen
        case UInt8(ascii: ")"): return .rparen
        case UInt8(ascii: "["): return .lbracket
        case UInt8(ascii: "]"): return .rbracket
        case UInt8(ascii: "{"): return .lbrace
        case UInt8(ascii: "}"): return .rbrace
        case UInt8(ascii: ","): return .comma
        case UInt8(ascii: ";"): return .semicolon
        case UInt8(ascii: ":"): return .colon
        case UInt8(ascii: "."):
            if next(".") { return next("<") ? .dotDotLess : .dotDot }
            return .dot
        case UInt8(ascii: "?"):
            if next(".") { return .questionDot }
            if next("?") { return .questionQuestion }
            return .question
        case UInt8(ascii: "="):
            if next("=") { return .eq }
            if next(">") { return .arrow }
            if next("~") { return .matchOp }
            return .assign
        case UInt8(ascii: "!"): return next("=") ? .ne : .bang
        case UInt8(ascii: "<"): return next("=") ? .le : .lt
        case UInt8(ascii: ">"): return next("=") ? .ge : .gt
        case UInt8(ascii: "+"): return next("=") ? .plusAssign : .plus
        case UInt8(ascii: "-"): return next("=") ? .minusAssign : .minus
        case UInt8(ascii: "*"): return next("=") ? .starAssign : .star
        case UInt8(ascii: "/"):
            if next("/") { return .slashSlash }
            return next("=") ? .slashAssign : .slash
        case UInt8(ascii: "%"): return .percent
        case UInt8(ascii: "|"): return .pipe
        case UInt8(ascii: "&"):
            if next("&") { return .kwAnd }
        default: break
        }
        // Skip one whole UTF-8 character so the message names it.
        while pos < end, bytes[pos] & 0xC0 == 0x80 { pos += 1 }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        error("unexpected character '\(text)'", Span(start, pos))
        return nil
    }

    static let unitNanos: [String: Int64] = [
        "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
        "d": 86_400_000_000_000, "w": 604_800_000_000_000,
    ]

    mutating func digits() -> String {
        var text = ""
        while pos < end, Lexer.isDigit(bytes[pos]) || (bytes[pos] == UInt8(ascii: "_") && Lexer.isDigit(peek(1))) {
            if bytes[pos] != UInt8(ascii: "_") { text.append(Character(Unicode.Scalar(bytes[pos]))) }
            pos += 1
        }
        return text
    }

    mutating func lexNumber() -> TokenKind? {
        let start = pos
        var text = digits()
        var isFloat = false
        if peek() == UInt8(ascii: "."), Lexer.isDigit(peek(1)) {
            pos += 1
            text += "." + digits()
            isFloat = true
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E"),
            Lexer.isDigit(peek(1)) || ((peek(1) == UInt8(ascii: "-") || peek(1) == UInt8(ascii: "+")) && Lexer.isDigit(peek(2)))
        {
            text.append("e")
            pos += 1
            if !Lexer.isDigit(peek()) { text.append(Character(Unicode.Scalar(bytes[pos]))); pos += 1 }
            text += digits()
            isFloat = true
        }
        // duration: 90s, 1h30m, 250ms, 1.5h
        if pos < end, Lexer.isIdentStart(bytes[pos]) {
            var total: Double = 0
            var numberText = text
            var valid = true
            while true {
                let unitStart = pos
                while pos < end, Lexer.isIdentStart(bytes[pos]) { pos += 1 }
                let unit = String(decoding: bytes[unitStart..<pos], as: UTF8.self)
                guard let nanos = Lexer.unitNanos[unit], let n = Double(numberText) else { valid = false; break }
                total += n * Double(nanos)
                if pos < end, Lexer.isDigit(bytes[pos]) {
                    numberText = digits()
                    if peek() == UInt8(ascii: "."), Lexer.isDigit(peek(1)) { pos += 1; numberText += "." + digits() }
                    if !(pos < end && Lexer.isIdentStart(bytes[pos])) { valid = false; break }
                } else { break }
            }
            while pos < end, Lexer.isIdentPart(bytes[pos]) { pos += 1 }
            if !valid {
                error("invalid number or duration '\(file.slice(Span(start, pos)))' (durations look like 90s, 1h30m, 250ms, 7d)", Span(start, pos))
                return .int(0)
            }
            guard total.magnitude < 9.2e18 else {
                error("duration literal is too large", Span(start, pos))
                return .duration(0)
            }
            return .duration(Int64(total.rounded()))
        }
        if isFloat {
            guard let d = Double(text), d.isFinite else {
                error("number literal is out of range", Span(start, pos))
                return .float(0)
            }
            return .float(d)
        }
        // 2^63 is allowed only after a minus (Int64.min stands for it; the parser checks).
        if text == "9223372036854775808" { return .int(Int64.min) }
        guard let i = Int64(text) else {
            error("integer literal is too large (the limit is \(Int64.max))", Span(start, pos))
            return .int(0)
        }
        return .int(i)
    }

    mutating func lexRawString() -> TokenKind {
        let start = pos
        pos += 1
        let contentStart = pos
        while pos < end, bytes[pos] != UInt8(ascii: "'"), bytes[pos] != 0x0A { pos += 1 }
        guard pos < end, bytes[pos] == UInt8(ascii: "'") else {
            error("unterminated string", Span(start, pos))
            return .string([.text(String(decoding: bytes[contentStart..<pos], as: UTF8.self))])
        }
        let text = String(decoding: bytes[contentStart..<pos], as: UTF8.self)
        pos += 1
        return .string([.text(text)])
    }

    /// Scans `${ ... }` starting after `${`; returns the span of the expression inside.
    /// Only in a `"""` string may the expression span lines.
    mutating func scanInterpolation(stringStart: Int, multiline: Bool = false) -> Span? {
        let exprStart = pos
        var depth = 0
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "{") { depth += 1 }
            else if c == UInt8(ascii: "}") {
                if depth == 0 {
                    let span = Span(exprStart, pos)
                    pos += 1
                    return span
                }
                depth -= 1
            } else if c == UInt8(ascii: "\"") {
                // a nested string inside the interpolation
                if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") { _ = lexTripleString() } else { _ = lexString() }
                continue
            } else if c == UInt8(ascii: "'") {
                _ = lexRawString()
                continue
            } else if c == 0x0A, !multiline {
                break
            }
            pos += 1
        }
        error("unterminated interpolation '${' in string", Span(stringStart, pos))
        return nil
    }

    mutating func lexEscape(into text: inout String) {
        let escStart = pos
        pos += 1
        guard pos < end else { return }
        let e = bytes[pos]
        pos += 1
        switch e {
        case UInt8(ascii: "n"): text += "\n"
        case UInt8(ascii: "t"): text += "\t"
        case UInt8(ascii: "r"): text += "\r"
        case UInt8(ascii: "0"): text += "\0"
        case UInt8(ascii: "\""): text += "\""
        case UInt8(ascii: "'"): text += "'"
        case UInt8(ascii: "\\"): text += "\\"
        case UInt8(ascii: "$"): text += "$"
        case UInt8(ascii: "u"):
            // \u{1F600}
            if peek() == UInt8(ascii: "{") {
                pos += 1
                let hexStart = pos
                while pos < end, bytes[pos] != UInt8(ascii: "}"), pos - hexStart < 8 { pos += 1 }
                let hex = String(decoding: bytes[hexStart..<pos], as: UTF8.self)
                if peek() == UInt8(ascii: "}"), let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
                    pos += 1
                    text.unicodeScalars.append(scalar)
                    return
                }
            }
            error("invalid unicode escape (write \\u{hex})", Span(escStart, pos))
        default:
            error("unknown escape '\\\(Character(Unicode.Scalar(e)))' (known: \\n \\t \\r \\\" \\\\ \\$ \\u{...})", Span(escStart, pos))
        }
    }

    mutating func lexString() -> TokenKind {
        let start = pos
        pos += 1
        var parts: [StringPart] = []
        var text = ""
        while true {
            guard pos < end, bytes[pos] != 0x0A else {
                error("unterminated string", Span(start, pos))
                break
            }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            if c == UInt8(ascii: "\\") { lexEscape(into: &text); continue }
            if c == UInt8(ascii: "$"), peek(1) == UInt8(ascii: "{") {
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                pos += 2
                if let span = scanInterpolation(stringStart: start) { parts.append(.interpolation(span)) } else { break }
                continue
            }
            let runStart = pos
            while pos < end, bytes[pos] != UInt8(ascii: "\""), bytes[pos] != UInt8(ascii: "\\"), bytes[pos] != 0x0A,
                !(bytes[pos] == UInt8(ascii: "$") && peek(1) == UInt8(ascii: "{"))
            {
                pos += 1
            }
            text += String(decoding: bytes[runStart..<pos], as: UTF8.self)
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        return .string(parts)
    }

    /// `"""` strings: the first newline after the opening quotes and the common indentation
    /// of the lines (measured up to the closing quotes' line) are removed.
    mutating func lexTripleString() -> TokenKind {
        let start = pos
        pos += 3
        var rawParts: [StringPart] = []
        var text = ""
        var closed = false
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\""), peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
                pos += 3
                closed = true
                break
            }
            if c == UInt8(ascii: "\\") { lexEscape(into: &text); continue }
            if c == UInt8(ascii: "$"), peek(1) == UInt8(ascii: "{") {
                rawParts.append(.text(text)); text = ""
                pos += 2
                if let span = scanInterpolation(stringStart: start, multiline: true) { rawParts.append(.interpolation(span)) }
                continue
            }
            text.unicodeScalars.append(Unicode.Scalar(c))
            if c >= 0x80 {
                // re-decode multi-byte characters properly
                text.unicodeScalars.removeLast()
                let runStart = pos
                pos += 1
                while pos < end, bytes[pos] & 0xC0 == 0x80 { pos += 1 }
                text += String(decoding: bytes[runStart..<pos], as: UTF8.self)
                continue
            }
            pos += 1
        }
        if !closed { error("unterminated multi-line string (missing \"\"\")", Span(start, pos)) }
        rawParts.append(.text(text))
        return .string(Lexer.dedent(rawParts))
    }

    static func dedent(_ parts: [StringPart]) -> [StringPart] {
        // Work on the literal text with placeholders standing for interpolations.
        // A scalar the literal's own text does not hold (a source may contain any character).
        var placeholderScalar = Unicode.Scalar(0xFFFC)!
        while parts.contains(where: { if case .text(let t) = $0 { t.unicodeScalars.contains(placeholderScalar) } else { false } }) {
            placeholderScalar = Unicode.Scalar(placeholderScalar.value == 0xFFFC ? 0xE000 : placeholderScalar.value + 1)!
        }
        let placeholder = Character(placeholderScalar)
        var joined = ""
        var spans: [Span] = []
        for part in parts {
            switch part {
            case .text(let t): joined += t
            case .interpolation(let s): joined.append(placeholder); spans.append(s)
            }
        }
        var lines = joined.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let first = lines.first, first.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeFirst() }
        var closingIndentOnly = false
        if let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { closingIndentOnly = true }
        let indents = lines.enumerated().compactMap { (i, line) -> Int? in
            let isLast = i == lines.count - 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) && !(isLast && closingIndentOnly) { return nil }
            return line.prefix(while: { $0 == " " || $0 == "\t" }).count
        }
        let common = indents.min() ?? 0
        lines = lines.map { String($0.dropFirst(min(common, $0.prefix(while: { $0 == " " || $0 == "\t" }).count))) }
        if closingIndentOnly { lines.removeLast() }
        let result = lines.joined(separator: "\n")
        var out: [StringPart] = []
        var current = ""
        var spanIndex = 0
        // by scalars: a combining mark after an interpolation joins the placeholder's character
        for scalar in result.unicodeScalars {
            if scalar == placeholderScalar, spanIndex < spans.count {
                if !current.isEmpty { out.append(.text(current)); current = "" }
                out.append(.interpolation(spans[spanIndex]))
                spanIndex += 1
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        if !current.isEmpty || out.isEmpty { out.append(.text(current)) }
        return out
    }
}
