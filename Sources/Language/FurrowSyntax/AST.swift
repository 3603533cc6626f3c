/// The syntax tree. Every node carries the span it came from, for errors.
public struct Expr: Sendable {
    public var kind: ExprKind
    public var span: Span
    public init(_ kind: ExprKind, _ span: Span) { self.kind = kind; self.span = span }
}

public enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case and = "and", or = "or", coalesce = "??", match = "=~", contains = "in", notContains = "not in"
}

public enum UnaryOp: String, Sendable { case negate = "-", not = "not" }

public struct Argument: Sendable {
    public var label: String?
    public var value: Expr
    public init(label: String?, value: Expr) { self.label = label; self.value = value }
}

public enum TemplatePart: Sendable {
    case text(String)
    case expr(Expr)
}

/// A pipeline stage after `|`.
public enum Stage: Sendable {
    /// `x | f(a)` means `f(x, a)`.
    case call(callee: Expr, arguments: [Argument])
    /// A query stage: `where .state == "new"`, `sort_by .updated desc`, `select name, n: .x + 1`, `take 5`.
    case query(name: String, arguments: [QueryArgument], descending: Bool)
}

public struct QueryArgument: Sendable {
    /// `name: expr` in select, or the field name of a bare `select name`.
    public var label: String?
    public var value: Expr
    public init(label: String?, value: Expr) { self.label = label; self.value = value }
}

public indirect enum ExprKind: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case duration(Int64)
    case string(String)
    case template([TemplatePart])
    case name(String)
    /// `.field` inside a query item expression.
    case itemField(String)
    case list([Expr])
    case map([(key: Expr, value: Expr)])
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    case call(callee: Expr, arguments: [Argument])
    case member(Expr, name: String, optional: Bool)
    case index(Expr, Expr)
    case function(FunctionDecl)
    case ifElse(condition: Expr, then: Block, else: Block?)
    case range(Expr, Expr, inclusive: Bool)
    case pipe(Expr, Stage)
}

public struct Block: Sendable {
    public var statements: [Stmt]
    public var span: Span
    public init(statements: [Stmt], span: Span) { self.statements = statements; self.span = span }
}

public struct Parameter: Sendable {
    public var name: String
    public var defaultValue: Expr?
    public var span: Span
    public init(name: String, defaultValue: Expr?, span: Span) { self.name = name; self.defaultValue = defaultValue; self.span = span }
}

public final class FunctionDecl: Sendable {
    public let name: String?
    public let parameters: [Parameter]
    public let body: Block
    public let span: Span
    /// True for `x => expr` lambdas, whose body is one expression.
    public let isExpressionBody: Bool
    public init(name: String?, parameters: [Parameter], body: Block, span: Span, isExpressionBody: Bool) {
        self.name = name; self.parameters = parameters; self.body = body; self.span = span
        self.isExpressionBody = isExpressionBody
    }
}

public enum AssignOp: String, Sendable { case set = "=", add = "+=", sub = "-=", mul = "*=", div = "/=" }

public struct Stmt: Sendable {
    public var kind: StmtKind
    public var span: Span
    public init(_ kind: StmtKind, _ span: Span) { self.kind = kind; self.span = span }
}

public indirect enum StmtKind: Sendable {
    case expr(Expr)
    case binding(name: String, mutable: Bool, value: Expr, nameSpan: Span)
    case assign(target: Expr, op: AssignOp, value: Expr)
    case function(FunctionDecl)
    case forIn(key: String, value: String?, iterable: Expr, body: Block)
    case whileLoop(condition: Expr, body: Block)
    case breakLoop
    case continueLoop
    case returnValue(Expr?)
    case tryCatch(body: Block, errorName: String?, handler: Block)
    case param(name: String, defaultValue: Expr, doc: String?)
    case importModule(path: String, alias: String?)
}

/// A parsed source file.
public struct Program: Sendable {
    public let file: SourceFile
    public let statements: [Stmt]
    public init(file: SourceFile, statements: [Stmt]) { self.file = file; self.statements = statements }
}
