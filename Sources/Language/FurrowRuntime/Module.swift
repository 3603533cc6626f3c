import OrderedCollections
import FurrowSyntax

/// A loaded Furrow module (a script, an imported file, a `std/` module, or the REPL session).
/// Its top-level names live in cells that compiled code holds directly: no lookups at run time.
public final class Module: @unchecked Sendable {
    public let name: String
    var cells: [String: Cell] = [:]
    var mutable: [String: Bool] = [:]
    /// Top-level names in declaration order (exports are those not starting with `_`).
    var order: [String] = []
    public internal(set) var parameters: [ScriptParameter] = []
    /// A REPL session may declare a function again under the same name, so calls there
    /// always read the function from its cell.
    let redefinesFunctions: Bool
    /// Top-level functions by their cell: calls to them go straight to the compiled code.
    var knownFunctions: [ObjectIdentifier: FunctionProto] = [:]
    /// The main script: nothing reads its globals once its top level has failed (a REPL
    /// session keeps them, an imported module's may be reached again), so top-level code
    /// may move a global's value into a call that replaces it (`Compiler.takingCall`).
    var isMainScript = false

    init(name: String, redefinesFunctions: Bool = false) {
        self.name = name
        self.redefinesFunctions = redefinesFunctions
    }

    func declare(_ name: String, mutable: Bool) -> Cell {
        if let cell = cells[name] {
            self.mutable[name] = mutable
            return cell
        }
        let cell = Cell(.null)
        cells[name] = cell
        self.mutable[name] = mutable
        order.append(name)
        return cell
    }

    public func value(of name: String) -> Value? { cells[name]?.value }

    public var globalNames: [String] { order }

    public var exports: [String] { order.filter { !$0.hasPrefix("_") } }
}

/// A `param` declaration: a command-line option of a script.
public struct ScriptParameter: Sendable {
    public let name: String
    public let defaultValue: Value
    public let doc: String?
    /// `max_age` is set with `--max-age` (or `--max_age`).
    public var optionName: String { "--" + name.replacingOccurrences(of: "_", with: "-") }
}

/// A module seen from scripts: `jobs.summary(...)` reads its exported top-level names.
final class ModuleObject: HostObject, @unchecked Sendable {
    let module: Module
    init(_ module: Module) { self.module = module }
    override var typeName: String { "module" }
    override var summary: String { "<module \(module.name)>" }
    override var fields: FurrowMap {
        var m: FurrowMap = [:]
        for name in module.exports { m[name] = module.cells[name]!.value }
        return m
    }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        guard !name.hasPrefix("_"), let cell = module.cells[name] else { return nil }
        return cell.value
    }
    override var memberNames: [String] { module.exports }
}

/// A builtin namespace such as `os`, `json` or `tf`: a fixed set of members.
public final class Namespace: HostObject, @unchecked Sendable {
    public let name: String
    public let doc: String
    public private(set) var members: FurrowMap

    public init(_ name: String, doc: String = "", members: FurrowMap) {
        self.name = name
        self.doc = doc
        self.members = members
    }

    public override var typeName: String { "module" }
    public override var summary: String { "<builtin module \(name)>" }
    public override var fields: FurrowMap { members }
    public override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? { members[name] }
    public override var memberNames: [String] { Array(members.keys) }
}
