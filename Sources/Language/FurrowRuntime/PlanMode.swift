/// What a builtin does to the world outside the interpreter. A `.mutates` builtin changes
/// files, tables, zones, workspaces or runs a program; under plan mode (`--dry-run`,
/// `dry_run(true) { ... }`) it goes through `Interpreter.mutation` and only says what it
/// would do. The mark is declared with the builtin, so tests can enumerate every one.
public enum Effect: Sendable {
    case reads
    case mutates
}

/// What a mutating builtin would do, said in plan mode instead of doing it: the action
/// (logged as `dry-run: would <action>` with `details` as fields) and the builtin's result.
/// With a nil action nothing would change and nothing is logged.
public struct PlannedChange<Result> {
    public var action: String?
    public var details: FurrowMap
    public var result: Result

    public init(_ action: String, details: FurrowMap = [:], result: Result) {
        self.action = action
        self.details = details
        self.result = result
    }

    /// Nothing would change: the result stands as it is, without a log line.
    public static func unchanged(_ result: Result) -> PlannedChange { PlannedChange(nil, result) }

    private init(_ action: String?, _ result: Result) {
        self.action = action
        self.details = [:]
        self.result = result
    }
}

extension Interpreter {
    /// The one way a builtin changes the world. Outside plan mode `perform` runs; in plan
    /// mode `plan` says what would change (it may read, never write), that is logged in the
    /// one format, and its result is returned instead.
    public func mutation<Result>(
        _ fiber: Fiber, plan: () throws(FurrowError) -> PlannedChange<Result>, perform: () throws(FurrowError) -> Result
    ) throws(FurrowError) -> Result {
        guard fiber.dryRun else { return try perform() }
        let change = try plan()
        if let action = change.action {
            log.write(level: "info", message: "dry-run: would \(action)", fields: Array(change.details))
        }
        return change.result
    }

    /// A mutation whose plan is the description itself: in plan mode the result is the map
    /// `{dry_run: true, action, ...details}`.
    public func mutation(
        _ fiber: Fiber, _ action: String, _ details: FurrowMap = [:], perform: () throws(FurrowError) -> Value
    ) throws(FurrowError) -> Value {
        try mutation(fiber, plan: { () -> PlannedChange<Value> in
            var plan: FurrowMap = ["dry_run": .bool(true), "action": .string(action)]
            for (k, v) in details { plan[k] = v }
            return PlannedChange(action, details: details, result: .map(plan))
        }, perform: perform)
    }
}

extension Fiber {
    /// Runs `body` in plan mode when `enabled`, else outside it; plan mode given on the
    /// command line cannot be left.
    func planning(_ enabled: Bool, _ body: () throws(FurrowError) -> Value) throws(FurrowError) -> Value {
        let saved = dryRun
        dryRun = enabled || interpreter.options.dryRun
        defer { dryRun = saved }
        return try body()
    }
}
