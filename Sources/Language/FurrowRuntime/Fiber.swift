import FurrowSyntax

/// One thread of Furrow execution: its value stack, call depth and per-thread flags.
///
/// Frames live in one contiguous stack of values (as in Lua), so calling a Furrow function
/// allocates nothing: arguments are evaluated straight into the callee's first slots.
public final class Fiber: @unchecked Sendable {
    /// Unowned: the interpreter owns its main fiber (a strong reference back would keep
    /// both alive forever); other fibers keep it alive through `keptInterpreter`.
    public unowned(unsafe) let interpreter: Interpreter
    /// The interpreter of a spawned fiber (a parallel task, a request handler), which may
    /// still run after everything else let go of the interpreter; nil for the main fiber.
    private let keptInterpreter: Interpreter?
    /// The interpreter's stop request, read at every safe point (see `checkInterrupt`).
    let interruption: Interruption
    var stack: UnsafeMutablePointer<Value>
    var capacity: Int
    /// Index of the current frame's slot 0.
    var base = 0
    /// First free slot.
    var top = 0
    var depth = 0
    /// The running closure's captured cells (see `Closure.captures`).
    var captures = Fiber.noCaptures
    /// Where `captures` points outside closures, and for closures without captures; never read.
    nonisolated(unsafe) static let noCaptures = UnsafeMutablePointer<Cell>.allocate(capacity: 1)
    /// The value of a `return` on its way out of the function; null otherwise.
    var returnValue: Value = .null
    /// Plan mode (`--dry-run`, `dry_run(true) { ... }`): mutating builtins plan instead of act.
    /// Only the runtime sets it (`planning`), so no builtin can leave plan mode.
    public internal(set) var dryRun: Bool
    /// Inside a `parallel` task: shared variables are read-only.
    public internal(set) var inParallelTask = false
    /// How many `catch` handlers are running: they finish despite an interrupt (not a forced one).
    var handlerDepth = 0

    public static let maxDepth = 2_000

    /// The main fiber of `interpreter` (`ownedByInterpreter`: the interpreter holds it), or
    /// another fiber, which keeps the interpreter alive while it exists.
    init(interpreter: Interpreter, dryRun: Bool, ownedByInterpreter: Bool = false) {
        self.interpreter = interpreter
        self.keptInterpreter = ownedByInterpreter ? nil : interpreter
        self.interruption = interpreter.interruption
        self.dryRun = dryRun
        capacity = 4096
        stack = .allocate(capacity: capacity)
        stack.initialize(repeating: .null, count: capacity)
    }

    deinit {
        stack.deinitialize(count: capacity)
        stack.deallocate()
    }

    /// The value a `return` left, leaving `returnValue` null for the next one.
    @inline(__always)
    func takeReturnValue() -> Value {
        let value = returnValue
        returnValue = .null
        return value
    }

    /// Makes room for `count` more slots above `top`.
    @inline(__always)
    func reserve(_ count: Int) {
        if top + count > capacity { grow(top + count) }
    }

    @inline(__always)
    func ensureCapacity(_ needed: Int) {
        if needed > capacity { grow(needed) }
    }

    func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newStack = UnsafeMutablePointer<Value>.allocate(capacity: newCapacity)
        newStack.moveInitialize(from: stack, count: capacity)
        (newStack + capacity).initialize(repeating: .null, count: newCapacity - capacity)
        stack.deallocate()
        stack = newStack
        capacity = newCapacity
    }

    /// Slots from `top` up always hold null, so a push initialises the slot instead of
    /// assigning it (no release of what was there).
    @inline(__always)
    func push(_ value: Value) {
        if top >= capacity { grow(top + 1) }
        (stack + top).initialize(to: value)
        top += 1
    }

    /// Releases slots `from..<top` and lowers `top` to `from`.
    @inline(__always)
    func pop(to from: Int) {
        var i = from
        while i < top {
            stack[i] = .null
            i += 1
        }
        top = from
    }

    /// Ends the frame at `frame` of a Furrow function: its slots are released and the
    /// caller's frame, at `savedBase`, is current again.
    @inline(__always)
    func leave(frame: Int, restoring savedBase: Int) {
        depth -= 1
        pop(to: frame)
        base = savedBase
    }

    /// Calls any callable with the given values (for builtins that call back into scripts).
    public func call(_ callable: Callable, _ values: [Value], labels: [String?]? = nil) throws(FurrowError) -> Value {
        let start = top
        reserve(values.count)
        for v in values { stack[top] = v; top += 1 }
        defer { pop(to: start) }
        return try callable.call(self, Arguments(fiber: self, start: start, count: values.count, labels: labels))
    }

    /// Calls a value that must be a function.
    public func call(_ value: Value, _ values: [Value]) throws(FurrowError) -> Value {
        guard case .function(let f) = value else {
            throw FurrowError.type("expected a function, got \(value.typeName)")
        }
        return try call(f, values)
    }

    /// A new fiber for a parallel task (or a request handler of `furrow serve`), sharing this
    /// one's interpreter and dry-run mode; it may read shared variables but not assign them.
    /// It starts at this fiber's call depth, so recursion through `parallel` meets the
    /// same depth limit as any other.
    public func spawn() -> Fiber {
        let fiber = Fiber(interpreter: interpreter, dryRun: dryRun)
        fiber.inParallelTask = true
        fiber.depth = depth
        return fiber
    }
}

/// The arguments of one call, read in place from the caller's stack.
public struct Arguments {
    /// Unowned: arguments never outlive the call, and the fiber outlives every call.
    public unowned(unsafe) let fiber: Fiber
    let start: Int
    public let count: Int
    /// Labels of named arguments (nil for positional); nil when all are positional.
    public let labels: [String?]?

    init(fiber: Fiber, start: Int, count: Int, labels: [String?]?) {
        self.fiber = fiber; self.start = start; self.count = count; self.labels = labels
    }

    public subscript(i: Int) -> Value { fiber.stack[start + i] }

    /// Number of unlabeled arguments (they may stand before or after named ones).
    public var positionalCount: Int {
        guard let labels else { return count }
        return labels.filter { $0 == nil }.count
    }

    /// The i-th unlabeled argument.
    public func positional(_ i: Int) -> Value {
        guard let labels else { return self[i] }
        var seen = 0
        for (index, label) in labels.enumerated() where label == nil {
            if seen == i { return self[index] }
            seen += 1
        }
        return .null
    }

    /// The named argument `name`, if given.
    public func named(_ name: String) -> Value? {
        guard let labels else { return nil }
        for (i, label) in labels.enumerated() where label == name { return self[i] }
        return nil
    }

    /// Binds to a parameter list: positional first, then by name; checks unknown names and arity.
    /// Missing trailing parameters read as nil.
    public func bind(_ function: String, _ parameters: [String], required: Int) throws(FurrowError) -> [Value?] {
        var bound = [Value?](repeating: nil, count: parameters.count)
        let positional = positionalCount
        if positional > parameters.count {
            throw FurrowError.type("\(function)() takes at most \(parameters.count) argument\(parameters.count == 1 ? "" : "s"), got \(positional)")
        }
        for i in 0..<positional { bound[i] = self.positional(i) }
        if let labels {
            for i in 0..<count {
                guard let label = labels[i] else { continue }
                guard let p = parameters.firstIndex(of: label) else {
                    throw FurrowError.type("\(function)() has no parameter named '\(label)' (parameters: \(parameters.joined(separator: ", ")))")
                }
                if bound[p] != nil { throw FurrowError.type("\(function)() got '\(label)' twice") }
                bound[p] = self[i]
            }
        }
        for i in 0..<required where bound[i] == nil {
            throw FurrowError.type("\(function)() is missing argument '\(parameters[i])'")
        }
        return bound
    }
}
