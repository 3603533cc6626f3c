import Foundation
import FurrowSyntax

/// The semantics of operators, indexing and in-place changes, shared by compiled code and builtins.
public enum Operations {
    static func overflow(_ op: String) -> FurrowError {
        FurrowError("integer overflow in '\(op)' (ints are 64-bit)", kind: "overflow")
    }

    static func timeOverflow(_ op: String) -> FurrowError {
        FurrowError("duration or time overflow in '\(op)' (durations and times are 64-bit nanoseconds, about ±292 years)", kind: "overflow")
    }

    public static func binary(_ op: BinaryOp, _ l: Value, _ r: Value) throws(FurrowError) -> Value {
        if case .host(let object as ValueSequence) = l { return try binary(op, .list(object.items(nil)), r) }
        if case .host(let object as ValueSequence) = r { return try binary(op, l, .list(object.items(nil))) }
        switch op {
        case .add:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                let (v, o) = a.addingReportingOverflow(b)
                if o { throw overflow("+") }
                return .int(v)
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.list(let a), .list(let b)): return .list(a + b)
            case (.map(var a), .map(let b)):
                for (k, v) in b { a[k] = v }
                return .map(a)
            case (.duration(let a), .duration(let b)):
                let (v, o) = a.addingReportingOverflow(b)
                if o { throw timeOverflow("+") }
                return .duration(v)
            case (.time(let t), .duration(let d)), (.duration(let d), .time(let t)):
                let (v, o) = t.addingReportingOverflow(d)
                if o { throw timeOverflow("+") }
                return .time(v)
            default:
                if let (a, b) = floats(l, r) { return .float(a + b) }
            }
        case .sub:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                let (v, o) = a.subtractingReportingOverflow(b)
                if o { throw overflow("-") }
                return .int(v)
            case (.duration(let a), .duration(let b)):
                let (v, o) = a.subtractingReportingOverflow(b)
                if o { throw timeOverflow("-") }
                return .duration(v)
            case (.time(let a), .time(let b)):
                let (v, o) = a.subtractingReportingOverflow(b)
                if o { throw timeOverflow("-") }
                return .duration(v)
            case (.time(let t), .duration(let d)):
                let (v, o) = t.subtractingReportingOverflow(d)
                if o { throw timeOverflow("-") }
                return .time(v)
            default:
                if let (a, b) = floats(l, r) { return .float(a - b) }
            }
        case .mul:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                let (v, o) = a.multipliedReportingOverflow(by: b)
                if o { throw overflow("*") }
                return .int(v)
            case (.duration(let d), .int(let n)), (.int(let n), .duration(let d)):
                let (v, o) = d.multipliedReportingOverflow(by: Int64(n))
                if o { throw timeOverflow("*") }
                return .duration(v)
            case (.duration(let d), .float(let x)), (.float(let x), .duration(let d)):
                guard let n = nanoseconds(Double(d), scale: x) else { throw timeOverflow("*") }
                return .duration(n)
            case (.string(let s), .int(let n)):
                let (bytes, o) = n.multipliedReportingOverflow(by: s.utf8.count)
                guard n >= 0, !o, bytes <= Limits.repeatedStringBytes else {
                    throw FurrowError.value("string repetition \(n) × \(s.utf8.count) bytes is out of range (at most \(Limits.repeatedStringBytes) bytes)")
                }
                return .string(s.isEmpty ? "" : String(repeating: s, count: n))
            default:
                if let (a, b) = floats(l, r) { return .float(a * b) }
            }
        case .div:
            switch (l, r) {
            case (.duration(let a), .duration(let b)):
                guard b != 0 else { throw FurrowError("division by zero", kind: "arithmetic") }
                return .float(Double(a) / Double(b))
            case (.duration(let d), .int(let n)):
                guard n != 0 else { throw FurrowError("division by zero", kind: "arithmetic") }
                if d == Int64.min && n == -1 { throw timeOverflow("/") }
                return .duration(d / Int64(n))
            default:
                if let (a, b) = floats(l, r) {
                    guard b != 0 else { throw FurrowError("division by zero", kind: "arithmetic") }
                    return .float(a / b)
                }
            }
        case .floorDiv:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                guard b != 0 else { throw FurrowError("division by zero", kind: "arithmetic") }
                if a == Int.min && b == -1 { throw overflow("//") }
                let q = a / b
                return .int((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q)
            default:
                if let (a, b) = floats(l, r) {
                    guard b != 0 else { throw FurrowError("division by zero", kind: "arithmetic") }
                    return .float((a / b).rounded(.down))
                }
            }
        case .mod:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                guard b != 0 else { throw FurrowError("modulo by zero", kind: "arithmetic") }
                if b == -1 { return .int(0) }
                let m = a % b
                return .int(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case (.duration(let a), .duration(let b)):
                guard b != 0 else { throw FurrowError("modulo by zero", kind: "arithmetic") }
                if b == -1 { return .duration(0) }
                return .duration(a % b)
            default:
                if let (a, b) = floats(l, r) {
                    guard b != 0 else { throw FurrowError("modulo by zero", kind: "arithmetic") }
                    let m = a.truncatingRemainder(dividingBy: b)
                    return .float(m != 0 && (m < 0) != (b < 0) ? m + b : m)
                }
            }
        case .eq: return .bool(l.equals(r))
        case .ne: return .bool(!l.equals(r))
        case .lt: return .bool(isOrdered(l, r) ? try compare(l, r, "<") < 0 : false)
        case .le: return .bool(isOrdered(l, r) ? try compare(l, r, "<=") <= 0 : false)
        case .gt: return .bool(isOrdered(l, r) ? try compare(l, r, ">") > 0 : false)
        case .ge: return .bool(isOrdered(l, r) ? try compare(l, r, ">=") >= 0 : false)
        case .contains: return .bool(try contains(r, l))
        case .notContains: return .bool(!(try contains(r, l)))
        case .match:
            guard case .string(let s) = l, case .string(let p) = r else {
                throw FurrowError.type("=~ needs a string and a pattern string, got \(l.typeName) and \(r.typeName)")
            }
            return .bool(try Regex.compile(p).matches(s))
        case .and, .or, .coalesce:
            preconditionFailure("short-circuit operators are compiled directly")
        }
        throw FurrowError.type("unsupported operand types for \(op.rawValue): \(l.typeName) and \(r.typeName)")
    }

    /// `v op= rhs`, appending in place to a string or list that `v` alone holds.
    static func compound(_ op: BinaryOp, _ v: inout Value, _ rhs: Value) throws(FurrowError) {
        if case .int(let a) = v, case .int(let b) = rhs {
            let result: (Int, Bool)? = switch op {
            case .add: a.addingReportingOverflow(b)
            case .sub: a.subtractingReportingOverflow(b)
            case .mul: a.multipliedReportingOverflow(by: b)
            default: nil
            }
            if let (value, overflow) = result, !overflow {
                v = .int(value)
                return
            }
        } else if op == .add {
            // `if case` and then clearing `v` leave the payload the only reference, so a
            // string or list held only by `v` is appended to without a copy. (`switch`
            // and `switch consume` on an inout value both copy it.)
            if case .string(let r) = rhs, case .string(var s) = v {
                v = .null
                s.append(r)
                v = .string(s)
                return
            }
            if case .list(let r) = rhs, case .list(var l) = v {
                v = .null
                l.append(contentsOf: r)
                v = .list(l)
                return
            }
        }
        v = try binary(op, v, rhs)
    }

    static func floats(_ l: Value, _ r: Value) -> (Double, Double)? {
        switch (l, r) {
        case (.float(let a), .float(let b)): return (a, b)
        case (.int(let a), .float(let b)): return (Double(a), b)
        case (.float(let a), .int(let b)): return (a, Double(b))
        case (.int(let a), .int(let b)): return (Double(a), Double(b))
        default: return nil
        }
    }

    public static func negate(_ v: Value) throws(FurrowError) -> Value {
        switch v {
        case .int(let i):
            if i == Int.min { throw overflow("-") }
            return .int(-i)
        case .float(let d): return .float(-d)
        case .duration(let d):
            if d == Int64.min { throw timeOverflow("-") }
            return .duration(-d)
        default: throw FurrowError.type("cannot negate \(v.typeName)")
        }
    }

    /// False when `<`, `<=`, `>` and `>=` compare a number with NaN: those are all false,
    /// as in IEEE 754, although sorting puts NaN after every number.
    static func isOrdered(_ l: Value, _ r: Value) -> Bool {
        if case .float(let a) = l, a.isNaN, r.isNumber { return false }
        if case .float(let b) = r, b.isNaN, l.isNumber { return false }
        return true
    }

    /// Ints and floats by exact value: `9007199254740993 > 9007199254740992.0`, although
    /// the int has no exact float. NaN sorts after every number and equals itself.
    static func compareNumbers(_ a: Int, _ b: Double) -> Int {
        if b.isNaN { return -1 }
        // 2^63 is exact as a float; every int is below it and at or above -2^63.
        if b >= 9_223_372_036_854_775_808.0 { return -1 }
        if b < -9_223_372_036_854_775_808.0 { return 1 }
        let whole = Int(b.rounded(.down))
        if a != whole { return a < whole ? -1 : 1 }
        return b > b.rounded(.down) ? -1 : 0
    }

    static func compareFloats(_ a: Double, _ b: Double) -> Int {
        if a < b { return -1 }
        if a > b { return 1 }
        if a == b { return 0 }
        return a.isNaN ? (b.isNaN ? 0 : 1) : -1
    }

    /// Lists lexicographically, item by item, with the lists being compared on a stack of
    /// our own instead of the native one: lists nested millions of levels deep compare
    /// without exhausting it.
    static func compareLists(_ a: FurrowList, _ b: FurrowList, _ op: String) throws(FurrowError) -> Int {
        // Each level: the two lists and the index of the next items to compare.
        var levels: [(FurrowList, FurrowList, Int)] = [(a, b, 0)]
        while let level = levels.last {
            let (l, r, i) = level
            if i == min(l.count, r.count) {
                if l.count != r.count { return l.count < r.count ? -1 : 1 }
                levels.removeLast()
                continue
            }
            levels[levels.count - 1].2 = i + 1
            if case .list(let x) = l[i], case .list(let y) = r[i] {
                levels.append((x, y, 0))
                continue
            }
            let c = try compare(l[i], r[i], op)
            if c != 0 { return c }
        }
        return 0
    }

    /// Ordering for sorting, min, max and (except for NaN) `<`: numbers by value with NaN
    /// last, strings, durations, times, and lists lexicographically; null sorts first.
    public static func compare(_ l: Value, _ r: Value, _ op: String = "compare") throws(FurrowError) -> Int {
        switch (l, r) {
        case (.int(let a), .int(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.duration(let a), .duration(let b)), (.time(let a), .time(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.list(let a), .list(let b)): return try compareLists(a, b, op)
        case (.float(let a), .float(let b)): return compareFloats(a, b)
        case (.int(let a), .float(let b)): return compareNumbers(a, b)
        case (.float(let a), .int(let b)): return -compareNumbers(b, a)
        default:
            throw FurrowError.type("cannot compare \(l.typeName) with \(r.typeName) using \(op)")
        }
    }

    public static func contains(_ container: Value, _ item: Value) throws(FurrowError) -> Bool {
        switch container {
        case .list(let l): return l.contains { $0.equals(item) }
        case .map(let m):
            guard case .string(let k) = item else { return false }
            return m[k] != nil
        case .string(let s):
            guard case .string(let sub) = item else { throw FurrowError.type("'in' a string needs a string on the left, got \(item.typeName)") }
            return sub.isEmpty || s.contains(sub)
        case .range(let lo, let hi):
            guard case .int(let i) = item else { return false }
            return i >= lo && i < hi
        default: throw FurrowError.type("'in' needs a list, map, string or range on the right, got \(container.typeName)")
        }
    }

    public static func member(_ v: Value, _ name: String, _ f: Fiber) throws(FurrowError) -> Value {
        switch v {
        case .map(let m): return m[name] ?? .null
        case .host(let object):
            if let member = try object.member(name, fiber: f) { return member }
            throw FurrowError.type("\(object.typeName) has no member '\(name)'" + DidYouMean.hint(name, among: object.memberNames))
        case .error(let e): return e.fields[name] ?? .null
        case .null: throw FurrowError.type("cannot read '\(name)' of null (use ?. to allow null)")
        default: throw FurrowError.type("\(v.typeName) has no member '\(name)'")
        }
    }

    static func normalise(_ index: Int, count: Int) throws(FurrowError) -> Int {
        let i = index < 0 ? index + count : index
        guard i >= 0, i < count else {
            throw FurrowError("index \(index) is out of range (length \(count))", kind: "index")
        }
        return i
    }

    static func sliceBounds(_ lo: Int, _ hi: Int, count: Int) throws(FurrowError) -> Range<Int> {
        let a = lo < 0 ? lo + count : lo, b = hi < 0 ? hi + count : hi
        guard a >= 0, b <= count, a <= b else {
            throw FurrowError("slice \(lo)..<\(hi) is out of range (length \(count))", kind: "index")
        }
        return a..<b
    }

    public static func index(_ v: Value, _ i: Value) throws(FurrowError) -> Value {
        switch (v, i) {
        case (.list(let l), .int(let n)): return l[try normalise(n, count: l.count)]
        case (.list(let l), .range(let lo, let hi)): return .list(Array(l[try sliceBounds(lo, hi, count: l.count)]))
        case (.map(let m), .string(let k)): return m[k] ?? .null
        case (.string(let s), .int(let n)):
            let chars = Array(s)
            return .string(String(chars[try normalise(n, count: chars.count)]))
        case (.string(let s), .range(let lo, let hi)):
            let chars = Array(s)
            return .string(String(chars[try sliceBounds(lo, hi, count: chars.count)]))
        case (.range(let lo, let hi), .int(let n)):
            return .int(lo + (try normalise(n, count: max(0, hi - lo))))
        case (.null, _): throw FurrowError.type("cannot index null")
        default: throw FurrowError.type("cannot index \(v.typeName) with \(i.typeName)")
        }
    }

    static func modifyMember(_ container: inout Value, _ name: String, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) {
        // `if case` and then clearing `container`: see `compound`.
        guard case .map(var m) = container else {
            throw FurrowError.type("cannot set '\(name)' on \(container.typeName)")
        }
        container = .null
        defer { container = .map(m) }
        if let index = m.index(forKey: name) {
            try m.modifyValue(at: index, body)
        } else {
            var field = Value.null
            try body(&field)
            m[name] = field
        }
    }

    static func modifyIndex(_ container: inout Value, _ index: Value, _ body: (inout Value) throws(FurrowError) -> Void) throws(FurrowError) {
        if case .host(let object as ValueSequence) = container { container = .list(try object.items(nil)) }
        if case .int(let n) = index, case .list(var l) = container {
            container = .null
            defer { container = .list(l) }
            try l.modifyItem(at: try normalise(n, count: l.count), body)
        } else if case .string(let k) = index, case .map = container {
            try modifyMember(&container, k, body)
        } else {
            throw FurrowError.type("cannot assign to an index of \(container.typeName) with \(index.typeName)")
        }
    }

    /// The in-place methods of lists and maps.
    static func mutate(_ v: inout Value, _ name: String, _ args: [Value], _ labels: [String?]?) throws(FurrowError) -> Value {
        // a lazy list held by a variable becomes that variable's own list
        if case .host(let object as ValueSequence) = v { v = .list(try object.items(nil)) }
        // `if case` and then clearing `v`: see `compound`.
        if case .list(var l) = v {
            v = .null
            defer { v = .list(l) }
            if let result = try mutateList(&l, name, args) { return result }
        } else if case .map(var m) = v {
            v = .null
            defer { v = .map(m) }
            if let result = try mutateMap(&m, name, args) { return result }
        }
        throw FurrowError.type("\(v.typeName) has no method '\(name)'")
    }

    static func arity(_ name: String, _ args: [Value], _ n: Int) throws(FurrowError) {
        if args.count != n { throw FurrowError.type("\(name)() takes \(n) argument\(n == 1 ? "" : "s"), got \(args.count)") }
    }

    /// A list method's result; nil when lists have no method `name`.
    static func mutateList(_ l: inout FurrowList, _ name: String, _ args: [Value]) throws(FurrowError) -> Value? {
        switch name {
        case "append":
            try arity(name, args, 1)
            l.append(args[0])
            return .null
        case "extend":
            try arity(name, args, 1)
            guard let items = try args[0].asList() else { throw FurrowError.type("extend() needs a list, got \(args[0].typeName)") }
            l.append(contentsOf: items)
            return .null
        case "insert":
            try arity(name, args, 2)
            guard case .int(let i) = args[0] else { throw FurrowError.type("insert() needs an int index first") }
            let at = i < 0 ? i + l.count : i
            guard at >= 0, at <= l.count else { throw FurrowError("index \(i) is out of range (length \(l.count))", kind: "index") }
            l.insert(args[1], at: at)
            return .null
        case "remove_at":
            try arity(name, args, 1)
            guard case .int(let i) = args[0] else { throw FurrowError.type("remove_at() needs an int index") }
            return l.remove(at: try normalise(i, count: l.count))
        case "pop":
            try arity(name, args, 0)
            guard !l.isEmpty else { throw FurrowError("pop() from an empty list", kind: "index") }
            return l.removeLast()
        case "clear":
            try arity(name, args, 0)
            l.removeAll()
            return .null
        case "remove":
            try arity(name, args, 1)
            if let i = l.firstIndex(where: { $0.equals(args[0]) }) { l.remove(at: i); return .bool(true) }
            return .bool(false)
        default:
            return nil
        }
    }

    /// A map method's result; nil when maps have no method `name`.
    static func mutateMap(_ m: inout FurrowMap, _ name: String, _ args: [Value]) throws(FurrowError) -> Value? {
        switch name {
        case "remove":
            try arity(name, args, 1)
            guard case .string(let k) = args[0] else { throw FurrowError.type("map keys are strings, got \(args[0].typeName)") }
            return m.removeValue(forKey: k) ?? .null
        case "clear":
            try arity(name, args, 0)
            m.removeAll()
            return .null
        case "extend":
            try arity(name, args, 1)
            guard case .map(let other) = args[0] else { throw FurrowError.type("extend() on a map needs a map") }
            for (k, x) in other { m[k] = x }
            return .null
        default:
            return nil
        }
    }

    /// The range `lo..<hi`; its length must fit in an int, so that `len`, indexing and
    /// every stage can count it.
    public static func range(_ lo: Int, _ hi: Int) throws(FurrowError) -> Value {
        if hi > lo, hi.subtractingReportingOverflow(lo).overflow {
            throw FurrowError("the range \(lo)..<\(hi) is too long (its length must fit in a 64-bit int)", kind: "overflow")
        }
        return .range(lo, hi)
    }

    /// The items of a range as a list, within `Limits.rangeListItems`.
    public static func rangeItems(_ lo: Int, _ hi: Int) throws(FurrowError) -> [Value] {
        try checkListable(lo, hi)
        return lo < hi ? (lo..<hi).map { .int($0) } : []
    }

    /// Fails when a list of the range's items would be longer than `Limits.rangeListItems`.
    public static func checkListable(_ lo: Int, _ hi: Int) throws(FurrowError) {
        guard hi <= lo || hi - lo <= Limits.rangeListItems else {
            throw FurrowError.value("the range \(lo)..<\(hi) has \(hi - lo) items, too many to make a list of (at most \(Limits.rangeListItems))")
        }
    }

    /// A lazy list (a table scan or a query over one) as its items, read once and kept;
    /// other values as they are. Everything but query stages and `for` sees lazy lists so.
    @inline(__always)
    public static func materialize(_ v: Value, _ f: Fiber?) throws(FurrowError) -> Value {
        if case .host(let object as ValueSequence) = v { return .list(try object.items(f)) }
        return v
    }

    /// The items of anything iterable, as a list.
    public static func iterate(_ v: Value, _ f: Fiber) throws(FurrowError) -> [Value] {
        switch v {
        case .list(let l): return l.array
        case .range(let lo, let hi): return try rangeItems(lo, hi)
        case .map(let m): return m.map { .list([.string($0.key), $0.value]) }
        case .string(let s): return s.map { .string(String($0)) }
        case .host(let object as ValueSequence): return try object.items(f)
        case .null: throw FurrowError.type("cannot iterate over null")
        default: throw FurrowError.type("cannot iterate over \(v.typeName)")
        }
    }
}

/// A host object that produces items lazily (a table scan): pipelines pull from it and
/// stop as soon as they have what they need. To everything else it is a list (a lazy list).
public protocol ValueSequence: AnyObject {
    /// Calls `body` with each item until it returns false. `filter`, when given, may be used
    /// to skip items at the source; the caller still checks every item it receives.
    func forEach(_ fiber: Fiber, filter: PushdownFilter?, _ body: (Value) throws(FurrowError) -> Bool) throws(FurrowError)
    /// Every item, read from the source on first use and kept, so `len`, `[i]`, `==` and
    /// the rest read the source once between them. `fiber` runs the stages (nil: a new one).
    func items(_ fiber: Fiber?) throws(FurrowError) -> [Value]
    /// The items, when they have been read in full (nil before).
    var keptItems: [Value]? { get }
}

/// The items of a lazy list once they have been read in full.
public final class ItemCache: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value]?

    public init() {}

    /// The items, when they have been read.
    public var kept: [Value]? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    /// The kept items, or `read()`'s, kept from now on. `read` runs outside the lock: the
    /// stages it runs may read other lazy lists.
    public func items(_ read: () throws(FurrowError) -> [Value]) throws(FurrowError) -> [Value] {
        if let kept { return kept }
        let fresh = try read()
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = fresh }
        return stored!
    }
}

extension ValueSequence {
    public func collect(_ fiber: Fiber) throws(FurrowError) -> [Value] {
        var out: [Value] = []
        try forEach(fiber, filter: nil) { (v: Value) throws(FurrowError) -> Bool in
            out.append(v)
            return true
        }
        return out
    }
}

/// Compiled regular expressions, cached by pattern.
public final class Regex: @unchecked Sendable {
    let expression: NSRegularExpression
    nonisolated(unsafe) static var cache: [String: Regex] = [:]
    static let lock = NSLock()

    init(_ expression: NSRegularExpression) { self.expression = expression }

    public static func compile(_ pattern: String) throws(FurrowError) -> Regex {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[pattern] { return cached }
        guard let expression = try? NSRegularExpression(pattern: pattern.isEmpty ? "(?:)" : pattern) else {
            throw FurrowError.value("invalid regular expression '\(pattern)'")
        }
        let regex = Regex(expression)
        if cache.count > 1000 { cache.removeAll() }
        cache[pattern] = regex
        return regex
    }

    public func matches(_ s: String) throws(FurrowError) -> Bool {
        try firstResult(s) != nil
    }

    /// The first match's groups (index 0 is the whole match), or nil.
    public func firstMatch(_ s: String) throws(FurrowError) -> [Value]? {
        guard let m = try firstResult(s) else { return nil }
        return (0..<m.numberOfRanges).map { i in
            guard let r = Range(m.range(at: i), in: s) else { return .null }
            return .string(String(s[r]))
        }
    }

    public func replace(_ s: String, with template: String) throws(FurrowError) -> String {
        let found = try results(s, all: true)
        let text = NSMutableString(string: s)
        for m in found.reversed() {
            let replacement = expression.replacementString(for: m, in: s, offset: 0, template: template)
            text.replaceCharacters(in: m.range, with: replacement)
        }
        return String(text)
    }

    func firstResult(_ s: String) throws(FurrowError) -> NSTextCheckingResult? {
        try results(s, all: false).first
    }

    /// Matches with a deadline: the matcher reports progress while it backtracks, and a
    /// match that takes longer than `Limits.regexMatchTime` stops with a `timeout` error.
    func results(_ s: String, all: Bool) throws(FurrowError) -> [NSTextCheckingResult] {
        var found: [NSTextCheckingResult] = []
        var timedOut = false
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Limits.regexMatchTime * 1e9)
        expression.enumerateMatches(in: s, options: [.reportProgress], range: NSRange(s.startIndex..., in: s)) { result, _, stop in
            if let result {
                found.append(result)
                if !all { stop.pointee = true }
            } else if DispatchTime.now().uptimeNanoseconds > deadline {
                timedOut = true
                stop.pointee = true
            }
        }
        if timedOut {
            throw FurrowError("the regular expression took longer than \(Limits.regexMatchTime)s to match (nested repetition such as '(a+)+' can take exponential time)", kind: "timeout")
        }
        return found
    }
}
