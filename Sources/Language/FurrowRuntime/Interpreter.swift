import OrderedCollections
import Foundation
import FurrowSyntax

/// Settings of one interpreter, from the command line and configuration.
public struct RunOptions: Sendable {
    public var dryRun = false
    /// `--yes`: confirmations are answered yes.
    public var assumeYes = false
    /// `--json`: scripts print results as JSON.
    public var jsonOutput = false
    public var logJSON = false
    /// Colour on standard output and standard error (a TTY and no `NO_COLOR`).
    public var color = false
    /// Standard input is a terminal: `confirm` may ask.
    public var interactive = false
    public var scriptArguments: [String] = []
    public init() {}
}

/// A group of builtins (`os`, `json`, `tf`, `state`...). Every front end gets the same list.
public protocol BuiltinModule {
    func install(into interpreter: Interpreter)
}

/// A module loaded by `import`: compiled once, run once per process.
public final class LoadedModule: @unchecked Sendable {
    public let module: Module
    let code: Code
    let frameSize: Int
    private var state = 0  // 0 not run, 1 running, 2 done
    private var failure: FurrowError?
    private let lock = NSRecursiveLock()

    init(module: Module, code: @escaping Code, frameSize: Int) {
        self.module = module
        self.code = code
        self.frameSize = frameSize
    }

    func runOnce(_ fiber: Fiber) throws(FurrowError) {
        lock.lock()
        defer { lock.unlock() }
        if state == 2 {
            if let failure { throw failure }
            return
        }
        if state == 1 { throw FurrowError("import cycle: module '\(module.name)' imports itself", kind: "import") }
        state = 1
        do throws(FurrowError) {
            _ = try fiber.interpreter.runFrame(code, frameSize: frameSize, fiber)
            state = 2
        } catch {
            state = 2
            failure = error
            throw error
        }
    }
}

/// A script ready to run: its module (with `param`s) and compiled top level.
public final class CompiledScript: @unchecked Sendable {
    public let module: Module
    let code: Code
    let frameSize: Int
    init(module: Module, code: @escaping Code, frameSize: Int) {
        self.module = module
        self.code = code
        self.frameSize = frameSize
    }
    public var parameters: [ScriptParameter] { module.parameters }
}

/// The evaluator: builtins, module loading and running. The REPL, `furrow run` and the
/// tests each make one with the same list of builtin modules.
public final class Interpreter: @unchecked Sendable {
    public private(set) var builtins: [String: Value] = [:]
    /// `:help` text of builtins by name (`len`, `os.exec`).
    public private(set) var docs: [String: String] = [:]
    public var options: RunOptions
    public let log: StructuredLog
    /// Values given on the command line for `param`s.
    public var parameterOverrides: [String: Value] = [:]
    /// The standard library's sources by module name (`std/jobs` → text).
    public let standardLibrary: [String: String]
    /// The host object types the builtin modules declared (`workspace`, `state.table`...).
    public private(set) var hostTypes: [HostType] = []
    /// Anything a builtin module needs to keep per interpreter (connections, caches).
    public var extensions: [String: AnyObject] = [:]
    private var loaded: [String: LoadedModule] = [:]
    /// Modules being compiled right now, to report import cycles instead of recursing forever.
    private var loading: [String] = []
    private let loadLock = NSRecursiveLock()
    /// The fiber of the main thread.
    public private(set) var fiber: Fiber!
    /// Stops running code from another thread: `interrupt(reason:)`, `clearInterrupt()`.
    public let interruption = Interruption()

    public init(options: RunOptions = RunOptions(), modules: [BuiltinModule], standardLibrary: [String: String] = [:]) {
        self.options = options
        self.standardLibrary = standardLibrary
        self.log = StructuredLog(json: options.logJSON, color: options.color)
        self.fiber = Fiber(interpreter: self, dryRun: options.dryRun, ownedByInterpreter: true)
        Core.install(into: self)
        for module in modules { module.install(into: self) }
    }

    public func register(_ name: String, _ value: Value, doc: String? = nil) {
        builtins[name] = value
        if let doc { docs[name] = doc }
        if case .function(let fn as NativeFunction) = value, !fn.doc.isEmpty { docs[name] = fn.doc }
        if case .host(let ns as Namespace) = value {
            if !ns.doc.isEmpty { docs[name] = ns.doc }
            for (member, v) in ns.members {
                if case .function(let fn as NativeFunction) = v, !fn.doc.isEmpty { docs["\(name).\(member)"] = fn.doc }
            }
        }
    }

    /// Declares a host object type: its members' help becomes `:help type.member`.
    public func register(_ type: HostType) {
        hostTypes.append(type)
        for member in type.members where !member.doc.isEmpty { docs["\(type.name).\(member.name)"] = member.doc }
    }

    /// Asks every fiber to stop at its next safe point with an `interrupted` error; `force`
    /// also stops `catch` handlers. Safe from any thread (not from a signal handler itself).
    public func interrupt(reason: String = "interrupted", force: Bool = false) {
        interruption.request(reason, force: force)
    }

    /// Withdraws an interrupt, so the next run (the REPL's next input) starts clean.
    public func clearInterrupt() { interruption.clear() }

    // MARK: compiling

    /// Parses and compiles a script (and, transitively, its imports) without running anything.
    public func compile(_ file: SourceFile) throws(DiagnosticList) -> CompiledScript {
        let program = try Parser.parse(file)
        let module = Module(name: file.name)
        module.isMainScript = true
        let compiler = Compiler(interpreter: self, module: module, file: file, statements: program.statements)
        let (code, frameSize) = compiler.compileTopLevel(program.statements, echoLast: false)
        if !compiler.diagnostics.isEmpty { throw DiagnosticList(compiler.diagnostics) }
        return CompiledScript(module: module, code: code, frameSize: frameSize)
    }

    /// Runs a compiled script on the main fiber.
    public func run(_ script: CompiledScript) throws(FurrowError) {
        _ = try runFrame(script.code, frameSize: script.frameSize, fiber)
    }

    func runFrame(_ code: Code, frameSize: Int, _ fiber: Fiber) throws(FurrowError) -> Value {
        let savedBase = fiber.base
        let start = fiber.top
        fiber.ensureCapacity(start + frameSize)
        fiber.base = start
        fiber.top = start + frameSize
        defer {
            fiber.pop(to: start)
            fiber.base = savedBase
        }
        return try code(fiber)
    }

    /// The persistent session of the REPL (or of `-c`): each input is compiled against it.
    public func makeSession(name: String = "<repl>") -> Session { Session(interpreter: self, name: name) }

    // MARK: modules

    static func defaultImportName(_ path: String) -> String {
        var last = path.split(separator: "/").last.map(String.init) ?? path
        if last.hasSuffix(".furrow") { last.removeLast(".furrow".count) }
        return last.replacingOccurrences(of: "-", with: "_")
    }

    /// Loads (parses and compiles) a module once per process; running happens at `import`.
    func loadModule(_ path: String, from importer: SourceFile) throws -> LoadedModule {
        let key: String
        let text: String
        if path.hasPrefix("std/") {
            key = path
            guard let source = standardLibrary[path] else {
                let known = standardLibrary.keys.sorted().joined(separator: ", ")
                throw FurrowError("no standard library module '\(path)' (available: \(known))", kind: "import")
            }
            text = source
        } else {
            let importerDirectory = URL(fileURLWithPath: importer.name).deletingLastPathComponent()
            var url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : importerDirectory.appendingPathComponent(path)
            if !FileManager.default.fileExists(atPath: url.path), !path.hasSuffix(".furrow") {
                url = url.appendingPathExtension("furrow")
            }
            key = url.standardizedFileURL.path
            loadLock.lock()
            let cached = loaded[key]
            loadLock.unlock()
            if let cached { return cached }
            guard let data = FileManager.default.contents(atPath: key) else {
                throw FurrowError("cannot read module '\(path)' (looked for \(key))", kind: "import")
            }
            guard let decoded = String(validating: data, as: UTF8.self) else {
                throw FurrowError("module '\(path)' is not valid UTF-8", kind: "import")
            }
            text = decoded
        }
        loadLock.lock()
        defer { loadLock.unlock() }
        if let cached = loaded[key] { return cached }
        if loading.contains(key) || key == importer.name {
            let chain = (loading + [key]).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " → ")
            throw FurrowError("import cycle: \(importer.name == key ? URL(fileURLWithPath: key).lastPathComponent + " → " : "")\(chain)", kind: "import")
        }
        loading.append(key)
        defer { loading.removeLast() }
        let file = SourceFile(name: key, text: text)
        let program = try Parser.parse(file)
        let module = Module(name: key)
        let compiler = Compiler(interpreter: self, module: module, file: file, statements: program.statements)
        let (code, frameSize) = compiler.compileTopLevel(program.statements, echoLast: false)
        if !compiler.diagnostics.isEmpty { throw DiagnosticList(compiler.diagnostics) }
        let result = LoadedModule(module: module, code: code, frameSize: frameSize)
        loaded[key] = result
        return result
    }

    // MARK: threads

    /// Runs `body` on a thread with a large stack, so deep (but bounded) recursion in scripts
    /// and in the compiler never overflows the native stack.
    public static func onLargeStack<T>(_ body: @escaping @Sendable () -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.value = body()
            done.signal()
        }
        thread.stackSize = 1 << 29
        thread.start()
        done.wait()
        return box.value!
    }
}

private final class ResultBox<T>: @unchecked Sendable { var value: T? }

/// A REPL (or `-c`) session: one module whose globals persist from input to input.
public final class Session: @unchecked Sendable {
    public let interpreter: Interpreter
    let module: Module
    var counter = 0

    init(interpreter: Interpreter, name: String) {
        self.interpreter = interpreter
        self.module = Module(name: name, redefinesFunctions: true)
    }

    public var globalNames: [String] { module.order }

    public func value(of name: String) -> Value? { module.value(of: name) }

    /// Binds a global of the session as `let` would (the REPL keeps its last result in `_`).
    public func define(_ name: String, _ value: Value) {
        module.declare(name, mutable: false).value = value
    }

    /// Compiles and runs one input; returns the value of a final expression statement
    /// (nil when the input ends with a declaration or statement).
    public func evaluate(_ source: String, name: String? = nil) throws -> Value? {
        counter += 1
        let file = SourceFile(name: name ?? (module.name == "<repl>" ? "<input \(counter)>" : module.name), text: source)
        let program = try Parser.parse(file)
        // Declarations of a failed input must not linger, so compile against a trial copy first.
        let compiler = Compiler(interpreter: interpreter, module: module, file: file, statements: program.statements)
        let before = module.order.count
        let (code, frameSize) = compiler.compileTopLevel(program.statements, echoLast: true)
        if !compiler.diagnostics.isEmpty {
            for name in module.order[before...] {
                module.cells[name] = nil
                module.mutable[name] = nil
            }
            module.order.removeLast(module.order.count - before)
            throw DiagnosticList(compiler.diagnostics)
        }
        let result = try interpreter.runFrame(code, frameSize: frameSize, interpreter.fiber)
        if let last = program.statements.last, case .expr = last.kind {
            return try Operations.materialize(result, interpreter.fiber)
        }
        return nil
    }
}
