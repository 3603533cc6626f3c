import FurrowSyntax

typealias Test = (Fiber) throws(FurrowError) -> Bool

/// An operator's meaning on two ints. `nil` sends the operands to the general operation,
/// which reports overflow, division by zero and the like, so results are always the same.
protocol IntOperator {
    static func apply(_ a: Int, _ b: Int) -> Value?
}

/// A comparison of two ints, used for conditions without building a `Value`.
protocol IntComparison: IntOperator {
    static func compare(_ a: Int, _ b: Int) -> Bool
}

extension IntComparison {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? { .bool(compare(a, b)) }
}

enum IntAdd: IntOperator {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? {
        let (v, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : .int(v)
    }
}

enum IntSubtract: IntOperator {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? {
        let (v, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? nil : .int(v)
    }
}

enum IntMultiply: IntOperator {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? {
        let (v, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : .int(v)
    }
}

/// `%` with the sign of the divisor, as `Operations.binary`.
enum IntModulo: IntOperator {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? {
        guard b > 0 else { return nil }
        let m = a % b
        return .int(m < 0 ? m + b : m)
    }
}

/// `//` rounding towards negative infinity, as `Operations.binary`.
enum IntFloorDivide: IntOperator {
    @inline(__always) static func apply(_ a: Int, _ b: Int) -> Value? {
        guard b > 0 else { return nil }
        let q = a / b
        return .int(a % b < 0 ? q - 1 : q)
    }
}

enum IntLess: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a < b } }
enum IntLessOrEqual: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a <= b } }
enum IntGreater: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a > b } }
enum IntGreaterOrEqual: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a >= b } }
enum IntEqual: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a == b } }
enum IntNotEqual: IntComparison { @inline(__always) static func compare(_ a: Int, _ b: Int) -> Bool { a != b } }

/// Specialised code for the shapes that dominate scripts' hot loops: arithmetic and
/// comparisons whose operands are ints, read in place from a local or global variable or
/// taken from a constant, and tests that produce a Swift Bool without building a Value.
/// Each is generic over the operator, so the operator inlines into every shape.
extension Compiler {
    /// An unboxed local's slot, if `e` is one.
    func localSlot(_ e: Expr) -> Int? {
        guard case .name(let n) = e.kind, case .local(let local)? = resolve(n), !local.boxed else { return nil }
        return local.slot
    }

    /// A global variable's cell, if `e` reads one that is already declared.
    func globalCell(_ e: Expr) -> Cell? {
        guard case .name(let n) = e.kind, case .global(let cell, _)? = resolve(n) else { return nil }
        if inTopLevelCode, pendingGlobals[n] != nil { return nil }
        return cell
    }

    func intConstant(_ e: Expr) -> Int? {
        if case .int(let i) = e.kind { return Int(i) }
        return nil
    }

    /// Specialised code for `lhs op rhs` when `op` has an int meaning.
    func fastBinary(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ where_: SourceLocation) -> Code? {
        switch op {
        case .add: return intBinary(IntAdd.self, op, lhs, rhs, where_)
        case .sub: return intBinary(IntSubtract.self, op, lhs, rhs, where_)
        case .mul: return intBinary(IntMultiply.self, op, lhs, rhs, where_)
        case .mod: return intBinary(IntModulo.self, op, lhs, rhs, where_)
        case .floorDiv: return intBinary(IntFloorDivide.self, op, lhs, rhs, where_)
        case .lt: return intBinary(IntLess.self, op, lhs, rhs, where_)
        case .le: return intBinary(IntLessOrEqual.self, op, lhs, rhs, where_)
        case .gt: return intBinary(IntGreater.self, op, lhs, rhs, where_)
        case .ge: return intBinary(IntGreaterOrEqual.self, op, lhs, rhs, where_)
        case .eq: return intBinary(IntEqual.self, op, lhs, rhs, where_)
        case .ne: return intBinary(IntNotEqual.self, op, lhs, rhs, where_)
        default: return nil
        }
    }

    /// A condition as a Bool-producing test.
    func test(_ e: Expr) -> Test {
        if case .binary(let op, let lhs, let rhs) = e.kind {
            let where_ = location(e.span)
            switch op {
            case .lt: return intTest(IntLess.self, op, lhs, rhs, where_)
            case .le: return intTest(IntLessOrEqual.self, op, lhs, rhs, where_)
            case .gt: return intTest(IntGreater.self, op, lhs, rhs, where_)
            case .ge: return intTest(IntGreaterOrEqual.self, op, lhs, rhs, where_)
            case .eq where Compiler.isNull(lhs) || Compiler.isNull(rhs):
                return nullTest(Compiler.isNull(rhs) ? lhs : rhs, equal: true)
            case .ne where Compiler.isNull(lhs) || Compiler.isNull(rhs):
                return nullTest(Compiler.isNull(rhs) ? lhs : rhs, equal: false)
            case .eq where Compiler.stringConstant(rhs) != nil:
                return stringTest(lhs, Compiler.stringConstant(rhs)!, equal: true, where_)
            case .ne where Compiler.stringConstant(rhs) != nil:
                return stringTest(lhs, Compiler.stringConstant(rhs)!, equal: false, where_)
            case .eq: return intTest(IntEqual.self, op, lhs, rhs, where_)
            case .ne: return intTest(IntNotEqual.self, op, lhs, rhs, where_)
            // `a and b` is truthy exactly when both are: no need to build the value
            case .and:
                let a = test(lhs), b = test(rhs)
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    if try !a(f) { return false }
                    return try b(f)
                }
            case .or:
                let a = test(lhs), b = test(rhs)
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    if try a(f) { return true }
                    return try b(f)
                }
            default: break
            }
        }
        if case .unary(.not, let operand) = e.kind {
            let t = test(operand)
            return { (f: Fiber) throws(FurrowError) -> Bool in try !t(f) }
        }
        let code = expression(e)
        return { (f: Fiber) throws(FurrowError) -> Bool in try code(f).isTruthy }
    }

    static func isNull(_ e: Expr) -> Bool {
        if case .null = e.kind { return true }
        return false
    }

    /// `x == null` and `x != null` in a condition: only null equals null, so the test is
    /// the value's case, with no comparison (and a local is read where it is held).
    func nullTest(_ operand: Expr, equal: Bool) -> Test {
        if let slot = localSlot(operand) {
            return { (f: Fiber) throws(FurrowError) -> Bool in
                if case .null = f.stack[f.base + slot] { return equal }
                return !equal
            }
        }
        let code = expression(operand)
        return { (f: Fiber) throws(FurrowError) -> Bool in
            if case .null = try code(f) { return equal }
            return !equal
        }
    }

    static func stringConstant(_ e: Expr) -> String? {
        if case .string(let s) = e.kind { return s }
        return nil
    }

    /// `x == "text"` and `x != "text"` in a condition: a string compared directly, anything
    /// else through the general comparison.
    func stringTest(_ operand: Expr, _ text: String, equal: Bool, _ where_: SourceLocation) -> Test {
        let code = expression(operand)
        let op: BinaryOp = equal ? .eq : .ne
        return { (f: Fiber) throws(FurrowError) -> Bool in
            let v = try code(f)
            if case .string(let s) = v { return (s == text) == equal }
            return try Compiler.slowBinary(op, v, .string(text), where_).isTruthy
        }
    }

    /// The general operation behind an int fast path, out of line: kept inline, its error
    /// handling made every fast path save registers on entry.
    @inline(never)
    static func slowBinary(_ op: BinaryOp, _ l: Value, _ r: Value, _ where_: SourceLocation) throws(FurrowError) -> Value {
        do throws(FurrowError) { return try Operations.binary(op, l, r) } catch { throw error.locate(where_) }
    }

    /// `slowBinary` with the left operand in the frame's `slot`: the fast path copies no value.
    @inline(never)
    static func slowBinary(_ op: BinaryOp, _ f: Fiber, _ slot: Int, _ r: Value, _ where_: SourceLocation) throws(FurrowError) -> Value {
        try slowBinary(op, f.stack[f.base + slot], r, where_)
    }

    /// `slowBinary` with both operands in frame slots.
    @inline(never)
    static func slowBinary(_ op: BinaryOp, _ f: Fiber, _ left: Int, _ right: Int, _ where_: SourceLocation) throws(FurrowError) -> Value {
        try slowBinary(op, f.stack[f.base + left], f.stack[f.base + right], where_)
    }

    func intBinary<O: IntOperator>(_: O.Type, _ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ where_: SourceLocation) -> Code {
        if let a = localSlot(lhs) {
            if let c = intConstant(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    if case .int(let x) = f.stack[f.base + a], let v = O.apply(x, c) { return v }
                    return try Compiler.slowBinary(op, f, a, .int(c), where_)
                }
            }
            if let b = localSlot(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    if case .int(let x) = f.stack[f.base + a], case .int(let y) = f.stack[f.base + b], let v = O.apply(x, y) { return v }
                    return try Compiler.slowBinary(op, f, a, b, where_)
                }
            }
        }
        if let cell = globalCell(lhs), let c = intConstant(rhs) {
            return { (f: Fiber) throws(FurrowError) -> Value in
                if case .int(let x) = cell.value, let v = O.apply(x, c) { return v }
                return try Compiler.slowBinary(op, cell.value, .int(c), where_)
            }
        }
        let a = expression(lhs)
        if let c = intConstant(rhs) {
            return { (f: Fiber) throws(FurrowError) -> Value in
                let l = try a(f)
                if case .int(let x) = l, let v = O.apply(x, c) { return v }
                return try Compiler.slowBinary(op, l, .int(c), where_)
            }
        }
        if let b = localSlot(rhs) {
            return { (f: Fiber) throws(FurrowError) -> Value in
                let l = try a(f)
                if case .int(let x) = l, case .int(let y) = f.stack[f.base + b], let v = O.apply(x, y) { return v }
                return try Compiler.slowBinary(op, l, f.stack[f.base + b], where_)
            }
        }
        let b = expression(rhs)
        return { (f: Fiber) throws(FurrowError) -> Value in
            let l = try a(f), r = try b(f)
            if case .int(let x) = l, case .int(let y) = r, let v = O.apply(x, y) { return v }
            return try Compiler.slowBinary(op, l, r, where_)
        }
    }

    func intTest<O: IntComparison>(_: O.Type, _ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ where_: SourceLocation) -> Test {
        if let a = localSlot(lhs) {
            if let c = intConstant(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    if case .int(let x) = f.stack[f.base + a] { return O.compare(x, c) }
                    return try Compiler.slowBinary(op, f, a, .int(c), where_).isTruthy
                }
            }
            if let b = localSlot(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    if case .int(let x) = f.stack[f.base + a], case .int(let y) = f.stack[f.base + b] { return O.compare(x, y) }
                    return try Compiler.slowBinary(op, f, a, b, where_).isTruthy
                }
            }
        }
        let a = expression(lhs)
        if let c = intConstant(rhs) {
            return { (f: Fiber) throws(FurrowError) -> Bool in
                let l = try a(f)
                if case .int(let x) = l { return O.compare(x, c) }
                return try Compiler.slowBinary(op, l, .int(c), where_).isTruthy
            }
        }
        let b = expression(rhs)
        return { (f: Fiber) throws(FurrowError) -> Bool in
            let l = try a(f), r = try b(f)
            if case .int(let x) = l, case .int(let y) = r { return O.compare(x, y) }
            return try Compiler.slowBinary(op, l, r, where_).isTruthy
        }
    }
}

/// A local plus or minus an int (`fib(n - 1)`) as a known call's argument: an int is
/// shifted in place, with no closure of its own to call; anything else takes the general
/// operation.
struct ShiftedLocal {
    let slot: Int
    let delta: Int
    let op: BinaryOp
    let constant: Int
    let where_: SourceLocation

    @inline(__always) func value(_ f: Fiber) throws(FurrowError) -> Value {
        if case .int(let x) = f.stack[f.base + slot] {
            let (v, overflow) = x.addingReportingOverflow(delta)
            if !overflow { return .int(v) }
        }
        return try Compiler.slowBinary(op, f, slot, .int(constant), where_)
    }
}

/// How one argument of a two-argument known call is computed: `Shifted` (a `ShiftedLocal`)
/// or `Computed` (its code). Only a type parameter, so each combination's closure captures
/// nothing generic and is called without a reabstraction thunk.
protocol ArgumentKind {
    static func value(_ f: Fiber, _ code: Code, _ shifted: ShiftedLocal) throws(FurrowError) -> Value
}

enum Shifted: ArgumentKind {
    @inline(__always) static func value(_ f: Fiber, _ code: Code, _ shifted: ShiftedLocal) throws(FurrowError) -> Value { try shifted.value(f) }
}

enum Computed: ArgumentKind {
    @inline(__always) static func value(_ f: Fiber, _ code: Code, _ shifted: ShiftedLocal) throws(FurrowError) -> Value { try code(f) }
}

/// An int comparison of a local with an int (`n < 2`) or with another local (`k < n`),
/// tested where its branch or loop is, with no closure of its own to call. `right` is an
/// int or a slot, as the `ComparisonKind` it is tested with says.
struct SlotComparison {
    let left: Int
    let right: Int
    let op: BinaryOp
    let where_: SourceLocation
}

/// Like `ArgumentKind`, only a type, so closures specialised for it capture nothing generic.
protocol ComparisonKind {
    static func holds(_ c: SlotComparison, _ f: Fiber) throws(FurrowError) -> Bool
}

enum AgainstInt: ComparisonKind {
    @inline(__always) static func holds(_ c: SlotComparison, _ f: Fiber) throws(FurrowError) -> Bool {
        if case .int(let x) = f.stack[f.base + c.left] { return c.op.compareInts(x, c.right) }
        return try Compiler.slowBinary(c.op, f, c.left, .int(c.right), c.where_).isTruthy
    }
}

enum AgainstLocal: ComparisonKind {
    @inline(__always) static func holds(_ c: SlotComparison, _ f: Fiber) throws(FurrowError) -> Bool {
        if case .int(let x) = f.stack[f.base + c.left], case .int(let y) = f.stack[f.base + c.right] { return c.op.compareInts(x, y) }
        return try Compiler.slowBinary(c.op, f, c.left, c.right, c.where_).isTruthy
    }
}

extension BinaryOp {
    /// The comparison on two ints; only called for the six comparison operators.
    @inline(__always) func compareInts(_ a: Int, _ b: Int) -> Bool {
        switch self {
        case .lt: a < b
        case .le: a <= b
        case .gt: a > b
        case .ge: a >= b
        case .eq: a == b
        default: a != b
        }
    }

    var isComparison: Bool {
        switch self {
        case .lt, .le, .gt, .ge, .eq, .ne: true
        default: false
        }
    }
}

/// A branch's or loop's condition when it is a `SlotComparison` (see `Compiler.slotComparison`).
enum InlineCondition {
    case againstInt(SlotComparison)
    case againstLocal(SlotComparison)
}

extension Compiler {
    /// A branch's or loop's condition, compiled before its blocks: `inline` when it is a
    /// `SlotComparison`, else `test` (which is never run when `inline` is set).
    func condition(_ e: Expr) -> (inline: InlineCondition?, test: Test) {
        if let inline = slotComparison(e) { return (inline, { _ in false }) }
        return (nil, test(e))
    }

    func slotComparison(_ e: Expr) -> InlineCondition? {
        guard case .binary(let op, let lhs, let rhs) = e.kind, op.isComparison, let a = localSlot(lhs) else { return nil }
        if let c = intConstant(rhs) { return .againstInt(SlotComparison(left: a, right: c, op: op, where_: location(e.span))) }
        if let b = localSlot(rhs) { return .againstLocal(SlotComparison(left: a, right: b, op: op, where_: location(e.span))) }
        return nil
    }

    /// `c ? then : otherwise` (null without `otherwise`), the value of an `if` in tail position.
    func choice(_ c: InlineCondition, _ then: @escaping Code, _ otherwise: Code?) -> Code {
        switch c {
        case .againstInt(let c): return choice(AgainstInt.self, c, then, otherwise)
        case .againstLocal(let c): return choice(AgainstLocal.self, c, then, otherwise)
        }
    }

    func choice<K: ComparisonKind>(_: K.Type, _ c: SlotComparison, _ then: @escaping Code, _ otherwise: Code?) -> Code {
        guard let otherwise else {
            return { (f: Fiber) throws(FurrowError) -> Value in try K.holds(c, f) ? try then(f) : .null }
        }
        return { (f: Fiber) throws(FurrowError) -> Value in try K.holds(c, f) ? try then(f) : try otherwise(f) }
    }

    /// An `if` statement: `choice` for steps, written out rather than generic over the result,
    /// whose closures would then be called through a reabstraction thunk.
    func branch(_ c: InlineCondition, _ then: @escaping Step, _ otherwise: Step?) -> Step {
        switch c {
        case .againstInt(let c): return branch(AgainstInt.self, c, then, otherwise)
        case .againstLocal(let c): return branch(AgainstLocal.self, c, then, otherwise)
        }
    }

    func branch<K: ComparisonKind>(_: K.Type, _ c: SlotComparison, _ then: @escaping Step, _ otherwise: Step?) -> Step {
        guard let otherwise else {
            return { (f: Fiber) throws(FurrowError) -> Flow in try K.holds(c, f) ? try then(f) : .next }
        }
        return { (f: Fiber) throws(FurrowError) -> Flow in try K.holds(c, f) ? try then(f) : try otherwise(f) }
    }

    /// `while c { body }`.
    func whileLoop(_ c: InlineCondition, _ body: @escaping Step, _ where_: SourceLocation) -> Step {
        switch c {
        case .againstInt(let c): return whileLoop(AgainstInt.self, c, body, where_)
        case .againstLocal(let c): return whileLoop(AgainstLocal.self, c, body, where_)
        }
    }

    func whileLoop<K: ComparisonKind>(_: K.Type, _ c: SlotComparison, _ body: @escaping Step, _ where_: SourceLocation) -> Step {
        { (f: Fiber) throws(FurrowError) -> Flow in
            try Compiler.runWhile(f, body, where_) { (f: Fiber) throws(FurrowError) -> Bool in try K.holds(c, f) }
        }
    }

    /// The rounds of a `while` loop, inlined with its condition; an interrupt is seen once a round.
    @inline(__always)
    static func runWhile(_ f: Fiber, _ body: Step, _ where_: SourceLocation, _ holds: (Fiber) throws(FurrowError) -> Bool) throws(FurrowError) -> Flow {
        while try holds(f) {
            do throws(FurrowError) { try f.checkInterrupt() } catch { throw error.locate(where_) }
            switch try body(f) {
            case .breakLoop: return .next
            case .returned: return .returned
            default: continue
            }
        }
        return .next
    }
}
