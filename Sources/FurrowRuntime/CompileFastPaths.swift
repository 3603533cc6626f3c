import FurrowSyntax

typealias Test = (Fiber) throws(FurrowError) -> Bool

/// Specialised code for the shapes that dominate scripts' hot loops: comparisons and
/// arithmetic between a local variable and a constant or another local, and tests that
/// produce a Swift Bool without building a Value. Every fast path falls back to the general
/// operation for anything but ints, so results are the same.
extension Compiler {
    /// An unboxed local's slot, if `e` is one.
    func localSlot(_ e: Expr) -> Int? {
        guard case .name(let n) = e.kind, case .local(let local)? = resolve(n), !local.boxed else { return nil }
        return local.slot
    }

    func intConstant(_ e: Expr) -> Int? {
        if case .int(let i) = e.kind { return Int(i) }
        return nil
    }

    /// A condition as a Bool-producing test.
    func test(_ e: Expr) -> Test {
        if case .binary(let op, let lhs, let rhs) = e.kind, let compare = intComparison(op) {
            let where_ = location(e.span)
            if let slot = localSlot(lhs), let c = intConstant(rhs) {
                let constant = Value.int(c)
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    let l = f.stack[f.base + slot]
                    if case .int(let x) = l { return compare(x, c) }
                    do throws(FurrowError) { return try Operations.binary(op, l, constant).isTruthy } catch { throw error.locate(where_) }
                }
            }
            if let a = localSlot(lhs), let b = localSlot(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Bool in
                    let l = f.stack[f.base + a], r = f.stack[f.base + b]
                    if case .int(let x) = l, case .int(let y) = r { return compare(x, y) }
                    do throws(FurrowError) { return try Operations.binary(op, l, r).isTruthy } catch { throw error.locate(where_) }
                }
            }
            let left = expression(lhs), right = expression(rhs)
            return { (f: Fiber) throws(FurrowError) -> Bool in
                let l = try left(f), r = try right(f)
                if case .int(let x) = l, case .int(let y) = r { return compare(x, y) }
                do throws(FurrowError) { return try Operations.binary(op, l, r).isTruthy } catch { throw error.locate(where_) }
            }
        }
        let code = expression(e)
        return { (f: Fiber) throws(FurrowError) -> Bool in try code(f).isTruthy }
    }

    func intComparison(_ op: BinaryOp) -> ((Int, Int) -> Bool)? {
        switch op {
        case .lt: return { $0 < $1 }
        case .le: return { $0 <= $1 }
        case .gt: return { $0 > $1 }
        case .ge: return { $0 >= $1 }
        case .eq: return { $0 == $1 }
        case .ne: return { $0 != $1 }
        default: return nil
        }
    }

    /// `local op constant` and `local op local` for + - * and comparisons.
    func fastBinary(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, _ where_: SourceLocation) -> Code? {
        let arithmetic: ((Int, Int) -> (Int, Bool))?
        switch op {
        case .add: arithmetic = { $0.addingReportingOverflow($1) }
        case .sub: arithmetic = { $0.subtractingReportingOverflow($1) }
        case .mul: arithmetic = { $0.multipliedReportingOverflow(by: $1) }
        default: arithmetic = nil
        }
        if let arithmetic {
            if let slot = localSlot(lhs), let c = intConstant(rhs) {
                let constant = Value.int(c)
                return { (f: Fiber) throws(FurrowError) -> Value in
                    let l = f.stack[f.base + slot]
                    if case .int(let x) = l {
                        let (v, overflow) = arithmetic(x, c)
                        if !overflow { return .int(v) }
                    }
                    do throws(FurrowError) { return try Operations.binary(op, l, constant) } catch { throw error.locate(where_) }
                }
            }
            if let a = localSlot(lhs), let b = localSlot(rhs) {
                return { (f: Fiber) throws(FurrowError) -> Value in
                    let l = f.stack[f.base + a], r = f.stack[f.base + b]
                    if case .int(let x) = l, case .int(let y) = r {
                        let (v, overflow) = arithmetic(x, y)
                        if !overflow { return .int(v) }
                    }
                    do throws(FurrowError) { return try Operations.binary(op, l, r) } catch { throw error.locate(where_) }
                }
            }
            return nil
        }
        if intComparison(op) != nil, localSlot(lhs) != nil, intConstant(rhs) != nil || localSlot(rhs) != nil {
            let t = test(Expr(.binary(op, lhs, rhs), where_.span))
            return { (f: Fiber) throws(FurrowError) -> Value in .bool(try t(f)) }
        }
        return nil
    }
}
