import FurrowSyntax

/// The variable an in-place access starts from: an unboxed local's slot or a global's cell.
///
/// Reading `b.x`, `xs[i]` or `xs[i].x` through the general code copies the variable's whole
/// value out first (a reference count on the map or list, then a release), and writing
/// `b.x += d` passes through one closure per level of the path. The paths below, specialised
/// for each kind of root, read and change the value where the variable holds it.
protocol VariableRoot {
    /// Runs `body` on the variable's value, read in place.
    func read<T>(_ f: Fiber, _ body: (Value) throws(FurrowError) -> T) throws(FurrowError) -> T
    /// Runs `body` on the variable's value, changed in place.
    func modify(_ f: Fiber, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError)
}

struct LocalRoot: VariableRoot {
    let slot: Int

    @inline(__always)
    func read<T>(_ f: Fiber, _ body: (Value) throws(FurrowError) -> T) throws(FurrowError) -> T {
        try body(f.stack[f.base + slot])
    }

    @inline(__always)
    func modify(_ f: Fiber, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) {
        try body(&f.stack[f.base + slot])
    }
}

struct GlobalRoot: VariableRoot {
    let cell: Cell

    @inline(__always)
    func read<T>(_ f: Fiber, _ body: (Value) throws(FurrowError) -> T) throws(FurrowError) -> T {
        try body(cell.value)
    }

    @inline(__always)
    func modify(_ f: Fiber, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) {
        if f.inParallelTask { throw Compiler.globalAssignedInTask() }
        try body(&cell.value)
    }
}

extension Compiler {
    static func globalAssignedInTask() -> FurrowError {
        FurrowError("a parallel task cannot assign a global variable (return a value instead)", kind: "parallel")
    }

    // MARK: reads

    /// `v.name`, `v[i]` and `v[i].name` read in place when `v` is a variable (not `?.`).
    func inPlaceRead(_ e: Expr) -> Code? {
        let where_ = location(e.span)
        switch e.kind {
        case .member(let object, let name, false):
            if case .index(let list, let indexExpr) = object.kind, let slot = localSlot(list) {
                return itemFieldRead(LocalRoot(slot: slot), expression(indexExpr), name, where_, location(object.span))
            }
            if case .index(let list, let indexExpr) = object.kind, let cell = globalCell(list) {
                return itemFieldRead(GlobalRoot(cell: cell), expression(indexExpr), name, where_, location(object.span))
            }
            if let slot = localSlot(object) { return fieldRead(LocalRoot(slot: slot), name, where_) }
            if let cell = globalCell(object) { return fieldRead(GlobalRoot(cell: cell), name, where_) }
        case .index(let object, let indexExpr):
            if let slot = localSlot(object) { return itemRead(LocalRoot(slot: slot), expression(indexExpr), where_) }
            if let cell = globalCell(object) { return itemRead(GlobalRoot(cell: cell), expression(indexExpr), where_) }
        default: break
        }
        return nil
    }

    /// The general member read, for what the in-place paths leave alone (host objects,
    /// errors, null): the same result and error as `v.name` compiled without them.
    static func member(_ v: Value, _ name: String, _ f: Fiber, _ where_: SourceLocation) throws(FurrowError) -> Value {
        do throws(FurrowError) { return try Operations.member(v, name, f) } catch { throw error.locate(where_) }
    }

    static func item(_ v: Value, _ i: Value, _ f: Fiber, _ where_: SourceLocation) throws(FurrowError) -> Value {
        do throws(FurrowError) { return try Operations.index(Operations.materialize(v, f), i) } catch { throw error.locate(where_) }
    }

    func fieldRead<R: VariableRoot>(_ root: R, _ name: String, _ where_: SourceLocation) -> Code {
        let site = FieldSite(name)
        return { (f: Fiber) throws(FurrowError) -> Value in
            let hint = site.hint
            return try root.read(f) { (v: Value) throws(FurrowError) -> Value in
                if case .map(let m) = v { return m.field(site, hint: hint) ?? .null }
                return try Compiler.member(v, name, f, where_)
            }
        }
    }

    func itemRead<R: VariableRoot>(_ root: R, _ index: @escaping Code, _ where_: SourceLocation) -> Code {
        { (f: Fiber) throws(FurrowError) -> Value in
            let i = try index(f)
            return try root.read(f) { (v: Value) throws(FurrowError) -> Value in
                if case .list(let l) = v, case .int(let n) = i, n >= 0, n < l.count { return l[n] }
                return try Compiler.item(v, i, f, where_)
            }
        }
    }

    func itemFieldRead<R: VariableRoot>(
        _ root: R, _ index: @escaping Code, _ name: String, _ where_: SourceLocation, _ itemWhere: SourceLocation
    ) -> Code {
        let site = FieldSite(name)
        return { (f: Fiber) throws(FurrowError) -> Value in
            let i = try index(f)
            let hint = site.hint
            return try root.read(f) { (v: Value) throws(FurrowError) -> Value in
                if case .list(let l) = v, case .int(let n) = i, n >= 0, n < l.count, case .map(let m) = l[n] {
                    return m.field(site, hint: hint) ?? .null
                }
                return try Compiler.member(try Compiler.item(v, i, f, itemWhere), name, f, where_)
            }
        }
    }

    // MARK: writes

    /// `v.name op= x`, `v[i] op= x` and `v[i].name op= x` on a variable, changed in place.
    /// The order is that of the general path: the value first, then the index, then the change.
    func inPlaceAssignment(_ place: Place, _ op: BinaryOp?, _ value: @escaping Code, _ where_: SourceLocation) -> Step? {
        switch place {
        case .member(.local(let slot, false), let name): return fieldAssignment(LocalRoot(slot: slot), name, op, value, where_)
        case .member(.global(let cell), let name): return fieldAssignment(GlobalRoot(cell: cell), name, op, value, where_)
        case .index(.local(let slot, false), let index): return itemAssignment(LocalRoot(slot: slot), index, op, value, where_)
        case .index(.global(let cell), let index): return itemAssignment(GlobalRoot(cell: cell), index, op, value, where_)
        case .member(.index(.local(let slot, false), let index), let name):
            return itemFieldAssignment(LocalRoot(slot: slot), index, name, op, value, where_)
        case .member(.index(.global(let cell), let index), let name):
            return itemFieldAssignment(GlobalRoot(cell: cell), index, name, op, value, where_)
        default: return nil
        }
    }

    func fieldAssignment<R: VariableRoot>(_ root: R, _ name: String, _ op: BinaryOp?, _ value: @escaping Code, _ where_: SourceLocation) -> Step {
        let site = FieldSite(name)
        return { (f: Fiber) throws(FurrowError) -> Flow in
            let rhs = try value(f)
            do throws(FurrowError) {
                try root.modify(f) { (v: inout Value) throws(FurrowError) in try v.updateField(site, op, rhs) }
            } catch {
                throw error.locate(where_)
            }
            return .next
        }
    }

    func itemAssignment<R: VariableRoot>(_ root: R, _ index: @escaping Code, _ op: BinaryOp?, _ value: @escaping Code, _ where_: SourceLocation) -> Step {
        { (f: Fiber) throws(FurrowError) -> Flow in
            let rhs = try value(f)
            do throws(FurrowError) {
                let i = try index(f)
                try root.modify(f) { (v: inout Value) throws(FurrowError) in try v.updateItem(i, op, rhs) }
            } catch {
                throw error.locate(where_)
            }
            return .next
        }
    }

    func itemFieldAssignment<R: VariableRoot>(
        _ root: R, _ index: @escaping Code, _ name: String, _ op: BinaryOp?, _ value: @escaping Code, _ where_: SourceLocation
    ) -> Step {
        let site = FieldSite(name)
        return { (f: Fiber) throws(FurrowError) -> Flow in
            let rhs = try value(f)
            do throws(FurrowError) {
                let i = try index(f)
                try root.modify(f) { (v: inout Value) throws(FurrowError) in
                    try v.updateItem(i) { (item: inout Value) throws(FurrowError) in try item.updateField(site, op, rhs) }
                }
            } catch {
                throw error.locate(where_)
            }
            return .next
        }
    }

    // MARK: methods

    /// `xs.append(v)` on a variable holding a list: appended in place, without the argument
    /// list and the search by method name of the general path (`general`, which runs for
    /// anything but a list, so host objects and errors are as before).
    func appendInPlace(_ place: Place, _ item: @escaping Code, _ general: @escaping Code, _ where_: SourceLocation) -> Code? {
        switch place {
        case .local(let slot, false): return appendInPlace(LocalRoot(slot: slot), item, general, where_)
        case .global(let cell): return appendInPlace(GlobalRoot(cell: cell), item, general, where_)
        default: return nil
        }
    }

    func appendInPlace<R: VariableRoot>(_ root: R, _ item: @escaping Code, _ general: @escaping Code, _ where_: SourceLocation) -> Code {
        { (f: Fiber) throws(FurrowError) -> Value in
            let isList = try root.read(f) { (v: Value) throws(FurrowError) -> Bool in
                if case .list = v { return true }
                return false
            }
            guard isList else { return try general(f) }
            let v = try item(f)
            do throws(FurrowError) {
                try root.modify(f) { (x: inout Value) throws(FurrowError) in
                    // `if case` and then clearing `x`: see `Operations.compound`. Evaluating the
                    // item may have changed the variable: then the general change decides.
                    guard case .list(var l) = x else {
                        _ = try Operations.mutate(&x, "append", [v], nil)
                        return
                    }
                    x = .null
                    l.append(v)
                    x = .list(l)
                }
            } catch {
                throw error.locate(where_)
            }
            return .null
        }
    }
}

extension Operations {
    /// `v = rhs`, or `v op= rhs`.
    @inline(__always)
    static func assign(_ op: BinaryOp?, _ v: inout Value, _ rhs: Value) throws(FurrowError) {
        guard let op else {
            v = rhs
            return
        }
        // `+=` and `-=` of ints, the common counters, without the call of the general change.
        if case .int(let a) = v, case .int(let b) = rhs, op == .add || op == .sub {
            let (result, overflow) = op == .add ? a.addingReportingOverflow(b) : a.subtractingReportingOverflow(b)
            if !overflow {
                // `v` holds an int, which needs no release: it is overwritten in place, not
                // through the enum's outlined destroy.
                withUnsafeMutablePointer(to: &v) { $0.initialize(to: .int(result)) }
                return
            }
        }
        try compound(op, &v, rhs)
    }
}

extension Value {
    /// `self.name op= rhs` (or `=`), with the errors of `Operations.modifyMember`.
    @inline(__always)
    mutating func updateField(_ site: FieldSite, _ op: BinaryOp?, _ rhs: Value) throws(FurrowError) {
        // `if case` and then clearing `self`: see `Operations.compound`.
        let hint = site.hint
        guard case .map(var m) = self else { throw FurrowError.type("cannot set '\(site.name)' on \(typeName)") }
        self = .null
        // The map is moved back on both paths, not by a `defer`, which copies it back (a
        // retain and a release).
        do throws(FurrowError) {
            if let index = m.index(site, hint: hint) {
                try m.modifyValue(at: index) { (field: inout Value) throws(FurrowError) in try Operations.assign(op, &field, rhs) }
            } else {
                var field = Value.null
                try Operations.assign(op, &field, rhs)
                m[site.name] = field
            }
        } catch {
            self = .map(consume m)
            throw error
        }
        self = .map(consume m)
    }

    /// `self[index] op= rhs` (or `=`).
    @inline(__always)
    mutating func updateItem(_ index: Value, _ op: BinaryOp?, _ rhs: Value) throws(FurrowError) {
        try updateItem(index) { (item: inout Value) throws(FurrowError) in try Operations.assign(op, &item, rhs) }
    }

    /// Runs `body` on `self[index]` in place: a list item by int index directly, everything
    /// else (map keys, lazy lists, errors) through `Operations.modifyIndex`.
    @inline(__always)
    mutating func updateItem(_ index: Value, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) {
        guard case .int(let n) = index, case .list(var l) = self else {
            try Operations.modifyIndex(&self, index, body)
            return
        }
        self = .null
        defer { self = .list(l) }
        try l.modifyItem(at: try Operations.normalise(n, count: l.count), body)
    }
}
