/// The names of the query stages that may follow `|`.
public let queryStageNames: Set<String> = Set(QueryStageKind.allCases.map(\.rawValue))

struct ParseError: Error {
    let message: String
    let span: Span
    var notes: [Diagnostic.Note] = []
}

/// A recursive-descent parser with error recovery: a fault in one statement is reported and
/// parsing resumes at the next line, so a file's syntax errors are all reported in one run.
public struct Parser {
    let file: SourceFile
    var tokens: [Token]
    var index = 0
    var diagnostics: [Diagnostic] = []
    /// Inside brackets and map literals newlines do not end anything.
    var ignoreNewlines = false
    /// In `if`/`while`/`for` headers a `{` starts the body, not a trailing block argument.
    var allowTrailingBlock = true
    var depth = 0
    static let maxDepth = 200
    /// The opening brackets that have a matching closing one, found on the first syntax error.
    var closedBrackets: Set<Int>?

    public init(file: SourceFile) {
        self.file = file
        var lexer = Lexer(file: file)
        self.tokens = lexer.tokenize()
        self.diagnostics = lexer.diagnostics
    }

    init(file: SourceFile, range: Span) {
        self.file = file
        var lexer = Lexer(file: file, range: range)
        self.tokens = lexer.tokenize()
        self.diagnostics = lexer.diagnostics
    }

    /// Parses a whole file; throws every diagnostic found.
    public static func parse(_ file: SourceFile) throws(DiagnosticList) -> Program {
        var parser = Parser(file: file)
        let statements = parser.parseStatements(until: .eof)
        if !parser.diagnostics.isEmpty { throw DiagnosticList(parser.diagnostics) }
        return Program(file: file, statements: statements)
    }

    /// True when the source stops in the middle of a construct (an open bracket, string or
    /// block): the REPL then asks for another line instead of reporting an error.
    public static func isIncomplete(_ file: SourceFile) -> Bool {
        var parser = Parser(file: file)
        _ = parser.parseStatements(until: .eof)
        let end = file.bytes.count
        return parser.diagnostics.contains { d in
            d.location.span.start >= end
                || d.message.hasPrefix("unterminated multi-line string")
                || d.message.hasPrefix("unterminated interpolation")
        }
    }

    // MARK: tokens

    mutating func peekToken() -> Token {
        if ignoreNewlines {
            while tokens[index].kind == .newline { index += 1 }
        }
        return tokens[index]
    }

    mutating func peek() -> TokenKind { peekToken().kind }

    mutating func peekAhead(_ n: Int) -> TokenKind {
        _ = peekToken()
        var i = index
        var count = 0
        while i < tokens.count - 1 {
            if ignoreNewlines, tokens[i].kind == .newline { i += 1; continue }
            if count == n { return tokens[i].kind }
            count += 1
            i += 1
        }
        return .eof
    }

    @discardableResult
    mutating func advance() -> Token {
        let token = peekToken()
        if token.kind != .eof { index += 1 }
        return token
    }

    mutating func check(_ kind: TokenKind) -> Bool { peek() == kind }

    mutating func match(_ kind: TokenKind) -> Bool {
        if peek() == kind { advance(); return true }
        return false
    }

    mutating func expect(_ kind: TokenKind, _ what: String) throws(ParseError) -> Token {
        if peek() == kind { return advance() }
        throw errorAtCurrent("expected \(what)")
    }

    /// `expect` for the bracket that closes the one at token `opener`: when the file never
    /// closes that bracket, the error says where it was opened, the likelier cause.
    mutating func expectClosing(_ kind: TokenKind, _ what: String, opener: Int) throws(ParseError) -> Token {
        if peek() == kind { return advance() }
        var error = errorAtCurrent("expected \(what)")
        if !isClosed(opener) {
            let token = tokens[opener]
            let (line, column) = file.lineAndColumn(of: token.span.start)
            error.notes.append(Diagnostic.Note(
                "the \(Parser.describe(token.kind)) opened at \(line):\(column) is never closed",
                at: SourceLocation(file: file, span: token.span)))
        }
        throw error
    }

    /// Whether the bracket at token `opener` has a matching closing bracket in the file
    /// (a wrong closing bracket before it means it has none).
    mutating func isClosed(_ opener: Int) -> Bool {
        if closedBrackets == nil {
            var closed = Set<Int>()
            var open: [(index: Int, closer: TokenKind)] = []
            for (i, token) in tokens.enumerated() {
                switch token.kind {
                case .lparen: open.append((i, .rparen))
                case .lbracket: open.append((i, .rbracket))
                case .lbrace: open.append((i, .rbrace))
                case .rparen, .rbracket, .rbrace:
                    if open.last?.closer == token.kind { closed.insert(open.removeLast().index) } else { open.removeAll() }
                default: break
                }
            }
            closedBrackets = closed
        }
        return closedBrackets!.contains(opener)
    }

    mutating func errorAtCurrent(_ message: String) -> ParseError {
        let token = peekToken()
        return ParseError(message: message + ", found \(Parser.describe(token.kind))", span: token.span)
    }

    static func describe(_ kind: TokenKind) -> String {
        switch kind {
        case .eof: return "end of input"
        case .newline: return "end of line"
        case .semicolon: return "';'"
        case .identifier(let name): return "'\(name)'"
        case .int(let i): return "number \(i)"
        case .float(let d): return "number \(d)"
        case .duration: return "duration"
        case .string: return "string"
        default:
            let names: [TokenKind: String] = [
                .lparen: "(", .rparen: ")", .lbracket: "[", .rbracket: "]", .lbrace: "{", .rbrace: "}",
                .comma: ",", .colon: ":", .dot: ".", .assign: "=", .pipe: "|", .arrow: "=>", .questionDot: "?.",
                .questionQuestion: "??", .plusAssign: "+=", .minusAssign: "-=", .starAssign: "*=", .slashAssign: "/=",
                .eq: "==", .ne: "!=", .lt: "<", .le: "<=", .gt: ">", .ge: ">=", .plus: "+", .minus: "-", .star: "*",
                .slash: "/", .slashSlash: "//", .percent: "%", .bang: "!", .dotDot: "..", .dotDotLess: "..<",
                .matchOp: "=~", .question: "?",
            ]
            if let n = names[kind] { return "'\(n)'" }
            if let keyword = keywords.first(where: { $0.value == kind }) { return "'\(keyword.key)'" }
            return "token"
        }
    }

    mutating func skipNewlines() {
        while tokens[index].kind == .newline { index += 1 }
    }

    /// Skips the newlines and `;` between statements.
    mutating func skipStatementSeparators() {
        while tokens[index].kind == .newline || tokens[index].kind == .semicolon { index += 1 }
    }

    /// Newlines followed by `|`, `.` or `?.` continue the expression (pipelines, method chains).
    mutating func continuesOnNextLine(_ kinds: [TokenKind]) -> Bool {
        var i = index
        guard tokens[i].kind == .newline else { return kinds.contains(tokens[i].kind) }
        while tokens[i].kind == .newline { i += 1 }
        if kinds.contains(tokens[i].kind) {
            index = i
            return true
        }
        return false
    }

    mutating func withNewlines<T>(ignored: Bool, _ body: (inout Parser) throws(ParseError) -> T) throws(ParseError) -> T {
        let saved = ignoreNewlines
        let savedTrailing = allowTrailingBlock
        ignoreNewlines = ignored
        if ignored { allowTrailingBlock = true }
        defer { ignoreNewlines = saved; allowTrailingBlock = savedTrailing }
        return try body(&self)
    }

    mutating func nest() throws(ParseError) {
        depth += 1
        if depth > Parser.maxDepth {
            throw ParseError(message: "nesting is too deep (more than \(Parser.maxDepth) levels)", span: peekToken().span)
        }
    }

    // MARK: statements

    mutating func parseStatements(until terminator: TokenKind) -> [Stmt] {
        var statements: [Stmt] = []
        while true {
            skipStatementSeparators()
            let kind = tokens[index].kind
            if kind == terminator || kind == .eof { break }
            let statementStart = index
            do {
                let statement = try parseStatement()
                statements.append(statement)
                // a statement ends at a newline, `;`, `}` or end of input
                let next = tokens[index].kind
                if next != .newline && next != .semicolon && next != terminator && next != .eof {
                    if next == .rbrace && terminator == .eof {
                        throw ParseError(message: "unexpected '}' (no block is open)", span: tokens[index].span)
                    }
                    throw errorAtCurrent("expected end of line after statement")
                }
            } catch let error as ParseError {
                report(error)
                synchronize(terminator: terminator, statementStart: statementStart)
            } catch {
                preconditionFailure("parser threw \(error)")
            }
        }
        return statements
    }

    mutating func report(_ error: ParseError) {
        if let last = diagnostics.last, last.location.span.start == error.span.start { return }
        diagnostics.append(Diagnostic(error.message, at: SourceLocation(file: file, span: error.span), notes: error.notes))
    }

    /// Skips to the end of the broken statement: the next newline or `;` outside brackets, or
    /// the closing brace of the enclosing block. The brackets open where the error was found
    /// count, so a `;` or line break inside them does not end the statement; those never
    /// closed do not, or the rest of the file would be skipped.
    mutating func synchronize(terminator: TokenKind, statementStart: Int) {
        ignoreNewlines = false
        allowTrailingBlock = true
        depth = 0
        var openers: [Int] = []
        for i in statementStart..<index {
            switch tokens[i].kind {
            case .lparen, .lbracket, .lbrace: openers.append(i)
            case .rparen, .rbracket, .rbrace: _ = openers.popLast()
            default: break
            }
        }
        var nesting = openers.filter { isClosed($0) }.count
        while tokens[index].kind != .eof {
            switch tokens[index].kind {
            case .lparen, .lbracket, .lbrace: nesting += 1
            case .rparen, .rbracket: nesting = max(0, nesting - 1)
            case .rbrace:
                if nesting == 0 { if terminator == .rbrace { return } } else { nesting -= 1 }
            case .newline where nesting == 0, .semicolon where nesting == 0: return
            default: break
            }
            index += 1
        }
    }

    mutating func parseBlock() throws(ParseError) -> Block {
        let open = try expect(.lbrace, "'{'")
        try nest()
        defer { depth -= 1 }
        let saved = ignoreNewlines, savedTrailing = allowTrailingBlock
        ignoreNewlines = false
        allowTrailingBlock = true
        let statements = parseStatements(until: .rbrace)
        ignoreNewlines = saved
        allowTrailingBlock = savedTrailing
        guard tokens[index].kind == .rbrace else {
            let line = file.line(of: open.span.start)
            if tokens[index].kind == .eof {
                throw ParseError(message: "expected '}' to close the block opened at line \(line)", span: tokens[index].span)
            }
            throw ParseError(message: "expected '}' to close the block opened here", span: open.span)
        }
        let close = advance()
        return Block(statements: statements, span: open.span.to(close.span))
    }

    mutating func identifier(_ what: String) throws(ParseError) -> (String, Span) {
        let token = peekToken()
        if case .identifier(let name) = token.kind {
            advance()
            return (name, token.span)
        }
        throw errorAtCurrent("expected \(what)")
    }

    mutating func parseStatement() throws(ParseError) -> Stmt {
        let start = peekToken().span
        switch peek() {
        case .kwLet, .kwVar:
            let mutable = advance().kind == .kwVar
            let (name, nameSpan) = try identifier("a name after '\(mutable ? "var" : "let")'")
            _ = try expect(.assign, "'=' after the name (every binding needs a value)")
            skipNewlines()
            let value = try parseExpression()
            return Stmt(.binding(name: name, mutable: mutable, value: value, nameSpan: nameSpan), start.to(value.span))
        case .kwFn:
            if case .identifier = peekAhead(1) {
                advance()
                let decl = try parseFunctionRest(start: start, named: true)
                return Stmt(.function(decl), decl.span)
            }
        case .kwFor:
            advance()
            let (key, _) = try identifier("a loop variable after 'for'")
            var value: String?
            if match(.comma) { value = try identifier("a second loop variable").0 }
            _ = try expect(.kwIn, "'in' after the loop variable")
            let iterable = try parseHeaderExpression()
            let body = try parseBlock()
            return Stmt(.forIn(key: key, value: value, iterable: iterable, body: body), start.to(body.span))
        case .kwWhile:
            advance()
            let condition = try parseHeaderExpression()
            let body = try parseBlock()
            return Stmt(.whileLoop(condition: condition, body: body), start.to(body.span))
        case .kwBreak:
            advance()
            return Stmt(.breakLoop, start)
        case .kwContinue:
            advance()
            return Stmt(.continueLoop, start)
        case .kwReturn:
            advance()
            switch tokens[index].kind {
            case .newline, .semicolon, .rbrace, .eof: return Stmt(.returnValue(nil), start)
            default:
                let value = try parseExpression()
                return Stmt(.returnValue(value), start.to(value.span))
            }
        case .kwTry:
            advance()
            let body = try parseBlock()
            skipNewlinesBefore(.kwCatch)
            _ = try expect(.kwCatch, "'catch' after the try block")
            var errorName: String?
            if case .identifier(let name) = peek() { advance(); errorName = name }
            let handler = try parseBlock()
            return Stmt(.tryCatch(body: body, errorName: errorName, handler: handler), start.to(handler.span))
        case .kwParam:
            advance()
            let (name, _) = try identifier("a parameter name after 'param'")
            _ = try expect(.assign, "'=' and a default value (the default gives the parameter its type)")
            let value = try parseExpression()
            var doc: String?
            var end = value.span
            if case .string(let parts) = peek(), parts.count == 1, case .text(let text) = parts[0] {
                end = advance().span
                doc = text
            }
            return Stmt(.param(name: name, defaultValue: value, doc: doc), start.to(end))
        case .kwImport:
            advance()
            let token = peekToken()
            guard case .string(let parts) = token.kind, parts.count == 1, case .text(let path) = parts[0] else {
                throw errorAtCurrent("expected a module path string after 'import' (\"std/jobs\" or \"./lib.furrow\")")
            }
            advance()
            var alias: String?
            var end = token.span
            if match(.kwAs) {
                let (name, span) = try identifier("a name after 'as'")
                alias = name
                end = span
            }
            return Stmt(.importModule(path: path, alias: alias), start.to(end))
        default:
            break
        }
        let expr = try parseExpression()
        let op: AssignOp?
        switch peek() {
        case .assign: op = .set
        case .plusAssign: op = .add
        case .minusAssign: op = .sub
        case .starAssign: op = .mul
        case .slashAssign: op = .div
        default: op = nil
        }
        if let op {
            let opToken = advance()
            switch expr.kind {
            case .name, .member(_, _, false), .index: break
            default: throw ParseError(message: "cannot assign to this expression", span: expr.span.to(opToken.span))
            }
            skipNewlines()
            let value = try parseExpression()
            return Stmt(.assign(target: expr, op: op, value: value), expr.span.to(value.span))
        }
        return Stmt(.expr(expr), expr.span)
    }

    mutating func skipNewlinesBefore(_ kind: TokenKind) {
        var i = index
        while tokens[i].kind == .newline { i += 1 }
        if tokens[i].kind == kind { index = i }
    }

    /// An expression in a statement header, where `{` begins the body.
    mutating func parseHeaderExpression() throws(ParseError) -> Expr {
        let saved = allowTrailingBlock
        allowTrailingBlock = false
        defer { allowTrailingBlock = saved }
        return try parseExpression()
    }

    mutating func parseFunctionRest(start: Span, named: Bool) throws(ParseError) -> FunctionDecl {
        var name: String?
        if named { name = try identifier("a function name").0 }
        _ = try expect(.lparen, "'(' to start the parameter list")
        let parameters = try parseParameters(closing: .rparen)
        let body = try parseBlock()
        return FunctionDecl(name: name, parameters: parameters, body: body, span: start.to(body.span), isExpressionBody: false)
    }

    /// Parameters after '(' up to and including the closing token.
    mutating func parseParameters(closing: TokenKind) throws(ParseError) -> [Parameter] {
        let opener = index - 1
        return try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> [Parameter] in
            var parameters: [Parameter] = []
            var seenDefault = false
            while !p.check(closing) {
                let (name, span) = try p.identifier("a parameter name")
                if parameters.contains(where: { $0.name == name }) {
                    throw ParseError(message: "duplicate parameter '\(name)'", span: span)
                }
                var defaultValue: Expr?
                if p.match(.assign) {
                    defaultValue = try p.parseExpression()
                    seenDefault = true
                } else if seenDefault {
                    throw ParseError(message: "parameter '\(name)' needs a default value (it follows one that has one)", span: span)
                }
                parameters.append(Parameter(name: name, defaultValue: defaultValue, span: span))
                if !p.match(.comma) { break }
            }
            _ = try p.expectClosing(closing, "')' after the parameters", opener: opener)
            return parameters
        }
    }

    // MARK: expressions

    mutating func parseExpression() throws(ParseError) -> Expr {
        var expr = try parseOr()
        while continuesOnNextLine([.pipe]) {
            advance()
            skipNewlines()
            let stage = try parseStage()
            expr = Expr(.pipe(expr, stage.0), expr.span.to(stage.1))
        }
        return expr
    }

    mutating func parseStage() throws(ParseError) -> (Stage, Span) {
        let token = peekToken()
        if case .identifier(let name) = token.kind, queryStageNames.contains(name) {
            advance()
            var arguments: [QueryArgument] = []
            var end = token.span
            let next = tokens[index]
            let parenthesized = next.kind == .lparen && !next.precededBySpace
            if parenthesized {
                let opener = index
                advance()
                try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) in
                    while !p.check(.rparen) {
                        arguments.append(try p.parseQueryArgument(stage: name))
                        if !p.match(.comma) { break }
                    }
                    end = try p.expectClosing(.rparen, "')' after the stage arguments", opener: opener).span
                }
            } else if case .identifier(let word) = tokens[index].kind, word == "desc" || word == "asc",
                stageArgumentsEnd(tokens[index + 1].kind)
            {
                // `| sort_by desc`: the items themselves, descending
            } else if !stageArgumentsEnd(tokens[index].kind) {
                // only select takes several arguments; elsewhere a comma belongs to the enclosing call
                repeat {
                    let argument = try parseQueryArgument(stage: name)
                    arguments.append(argument)
                    end = argument.value.span
                } while name == "select" && match(.comma)
            }
            var descending = false
            if case .identifier(let word) = tokens[index].kind, word == "desc" || word == "asc" {
                descending = word == "desc"
                end = advance().span
            }
            return (.query(name: name, arguments: arguments, descending: descending), token.span.to(end))
        }
        let callee = try parsePostfix()
        if case .call(let inner, let arguments) = callee.kind {
            return (.call(callee: inner, arguments: arguments), callee.span)
        }
        return (.call(callee: callee, arguments: []), callee.span)
    }

    func stageArgumentsEnd(_ kind: TokenKind) -> Bool {
        switch kind {
        case .newline, .semicolon, .eof, .pipe, .rparen, .rbracket, .rbrace, .comma: return true
        default: return false
        }
    }

    mutating func parseQueryArgument(stage: String) throws(ParseError) -> QueryArgument {
        if case .identifier(let name) = peek(), peekAhead(1) == .colon {
            advance(); advance()
            return QueryArgument(label: name, value: try parseOr())
        }
        if stage == "select", case .identifier(let name) = peek(), stageArgumentsEnd(peekAhead(1)) || peekAhead(1) == .comma {
            let span = advance().span
            return QueryArgument(label: name, value: Expr(.itemField(name), span))
        }
        let value = try parseOr()
        var label: String?
        if stage == "select", case .itemField(let name) = value.kind { label = name }
        return QueryArgument(label: label, value: value)
    }

    mutating func parseOr() throws(ParseError) -> Expr {
        var left = try parseAnd()
        while match(.kwOr) {
            skipNewlines()
            let right = try parseAnd()
            left = Expr(.binary(.or, left, right), left.span.to(right.span))
        }
        return left
    }

    mutating func parseAnd() throws(ParseError) -> Expr {
        var left = try parseNot()
        while match(.kwAnd) {
            skipNewlines()
            let right = try parseNot()
            left = Expr(.binary(.and, left, right), left.span.to(right.span))
        }
        return left
    }

    mutating func parseNot() throws(ParseError) -> Expr {
        let token = peekToken()
        if token.kind == .kwNot || token.kind == .bang {
            advance()
            try nest()
            defer { depth -= 1 }
            let operand = try parseNot()
            return Expr(.unary(.not, operand), token.span.to(operand.span))
        }
        return try parseComparison()
    }

    mutating func parseComparison() throws(ParseError) -> Expr {
        var left = try parseCoalesce()
        while true {
            let op: BinaryOp
            switch peek() {
            case .eq: op = .eq
            case .ne: op = .ne
            case .lt: op = .lt
            case .le: op = .le
            case .gt: op = .gt
            case .ge: op = .ge
            case .matchOp: op = .match
            case .kwIn: op = .contains
            case .kwNot where peekAhead(1) == .kwIn:
                advance()
                op = .notContains
            default: return left
            }
            advance()
            skipNewlines()
            let right = try parseCoalesce()
            left = Expr(.binary(op, left, right), left.span.to(right.span))
        }
    }

    mutating func parseCoalesce() throws(ParseError) -> Expr {
        let left = try parseRange()
        if match(.questionQuestion) {
            skipNewlines()
            let right = try parseCoalesce()
            return Expr(.binary(.coalesce, left, right), left.span.to(right.span))
        }
        return left
    }

    mutating func parseRange() throws(ParseError) -> Expr {
        let left = try parseAdditive()
        let kind = peek()
        if kind == .dotDot || kind == .dotDotLess {
            advance()
            let right = try parseAdditive()
            return Expr(.range(left, right, inclusive: kind == .dotDot), left.span.to(right.span))
        }
        return left
    }

    mutating func parseAdditive() throws(ParseError) -> Expr {
        var left = try parseMultiplicative()
        while true {
            let op: BinaryOp
            switch peek() {
            case .plus: op = .add
            case .minus: op = .sub
            default: return left
            }
            advance()
            skipNewlines()
            let right = try parseMultiplicative()
            left = Expr(.binary(op, left, right), left.span.to(right.span))
        }
    }

    mutating func parseMultiplicative() throws(ParseError) -> Expr {
        var left = try parseUnary()
        while true {
            let op: BinaryOp
            switch peek() {
            case .star: op = .mul
            case .slash: op = .div
            case .slashSlash: op = .floorDiv
            case .percent: op = .mod
            default: return left
            }
            advance()
            skipNewlines()
            let right = try parseUnary()
            left = Expr(.binary(op, left, right), left.span.to(right.span))
        }
    }

    mutating func parseUnary() throws(ParseError) -> Expr {
        let token = peekToken()
        if token.kind == .minus {
            advance()
            // The lexer gives 9223372036854775808 as Int64.min: here it is -2^63.
            if case .int(Int64.min) = peekToken().kind {
                let literal = peekToken()
                advance()
                return Expr(.int(Int64.min), token.span.to(literal.span))
            }
            try nest()
            defer { depth -= 1 }
            let operand = try parseUnary()
            switch operand.kind {
            case .int(let i) where i != Int64.min: return Expr(.int(-i), token.span.to(operand.span))
            case .float(let d): return Expr(.float(-d), token.span.to(operand.span))
            case .duration(let d): return Expr(.duration(-d), token.span.to(operand.span))
            default: return Expr(.unary(.negate, operand), token.span.to(operand.span))
            }
        }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws(ParseError) -> Expr {
        var expr = try parsePrimary()
        while true {
            let token = tokens[index]
            switch token.kind {
            case .lparen:
                // a call; a '(' on the next line starts a new statement (the newline token stops us)
                advance()
                var arguments = try parseArguments()
                let close = tokens[index - 1].span
                var end = close
                if allowTrailingBlock, tokens[index].kind == .lbrace {
                    let block = try parseTrailingBlock()
                    arguments.append(Argument(label: nil, value: block))
                    end = block.span
                }
                expr = Expr(.call(callee: expr, arguments: arguments), expr.span.to(end))
            case .lbrace where allowTrailingBlock && isCallable(expr):
                let block = try parseTrailingBlock()
                expr = Expr(.call(callee: expr, arguments: [Argument(label: nil, value: block)]), expr.span.to(block.span))
            case .lbracket:
                let opener = index
                advance()
                let indexExpr = try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> Expr in
                    let e = try p.parseExpression()
                    _ = try p.expectClosing(.rbracket, "']' after the index", opener: opener)
                    return e
                }
                expr = Expr(.index(expr, indexExpr), expr.span.to(tokens[index - 1].span))
            case .dot, .questionDot, .newline:
                guard continuesOnNextLine([.dot, .questionDot]) else { return expr }
                let optional = advance().kind == .questionDot
                let (name, span) = try identifier("a member name after '.'")
                expr = Expr(.member(expr, name: name, optional: optional), expr.span.to(span))
            default:
                return expr
            }
        }
    }

    /// A trailing block `{ ... }` after a call is passed as a function argument (as in Swift):
    /// only after a name or member access, so `x {` elsewhere stays an error.
    func isCallable(_ expr: Expr) -> Bool {
        switch expr.kind {
        case .member, .name: return true
        default: return false
        }
    }

    mutating func parseTrailingBlock() throws(ParseError) -> Expr {
        let block = try parseBlock()
        let decl = FunctionDecl(name: nil, parameters: [], body: block, span: block.span, isExpressionBody: false)
        return Expr(.function(decl), block.span)
    }

    /// A name usable as an argument label: identifiers and keywords (`if:` in `t.update(k, v, if: {...})`).
    static func labelName(_ kind: TokenKind) -> String? {
        if case .identifier(let name) = kind { return name }
        return keywords.first(where: { $0.value == kind })?.key
    }

    /// Arguments after '(' up to and including ')'.
    mutating func parseArguments() throws(ParseError) -> [Argument] {
        let opener = index - 1
        return try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> [Argument] in
            var arguments: [Argument] = []
            while !p.check(.rparen) {
                if let name = Parser.labelName(p.peek()), p.peekAhead(1) == .colon {
                    let labelSpan = p.advance().span
                    p.advance()
                    if arguments.contains(where: { $0.label == name }) {
                        throw ParseError(message: "argument '\(name)' is given twice", span: labelSpan)
                    }
                    arguments.append(Argument(label: name, value: try p.parseExpression()))
                } else {
                    arguments.append(Argument(label: nil, value: try p.parseExpression()))
                }
                if !p.match(.comma) { break }
            }
            _ = try p.expectClosing(.rparen, "')' or ',' in the argument list", opener: opener)
            return arguments
        }
    }

    mutating func parsePrimary() throws(ParseError) -> Expr {
        let token = peekToken()
        switch token.kind {
        case .int(let i):
            if i == Int64.min { throw ParseError(message: "integer literal is too large (the limit is \(Int64.max))", span: token.span) }
            advance()
            return Expr(.int(i), token.span)
        case .float(let d): advance(); return Expr(.float(d), token.span)
        case .duration(let d): advance(); return Expr(.duration(d), token.span)
        case .kwTrue: advance(); return Expr(.bool(true), token.span)
        case .kwFalse: advance(); return Expr(.bool(false), token.span)
        case .kwNull: advance(); return Expr(.null, token.span)
        case .string(let parts):
            advance()
            return try stringExpr(parts, token.span)
        case .identifier(let name):
            advance()
            if tokens[index].kind == .arrow {
                advance()
                return try lambdaBody(parameters: [Parameter(name: name, defaultValue: nil, span: token.span)], start: token.span)
            }
            return Expr(.name(name), token.span)
        case .dot:
            advance()
            let (name, span) = try identifier("a field name after '.' (item expressions look like .state)")
            return Expr(.itemField(name), token.span.to(span))
        case .lparen:
            if isLambdaAhead() {
                advance()
                let parameters = try parseParameters(closing: .rparen)
                _ = try expect(.arrow, "'=>'")
                return try lambdaBody(parameters: parameters, start: token.span)
            }
            let opener = index
            advance()
            try nest()
            defer { depth -= 1 }
            return try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> Expr in
                let inner = try p.parseExpression()
                let close = try p.expectClosing(.rparen, "')'", opener: opener)
                return Expr(inner.kind, token.span.to(close.span))
            }
        case .lbracket:
            let opener = index
            advance()
            try nest()
            defer { depth -= 1 }
            return try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> Expr in
                var elements: [Expr] = []
                while !p.check(.rbracket) {
                    elements.append(try p.parseExpression())
                    if !p.match(.comma) { break }
                }
                let close = try p.expectClosing(.rbracket, "']' or ',' in the list", opener: opener)
                return Expr(.list(elements), token.span.to(close.span))
            }
        case .lbrace:
            let opener = index
            advance()
            try nest()
            defer { depth -= 1 }
            return try withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> Expr in
                var entries: [(key: Expr, value: Expr)] = []
                while !p.check(.rbrace) {
                    let keyToken = p.peekToken()
                    let key: Expr
                    switch keyToken.kind {
                    case .identifier(let name):
                        p.advance()
                        key = Expr(.string(name), keyToken.span)
                    case .string(let parts):
                        p.advance()
                        key = try p.stringExpr(parts, keyToken.span)
                    default:
                        if let word = keywords.first(where: { $0.value == keyToken.kind })?.key {
                            p.advance()
                            key = Expr(.string(word), keyToken.span)
                        } else {
                            throw p.errorAtCurrent("expected a key (a name or a string) in the map")
                        }
                    }
                    _ = try p.expect(.colon, "':' after the map key")
                    entries.append((key, try p.parseExpression()))
                    if !p.match(.comma) { break }
                }
                let close = try p.expectClosing(.rbrace, "'}' or ',' in the map", opener: opener)
                return Expr(.map(entries), token.span.to(close.span))
            }
        case .kwFn:
            advance()
            let decl = try parseFunctionRest(start: token.span, named: false)
            return Expr(.function(decl), decl.span)
        case .kwIf:
            return try parseIf()
        default:
            throw errorAtCurrent("expected an expression")
        }
    }

    mutating func parseIf() throws(ParseError) -> Expr {
        let start = advance().span
        // The blocks count one level each (`parseBlock`); the `if` itself counts only while
        // its condition is read and for an `else if`, so `if` blocks nest as deep as others.
        try nest()
        let condition: Expr
        do {
            defer { depth -= 1 }
            condition = try parseHeaderExpression()
        }
        let thenBlock = try withNewlines(ignored: false) { (p: inout Parser) throws(ParseError) -> Block in try p.parseBlock() }
        var elseBlock: Block?
        skipNewlinesBefore(.kwElse)
        if match(.kwElse) {
            if check(.kwIf) {
                try nest()
                defer { depth -= 1 }
                let nested = try parseIf()
                elseBlock = Block(statements: [Stmt(.expr(nested), nested.span)], span: nested.span)
            } else {
                elseBlock = try parseBlock()
            }
        }
        return Expr(.ifElse(condition: condition, then: thenBlock, else: elseBlock), start.to(elseBlock?.span ?? thenBlock.span))
    }

    /// `(a, b) => ...`: a parenthesised name list followed by `=>`.
    mutating func isLambdaAhead() -> Bool {
        var i = index + 1
        var nesting = 0
        while i < tokens.count {
            switch tokens[i].kind {
            case .lparen, .lbracket, .lbrace: nesting += 1
            case .rparen:
                if nesting == 0 {
                    return i + 1 < tokens.count && tokens[i + 1].kind == .arrow
                }
                nesting -= 1
            case .rbracket, .rbrace: nesting -= 1
            case .eof: return false
            default: break
            }
            i += 1
        }
        return false
    }

    mutating func lambdaBody(parameters: [Parameter], start: Span) throws(ParseError) -> Expr {
        if check(.lbrace) && !isMapLiteralAhead() {
            let body = try parseBlock()
            let decl = FunctionDecl(name: nil, parameters: parameters, body: body, span: start.to(body.span), isExpressionBody: false)
            return Expr(.function(decl), decl.span)
        }
        // An expression body is a level of nesting, as a block body is.
        try nest()
        defer { depth -= 1 }
        let value = try parseExpression()
        let body = Block(statements: [Stmt(.expr(value), value.span)], span: value.span)
        let decl = FunctionDecl(name: nil, parameters: parameters, body: body, span: start.to(value.span), isExpressionBody: true)
        return Expr(.function(decl), decl.span)
    }

    /// `x => { a: 1 }` returns a map; `x => { stmt }` is a block body.
    mutating func isMapLiteralAhead() -> Bool {
        let first = peekAhead(1), second = peekAhead(2)
        if first == .rbrace { return false }
        if second == .colon {
            if case .identifier = first { return true }
            if case .string = first { return true }
        }
        return false
    }

    mutating func stringExpr(_ parts: [StringPart], _ span: Span) throws(ParseError) -> Expr {
        if parts.count == 1, case .text(let text) = parts[0] { return Expr(.string(text), span) }
        var out: [TemplatePart] = []
        for part in parts {
            switch part {
            case .text(let text): out.append(.text(text))
            case .interpolation(let range):
                try nest()
                defer { depth -= 1 }
                var inner = Parser(file: file, range: range)
                inner.depth = depth
                inner.skipNewlines()
                if inner.tokens[inner.index].kind == .eof {
                    throw ParseError(message: "empty interpolation '${}'", span: range)
                }
                do {
                    let expr = try inner.withNewlines(ignored: true) { (p: inout Parser) throws(ParseError) -> Expr in
                        try p.parseExpression()
                    }
                    inner.skipNewlines()
                    if inner.tokens[inner.index].kind != .eof {
                        throw inner.errorAtCurrent("expected '}' to end the interpolation")
                    }
                    diagnostics.append(contentsOf: inner.diagnostics)
                    out.append(.expr(expr))
                } catch let error as ParseError {
                    diagnostics.append(contentsOf: inner.diagnostics)
                    throw error
                } catch {
                    preconditionFailure("parser threw \(error)")
                }
            }
        }
        return Expr(.template(out), span)
    }
}
