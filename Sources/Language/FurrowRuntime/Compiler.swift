import FurrowSyntax

/// A local variable of the function being compiled.
struct LocalVariable {
    let id: Int
    let slot: Int
    let mutable: Bool
    /// Captured by a nested function: the slot holds a `.cell` shared with closures.
    let boxed: Bool
    let loopVariable: Bool
    /// How many loops of its function enclose the declaration.
    let loopDepth: Int
}

/// Compile-time state of one function (or of a module's top level).
final class FunctionState {
    let parent: FunctionState?
    var scopes: [[String: LocalVariable]] = [[:]]
    /// Per scope, slots set aside when the block was hoisted for the captured variables it
    /// declares (see `Compiler.hoist`).
    var reservedSlots: [[String: Int]] = [[:]]
    var nextSlot = 0
    var maxSlots = 0
    var captureSources: [CaptureSource] = []
    var captureKeys: [String: (index: Int, mutable: Bool)] = [:]
    let boxedNames: Set<String>
    var loopDepth = 0
    /// How many `try` bodies of this function enclose the code being compiled.
    var tryDepth = 0
    /// Where each name is used last in the body (see `LastUses`).
    var lastUses: [String: Int] = [:]
    /// A closure literal passed to `parallel`: it may not assign variables it captured.
    let isParallelTask: Bool
    /// The module's top level: declarations at block depth 0 are module globals.
    let isTopLevel: Bool
    /// An item expression's function version: it reads outer variables, never assigns
    /// them, so it takes copies of their values instead of forcing them into cells.
    var capturesByValue = false
    var functionName: String

    init(parent: FunctionState?, boxedNames: Set<String>, isParallelTask: Bool, isTopLevel: Bool, name: String) {
        self.parent = parent
        self.boxedNames = boxedNames
        self.isParallelTask = isParallelTask
        self.isTopLevel = isTopLevel
        self.functionName = name
    }

    var declaresGlobals: Bool { isTopLevel && scopes.count == 1 }
}

/// What a name refers to, decided at compile time.
enum Binding {
    case local(LocalVariable)
    case capture(index: Int, mutable: Bool)
    case global(Cell, mutable: Bool)
    case builtin(Value)
}

/// Resolves names and compiles the syntax tree into a tree of Swift closures.
///
/// Resolution and compilation are one pass: every undefined name, assignment to a `let`,
/// `break` outside a loop, and captured-variable assignment in a `parallel` closure is a
/// static error reported before anything runs.
final class Compiler {
    let interpreter: Interpreter
    let module: Module
    let file: SourceFile
    var diagnostics: [Diagnostic] = []
    var function: FunctionState
    var nextVariableID = 0
    /// Set while compiling a query stage's item expression: `.field` reads this item.
    var itemDepth = 0
    /// Top-level names of this source declared further down: reading one before its
    /// declaration runs is an error (functions are exempt: they are created first).
    var pendingGlobals: [String: Int] = [:]
    /// Where each top-level name of this source is declared, to report duplicates.
    var declaredHere: [String: Int] = [:]
    /// The globals that code inside functions refers to, and the moves of globals into calls
    /// (`takingCall`), which are switched on once compilation has seen every function.
    var globalsReadInFunctions: Set<ObjectIdentifier> = []
    var globalMoves: [(cell: Cell, move: GlobalMove)] = []

    init(interpreter: Interpreter, module: Module, file: SourceFile, statements: [Stmt]) {
        self.interpreter = interpreter
        self.module = module
        self.file = file
        self.function = FunctionState(
            parent: nil, boxedNames: NameCollector.namesCapturedBy(statements), isParallelTask: false, isTopLevel: true,
            name: "<main>")
        function.lastUses = LastUses.of(statements)
    }

    func location(_ span: Span) -> SourceLocation { SourceLocation(file: file, span: span) }

    func error(_ message: String, _ span: Span) {
        diagnostics.append(Diagnostic(message, at: location(span)))
    }

    // MARK: scopes

    func declareLocal(_ name: String, mutable: Bool, loopVariable: Bool = false) -> LocalVariable {
        let slot: Int
        if let reserved = function.reservedSlots[function.reservedSlots.count - 1].removeValue(forKey: name) {
            slot = reserved
        } else {
            slot = reserveSlot()
        }
        nextVariableID += 1
        let local = LocalVariable(
            id: nextVariableID, slot: slot, mutable: mutable, boxed: function.boxedNames.contains(name), loopVariable: loopVariable,
            loopDepth: function.loopDepth)
        function.scopes[function.scopes.count - 1][name] = local
        return local
    }

    func reserveSlot() -> Int {
        let slot = function.nextSlot
        function.nextSlot += 1
        function.maxSlots = max(function.maxSlots, function.nextSlot)
        return slot
    }

    /// Opens a block scope; returns what `leaveScope` needs to close it.
    func enterScope() -> Int {
        function.scopes.append([:])
        function.reservedSlots.append([:])
        return function.nextSlot
    }

    func leaveScope(_ savedSlot: Int) {
        function.scopes.removeLast()
        function.reservedSlots.removeLast()
        function.nextSlot = savedSlot
    }

    func resolve(_ name: String) -> Binding? {
        for scope in function.scopes.reversed() {
            if let local = scope[name] { return .local(local) }
        }
        if let (index, mutable) = capture(name, in: function) { return .capture(index: index, mutable: mutable) }
        if let cell = module.cells[name] {
            if !function.isTopLevel { globalsReadInFunctions.insert(ObjectIdentifier(cell)) }
            return .global(cell, mutable: module.mutable[name] ?? false)
        }
        if let builtin = interpreter.builtins[name] { return .builtin(builtin) }
        return nil
    }

    /// Finds `name` in the enclosing functions and threads a capture down to `state`.
    func capture(_ name: String, in state: FunctionState) -> (Int, Bool)? {
        guard let parent = state.parent else { return nil }
        for scope in parent.scopes.reversed() {
            if let local = scope[name] {
                let key = "L\(local.id)"
                if let existing = state.captureKeys[key] { return (existing.index, existing.mutable) }
                if !local.boxed {
                    guard state.capturesByValue else { return nil }
                    state.captureSources.append(.value(local.slot))
                    let index = state.captureSources.count - 1
                    state.captureKeys[key] = (index, false)
                    return (index, false)
                }
                state.captureSources.append(.local(local.slot))
                let index = state.captureSources.count - 1
                state.captureKeys[key] = (index, local.mutable)
                return (index, local.mutable)
            }
        }
        guard let (outerIndex, mutable) = capture(name, in: parent) else { return nil }
        let key = "C\(outerIndex)"
        if let existing = state.captureKeys[key] { return (existing.index, existing.mutable) }
        state.captureSources.append(.outer(outerIndex))
        let index = state.captureSources.count - 1
        state.captureKeys[key] = (index, mutable)
        return (index, mutable)
    }

    /// True when assigning `name` from the current function would write a variable shared
    /// with other `parallel` tasks.
    func crossesParallelBoundary(_ name: String) -> Bool {
        var state: FunctionState? = function
        while let s = state {
            if s.scopes.contains(where: { $0[name] != nil }) { return false }
            if s.isParallelTask { return true }
            state = s.parent
        }
        return false
    }

    // MARK: programs

    /// Compiles a module's top level. `echoLast` makes a final expression statement the result (REPL).
    func compileTopLevel(_ statements: [Stmt], echoLast: Bool) -> (code: Code, frameSize: Int) {
        hoist(statements)
        var steps: [StepBox] = []
        var lastValue: CodeBox?
        // Functions exist before any top-level code runs, so helpers may sit at the bottom.
        for statement in statements {
            if case .function = statement.kind { steps.append(StepBox(self.statement(statement))) }
        }
        for (i, statement) in statements.enumerated() {
            if case .function = statement.kind { continue }
            if echoLast, i == statements.count - 1, case .expr(let e) = statement.kind {
                lastValue = CodeBox(expression(e))
            } else {
                steps.append(StepBox(self.statement(statement)))
            }
        }
        let body = sequence(steps)
        for (cell, move) in globalMoves { move.on = !globalsReadInFunctions.contains(ObjectIdentifier(cell)) }
        let frameSize = function.maxSlots
        let final = lastValue
        return ({ (f: Fiber) throws(FurrowError) -> Value in
            let flow = try body(f)
            if flow == .returned { return .null }
            if let final { return try final.run(f) }
            return .null
        }, frameSize)
    }

    /// Declares functions (and at top level, every global) before compiling, so that
    /// functions can call each other whatever their order.
    func hoist(_ statements: [Stmt]) {
        // A hoisted function is made when its block starts, and boxes the variables it
        // captures that the block declares later (see `functionValue`). Their slots are set
        // aside now: were they allocated at the declaration, a nested block or `catch` before
        // it could reuse the slot and overwrite that cell.
        if !function.declaresGlobals, statements.contains(where: Compiler.isFunction) {
            for statement in statements {
                guard case .binding(let name, _, _, _) = statement.kind, function.boxedNames.contains(name),
                    function.reservedSlots[function.reservedSlots.count - 1][name] == nil
                else { continue }
                function.reservedSlots[function.reservedSlots.count - 1][name] = reserveSlot()
            }
        }
        for statement in statements {
            let line = file.line(of: statement.span.start)
            switch statement.kind {
            case .function(let decl):
                if function.declaresGlobals {
                    checkDuplicate(decl.name!, line, statement.span)
                    let cell = module.declare(decl.name!, mutable: false)
                    if !module.redefinesFunctions, module.knownFunctions[ObjectIdentifier(cell)] == nil {
                        module.knownFunctions[ObjectIdentifier(cell)] = FunctionProto(
                            name: decl.name!, parameterNames: decl.parameters.map(\.name), location: location(decl.span))
                    }
                } else if function.scopes.last![decl.name!] == nil {
                    _ = declareLocal(decl.name!, mutable: false)
                } else {
                    error("'\(decl.name!)' is already declared in this block", statement.span)
                }
            case .binding(let name, let mutable, _, _) where function.declaresGlobals:
                checkDuplicate(name, line, statement.span)
                if module.cells[name] == nil { pendingGlobals[name] = line }
                _ = module.declare(name, mutable: mutable)
            case .param(let name, _, _) where function.declaresGlobals:
                checkDuplicate(name, line, statement.span)
                if module.cells[name] == nil { pendingGlobals[name] = line }
                _ = module.declare(name, mutable: false)
            case .importModule(let path, let alias) where function.declaresGlobals:
                let name = alias ?? Interpreter.defaultImportName(path)
                checkDuplicate(name, line, statement.span)
                if module.cells[name] == nil { pendingGlobals[name] = line }
                _ = module.declare(name, mutable: false)
            default: break
            }
        }
    }

    func checkDuplicate(_ name: String, _ line: Int, _ span: Span) {
        if let first = declaredHere[name] {
            error("'\(name)' is already declared at line \(first)", span)
        }
        declaredHere[name] = line
    }

    /// True while compiling top-level code itself (not a function body inside it).
    var inTopLevelCode: Bool { function.isTopLevel }

    // MARK: statements

    /// Runs steps in order until one ends the flow. Steps are captured one by one (in
    /// groups of three, chained), not iterated from an array: loading each step from an
    /// array would retain and release it on every run.
    func sequence(_ steps: [StepBox]) -> Step { sequence(steps[...]) }

    /// A slice, so that a long block is chained without copying its tail at every link.
    func sequence(_ steps: ArraySlice<StepBox>) -> Step {
        let first = steps.startIndex
        switch steps.count {
        case 0: return { _ in .next }
        case 1: return steps[first].run
        case 2:
            let a = steps[first].run, b = steps[first + 1].run
            return { (f: Fiber) throws(FurrowError) -> Flow in
                let flow = try a(f)
                if flow != .next { return flow }
                return try b(f)
            }
        case 3:
            let a = steps[first].run, b = steps[first + 1].run, c = steps[first + 2].run
            return { (f: Fiber) throws(FurrowError) -> Flow in
                var flow = try a(f)
                if flow != .next { return flow }
                flow = try b(f)
                if flow != .next { return flow }
                return try c(f)
            }
        default:
            let a = steps[first].run, b = steps[first + 1].run, c = steps[first + 2].run
            let rest = sequence(steps.dropFirst(3))
            return { (f: Fiber) throws(FurrowError) -> Flow in
                var flow = try a(f)
                if flow != .next { return flow }
                flow = try b(f)
                if flow != .next { return flow }
                flow = try c(f)
                if flow != .next { return flow }
                return try rest(f)
            }
        }
    }

    func block(_ block: Block) -> Step {
        let scope = enterScope()
        defer { leaveScope(scope) }
        hoist(block.statements)
        return sequence(freshCells(statementsFunctionsFirst(block.statements)))
    }

    func statement(_ stmt: Stmt) -> Step {
        switch stmt.kind {
        case .expr(let e):
            if case .ifElse(let condition, let thenBlock, let elseBlock) = e.kind {
                return ifStatement(condition, thenBlock, elseBlock)
            }
            let code = expression(e)
            return { (f: Fiber) throws(FurrowError) -> Flow in
                _ = try code(f)
                return .next
            }
        case .binding(let name, let mutable, let valueExpr, let nameSpan):
            let value = valueCode(valueExpr, name: name)
            if function.declaresGlobals { pendingGlobals[name] = nil }
            else if function.scopes.last![name] != nil {
                error("'\(name)' is already declared in this block", nameSpan)
            }
            return store(declare(name, mutable: mutable), value)
        case .function(let decl):
            let binding: Binding
            var known: FunctionProto?
            if function.declaresGlobals {
                let cell = module.declare(decl.name!, mutable: false)
                known = module.knownFunctions[ObjectIdentifier(cell)]
                binding = .global(cell, mutable: false)
            } else {
                binding = .local(function.scopes.last![decl.name!]!)
            }
            return store(binding, functionValue(decl, isParallelTask: false, proto: known))
        case .assign(let target, let op, let valueExpr):
            return assignment(target, op, valueExpr, span: stmt.span)
        case .forIn(let key, let valueName, let iterable, let body):
            return forLoop(key, valueName, iterable, body, span: stmt.span)
        case .whileLoop(let conditionExpr, let body):
            let (inline, condition) = self.condition(conditionExpr)
            function.loopDepth += 1
            let bodyStep = block(body)
            function.loopDepth -= 1
            let where_ = location(stmt.span)
            if let inline { return whileLoop(inline, bodyStep, where_) }
            return { (f: Fiber) throws(FurrowError) -> Flow in try Compiler.runWhile(f, bodyStep, where_, condition) }
        case .breakLoop:
            if function.loopDepth == 0 { error("'break' outside a loop", stmt.span) }
            return { _ in .breakLoop }
        case .continueLoop:
            if function.loopDepth == 0 { error("'continue' outside a loop", stmt.span) }
            return { _ in .continueLoop }
        case .returnValue(let valueExpr):
            if function.isTopLevel {
                error("'return' outside a function (use exit(code) to end a script)", stmt.span)
            }
            guard let valueExpr else {
                return { (f: Fiber) throws(FurrowError) -> Flow in
                    f.returnValue = .null
                    return .returned
                }
            }
            let value = valueCode(valueExpr)
            return { (f: Fiber) throws(FurrowError) -> Flow in
                f.returnValue = try value(f)
                return .returned
            }
        case .tryCatch(let body, let errorName, let handler):
            function.tryDepth += 1
            let bodyStep = block(body)
            function.tryDepth -= 1
            let scope = enterScope()
            defer { leaveScope(scope) }
            do {
                let errorVariable = errorName.map { declare($0, mutable: false) }
                let handlerStep = block(handler)
                return { (f: Fiber) throws(FurrowError) -> Flow in
                    let savedTop = f.top, savedDepth = f.depth
                    do throws(FurrowError) {
                        return try bodyStep(f)
                    } catch {
                        if error.exitCode != nil { throw error }
                        f.pop(to: savedTop)
                        f.depth = savedDepth
                        if let errorVariable { try self.storeValue(errorVariable, .error(error.asValue), f) }
                        f.handlerDepth += 1
                        defer { f.handlerDepth -= 1 }
                        return try handlerStep(f)
                    }
                }
            }
        case .param(let name, let defaultExpr, let doc):
            guard function.declaresGlobals else {
                error("'param' must be at the top level of a script", stmt.span)
                return { _ in .next }
            }
            let defaultCode = expression(defaultExpr)
            if let constant = constantValue(defaultExpr) {
                module.parameters.append(ScriptParameter(name: name, defaultValue: constant, doc: doc))
            } else {
                error("a parameter's default must be a literal (it gives the parameter its type)", defaultExpr.span)
            }
            let cell = module.declare(name, mutable: false)
            pendingGlobals[name] = nil
            let interpreter = self.interpreter
            return { (f: Fiber) throws(FurrowError) -> Flow in
                if let given = interpreter.parameterOverrides[name] { cell.value = given } else { cell.value = try defaultCode(f) }
                return .next
            }
        case .importModule(let path, let alias):
            guard function.declaresGlobals else {
                error("'import' must be at the top level", stmt.span)
                return { _ in .next }
            }
            let cell = module.declare(alias ?? Interpreter.defaultImportName(path), mutable: false)
            pendingGlobals[alias ?? Interpreter.defaultImportName(path)] = nil
            let loaded: LoadedModule
            do {
                loaded = try interpreter.loadModule(path, from: file)
            } catch let list as DiagnosticList {
                diagnostics.append(contentsOf: list.diagnostics)
                return { _ in .next }
            } catch let error as FurrowError {
                self.error(error.message, stmt.span)
                return { _ in .next }
            } catch {
                self.error("\(error)", stmt.span)
                return { _ in .next }
            }
            let where_ = location(stmt.span)
            return { (f: Fiber) throws(FurrowError) -> Flow in
                do throws(FurrowError) {
                    try loaded.runOnce(f)
                } catch {
                    if error.location == nil { error.location = where_ } else if error.exitCode == nil { error.trace.append(("import", where_)) }
                    throw error
                }
                cell.value = .host(ModuleObject(loaded.module))
                return .next
            }
        }
    }

    func declare(_ name: String, mutable: Bool) -> Binding {
        if function.declaresGlobals { return .global(module.declare(name, mutable: mutable), mutable: mutable) }
        return .local(declareLocal(name, mutable: mutable))
    }

    /// A step that evaluates `value` and initialises the binding with it.
    func store(_ binding: Binding, _ value: @escaping Code) -> Step {
        switch binding {
        case .local(let local):
            let slot = local.slot
            if local.boxed {
                return { (f: Fiber) throws(FurrowError) -> Flow in
                    let v = try value(f)
                    // A hoisted function captured before this line already made the cell.
                    if case .cell(let cell) = f.stack[f.base + slot] { cell.value = v } else { f.stack[f.base + slot] = .cell(Cell(v, owner: f)) }
                    return .next
                }
            }
            return { (f: Fiber) throws(FurrowError) -> Flow in
                f.stack[f.base + slot] = try value(f)
                return .next
            }
        case .global(let cell, _):
            return { (f: Fiber) throws(FurrowError) -> Flow in
                cell.value = try value(f)
                return .next
            }
        case .capture, .builtin:
            return { _ in .next }
        }
    }

    func storeValue(_ binding: Binding, _ value: Value, _ f: Fiber) throws(FurrowError) {
        switch binding {
        case .local(let local):
            f.stack[f.base + local.slot] = local.boxed ? .cell(Cell(value, owner: f)) : value
        case .global(let cell, _): cell.value = value
        default: break
        }
    }

    static func isIf(_ e: Expr) -> Bool {
        if case .ifElse = e.kind { return true }
        return false
    }

    /// Compiles statements in source order; the function declarations among them run first,
    /// so a block's functions can call each other and be called from anywhere in it.
    func statementsFunctionsFirst(_ statements: [Stmt], last: ((Stmt) -> StepBox)? = nil) -> [StepBox] {
        var functions: [StepBox] = []
        var others: [StepBox] = []
        for (i, s) in statements.enumerated() {
            if case .function = s.kind { functions.append(StepBox(statement(s))); continue }
            if i == statements.count - 1, let last { others.append(last(s)) } else { others.append(StepBox(statement(s))) }
        }
        return functions + others
    }

    /// Boxed locals of the innermost scope start each run of their block without a cell, so
    /// closures of an earlier run (or of a sibling block using the same slot) keep theirs.
    func freshCells(_ steps: [StepBox]) -> [StepBox] {
        let slots = function.scopes.last!.values.filter(\.boxed).map(\.slot)
        guard !slots.isEmpty else { return steps }
        return [StepBox { (f: Fiber) throws(FurrowError) -> Flow in
            for slot in slots { f.stack[f.base + slot] = .null }
            return .next
        }] + steps
    }

    /// A function body (or a branch in tail position) as code whose value is the result:
    /// a final expression statement, `return` or `if` whose branches end in one gives its
    /// value directly; an earlier `return` passes its value through `fiber.returnValue`.
    func tailCode(_ statements: [Stmt]) -> Code {
        if let guarded = guardClause(statements) { return guarded }
        hoist(statements)
        guard let last = statements.last, !Compiler.isFunction(last) else {
            return valueOfSteps(sequence(statementsFunctionsFirst(statements)))
        }
        let prefix = sequence(statementsFunctionsFirst(Array(statements.dropLast())))
        let tail: Code
        switch last.kind {
        case .expr(let e):
            if case .ifElse(let condition, let thenBlock, let elseBlock) = e.kind {
                let (inline, test) = self.condition(condition)
                let thenCode = tailBlock(thenBlock)
                if let elseBlock {
                    let elseCode = tailBlock(elseBlock)
                    if let inline {
                        tail = choice(inline, thenCode, elseCode)
                    } else {
                        tail = { (f: Fiber) throws(FurrowError) -> Value in try test(f) ? try thenCode(f) : try elseCode(f) }
                    }
                } else if let inline {
                    tail = choice(inline, thenCode, nil)
                } else {
                    tail = { (f: Fiber) throws(FurrowError) -> Value in try test(f) ? try thenCode(f) : .null }
                }
            } else {
                tail = expression(e)
            }
        case .returnValue(let valueExpr):
            if let valueExpr { tail = valueCode(valueExpr) } else { tail = { _ in .null } }
        default:
            tail = valueOfSteps(statement(last))
        }
        if statements.count == 1 { return tail }
        return { (f: Fiber) throws(FurrowError) -> Value in
            if try prefix(f) == .returned { return f.takeReturnValue() }
            return try tail(f)
        }
    }

    /// `if c { ...; return x }` followed by more statements, as `if c { ...; x } else { rest }`:
    /// a guard clause's value is the result directly, without passing through
    /// `fiber.returnValue`. Only without function declarations, which are hoisted.
    func guardClause(_ statements: [Stmt]) -> Code? {
        guard statements.count >= 2, !statements.contains(where: Compiler.isFunction),
            case .expr(let e) = statements[0].kind, case .ifElse(let condition, let thenBlock, nil) = e.kind,
            let last = thenBlock.statements.last, case .returnValue = last.kind
        else { return nil }
        let (inline, test) = self.condition(condition)
        let thenCode = tailBlock(thenBlock)
        let rest = tailCode(Array(statements.dropFirst()))
        if let inline { return choice(inline, thenCode, rest) }
        return { (f: Fiber) throws(FurrowError) -> Value in try test(f) ? try thenCode(f) : try rest(f) }
    }

    /// The result of running steps that end in no value: what a `return` among them gave, or null.
    func valueOfSteps(_ steps: @escaping Step) -> Code {
        { (f: Fiber) throws(FurrowError) -> Value in
            if try steps(f) == .returned { return f.takeReturnValue() }
            return .null
        }
    }

    func tailBlock(_ block: Block) -> Code {
        let scope = enterScope()
        defer { leaveScope(scope) }
        let code = tailCode(block.statements)
        guard let reset = freshCells([]).first?.run else { return code }
        return { (f: Fiber) throws(FurrowError) -> Value in
            _ = try reset(f)
            return try code(f)
        }
    }

    static func isFunction(_ s: Stmt) -> Bool {
        if case .function = s.kind { return true }
        return false
    }

    func ifStatement(_ conditionExpr: Expr, _ thenBlock: Block, _ elseBlock: Block?) -> Step {
        let (inline, condition) = self.condition(conditionExpr)
        let thenStep = block(thenBlock)
        guard let elseBlock else {
            if let inline { return branch(inline, thenStep, nil) }
            return { (f: Fiber) throws(FurrowError) -> Flow in
                if try condition(f) { return try thenStep(f) }
                return .next
            }
        }
        let elseStep: Step
        if elseBlock.statements.count == 1, case .expr(let e) = elseBlock.statements[0].kind,
            case .ifElse(let c2, let t2, let e2) = e.kind
        {
            elseStep = ifStatement(c2, t2, e2)
        } else {
            elseStep = block(elseBlock)
        }
        if let inline { return branch(inline, thenStep, elseStep) }
        return { (f: Fiber) throws(FurrowError) -> Flow in
            if try condition(f) { return try thenStep(f) }
            return try elseStep(f)
        }
    }

    func forLoop(_ key: String, _ valueName: String?, _ iterableExpr: Expr, _ body: Block, span: Span) -> Step {
        let iterable = expression(iterableExpr)
        let iterLocation = location(iterableExpr.span)
        let where_ = location(span)
        let scope = enterScope()
        defer { leaveScope(scope) }
        do {
            let keyVar = declareLocal(key, mutable: false, loopVariable: true)
            let valueVar = valueName.map { declareLocal($0, mutable: false, loopVariable: true) }
            function.loopDepth += 1
            let bodyStep = block(body)
            function.loopDepth -= 1
            let keySlot = keyVar.slot, keyBoxed = keyVar.boxed
            let valueSlot = valueVar?.slot ?? 0, valueBoxed = valueVar?.boxed ?? false
            let hasValue = valueVar != nil
            @inline(__always) func set(_ f: Fiber, _ slot: Int, _ boxed: Bool, _ v: Value) {
                f.stack[f.base + slot] = boxed ? .cell(Cell(v, owner: f)) : v
            }
            return { (f: Fiber) throws(FurrowError) -> Flow in
                let collection = try iterable(f)
                switch collection {
                case .range(let lo, let hi) where !hasValue:
                    var i = lo
                    while i < hi {
                        do throws(FurrowError) { try f.checkInterrupt() } catch { throw error.locate(where_) }
                        set(f, keySlot, keyBoxed, .int(i))
                        let flow = try bodyStep(f)
                        if flow == .breakLoop { break }
                        if flow == .returned { return .returned }
                        i += 1
                    }
                    return .next
                case .list(let l) where l.storage.kind != .values:
                    // Packed items are read one by one rather than unpacked into a new array.
                    var index = 0
                    while index < l.count {
                        do throws(FurrowError) { try f.checkInterrupt() } catch { throw error.locate(where_) }
                        if hasValue {
                            set(f, keySlot, keyBoxed, .int(index))
                            set(f, valueSlot, valueBoxed, l[index])
                        } else {
                            set(f, keySlot, keyBoxed, l[index])
                        }
                        let flow = try bodyStep(f)
                        if flow == .breakLoop { break }
                        if flow == .returned { return .returned }
                        index += 1
                    }
                    return .next
                case .map(let m):
                    for (k, v) in m {
                        do throws(FurrowError) { try f.checkInterrupt() } catch { throw error.locate(where_) }
                        set(f, keySlot, keyBoxed, .string(k))
                        if hasValue { set(f, valueSlot, valueBoxed, v) }
                        let flow = try bodyStep(f)
                        if flow == .breakLoop { break }
                        if flow == .returned { return .returned }
                    }
                    return .next
                default:
                    let items: [Value]
                    do throws(FurrowError) { items = try Operations.iterate(collection, f) } catch { throw error.locate(iterLocation) }
                    for (index, item) in items.enumerated() {
                        do throws(FurrowError) { try f.checkInterrupt() } catch { throw error.locate(where_) }
                        if hasValue {
                            set(f, keySlot, keyBoxed, .int(index))
                            set(f, valueSlot, valueBoxed, item)
                        } else {
                            set(f, keySlot, keyBoxed, item)
                        }
                        let flow = try bodyStep(f)
                        if flow == .breakLoop { break }
                        if flow == .returned { return .returned }
                    }
                    return .next
                }
            }
        }
    }

    // MARK: assignment

    /// Runs a change on the value at a place (see `modifier`).
    typealias Modifier = (Fiber, (inout Value) throws(FurrowError) -> Void) throws(FurrowError) -> Void

    /// A place that can be assigned: a variable, optionally followed by members and indexes.
    indirect enum Place {
        case local(Int, boxed: Bool)
        case capture(Int)
        case global(Cell)
        case member(Place, String)
        case index(Place, Code)
    }

    func place(_ target: Expr, span: Span) -> Place? {
        switch target.kind {
        case .name(let name):
            guard let binding = resolve(name) else {
                error("undefined name '\(name)'", target.span)
                return nil
            }
            switch binding {
            case .local(let local):
                if local.loopVariable {
                    error("cannot assign to '\(name)': it is a loop variable (change the list itself, e.g. envs[i].state = ...)", target.span)
                } else if !local.mutable {
                    error("cannot assign to '\(name)': it was declared with 'let' (use 'var')", target.span)
                }
                return .local(local.slot, boxed: local.boxed)
            case .capture(let index, let mutable):
                if !mutable { error("cannot assign to '\(name)': it was declared with 'let' (use 'var')", target.span) }
                if crossesParallelBoundary(name) {
                    error("a function run by parallel() cannot assign '\(name)', a variable it shares with other tasks (return a value instead)", target.span)
                }
                return .capture(index)
            case .global(let cell, let mutable):
                if !mutable { error("cannot assign to '\(name)': it was declared with 'let' (use 'var')", target.span) }
                if crossesParallelBoundary(name) {
                    error("a function run by parallel() cannot assign '\(name)', a variable it shares with other tasks (return a value instead)", target.span)
                }
                return .global(cell)
            case .builtin:
                error("cannot assign to the builtin '\(name)'", target.span)
                return nil
            }
        case .member(let object, let name, _):
            guard let parent = place(object, span: span) else { return nil }
            return .member(parent, name)
        case .index(let object, let indexExpr):
            guard let parent = place(object, span: span) else { return nil }
            return .index(parent, expression(indexExpr))
        default:
            error("cannot assign to this expression", target.span)
            return nil
        }
    }

    // MARK: moves

    /// Code that moves the value out of a local variable, for a read that is the variable's
    /// last use: `var b = ball` and `return b` then hand on the only reference, so a later
    /// write to `b` (or to the caller's copy) changes it in place instead of copying it.
    /// Only a variable no closure captures, read by a statement in the same loop iteration
    /// that declared it, with no later reference in the function's source: nothing can read
    /// it again. Nil when the read is not such a last use.
    /// The code of a value: `movedLocal(e)` when the read is a last use, else the ordinary
    /// code. Not written with `??` or `Optional.map`: a closure that passes through a generic
    /// function comes back wrapped in a reabstraction thunk, which every run then pays for
    /// (`loops` 196 M → 222 M instructions when the assignment's value went through `??`).
    func valueCode(_ e: Expr, name: String? = nil) -> Code {
        if let moved = movedLocal(e) { return moved }
        return expression(e, name: name)
    }

    func movedLocal(_ e: Expr) -> Code? {
        guard itemDepth == 0, case .name(let n) = e.kind, case .local(let local)? = resolve(n), !local.boxed,
            local.loopDepth == function.loopDepth, function.lastUses[n] == e.span.start
        else { return nil }
        let slot = local.slot
        return { (f: Fiber) throws(FurrowError) -> Value in
            let p = f.stack + f.base + slot
            let v = p.move()
            p.initialize(to: .null)
            return v
        }
    }

    /// Where `x = g(..., x, ...)` or `x[i] = g(..., x[i], ...)` can move the old value into
    /// the call: a variable that nothing else can read while the call runs or after it fails.
    enum TakenVariable {
        case local(Int)
        case global(Cell, GlobalMove)
    }

    /// Whether a move of a global into a call is on: decided when the whole script is
    /// compiled, off when any function refers to the global.
    final class GlobalMove { var on = false }

    func takenVariable(_ name: String) -> TakenVariable? {
        guard itemDepth == 0, function.tryDepth == 0 else { return nil }
        switch resolve(name) {
        case .local(let local)? where !local.boxed && local.mutable && !local.loopVariable:
            // A failed call unwinds this function's frame with the variable in it.
            return .local(local.slot)
        case .global(let cell, true)? where function.isTopLevel && module.isMainScript:
            // A failure ends the script; the move is on only if no function reads the global.
            let move = GlobalMove()
            globalMoves.append((cell, move))
            return .global(cell, move)
        default:
            return nil
        }
    }

    /// `x = g(x)` and `xs[i] = g(xs[i])` (any other arguments): the argument that the
    /// assignment replaces is moved into the call instead of copied, so the callee holds the
    /// only reference and changes it without a copy. Exact only when no one can see the
    /// variable during the call: it is a local no closure captures or a global no function
    /// refers to (`takenVariable`), outside `try` (a failed call leaves the variable empty, and
    /// nothing may read it after), the callee and the other arguments do not mention it,
    /// and the index is a constant or a local no closure can change. A list element is
    /// taken only when the index is in range; anything else reads the argument as usual.
    func takingCall(_ target: Expr, _ valueExpr: Expr) -> Code? {
        guard case .call(let callee, let arguments) = valueExpr.kind, !isParallelCall(callee) else { return nil }
        let root: String
        var indexExpr: Expr? = nil
        switch target.kind {
        case .name(let n): root = n
        case .index(let object, let index):
            guard case .name(let n) = object.kind else { return nil }
            if case .int = index.kind {} else if localSlot(index) == nil { return nil }
            root = n
            indexExpr = index
        default: return nil
        }
        func isTarget(_ e: Expr) -> Bool {
            switch (e.kind, indexExpr) {
            case (.name(let n), nil): return n == root
            case (.index(let object, let index), let wanted?):
                guard case .name(let n) = object.kind, n == root else { return false }
                switch (index.kind, wanted.kind) {
                case (.name(let a), .name(let b)): return a == b
                case (.int(let a), .int(let b)): return a == b
                default: return false
                }
            default: return false
            }
        }
        guard let k = arguments.firstIndex(where: { isTarget($0.value) }), !LastUses.mentions(callee, root),
            arguments.indices.allSatisfy({ $0 == k || !LastUses.mentions(arguments[$0].value, root) }),
            // An `if` among the later arguments could leave the loop or function (break,
            // return) between the move and the assignment.
            !arguments[(k + 1)...].contains(where: { LastUses.containsIf($0.value) }),
            let variable = takenVariable(root)
        else { return nil }
        // The ordinary read, for its diagnostics and for the cases the move leaves alone.
        let read = expression(arguments[k].value)
        let take: Code
        if let indexExpr {
            let index = expression(indexExpr)
            @inline(__always) func takeElement(_ container: inout Value, _ i: Int) -> Value? {
                guard case .list(var l) = container, i >= 0, i < l.count else { return nil }
                container = .null
                let v = l[i]
                l[i] = .null
                container = .list(l)
                return v
            }
            switch variable {
            case .local(let slot):
                take = { (f: Fiber) throws(FurrowError) -> Value in
                    if case .int(let i) = try index(f), let v = takeElement(&f.stack[f.base + slot], i) { return v }
                    return try read(f)
                }
            case .global(let cell, let move):
                take = { (f: Fiber) throws(FurrowError) -> Value in
                    if move.on, case .int(let i) = try index(f), let v = takeElement(&cell.value, i) { return v }
                    return try read(f)
                }
            }
        } else {
            switch variable {
            case .local(let slot):
                take = { (f: Fiber) throws(FurrowError) -> Value in
                    let p = f.stack + f.base + slot
                    let v = p.move()
                    p.initialize(to: .null)
                    return v
                }
            case .global(let cell, let move):
                take = { (f: Fiber) throws(FurrowError) -> Value in
                    guard move.on else { return cell.value }
                    var v = Value.null
                    swap(&v, &cell.value)
                    return v
                }
            }
        }
        return callCode(callee, arguments, prepended: nil, span: valueExpr.span, replacing: (k, take))
    }

    func assignment(_ target: Expr, _ op: AssignOp, _ valueExpr: Expr, span: Span) -> Step {
        guard let place = place(target, span: span) else { return { _ in .next } }
        let value: Code
        if op == .set, let taking = takingCall(target, valueExpr) { value = taking } else { value = expression(valueExpr) }
        let where_ = location(span)
        let binaryOp: BinaryOp? = switch op {
        case .set: nil
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        }
        // fast paths for plain variables
        if case .local(let slot, false) = place {
            if let binaryOp {
                return { (f: Fiber) throws(FurrowError) -> Flow in
                    let rhs = try value(f)
                    do throws(FurrowError) { try Operations.compound(binaryOp, &f.stack[f.base + slot], rhs) } catch { throw error.locate(where_) }
                    return .next
                }
            }
            return { (f: Fiber) throws(FurrowError) -> Flow in
                f.stack[f.base + slot] = try value(f)
                return .next
            }
        }
        if case .global(let cell) = place {
            return { (f: Fiber) throws(FurrowError) -> Flow in
                let rhs = try value(f)
                if f.inParallelTask {
                    throw Compiler.globalAssignedInTask().locate(where_)
                }
                guard let binaryOp else {
                    cell.value = rhs
                    return .next
                }
                do throws(FurrowError) { try Operations.compound(binaryOp, &cell.value, rhs) } catch { throw error.locate(where_) }
                return .next
            }
        }
        if let inPlace = inPlaceAssignment(place, binaryOp, value, where_) { return inPlace }
        let change = Compiler.modifier(place)
        return { (f: Fiber) throws(FurrowError) -> Flow in
            let rhs = try value(f)
            do throws(FurrowError) {
                try change(f) { (v: inout Value) throws(FurrowError) in
                    if let binaryOp { try Operations.compound(binaryOp, &v, rhs) } else { v = rhs }
                }
            } catch {
                throw error.locate(where_)
            }
            return .next
        }
    }

    /// Code that runs a change on the value at `place`, in place: a list or map held only
    /// there is changed without a copy. Index expressions run first, then the change, which
    /// runs no script code, so nothing can move the fiber's stack or read the variable
    /// while it is being changed.
    static func modifier(_ place: Place) -> Modifier {
        switch place {
        case .local(let slot, false):
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                try body(&f.stack[f.base + slot])
            }
        case .local(let slot, true):
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                guard case .cell(let cell) = f.stack[f.base + slot] else { return }
                try body(&cell.value)
            }
        case .capture(let index):
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                let cell = f.captures[index]
                if f.inParallelTask, cell.owner !== f {
                    throw FurrowError("a parallel task cannot assign a variable it shares with other tasks (return a value instead)", kind: "parallel")
                }
                try body(&cell.value)
            }
        case .global(let cell):
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                if f.inParallelTask {
                    throw Compiler.globalAssignedInTask()
                }
                try body(&cell.value)
            }
        case .member(let parent, let name):
            let change = modifier(parent)
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                try change(f) { (container: inout Value) throws(FurrowError) in
                    try Operations.modifyMember(&container, name, body)
                }
            }
        case .index(let parent, let indexCode):
            let change = modifier(parent)
            return { (f: Fiber, body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) in
                let index = try indexCode(f)
                try change(f) { (container: inout Value) throws(FurrowError) in
                    try Operations.modifyIndex(&container, index, body)
                }
            }
        }
    }

    // MARK: functions

    /// `proto` is the one made when a top-level function was hoisted, which calls already use.
    func functionValue(_ decl: FunctionDecl, isParallelTask: Bool, itemFunction: Bool = false, proto known: FunctionProto? = nil) -> Code {
        let name = decl.name ?? (itemFunction ? "<item expression>" : "<lambda>")
        let bodyStatements = decl.body.statements
        var boxed = NameCollector.namesCapturedBy(bodyStatements)
        for p in decl.parameters { if let d = p.defaultValue { boxed.formUnion(NameCollector.namesCapturedBy([Stmt(.expr(d), d.span)])) } }
        let state = FunctionState(parent: function, boxedNames: boxed, isParallelTask: isParallelTask, isTopLevel: false, name: name)
        state.capturesByValue = itemFunction
        state.lastUses = LastUses.of(bodyStatements, parameters: decl.parameters)
        let saved = function
        function = state
        defer { function = saved }
        let proto = known ?? FunctionProto(name: name, parameterNames: decl.parameters.map(\.name), location: location(decl.span))
        var parameterLocals: [LocalVariable] = []
        for p in decl.parameters { parameterLocals.append(declareLocal(p.name, mutable: true)) }
        proto.boxedParameters = parameterLocals.filter(\.boxed).map(\.slot)
        proto.defaults = decl.parameters.map { p in p.defaultValue.map { CodeBox(expression($0)) } }
        // The value of a final expression statement is the result (lambdas, trailing blocks).
        proto.body = tailCode(bodyStatements)
        proto.frameSize = state.maxSlots
        proto.captureSources = state.captureSources
        let sources = state.captureSources
        assert(known == nil || sources.isEmpty, "a top-level function captures nothing")
        if sources.isEmpty {
            let closure = Value.function(Closure(proto: proto))
            return { _ in closure }
        }
        let count = sources.count
        return { (f: Fiber) throws(FurrowError) -> Value in
            let cells = UnsafeMutablePointer<Cell>.allocate(capacity: count)
            for (i, source) in sources.enumerated() {
                switch source {
                case .local(let slot):
                    if case .cell(let cell) = f.stack[f.base + slot] { (cells + i).initialize(to: cell) } else {
                        // declared later in the block (hoisted function): box it now
                        let cell = Cell(f.stack[f.base + slot], owner: f)
                        f.stack[f.base + slot] = .cell(cell)
                        (cells + i).initialize(to: cell)
                    }
                case .outer(let index): (cells + i).initialize(to: f.captures[index])
                case .value(let slot):
                    let v = f.stack[f.base + slot]
                    if case .cell(let cell) = v { (cells + i).initialize(to: cell) } else { (cells + i).initialize(to: Cell(v, owner: f)) }
                }
            }
            return .function(Closure(proto: proto, taking: cells, count: count))
        }
    }

    // MARK: constants

    /// The value of a literal expression, if it is one.
    func constantValue(_ e: Expr) -> Value? {
        switch e.kind {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int(i))
        case .float(let d): return .float(d)
        case .duration(let d): return .duration(d)
        case .string(let s): return .string(s)
        case .list(let elements):
            var out: [Value] = []
            for element in elements {
                guard let v = constantValue(element) else { return nil }
                out.append(v)
            }
            return .list(out)
        default: return nil
        }
    }
}

/// Collects the names used inside nested functions (and item expressions) of a body:
/// the locals of the body with those names must live in cells.
enum NameCollector {
    static func namesCapturedBy(_ statements: [Stmt]) -> Set<String> {
        var names: Set<String> = []
        for s in statements { visit(s, nested: false, &names) }
        return names
    }

    static func visit(_ s: Stmt, nested: Bool, _ names: inout Set<String>) {
        switch s.kind {
        case .expr(let e): visit(e, nested: nested, &names)
        case .binding(_, _, let v, _): visit(v, nested: nested, &names)
        case .function(let decl): visitFunction(decl, &names)
        case .assign(let t, _, let v):
            visit(t, nested: nested, &names)
            visit(v, nested: nested, &names)
        case .forIn(_, _, let it, let body):
            visit(it, nested: nested, &names)
            for s in body.statements { visit(s, nested: nested, &names) }
        case .whileLoop(let c, let body):
            visit(c, nested: nested, &names)
            for s in body.statements { visit(s, nested: nested, &names) }
        case .returnValue(let v): if let v { visit(v, nested: nested, &names) }
        case .tryCatch(let body, _, let handler):
            for s in body.statements { visit(s, nested: nested, &names) }
            for s in handler.statements { visit(s, nested: nested, &names) }
        case .param(_, let v, _): visit(v, nested: nested, &names)
        case .breakLoop, .continueLoop, .importModule: break
        }
    }

    /// A nested function's parameters are in scope in all of its body (defaults included),
    /// so its uses of their names are not captures of the enclosing function's variables.
    static func visitFunction(_ decl: FunctionDecl, _ names: inout Set<String>) {
        var used: Set<String> = []
        for p in decl.parameters { if let d = p.defaultValue { visit(d, nested: true, &used) } }
        for s in decl.body.statements { visit(s, nested: true, &used) }
        names.formUnion(used.subtracting(decl.parameters.map(\.name)))
    }

    static func visit(_ e: Expr, nested: Bool, _ names: inout Set<String>) {
        switch e.kind {
        case .name(let n): if nested { names.insert(n) }
        case .template(let parts):
            for case .expr(let x) in parts { visit(x, nested: nested, &names) }
        case .list(let xs): for x in xs { visit(x, nested: nested, &names) }
        case .map(let entries):
            for (k, v) in entries {
                visit(k, nested: nested, &names)
                visit(v, nested: nested, &names)
            }
        case .unary(_, let x): visit(x, nested: nested, &names)
        case .binary(_, let a, let b), .range(let a, let b, _), .index(let a, let b):
            visit(a, nested: nested, &names)
            visit(b, nested: nested, &names)
        case .call(let callee, let args):
            visit(callee, nested: nested, &names)
            for a in args { visit(a.value, nested: nested, &names) }
        case .member(let x, _, _): visit(x, nested: nested, &names)
        case .function(let decl): visitFunction(decl, &names)
        case .ifElse(let c, let t, let el):
            visit(c, nested: nested, &names)
            for s in t.statements { visit(s, nested: nested, &names) }
            if let el { for s in el.statements { visit(s, nested: nested, &names) } }
        case .pipe(let x, let stage):
            visit(x, nested: nested, &names)
            switch stage {
            case .call(let callee, let args):
                visit(callee, nested: nested, &names)
                for a in args { visit(a.value, nested: nested, &names) }
            case .query(_, let args, _):
                // item expressions run inline; their function versions copy what they read
                for a in args { visit(a.value, nested: nested, &names) }
            }
        case .null, .bool, .int, .float, .duration, .string, .itemField: break
        }
    }
}

/// Where each name is used last in a body, by source offset: every reference counts,
/// including those inside nested functions, item expressions (`.field` reads `it`) and
/// assignment targets. A read at the offset found here is the variable's last use in the
/// source text (see `Compiler.movableLocal`).
enum LastUses {
    static func of(_ statements: [Stmt], parameters: [Parameter] = []) -> [String: Int] {
        var uses: [String: Int] = [:]
        for p in parameters { if let d = p.defaultValue { visit(d, &uses) } }
        for s in statements { visit(s, &uses) }
        return uses
    }

    /// True when `name` occurs anywhere in `e`.
    static func mentions(_ e: Expr, _ name: String) -> Bool {
        var uses: [String: Int] = [:]
        visit(e, &uses)
        return uses[name] != nil
    }

    /// True when `e` holds an `if` expression (whose blocks may break or return).
    static func containsIf(_ e: Expr) -> Bool {
        var uses: [String: Int] = [:]
        visit(e, &uses)
        return uses[ifMarker] != nil
    }

    /// Noted for every `if` expression; no name can be spelt like this.
    static let ifMarker = "\u{0}if"


    static func note(_ name: String, _ offset: Int, _ uses: inout [String: Int]) {
        if let seen = uses[name], seen >= offset { return }
        uses[name] = offset
    }

    static func visit(_ block: Block, _ uses: inout [String: Int]) {
        for s in block.statements { visit(s, &uses) }
    }

    static func visit(_ s: Stmt, _ uses: inout [String: Int]) {
        switch s.kind {
        case .expr(let e): visit(e, &uses)
        case .binding(_, _, let v, _): visit(v, &uses)
        case .function(let decl): visitFunction(decl, &uses)
        case .assign(let t, _, let v):
            visit(t, &uses)
            visit(v, &uses)
        case .forIn(_, _, let it, let body):
            visit(it, &uses)
            visit(body, &uses)
        case .whileLoop(let c, let body):
            visit(c, &uses)
            visit(body, &uses)
        case .returnValue(let v): if let v { visit(v, &uses) }
        case .tryCatch(let body, _, let handler):
            visit(body, &uses)
            visit(handler, &uses)
        case .param(_, let v, _): visit(v, &uses)
        case .breakLoop, .continueLoop, .importModule: break
        }
    }

    static func visitFunction(_ decl: FunctionDecl, _ uses: inout [String: Int]) {
        for p in decl.parameters { if let d = p.defaultValue { visit(d, &uses) } }
        visit(decl.body, &uses)
    }

    static func visit(_ arguments: [Argument], _ uses: inout [String: Int]) {
        for a in arguments { visit(a.value, &uses) }
    }

    static func visit(_ e: Expr, _ uses: inout [String: Int]) {
        switch e.kind {
        case .name(let n): note(n, e.span.start, &uses)
        case .itemField: note("it", e.span.start, &uses)
        case .template(let parts):
            for case .expr(let x) in parts { visit(x, &uses) }
        case .list(let xs): for x in xs { visit(x, &uses) }
        case .map(let entries):
            for (k, v) in entries {
                visit(k, &uses)
                visit(v, &uses)
            }
        case .unary(_, let x): visit(x, &uses)
        case .binary(_, let a, let b), .range(let a, let b, _), .index(let a, let b):
            visit(a, &uses)
            visit(b, &uses)
        case .call(let callee, let args):
            visit(callee, &uses)
            visit(args, &uses)
        case .member(let x, _, _): visit(x, &uses)
        case .function(let decl): visitFunction(decl, &uses)
        case .ifElse(let c, let t, let el):
            note(ifMarker, e.span.start, &uses)
            visit(c, &uses)
            visit(t, &uses)
            if let el { visit(el, &uses) }
        case .pipe(let x, let stage):
            visit(x, &uses)
            switch stage {
            case .call(let callee, let args):
                visit(callee, &uses)
                visit(args, &uses)
            case .query(_, let args, _):
                for a in args { visit(a.value, &uses) }
            }
        case .null, .bool, .int, .float, .duration, .string: break
        }
    }
}
