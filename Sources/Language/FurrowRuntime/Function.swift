import FurrowSyntax

typealias Code = (Fiber) throws(FurrowError) -> Value
typealias Step = (Fiber) throws(FurrowError) -> Flow

/// Compiled code held in a class: collections and optionals of closures would otherwise
/// store them generically and wrap every call in a reabstraction thunk.
final class CodeBox {
    let run: Code
    init(_ run: @escaping Code) { self.run = run }
}

final class StepBox {
    let run: Step
    init(_ run: @escaping Step) { self.run = run }
}

/// How a statement ended: control flow travels as a return value, not as a thrown error.
enum Flow {
    case next, breakLoop, continueLoop, returned
}

/// Where a closure finds a captured variable when it is created.
enum CaptureSource {
    /// A boxed local of the enclosing function (its slot holds a `.cell`).
    case local(Int)
    /// A capture of the enclosing closure.
    case outer(Int)
    /// A copy of an unboxed local's current value (item expressions only read).
    case value(Int)
}

/// A compiled function: the code shared by every closure made from one `fn` or lambda.
final class FunctionProto: @unchecked Sendable {
    let name: String
    let parameterNames: [String]
    var defaults: [CodeBox?] = []
    /// The body; its value is the function's result (a `return` or the final expression).
    /// Set once, when the body is compiled (after the calls in it that refer to this proto).
    var body: Code {
        get { bodyBox.run }
        set {
            bodyBox = CodeBox(newValue)
            runningBody = Unmanaged.passUnretained(bodyBox)
        }
    }
    private var bodyBox = CodeBox { _ in .null }
    /// `bodyBox`, called without a reference count: a closure loaded from a `var` has its
    /// context retained and released around every call, and `bodyBox` holds it for the
    /// proto's life.
    private var runningBody: Unmanaged<CodeBox>
    var frameSize = 0
    var captureSources: [CaptureSource] = []
    /// Parameters that closures capture: boxed into cells on entry.
    var boxedParameters: [Int] = []
    let location: SourceLocation

    init(name: String, parameterNames: [String], location: SourceLocation) {
        self.name = name
        self.parameterNames = parameterNames
        self.location = location
        runningBody = Unmanaged.passUnretained(bodyBox)
    }

    /// Puts the parameters that closures capture into cells (once: defaults may have done it).
    func boxParameters(_ fiber: Fiber, base: Int) {
        for slot in boxedParameters {
            if case .cell = fiber.stack[base + slot] { continue }
            fiber.stack[base + slot] = .cell(Cell(fiber.stack[base + slot], owner: fiber))
        }
    }

    /// Runs the body on a frame at `base` whose parameters are already in place, with the
    /// fiber's captures already those of the closure being called.
    @inline(__always)
    func run(_ fiber: Fiber, base: Int) throws(FurrowError) -> Value {
        if fiber.depth >= Fiber.maxDepth {
            throw FurrowError("recursion is too deep (more than \(Fiber.maxDepth) nested calls) in \(name)()", kind: "recursion")
        }
        try fiber.checkInterrupt()
        let frameTop = base + frameSize
        if frameTop > fiber.capacity { fiber.grow(frameTop) }
        let savedBase = fiber.base
        fiber.base = base
        fiber.top = frameTop
        fiber.depth += 1
        if !boxedParameters.isEmpty { boxParameters(fiber, base: base) }
        // Not a `defer`: that became a function of its own, called on every return.
        let outcome = runningBody._withUnsafeGuaranteedRef { (box: CodeBox) -> Result<Value, FurrowError> in
            Result { () throws(FurrowError) -> Value in try box.run(fiber) }
        }
        fiber.leave(frame: base, restoring: savedBase)
        return try outcome.get()
    }
}

/// A Furrow function value: compiled code plus the cells it captured.
final class Closure: Callable, @unchecked Sendable {
    let proto: FunctionProto
    /// The captured cells. While the closure runs, `fiber.captures` points here: a plain
    /// pointer, so entering and leaving a closure costs no reference counting.
    let captures: UnsafeMutablePointer<Cell>
    let captureCount: Int

    /// A closure without captures.
    init(proto: FunctionProto) {
        self.proto = proto
        captureCount = 0
        captures = Fiber.noCaptures
        super.init(name: proto.name)
    }

    /// A closure that owns `captures`: `count` initialised cells, freed with the closure.
    init(proto: FunctionProto, taking captures: UnsafeMutablePointer<Cell>, count: Int) {
        self.proto = proto
        captureCount = count
        self.captures = captures
        super.init(name: proto.name)
    }

    deinit {
        guard captureCount > 0 else { return }
        captures.deinitialize(count: captureCount)
        captures.deallocate()
    }

    override var parameterNames: [String] { proto.parameterNames }

    override func call(_ fiber: Fiber, _ arguments: Arguments) throws(FurrowError) -> Value {
        let proto = self.proto
        let parameterCount = proto.parameterNames.count
        let savedCaptures = fiber.captures
        fiber.captures = captures
        defer { fiber.captures = savedCaptures }
        if arguments.labels == nil, arguments.count == parameterCount {
            return try proto.run(fiber, base: arguments.start)
        }
        let base = arguments.start
        var missing: Set<Int>?
        if arguments.labels != nil {
            missing = try arrangeNamedArguments(fiber, arguments)
        } else if arguments.count > parameterCount {
            throw FurrowError.type("\(proto.name)() takes \(parameterCount) argument\(parameterCount == 1 ? "" : "s"), got \(arguments.count)")
        }
        fiber.ensureCapacity(base + proto.frameSize)
        if arguments.count < parameterCount || missing != nil {
            // Defaults run in the callee's frame, so they may read the earlier parameters;
            // they count as a call level, so a default that calls its own function is
            // runaway recursion like any other.
            if fiber.depth >= Fiber.maxDepth {
                throw FurrowError("recursion is too deep (more than \(Fiber.maxDepth) nested calls) in \(name)()", kind: "recursion")
            }
            let savedBase = fiber.base
            fiber.base = base
            fiber.top = base + proto.frameSize
            fiber.depth += 1
            defer { fiber.depth -= 1 }
            do throws(FurrowError) {
                // A default reads the earlier parameters as the body does: the captured ones
                // from their cells.
                proto.boxParameters(fiber, base: base)
                for i in 0..<parameterCount where missing?.contains(i) ?? (i >= arguments.count) {
                    guard let defaultCode = proto.defaults[i] else {
                        throw FurrowError.type("\(proto.name)() is missing argument '\(proto.parameterNames[i])'")
                    }
                    let value = try defaultCode.run(fiber)
                    if case .cell(let cell) = fiber.stack[base + i] { cell.value = value } else { fiber.stack[base + i] = value }
                }
            } catch {
                // Slots from `top` up must hold null (see `Fiber.push`).
                fiber.pop(to: base + arguments.count)
                fiber.base = savedBase
                throw error
            }
            // `run` makes the frame again, from the caller's base.
            fiber.base = savedBase
        }
        return try proto.run(fiber, base: base)
    }

    /// Reorders named arguments into parameter order; returns the parameters not given.
    private func arrangeNamedArguments(_ fiber: Fiber, _ arguments: Arguments) throws(FurrowError) -> Set<Int> {
        let names = proto.parameterNames
        var values = [Value?](repeating: nil, count: names.count)
        let labels = arguments.labels!
        var nextPositional = 0
        for i in 0..<arguments.count {
            if let label = labels[i] {
                guard let p = names.firstIndex(of: label) else {
                    throw FurrowError.type("\(proto.name)() has no parameter named '\(label)' (parameters: \(names.joined(separator: ", ")))")
                }
                if values[p] != nil { throw FurrowError.type("\(proto.name)() got argument '\(label)' twice") }
                values[p] = arguments[i]
            } else {
                while nextPositional < names.count, values[nextPositional] != nil { nextPositional += 1 }
                guard nextPositional < names.count else {
                    throw FurrowError.type("\(proto.name)() takes \(names.count) argument\(names.count == 1 ? "" : "s"), got more")
                }
                values[nextPositional] = arguments[i]
                nextPositional += 1
            }
        }
        for i in 0..<arguments.count { fiber.stack[arguments.start + i] = .null }
        var missing: Set<Int> = []
        for (i, v) in values.enumerated() {
            if let v { fiber.stack[arguments.start + i] = v } else { missing.insert(i) }
        }
        return missing
    }
}

/// A builtin implemented in Swift.
public final class NativeFunction: Callable, @unchecked Sendable {
    public typealias Body = (Arguments) throws(FurrowError) -> Value
    let body: Body
    public let doc: String
    let parameters: [String]
    /// `.mutates`: the builtin changes the world, through `Interpreter.mutation`.
    public let effect: Effect

    /// `doc` is shown by `:help`; its first line is the signature, as in `len(x) → int`.
    public init(_ name: String, doc: String = "", parameters: [String] = [], effect: Effect = .reads, _ body: @escaping Body) {
        self.body = body
        self.doc = doc
        self.parameters = parameters
        self.effect = effect
        super.init(name: name)
    }

    public override var parameterNames: [String] { parameters }

    public override func call(_ fiber: Fiber, _ arguments: Arguments) throws(FurrowError) -> Value {
        try body(arguments)
    }
}
