import OrderedCollections
import FurrowSyntax

/// Methods that change a list or map held in a variable, in place (as in Swift).
let mutatingMethods: Set<String> = ["append", "extend", "insert", "remove_at", "remove", "pop", "clear"]

extension Compiler {
    func expression(_ e: Expr, name: String? = nil) -> Code {
        switch e.kind {
        case .null: return { _ in .null }
        case .bool(let b):
            let v = Value.bool(b)
            return { _ in v }
        case .int(let i):
            let v = Value.int(Int(i))
            return { _ in v }
        case .float(let d):
            let v = Value.float(d)
            return { _ in v }
        case .duration(let d):
            let v = Value.duration(d)
            return { _ in v }
        case .string(let s):
            let v = Value.string(s)
            return { _ in v }
        case .template(let parts):
            let pieces: [(String?, CodeBox?)] = parts.map { part in
                switch part {
                case .text(let t): return (t, nil)
                case .expr(let x): return (nil, CodeBox(expression(x)))
                }
            }
            return { (f: Fiber) throws(FurrowError) -> Value in
                var out = TemplateText()
                for (text, code) in pieces {
                    if let text {
                        out.append(text)
                        continue
                    }
                    switch try code!.run(f) {
                    case .string(let s): out.append(s)
                    case .int(let n): out.append(n)
                    case let v: out.append(Format.str(v))
                    }
                }
                return .string(out.finish())
            }
        case .name(let n):
            return nameCode(n, e.span)
        case .itemField(let field):
            guard itemDepth > 0 else {
                error("'.\(field)' reads a field of the current item, which exists only in a query stage (| where .\(field) == ...)", e.span)
                return { _ in .null }
            }
            let site = FieldSite(field)
            /// `.field` of an item: a null item has null fields.
            @inline(__always) func fieldOf(_ v: Value, _ hint: Int, _ f: Fiber) throws(FurrowError) -> Value {
                if case .map(let m) = v { return m.field(site, hint: hint) ?? .null }
                if case .null = v { return .null }
                return try Operations.member(v, field, f)
            }
            if case .local(let local)? = resolve("it"), !local.boxed {
                // The item read where its hidden local holds it, without a copy of the map.
                let root = LocalRoot(slot: local.slot)
                return { (f: Fiber) throws(FurrowError) -> Value in
                    let hint = site.hint
                    return try root.read(f) { (v: Value) throws(FurrowError) -> Value in try fieldOf(v, hint, f) }
                }
            }
            let item = nameCode("it", e.span)
            return { (f: Fiber) throws(FurrowError) -> Value in
                let hint = site.hint
                return try fieldOf(try item(f), hint, f)
            }
        case .list(let elements):
            let codes = elements.map { CodeBox(expression($0)) }
            return { (f: Fiber) throws(FurrowError) -> Value in
                var out: [Value] = []
                out.reserveCapacity(codes.count)
                for c in codes { out.append(try c.run(f)) }
                return .list(out)
            }
        case .map(let entries):
            var constantKeys: [String] = []
            for (k, _) in entries { if case .string(let s) = k.kind { constantKeys.append(s) } }
            if constantKeys.count == entries.count, Set(constantKeys).count == constantKeys.count {
                // Distinct keys written out: every map the literal makes shares one key buffer.
                let keys = OrderedSet(uncheckedUniqueElements: constantKeys)
                let values = ContiguousArray(entries.map { CodeBox(expression($0.value)) })
                return { (f: Fiber) throws(FurrowError) -> Value in
                    var out: [Value] = []
                    out.reserveCapacity(values.count)
                    for c in values { out.append(try c.run(f)) }
                    return .map(FurrowMap(keys: keys, values: out))
                }
            }
            if constantKeys.count == entries.count {
                let values = entries.map { CodeBox(expression($0.value)) }
                return { (f: Fiber) throws(FurrowError) -> Value in
                    var m = FurrowMap(minimumCapacity: values.count)
                    for i in 0..<values.count { m[constantKeys[i]] = try values[i].run(f) }
                    return .map(m)
                }
            }
            let pairs = entries.map { (CodeBox(expression($0.key)), CodeBox(expression($0.value))) }
            return { (f: Fiber) throws(FurrowError) -> Value in
                var m = FurrowMap()
                for (k, v) in pairs {
                    let key = try k.run(f)
                    guard case .string(let s) = key else { throw FurrowError.type("map keys must be strings, got \(key.typeName)") }
                    m[s] = try v.run(f)
                }
                return .map(m)
            }
        case .unary(let op, let operand):
            let code = expression(operand)
            let where_ = location(e.span)
            switch op {
            case .not: return { (f: Fiber) throws(FurrowError) -> Value in .bool(!(try code(f).isTruthy)) }
            case .negate:
                return { (f: Fiber) throws(FurrowError) -> Value in
                    do throws(FurrowError) { return try Operations.negate(try code(f)) } catch { throw error.locate(where_) }
                }
            }
        case .binary(let op, let lhs, let rhs):
            return binaryCode(op, lhs, rhs, e.span)
        case .call(let callee, let arguments):
            return callCode(callee, arguments, prepended: nil, span: e.span)
        case .member(let object, let name, let optional):
            if case .name(let n) = object.kind, case .builtin(.host(let ns as Namespace))? = resolve(n) {
                guard let member = ns.members[name] else {
                    error("module '\(ns.name)' has no member '\(name)'" + DidYouMean.hint(name, among: ns.members.keys, prefix: "\(n)."), e.span)
                    return { _ in .null }
                }
                return { _ in member }
            }
            if let read = inPlaceRead(e) { return read }
            let code = expression(object)
            let where_ = location(e.span)
            let site = FieldSite(name)
            return { (f: Fiber) throws(FurrowError) -> Value in
                let hint = site.hint
                let v = try code(f)
                if optional, case .null = v { return .null }
                if case .map(let m) = v { return m.field(site, hint: hint) ?? .null }
                return try Compiler.member(v, name, f, where_)
            }
        case .index(let object, let indexExpr):
            if let read = inPlaceRead(e) { return read }
            let code = expression(object)
            let index = expression(indexExpr)
            let where_ = location(e.span)
            return { (f: Fiber) throws(FurrowError) -> Value in
                let v = try code(f)
                let i = try index(f)
                if case .list(let l) = v, case .int(let n) = i, n >= 0, n < l.count { return l[n] }
                return try Compiler.item(v, i, f, where_)
            }
        case .function(let decl):
            return functionValue(decl, isParallelTask: false)
        case .ifElse(let conditionExpr, let thenBlock, let elseBlock):
            let condition = test(conditionExpr)
            let thenCode = blockValue(thenBlock)
            guard let elseBlock else {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    if try condition(f) { return try thenCode(f) }
                    return .null
                }
            }
            let elseCode = blockValue(elseBlock)
            return { (f: Fiber) throws(FurrowError) -> Value in
                if try condition(f) { return try thenCode(f) }
                return try elseCode(f)
            }
        case .range(let lo, let hi, let inclusive):
            let low = expression(lo), high = expression(hi)
            let where_ = location(e.span)
            return { (f: Fiber) throws(FurrowError) -> Value in
                let a = try low(f), b = try high(f)
                guard case .int(let x) = a, case .int(let y) = b else {
                    throw FurrowError.type("range bounds must be ints, got \(a.typeName) and \(b.typeName)").locate(where_)
                }
                if inclusive {
                    guard y < Int.max else { throw FurrowError.value("range upper bound is too large").locate(where_) }
                    do throws(FurrowError) { return try Operations.range(x, y + 1) } catch { throw error.locate(where_) }
                }
                do throws(FurrowError) { return try Operations.range(x, y) } catch { throw error.locate(where_) }
            }
        case .pipe(let input, let stage):
            switch stage {
            case .call(let callee, let arguments):
                return callCode(callee, arguments, prepended: input, span: e.span)
            case .query(let name, let arguments, let descending):
                return queryStage(name, input, arguments, descending, e.span)
            }
        }
    }

    /// The value of a block used as an expression (`let x = if c { a } else { b }`).
    func blockValue(_ block: Block) -> Code {
        let scope = enterScope()
        defer { leaveScope(scope) }
        do {
            var statements = block.statements
            guard let last = statements.last, case .expr(let e) = last.kind else {
                for s in statements where containsControlFlow(s) {
                    error("break, continue and return cannot be used inside an 'if' expression's value; use an if statement", s.span)
                }
                let step = sequence(statements.map { StepBox(statement($0)) })
                return { (f: Fiber) throws(FurrowError) -> Value in
                    _ = try step(f)
                    return .null
                }
            }
            statements.removeLast()
            for s in statements where containsControlFlow(s) {
                error("break, continue and return cannot be used inside an 'if' expression's value; use an if statement", s.span)
            }
            hoist(statements)
            let step = sequence(statements.map { StepBox(statement($0)) })
            let value = expression(e)
            return { (f: Fiber) throws(FurrowError) -> Value in
                _ = try step(f)
                return try value(f)
            }
        }
    }

    func containsControlFlow(_ s: Stmt) -> Bool {
        switch s.kind {
        case .breakLoop, .continueLoop, .returnValue: return true
        default: return false
        }
    }

    func nameCode(_ n: String, _ span: Span) -> Code {
        guard let binding = resolve(n) else {
            var message = "undefined name '\(n)'"
            if n == "it" { message += " ('it' is the current item inside a query stage)" }
            else if let suggestion = suggest(n) { message += " (did you mean '\(suggestion)'?)" }
            error(message, span)
            return { _ in .null }
        }
        switch binding {
        case .local(let local):
            let slot = local.slot
            if local.boxed {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    if case .cell(let c) = f.stack[f.base + slot] { return c.value }
                    return .null
                }
            }
            // An int is returned as an int, without the enum's outlined copy (see `FurrowMap.field`).
            return { (f: Fiber) throws(FurrowError) -> Value in
                if case .int(let n) = f.stack[f.base + slot] { return .int(n) }
                return f.stack[f.base + slot]
            }
        case .capture(let index, _):
            return { (f: Fiber) throws(FurrowError) -> Value in
                if case .int(let n) = f.captures[index].value { return .int(n) }
                return f.captures[index].value
            }
        case .global(let cell, _):
            if inTopLevelCode, let line = pendingGlobals[n] {
                error("'\(n)' is used before its declaration (line \(line))", span)
            }
            return { _ in
                if case .int(let n) = cell.value { return .int(n) }
                return cell.value
            }
        case .builtin(let v):
            return { _ in v }
        }
    }

    func suggest(_ name: String) -> String? {
        var candidates = Array(interpreter.builtins.keys) + module.order
        for scope in function.scopes { candidates += scope.keys }
        let close = candidates.filter { Compiler.editDistance($0, name) <= max(1, name.count / 4) }
        return close.min { Compiler.editDistance($0, name) < Compiler.editDistance($1, name) }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // optimal string alignment: a swap of neighbours counts as one edit
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    func binaryCode(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ span: Span) -> Code {
        let where_ = location(span)
        if let fast = fastBinary(op, lhs, rhs, where_) { return fast }
        let a = expression(lhs), b = expression(rhs)
        switch op {
        case .and:
            return { (f: Fiber) throws(FurrowError) -> Value in
                let l = try a(f)
                return l.isTruthy ? try b(f) : l
            }
        case .or:
            return { (f: Fiber) throws(FurrowError) -> Value in
                let l = try a(f)
                return l.isTruthy ? l : try b(f)
            }
        case .coalesce:
            return { (f: Fiber) throws(FurrowError) -> Value in
                let l = try a(f)
                if case .null = l { return try b(f) }
                return l
            }
        case .match:
            if case .string(let pattern) = rhs.kind {
                do throws(FurrowError) {
                    let regex = try Regex.compile(pattern)
                    return { (f: Fiber) throws(FurrowError) -> Value in
                        let l = try a(f)
                        guard case .string(let s) = l else {
                            throw FurrowError.type("=~ needs a string on the left, got \(l.typeName)").locate(where_)
                        }
                        do throws(FurrowError) { return .bool(try regex.matches(s)) } catch { throw error.locate(where_) }
                    }
                } catch {
                    self.error(error.message, rhs.span)
                    return { _ in .null }
                }
            }
        default: break
        }
        return { (f: Fiber) throws(FurrowError) -> Value in
            let l = try a(f), r = try b(f)
            do throws(FurrowError) { return try Operations.binary(op, l, r) } catch { throw error.locate(where_) }
        }
    }

    // MARK: calls

    func isParallelCall(_ callee: Expr) -> Bool {
        if case .name("parallel") = callee.kind, case .builtin? = resolve("parallel") { return true }
        return false
    }

    /// Compiles a call; `prepended` is the input of a pipeline stage `x | f(a)` → `f(x, a)`.
    /// `replacing` gives the code of one argument (by its index in `arguments`) instead of
    /// compiling it (see `takingCall`).
    func callCode(_ callee: Expr, _ arguments: [Argument], prepended: Expr?, span: Span, replacing: (Int, Code)? = nil) -> Code {
        let parallel = isParallelCall(callee)
        var argumentCodes: [CodeBox] = []
        /// The expression of each argument whose code is its plain compilation.
        var argumentExprs: [Expr?] = []
        if let prepended { argumentCodes.append(CodeBox(expression(prepended))); argumentExprs.append(prepended) }
        for (i, a) in arguments.enumerated() {
            if let (k, code) = replacing, k == i {
                argumentCodes.append(CodeBox(code))
                argumentExprs.append(nil)
            } else if parallel, case .function(let decl) = a.value.kind {
                argumentCodes.append(CodeBox(functionValue(decl, isParallelTask: true)))
                argumentExprs.append(nil)
            } else {
                argumentCodes.append(CodeBox(expression(a.value)))
                argumentExprs.append(a.value)
            }
        }
        var labels: [String?]? = nil
        if arguments.contains(where: { $0.label != nil }) {
            labels = (prepended == nil ? [] : [nil]) + arguments.map(\.label)
        }
        let where_ = location(span)
        let codes = ContiguousArray(argumentCodes)
        let count = codes.count

        if case .member(let object, let name, let optional) = callee.kind, prepended == nil {
            // builtin namespace member: resolved now
            if case .name(let n) = object.kind, case .builtin(.host(let ns as Namespace))? = resolve(n) {
                guard case .function(let fn)? = ns.members[name] else {
                    let functions = ns.members.compactMap { member -> String? in
                        if case .function = member.value { return member.key }
                        return nil
                    }
                    error("module '\(ns.name)' has no function '\(name)'" + DidYouMean.hint(name, among: functions, prefix: "\(n)."), callee.span)
                    return { _ in .null }
                }
                return directCall(fn, codes, labels, where_)
            }
            return methodCall(object, name, optional: optional, codes, labels, where_)
        }
        if case .name(let n) = callee.kind {
            switch resolve(n) {
            case .builtin(.function(let fn))?:
                return directCall(fn, codes, labels, where_)
            case .global(let cell, false)?:
                if labels == nil, let proto = module.knownFunctions[ObjectIdentifier(cell)], proto.parameterNames.count == count {
                    return knownCall(proto, codes, argumentExprs, where_)
                }
            default: break
            }
        }
        let calleeCode = expression(callee)
        let calleeName: String
        if case .name(let n) = callee.kind { calleeName = n } else { calleeName = "function" }
        if labels == nil, count <= 2 {
            return positionalCall(calleeCode, calleeName, codes, where_)
        }
        return { (f: Fiber) throws(FurrowError) -> Value in
            let target = try calleeCode(f)
            guard case .function(let fn) = target else {
                throw FurrowError.type("'\(calleeName)' is not a function (it is \(target.typeName))").locate(where_)
            }
            let start = f.top
            defer { f.pop(to: start) }
            for c in codes { let v = try c.run(f); f.push(v) }
            do throws(FurrowError) {
                return try fn.call(f, Arguments(fiber: f, start: start, count: count, labels: labels))
            } catch {
                throw Compiler.trace(error, fn, where_)
            }
        }
    }

    /// Calls with up to two positional arguments, the common case, without a loop over
    /// argument codes.
    func positionalCall(_ calleeCode: @escaping Code, _ calleeName: String, _ codes: ContiguousArray<CodeBox>, _ where_: SourceLocation) -> Code {
        @inline(__always) func target(_ v: Value) throws(FurrowError) -> Callable {
            guard case .function(let fn) = v else {
                throw FurrowError.type("'\(calleeName)' is not a function (it is \(v.typeName))").locate(where_)
            }
            return fn
        }
        switch codes.count {
        case 0:
            return { (f: Fiber) throws(FurrowError) -> Value in
                let fn = try target(try calleeCode(f))
                let start = f.top
                do throws(FurrowError) {
                    return try fn.call(f, Arguments(fiber: f, start: start, count: 0, labels: nil))
                } catch {
                    throw Compiler.trace(error, fn, where_)
                }
            }
        case 1:
            let a0 = codes[0].run
            return { (f: Fiber) throws(FurrowError) -> Value in
                let fn = try target(try calleeCode(f))
                let start = f.top
                defer { f.pop(to: start) }
                f.push(try a0(f))
                do throws(FurrowError) {
                    return try fn.call(f, Arguments(fiber: f, start: start, count: 1, labels: nil))
                } catch {
                    throw Compiler.trace(error, fn, where_)
                }
            }
        default:
            let a0 = codes[0].run, a1 = codes[1].run
            return { (f: Fiber) throws(FurrowError) -> Value in
                let fn = try target(try calleeCode(f))
                let start = f.top
                defer { f.pop(to: start) }
                f.push(try a0(f))
                f.push(try a1(f))
                do throws(FurrowError) {
                    return try fn.call(f, Arguments(fiber: f, start: start, count: 2, labels: nil))
                } catch {
                    throw Compiler.trace(error, fn, where_)
                }
            }
        }
    }

    /// A call of a top-level function with all its parameters given by position: the
    /// arguments go straight into the callee's frame and its code runs, with no function
    /// value to load, check or count references of.
    func knownCall(_ proto: FunctionProto, _ codes: ContiguousArray<CodeBox>, _ exprs: [Expr?], _ where_: SourceLocation) -> Code {
        func shifted(_ i: Int) -> ShiftedLocal? { exprs[i].flatMap(shiftedLocal) }
        switch codes.count {
        case 0:
            return { (f: Fiber) throws(FurrowError) -> Value in try Compiler.enter(proto, f, f.top, where_) }
        case 1:
            if let s0 = shifted(0) {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    let base = f.top
                    f.push(try s0.value(f))
                    return try Compiler.enter(proto, f, base, where_)
                }
            }
            let a0 = codes[0].run
            return { (f: Fiber) throws(FurrowError) -> Value in
                let base = f.top
                f.push(try a0(f))
                return try Compiler.enter(proto, f, base, where_)
            }
        case 2:
            let a0 = codes[0].run, a1 = codes[1].run
            let s0 = shifted(0), s1 = shifted(1)
            // The kind that is not `Shifted` never reads its `ShiftedLocal`.
            let unread = ShiftedLocal(slot: 0, delta: 0, op: .add, constant: 0, where_: where_)
            switch (s0, s1) {
            case let (s0?, s1?): return knownCall(Shifted.self, Shifted.self, proto, a0, s0, a1, s1, where_)
            case let (s0?, nil): return knownCall(Shifted.self, Computed.self, proto, a0, s0, a1, unread, where_)
            case let (nil, s1?): return knownCall(Computed.self, Shifted.self, proto, a0, unread, a1, s1, where_)
            case (nil, nil):
                return { (f: Fiber) throws(FurrowError) -> Value in
                    let base = f.top
                    f.push(try a0(f))
                    f.push(try a1(f))
                    return try Compiler.enter(proto, f, base, where_)
                }
            }
        default:
            return { (f: Fiber) throws(FurrowError) -> Value in
                let base = f.top
                for c in codes { let v = try c.run(f); f.push(v) }
                return try Compiler.enter(proto, f, base, where_)
            }
        }
    }

    func knownCall<A: ArgumentKind, B: ArgumentKind>(
        _: A.Type, _: B.Type, _ proto: FunctionProto,
        _ a0: @escaping Code, _ s0: ShiftedLocal, _ a1: @escaping Code, _ s1: ShiftedLocal, _ where_: SourceLocation
    ) -> Code {
        { (f: Fiber) throws(FurrowError) -> Value in
            let base = f.top
            f.push(try A.value(f, a0, s0))
            f.push(try B.value(f, a1, s1))
            return try Compiler.enter(proto, f, base, where_)
        }
    }

    /// Runs a known call's callee on the frame at `base`, its arguments in place; an error
    /// from inside gets the call site, or the call in its trace.
    @inline(__always)
    static func enter(_ proto: FunctionProto, _ f: Fiber, _ base: Int, _ where_: SourceLocation) throws(FurrowError) -> Value {
        do throws(FurrowError) {
            return try proto.run(f, base: base)
        } catch {
            if error.location == nil { error.location = where_ } else if error.exitCode == nil { error.trace.append((proto.name, where_)) }
            throw error
        }
    }

    /// `n - 1` or `i + 2`, an unboxed local plus or minus an int, as a call argument.
    func shiftedLocal(_ e: Expr) -> ShiftedLocal? {
        guard case .binary(let op, let lhs, let rhs) = e.kind, op == .add || op == .sub,
              let slot = localSlot(lhs), let c = intConstant(rhs), c != .min
        else { return nil }
        return ShiftedLocal(slot: slot, delta: op == .add ? c : -c, op: op, constant: c, where_: location(e.span))
    }

    static func trace(_ error: FurrowError, _ fn: Callable, _ site: SourceLocation) -> FurrowError {
        if error.location == nil {
            error.location = site
        } else if fn is Closure, error.exitCode == nil {
            error.trace.append((fn.name, site))
        }
        return error
    }

    func directCall(_ fn: Callable, _ codes: ContiguousArray<CodeBox>, _ labels: [String?]?, _ where_: SourceLocation) -> Code {
        let count = codes.count
        return { (f: Fiber) throws(FurrowError) -> Value in
            let start = f.top
            defer { f.pop(to: start) }
            for c in codes { let v = try c.run(f); f.push(v) }
            do throws(FurrowError) {
                return try fn.call(f, Arguments(fiber: f, start: start, count: count, labels: labels))
            } catch {
                throw Compiler.trace(error, fn, where_)
            }
        }
    }

    /// `recv.name(args)`: a host object's method, a function stored in a map, an in-place
    /// change of a list or map (`xs.append(v)`), or a builtin called with the receiver
    /// first (`name.upper()` is `upper(name)`).
    func methodCall(_ object: Expr, _ name: String, optional: Bool, _ codes: ContiguousArray<CodeBox>, _ labels: [String?]?, _ where_: SourceLocation) -> Code {
        let count = codes.count
        let builtinFunction: Callable?
        if case .function(let fn)? = interpreter.builtins[name] { builtinFunction = fn } else { builtinFunction = nil }
        let receiverLabels: [String?]? = labels.map { [nil] + $0 }

        if mutatingMethods.contains(name), let root = Compiler.rootName(object), crossesParallelBoundary(root) {
            switch resolve(root) {
            case .capture?, .global?:
                error("a function run by parallel() cannot change '\(root)', a variable it shares with other tasks (return a value instead)", object.span)
            default: break
            }
        }
        if mutatingMethods.contains(name), let place = mutablePlace(object) {
            let readReceiver = expression(object)
            let change = Compiler.modifier(place)
            let general = { (f: Fiber) throws(FurrowError) -> Value in
                // The receiver is only inspected here and released before the change, so
                // the collection stays uniquely referenced and is changed without a copy.
                var other: Value?
                do {
                    let receiver = try readReceiver(f)
                    switch receiver {
                    case .list, .map, .host(is ValueSequence): break
                    default: other = receiver
                    }
                }
                switch other {
                case nil:
                    var values: [Value] = []
                    for c in codes { values.append(try c.run(f)) }
                    var result = Value.null
                    do throws(FurrowError) {
                        try change(f) { (v: inout Value) throws(FurrowError) in
                            result = try Operations.mutate(&v, name, values, labels)
                        }
                    } catch {
                        throw error.locate(where_)
                    }
                    return result
                case let receiver?:
                    return try Compiler.invokeMethod(receiver, name, codes, count, labels, receiverLabels, builtinFunction, f, where_)
                }
            }
            if name == "append", count == 1, labels == nil, let append = appendInPlace(place, codes[0].run, general, where_) { return append }
            return general
        }
        let receiverCode = expression(object)
        if mutatingMethods.contains(name) {
            return { (f: Fiber) throws(FurrowError) -> Value in
                let receiver = try receiverCode(f)
                switch receiver {
                case .list, .map:
                    throw FurrowError("\(name)() changes a \(receiver.typeName) in place: call it on a 'var' (xs.\(name)(...)); to make a new value use + instead", kind: "type").locate(where_)
                default:
                    return try Compiler.invokeMethod(receiver, name, codes, count, labels, receiverLabels, builtinFunction, f, where_)
                }
            }
        }
        return { (f: Fiber) throws(FurrowError) -> Value in
            let receiver = try receiverCode(f)
            if optional, case .null = receiver { return .null }
            return try Compiler.invokeMethod(receiver, name, codes, count, labels, receiverLabels, builtinFunction, f, where_)
        }
    }

    static func invokeMethod(
        _ receiver: Value, _ name: String, _ codes: ContiguousArray<CodeBox>, _ count: Int, _ labels: [String?]?,
        _ receiverLabels: [String?]?, _ builtinFunction: Callable?, _ f: Fiber, _ where_: SourceLocation
    ) throws(FurrowError) -> Value {
        var target: Callable?
        var passReceiver = false
        switch receiver {
        case .host(let object):
            let member: Value?
            do throws(FurrowError) { member = try object.member(name, fiber: f) } catch { throw error.locate(where_) }
            if case .function(let fn)? = member { target = fn }
            else if member != nil { throw FurrowError.type("'\(name)' of \(object.typeName) is not a method").locate(where_) }
        case .map(let m):
            if case .function(let fn)? = m[name] { target = fn }
        default: break
        }
        if target == nil, let builtinFunction {
            target = builtinFunction
            passReceiver = true
        }
        guard let target else {
            var candidates = Array(f.interpreter.builtins.keys)
            if case .host(let object) = receiver { candidates += object.memberNames }
            throw FurrowError.type("\(receiver.typeName) has no method '\(name)'" + DidYouMean.hint(name, among: candidates)).locate(where_)
        }
        let start = f.top
        defer { f.pop(to: start) }
        if passReceiver { f.push(receiver) }
        for c in codes { let v = try c.run(f); f.push(v) }
        do throws(FurrowError) {
            return try target.call(
                f, Arguments(fiber: f, start: start, count: count + (passReceiver ? 1 : 0), labels: passReceiver ? receiverLabels : labels))
        } catch {
            throw Compiler.trace(error, target, where_)
        }
    }

    static func rootName(_ e: Expr) -> String? {
        switch e.kind {
        case .name(let n): return n
        case .member(let o, _, _), .index(let o, _): return rootName(o)
        default: return nil
        }
    }

    /// The place of a `var` (or a member/index path into one), without reporting errors.
    func mutablePlace(_ e: Expr) -> Place? {
        switch e.kind {
        case .name(let n):
            switch resolve(n) {
            case .local(let local)? where local.mutable: return .local(local.slot, boxed: local.boxed)
            case .capture(let index, true)? where !crossesParallelBoundary(n): return .capture(index)
            case .global(let cell, true)? where !crossesParallelBoundary(n): return .global(cell)
            default: return nil
            }
        case .member(let o, let name, false):
            return mutablePlace(o).map { .member($0, name) }
        case .index(let o, let i):
            guard let parent = mutablePlace(o) else { return nil }
            return .index(parent, expression(i))
        default: return nil
        }
    }

    // MARK: query stages

    /// `truthOnly`: the stage looks only at whether the value is truthy (`where`, `reject`),
    /// so the inline version is compiled as a condition, like an `if`'s.
    func itemCode(_ e: Expr, truthOnly: Bool = false) -> ItemCode {
        if case .function(let decl) = e.kind {
            return ItemCode(inline: nil, function: CodeBox(functionValue(decl, isParallelTask: false)))
        }
        // inline: `it` is a hidden local of the enclosing function
        let scope = enterScope()
        let it = declareLocal("it", mutable: false)
        itemDepth += 1
        let code: Code
        if truthOnly {
            let holds = test(e)
            code = { (f: Fiber) throws(FurrowError) -> Value in .bool(try holds(f)) }
        } else {
            code = expression(e)
        }
        itemDepth -= 1
        leaveScope(scope)
        // the function version: same source, compiled again with outer variables copied in;
        // its diagnostics would repeat the inline version's, so they are dropped
        let reported = diagnostics.count
        let body = Block(statements: [Stmt(.expr(e), e.span)], span: e.span)
        let decl = FunctionDecl(
            name: nil, parameters: [Parameter(name: "it", defaultValue: nil, span: e.span)], body: body, span: e.span,
            isExpressionBody: true)
        itemDepth += 1
        let function = functionValue(decl, isParallelTask: false, itemFunction: true)
        itemDepth -= 1
        diagnostics.removeLast(diagnostics.count - reported)
        return ItemCode(inline: InlineItem(slot: it.slot, boxed: it.boxed, code: code), function: CodeBox(function))
    }

    func queryStage(_ name: String, _ inputExpr: Expr, _ arguments: [QueryArgument], _ descending: Bool, _ span: Span) -> Code {
        let input = expression(inputExpr)
        let where_ = location(span)
        let stage: QueryStage
        let kind = QueryStageKind(rawValue: name)!  // the parser only makes stages of these names
        switch kind.argumentForm {
        case .values:
            let codes = arguments.map { CodeBox(expression($0.value)) }
            stage = .plain(kind, codes)
        case .fields:
            if arguments.isEmpty { error("select needs fields: | select name, owner or | select n: .x + 1", span) }
            var fields: [(String, ItemCode)] = []
            for a in arguments {
                guard let label = a.label else {
                    error("select takes field names or 'name: expression' pairs", a.value.span)
                    continue
                }
                fields.append((label, itemCode(a.value)))
            }
            stage = .select(fields)
        case .item(let required):
            if arguments.count > 1 { error("\(name) takes one item expression", arguments[1].value.span) }
            let predicate = arguments.first.map { itemCode($0.value, truthOnly: kind == .where || kind == .reject) }
            if predicate == nil, required {
                error("\(name) needs an item expression (| \(name) .field ...)", span)
            }
            stage = .item(kind, predicate, descending: descending)
        }
        let filter = kind == .where ? arguments.first.flatMap { pushdownFilter($0.value) } : nil
        let fieldCheck = FieldCheck(arguments, file: file)
        return { (f: Fiber) throws(FurrowError) -> Value in
            let v = try input(f)
            do throws(FurrowError) {
                let result = try Stages.run(stage, v, f, pushdown: filter)
                if let fieldCheck {
                    // a lazy list is looked at only once a stage has read it in full
                    if case .list(let items) = v { fieldCheck.inspect(items.array, f) }
                    else if case .host(let lazy as ValueSequence) = v, let items = lazy.keptItems { fieldCheck.inspect(items, f) }
                }
                return result
            } catch {
                throw error.locate(where_)
            }
        }
    }

    /// A `where` item expression that is a conjunction of `.field op constant` tests can be
    /// evaluated by the data source itself (SQL `WHERE`, DynamoDB `FilterExpression`).
    func pushdownFilter(_ e: Expr) -> PushdownFilter? {
        var comparisons: [PushdownFilter.Comparison] = []
        func collect(_ e: Expr) -> Bool {
            switch e.kind {
            case .binary(.and, let a, let b): return collect(a) && collect(b)
            case .binary(let op, let a, let b):
                guard let cmp = PushdownFilter.Operator(rawValue: op.rawValue) else { return false }
                if case .itemField(let field) = a.kind, let v = constantValue(b) {
                    comparisons.append(.init(field: field, op: cmp, value: v))
                    return true
                }
                return false
            default: return false
            }
        }
        return collect(e) ? PushdownFilter(comparisons: comparisons) : nil
    }
}

/// A filter a data source may apply itself; the stage still checks every item it gets.
public struct PushdownFilter: Sendable {
    public enum Operator: String, Sendable { case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }
    public struct Comparison: @unchecked Sendable {
        public let field: String
        public let op: Operator
        public let value: Value
    }
    public let comparisons: [Comparison]
}
