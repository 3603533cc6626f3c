import FurrowSyntax

/// A compiled query stage. Item expressions are compiled to functions of `it`.
enum QueryStage {
    /// take, skip, join: arguments evaluated once.
    case plain(QueryStageKind, [CodeBox])
    /// select: output field name and its item expression.
    case select([(String, ItemCode)])
    /// Every other stage: an optional item expression.
    case item(QueryStageKind, ItemCode?, descending: Bool)
}

/// An item expression compiled twice: inline, reading the item from a hidden local of the
/// enclosing function (no call per item), and as a function for lazy sequences that may be
/// consumed after the enclosing frame is gone. A lambda argument has only the function.
final class ItemCode {
    let inline: InlineItem?
    let function: CodeBox
    init(inline: InlineItem?, function: CodeBox) { self.inline = inline; self.function = function }
}

final class InlineItem {
    let slot: Int
    let boxed: Bool
    let code: CodeBox
    init(slot: Int, boxed: Bool, code: @escaping Code) { self.slot = slot; self.boxed = boxed; self.code = CodeBox(code) }
}

/// Evaluates an item expression for one item after another.
///
/// Called once per item, so it takes no reference counts: the fiber and the inline code are
/// used unretained (the evaluator holds the `InlineItem`, which holds the code, and runs on
/// the fiber it was made for).
struct ItemEvaluator {
    unowned(unsafe) let fiber: Fiber
    let inline: InlineItem?
    let slot: Int
    let boxed: Bool
    let code: Unmanaged<CodeBox>?
    let function: Callable?

    init(_ item: ItemCode, _ f: Fiber) throws(FurrowError) {
        fiber = f
        inline = item.inline
        slot = item.inline?.slot ?? 0
        boxed = item.inline?.boxed ?? false
        code = item.inline.map { Unmanaged.passUnretained($0.code) }
        function = item.inline == nil ? try Stages.function(item.function, f) : nil
    }

    @inline(__always)
    func callAsFunction(_ v: Value) throws(FurrowError) -> Value {
        if let code {
            return try Unmanaged.passUnretained(fiber)._withUnsafeGuaranteedRef { (f: Fiber) -> Result<Value, FurrowError> in
                f.stack[f.base + slot] = boxed ? .cell(Cell(v, owner: f)) : v
                return code._withUnsafeGuaranteedRef { (box: CodeBox) -> Result<Value, FurrowError> in
                    Result { () throws(FurrowError) -> Value in try box.run(f) }
                }
            }.get()
        }
        return try Stages.apply(function!, v, fiber)
    }

    /// Releases the item held in the hidden local.
    func finish() {
        if code != nil { fiber.stack[fiber.base + slot] = .null }
    }
}

/// A lazy view of a sequence source (a table scan) with stages applied item by item, so
/// `scan() | where ... | take 5` reads no more of the source than it needs. Used as
/// anything but the input of a stage, it is read once in full and is a list from then on.
final class LazySequence: HostObject, ValueSequence, @unchecked Sendable {
    let source: ValueSequence
    /// Returns the transformed item, or nil to drop it.
    let transform: (Value, Fiber) throws(FurrowError) -> Value?
    let filter: PushdownFilter?
    let cache = ItemCache()
    /// What a read without the caller's fiber runs the stages on (see `items`).
    unowned let interpreter: Interpreter
    let dryRun: Bool
    /// The lazy stages this one stands on, itself included. Reading it goes through every
    /// one of them by recursion, and so does freeing it (each holds its source), so there are
    /// at most `Limits.lazyStages`: a longer chain (built in a loop) would overflow the stack.
    let stages: Int

    init(source: ValueSequence, filter: PushdownFilter?, fiber: Fiber, transform: @escaping (Value, Fiber) throws(FurrowError) -> Value?) throws(FurrowError) {
        let stages = ((source as? LazySequence)?.stages ?? 0) + 1
        guard stages <= Limits.lazyStages else {
            throw FurrowError(
                "a lazy list may stand on at most \(Limits.lazyStages) lazy stages (where, reject, map or select over a table scan); make a list of it first, with + []",
                kind: .recursion)
        }
        self.stages = stages
        self.source = source
        self.filter = filter
        self.transform = transform
        self.interpreter = fiber.interpreter
        self.dryRun = fiber.dryRun
    }

    override var typeName: String { "list" }
    override var summary: String { "<lazy list>" }

    func forEach(_ fiber: Fiber, filter: PushdownFilter?, _ body: (Value) throws(FurrowError) -> Bool) throws(FurrowError) {
        if let items = cache.kept {
            for item in items where !(try body(item)) { return }
            return
        }
        try source.forEach(fiber, filter: self.filter) { (v: Value) throws(FurrowError) -> Bool in
            guard let out = try transform(v, fiber) else { return true }
            return try body(out)
        }
    }

    func items(_ fiber: Fiber?) throws(FurrowError) -> [Value] {
        try cache.items { () throws(FurrowError) -> [Value] in
            try collect(fiber ?? Fiber(interpreter: interpreter, dryRun: dryRun))
        }
    }

    var keptItems: [Value]? { cache.kept }
}

/// What the eager stages read: a list, or the ints of a range computed one by one.
protocol StageItems: RandomAccessCollection where Element == Value, Index == Int {
    /// Fails when keeping `count` of the items would build a list longer than the limits allow.
    func checkKeeping(_ count: Int) throws(FurrowError)
}

extension Array: StageItems where Element == Value {
    func checkKeeping(_ count: Int) {}
}

struct RangeItems: StageItems {
    let lo: Int
    let count: Int
    var startIndex: Int { 0 }
    var endIndex: Int { count }
    subscript(position: Int) -> Value { .int(lo + position) }

    func checkKeeping(_ count: Int) throws(FurrowError) {
        try Operations.checkListable(lo, lo + count)
    }
}

enum Stages {
    /// Calls a one-parameter function with `item`, without building an argument array.
    @inline(__always)
    static func apply(_ fn: Callable, _ item: Value, _ f: Fiber) throws(FurrowError) -> Value {
        let start = f.top
        f.push(item)
        defer { f.pop(to: start) }
        return try fn.call(f, Arguments(fiber: f, start: start, count: 1, labels: nil))
    }

    static func function(_ item: ItemCode?, _ f: Fiber) throws(FurrowError) -> Callable? {
        guard let item else { return nil }
        return try function(item.function, f)
    }

    static func function(_ code: CodeBox?, _ f: Fiber) throws(FurrowError) -> Callable? {
        guard let code else { return nil }
        guard case .function(let fn) = try code.run(f) else { throw FurrowError.type("a query stage needs an item expression") }
        return fn
    }

    static func run(_ stage: QueryStage, _ input: Value, _ f: Fiber, pushdown: PushdownFilter?) throws(FurrowError) -> Value {
        // Lazy stages over a sequence source.
        if case .host(let object) = input, let sequence = object as? ValueSequence {
            switch stage {
            case .item(.where, let code, _), .item(.reject, let code, _):
                let fn = try function(code, f)!
                let keep: Bool
                if case .item(.where, _, _) = stage { keep = true } else { keep = false }
                return .host(try LazySequence(source: sequence, filter: keep ? pushdown : nil, fiber: f) { (v: Value, f: Fiber) throws(FurrowError) -> Value? in
                    try apply(fn, v, f).isTruthy == keep ? v : nil
                })
            case .item(.map, let code, _):
                let fn = try function(code, f)!
                return .host(try LazySequence(source: sequence, filter: nil, fiber: f) { (v: Value, f: Fiber) throws(FurrowError) -> Value? in try apply(fn, v, f) })
            case .select(let fields):
                var fns: [(String, Callable)] = []
                for (name, code) in fields { fns.append((name, try function(code, f)!)) }
                return .host(try LazySequence(source: sequence, filter: nil, fiber: f) { (v: Value, f: Fiber) throws(FurrowError) -> Value? in
                    try selectRow(fns, v, f)
                })
            case .plain(.take, let codes):
                let n = try count(codes, "take", f)
                var out: [Value] = []
                if n > 0 {
                    try sequence.forEach(f, filter: nil) { (v: Value) throws(FurrowError) -> Bool in
                        out.append(v)
                        return out.count < n
                    }
                }
                return .list(out)
            case .item(.first, let code, _):
                let fn = try function(code, f)
                var found = Value.null
                try sequence.forEach(f, filter: nil) { (v: Value) throws(FurrowError) -> Bool in
                    if let fn, !(try apply(fn, v, f).isTruthy) { return true }
                    found = v
                    return false
                }
                return found
            case .item(.any, let code, _):
                let fn = try function(code, f)!
                var result = false
                try sequence.forEach(f, filter: nil) { (v: Value) throws(FurrowError) -> Bool in
                    if try apply(fn, v, f).isTruthy { result = true; return false }
                    return true
                }
                return .bool(result)
            case .item(.count, nil, _):
                var n = 0
                try sequence.forEach(f, filter: nil) { (_: Value) throws(FurrowError) -> Bool in n += 1; return true }
                return .int(n)
            default:
                return try run(stage, .list(sequence.items(f)), f, pushdown: nil)
            }
        }
        // A range's ints are computed as the stage reads them, never built into a list.
        if case .range(let lo, let hi) = input { return try run(stage, RangeItems(lo: lo, count: max(0, hi - lo)), f) }
        return try run(stage, try Operations.iterate(input, f), f)
    }

    static func run(_ stage: QueryStage, _ items: some StageItems, _ f: Fiber) throws(FurrowError) -> Value {
        switch stage {
        case .plain(let name, let codes):
            switch name {
            case .take:
                let n = try count(codes, "take", f)
                try items.checkKeeping(min(n, items.count))
                return .list(Array(items.prefix(n)))
            case .skip:
                let n = try count(codes, "skip", f)
                try items.checkKeeping(max(0, items.count - n))
                return .list(Array(items.dropFirst(n)))
            default:  // join
                var separator = ""
                if let code = codes.first {
                    guard case .string(let s) = try code.run(f) else { throw FurrowError.type("join needs a string separator") }
                    separator = s
                }
                try items.checkKeeping(items.count)
                return .string(items.map(Format.str).joined(separator: separator))
            }
        case .select(let fields):
            var evaluators: [(String, ItemEvaluator)] = []
            for (name, code) in fields { evaluators.append((name, try ItemEvaluator(code, f))) }
            defer { for (_, e) in evaluators { e.finish() } }
            try items.checkKeeping(items.count)
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for item in items {
                var row = FurrowMap(minimumCapacity: evaluators.count)
                for (name, evaluate) in evaluators { row[name] = try evaluate(item) }
                out.append(.map(row))
            }
            return .list(out)
        case .item(let name, let code, let descending):
            let evaluate = try code.map { c throws(FurrowError) in try ItemEvaluator(c, f) }
            defer { evaluate?.finish() }
            return try itemStage(name, evaluate, descending, items, f)
        }
    }

    static func count(_ codes: [CodeBox], _ name: String, _ f: Fiber) throws(FurrowError) -> Int {
        guard let code = codes.first, case .int(let n) = try code.run(f), n >= 0 else {
            throw FurrowError.type("\(name) needs a count (a non-negative int)")
        }
        return n
    }

    static func selectRow(_ fns: [(String, Callable)], _ item: Value, _ f: Fiber) throws(FurrowError) -> Value {
        var row = FurrowMap(minimumCapacity: fns.count)
        for (name, fn) in fns { row[name] = try apply(fn, item, f) }
        return .map(row)
    }

    static func itemStage(_ kind: QueryStageKind, _ fn: ItemEvaluator?, _ descending: Bool, _ items: some StageItems, _ f: Fiber) throws(FurrowError) -> Value {
        func key(_ v: Value) throws(FurrowError) -> Value {
            guard let fn else { return v }
            return try fn(v)
        }
        switch kind {
        case .map, .each, .sortBy, .groupBy, .uniqBy: try items.checkKeeping(items.count)
        default: break
        }
        switch kind {
        case .where, .reject:
            let keep = kind == .where
            var out: [Value] = []
            for item in items where try fn!(item).isTruthy == keep { out.append(item) }
            return .list(out)
        case .map:
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try fn!(item)) }
            return .list(out)
        case .flatMap:
            var out: [Value] = []
            for item in items {
                let r = try fn!(item)
                guard let l = try r.asList() else { throw FurrowError.type("flat_map's expression must give a list, got \(r.typeName)") }
                out.append(contentsOf: l)
            }
            return .list(out)
        case .each:
            for item in items { _ = try fn!(item) }
            return .list(Array(items))
        case .sortBy:
            var keys: [Value] = []
            keys.reserveCapacity(items.count)
            for item in items { keys.append(try key(item)) }
            let order = try sortedOrder(keys, descending: descending)
            return .list(order.map { items[$0] })
        case .groupBy:
            var groups = FurrowMap()
            for item in items {
                let k = Format.str(try key(item))
                if let index = groups.index(forKey: k) {
                    try groups.modifyValue(at: index) { (group: inout Value) throws(FurrowError) in
                        if case .list(var l) = group {
                            group = .null
                            l.append(item)
                            group = .list(l)
                        }
                    }
                } else {
                    groups[k] = .list([item])
                }
            }
            return .map(groups)
        case .countBy:
            var counts = FurrowMap()
            for item in items {
                let k = Format.str(try key(item))
                if case .int(let n)? = counts[k] { counts[k] = .int(n + 1) } else { counts[k] = .int(1) }
            }
            return .map(counts)
        case .uniqBy:
            var seen: [Value] = []
            var out: [Value] = []
            var seenStrings = Set<String>()
            for item in items {
                let k = try key(item)
                if case .string(let s) = k {
                    if seenStrings.insert(s).inserted { out.append(item) }
                } else if !seen.contains(where: { $0.equals(k) }) {
                    seen.append(k)
                    out.append(item)
                }
            }
            return .list(out)
        case .first:
            for item in items {
                if let fn, !(try fn(item).isTruthy) { continue }
                return item
            }
            return .null
        case .last:
            for item in items.reversed() {
                if let fn, !(try fn(item).isTruthy) { continue }
                return item
            }
            return .null
        case .count:
            guard let fn else { return .int(items.count) }
            var n = 0
            for item in items where try fn(item).isTruthy { n += 1 }
            return .int(n)
        case .sum:
            guard let first = items.first else { return .int(0) }
            var total = try key(first)
            for item in items.dropFirst() { total = try Operations.binary(.add, total, try key(item)) }
            return total
        case .min, .max:
            var best: (Value, Value)?
            for item in items {
                let k = try key(item)
                if let current = best {
                    let c = try Operations.compare(k, current.0, kind.rawValue)
                    if (kind == .min && c < 0) || (kind == .max && c > 0) { best = (k, item) }
                } else {
                    best = (k, item)
                }
            }
            return best?.1 ?? .null
        case .any:
            for item in items where try fn!(item).isTruthy { return .bool(true) }
            return .bool(false)
        case .all:
            for item in items where !(try fn!(item).isTruthy) { return .bool(false) }
            return .bool(true)
        case .take, .skip, .join, .select:
            throw FurrowError.type("\(kind.rawValue) is not a stage of an item expression")
        }
    }

    /// The stable sorted order of `keys` as indices. Int, string and time keys sort as plain Swift
    /// values; mixed keys use Furrow's ordering and report what cannot be compared.
    static func sortedOrder(_ keys: [Value], descending: Bool) throws(FurrowError) -> [Int] {
        // Keys all of one common kind sort on their payloads, without a `Value` comparison per step.
        switch keys.first {
        case .int?:
            if let ints = payloads(keys, { (v: Value) -> Int? in if case .int(let i) = v { return i }; return nil }) {
                return stableOrder(ints, descending: descending)
            }
        case .string?:
            if let strings = payloads(keys, { (v: Value) -> String? in if case .string(let s) = v { return s }; return nil }) {
                return stableOrder(strings, descending: descending)
            }
        case .time?:
            if let times = payloads(keys, { (v: Value) -> Int64? in if case .time(let t) = v { return t }; return nil }) {
                return stableOrder(times, descending: descending)
            }
        default: break
        }
        let keyed = keys.enumerated().map { ($0.element, Value.int($0.offset)) }
        return try sortedByKey(keyed, descending: descending).map { pair -> Int in
            if case .int(let i) = pair.1 { return i }
            return 0
        }
    }

    /// The payload of every key, or nil when one key is of another kind.
    @inline(__always)
    private static func payloads<T>(_ keys: [Value], _ payload: (Value) -> T?) -> [T]? {
        var out: [T] = []
        out.reserveCapacity(keys.count)
        for k in keys {
            guard let p = payload(k) else { return nil }
            out.append(p)
        }
        return out
    }

    /// The indices of `keys` in sorted order, equal keys in their original order.
    private static func stableOrder<T: Comparable>(_ keys: [T], descending: Bool) -> [Int] {
        var order = Array(0..<keys.count)
        if descending {
            order.sort { keys[$0] > keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
        } else {
            order.sort { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
        }
        return order
    }

    /// A stable sort on precomputed keys; comparison errors (mixed types) are reported.
    static func sortedByKey(_ keyed: [(Value, Value)], descending: Bool) throws(FurrowError) -> [(Value, Value)] {
        var failure: FurrowError?
        let indexed = keyed.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { (a: (Int, (Value, Value)), b: (Int, (Value, Value))) -> Bool in
            if failure != nil { return false }
            let c: Int
            do throws(FurrowError) {
                c = try Operations.compare(a.1.0, b.1.0, "sort")
            } catch {
                failure = error
                return false
            }
            if c == 0 { return a.0 < b.0 }
            return descending ? c > 0 : c < 0
        }
        if let failure { throw failure }
        return sorted.map { $0.1 }
    }
}
