import FurrowEnvironment
import FurrowHCL
import FurrowJSON
import FurrowRuntime
import FurrowTerraform

/// `environment(path)`, `environments(root)`, `stacks(root)`: the bindings of the
/// environment model (FurrowEnvironment, docs/environments.md) — an environment directory
/// composing stack directories that reach its secrets, backend and variables through links.
struct EnvironmentBuiltins: BuiltinModule {
    let terraform: Terraform

    func install(into interpreter: Interpreter) {
        let terraform = self.terraform
        interpreter.register(EnvironmentObject.members.description)
        interpreter.register(StackObject.members.description)
        interpreter.register("environment", builtin("environment", ["path"], doc: "environment(path) → environment\nThe environment in path (a directory with .variables/stacks): name path stacks vars secrets secret(name) stack(name) check() link(force:) plan() apply(only:, skip:, continue_on_error:) destroy().") { b, _ throws(FurrowError) in
            let path = try b[0]!.string("environment()'s path")
            return .host(EnvironmentObject(try environmentCall { () throws(EnvironmentError) in try Environment(path: path) }, terraform: terraform))
        })
        interpreter.register("environments", builtin("environments", ["root"], doc: "environments(root) → list of environments\nEvery environment directory under root (one holding .variables/stacks), sorted by path.") { b, _ throws(FurrowError) in
            let root = try b[0]!.string("environments()'s root")
            var found: [Value] = []
            for path in try environmentCall({ () throws(EnvironmentError) in try Environment.discover(under: root) }) {
                found.append(.host(EnvironmentObject(try environmentCall { () throws(EnvironmentError) in try Environment(path: path) }, terraform: terraform)))
            }
            return .list(found)
        })
        interpreter.register("stacks", builtin("stacks", ["root"], doc: "stacks(root) → list of {name, environments, paths}\nEvery distinct stack listed by an environment under root, with the environments that use it.") { b, _ throws(FurrowError) in
            let root = try b[0]!.string("stacks()'s root")
            var users: [String: (environments: [Value], paths: [Value])] = [:]
            for path in try environmentCall({ () throws(EnvironmentError) in try Environment.discover(under: root) }) {
                let environment = try environmentCall { () throws(EnvironmentError) in try Environment(path: path) }
                for stack in environment.stackNames {
                    users[stack, default: ([], [])].environments.append(.string(environment.name))
                    users[stack, default: ([], [])].paths.append(.string(environment.path + "/" + stack))
                }
            }
            return .list(users.keys.sorted().map { name in
                .map(["name": .string(name), "environments": .list(users[name]!.environments), "paths": .list(users[name]!.paths)])
            })
        })
    }
}

/// Runs an operation of the environment model, its error becoming a Furrow error of the same kind.
func environmentCall<Result>(_ body: () throws(EnvironmentError) -> Result) throws(FurrowError) -> Result {
    do {
        return try body()
    } catch {
        throw FurrowError(error.message, kind: error.kind.rawValue)
    }
}

/// An environment directory (`environment(path)`).
final class EnvironmentObject: HostObject, @unchecked Sendable {
    let environment: Environment
    let terraform: Terraform

    init(_ environment: Environment, terraform: Terraform) {
        self.environment = environment
        self.terraform = terraform
    }

    var name: String { environment.name }

    func stack(_ name: String) -> StackObject { StackObject(environment.stack(name), of: self) }

    /// terraform.tfvars as values; a variable some stack declares sensitive is redacted
    /// (terraform still gets its value: through the link, or `vars:` reveals it).
    func variables() throws(FurrowError) -> FurrowMap {
        let environment = self.environment
        let values = try environmentCall { () throws(EnvironmentError) in try environment.variables() }
        let sensitive = environment.sensitiveVariableNames()
        var result: FurrowMap = [:]
        for (key, value) in values {
            result[key] = sensitive.contains(key) ? .host(RedactedValue(Format.fromJSON(value))) : Format.fromJSON(value)
        }
        return result
    }

    override var typeName: String { "environment" }
    override var summary: String { "<environment \(name): \(environment.stackNames.joined(separator: ", "))>" }
    override var fields: FurrowMap {
        ["name": .string(name), "path": .string(environment.path), "stacks": .list(environment.stackNames.map { .string($0) }),
         "secrets": .list(environment.secretNames.map { .string($0) })]
    }
    override var memberNames: [String] { Self.members.names }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, name, fiber: fiber)
    }

    static let members = HostMembers<EnvironmentObject>("environment", [
        .property("name") { e, _ in .string(e.name) },
        .property("path") { e, _ in .string(e.environment.path) },
        .property("stacks", doc: "environment.stacks → list of stacks, in precedence order") { e, _ in
            .list(e.environment.stackNames.map { .host(e.stack($0)) })
        },
        .property("vars", doc: "environment.vars → map\n.variables/terraform.tfvars decoded; variables a stack declares sensitive print as <sensitive>.") { e, _ throws(FurrowError) in
            .map(try e.variables())
        },
        .property("secrets", doc: "environment.secrets → list of the names in .secrets/") { e, _ in
            .list(e.environment.secretNames.map { .string($0) })
        },
        .method("secret", ["name"], doc: "environment.secret(name) → sensitive\nThe secret file .secrets/<name>; prints as <sensitive>, .reveal() gives its text.") { e, b, _ throws(FurrowError) in
            let secret = try b[0]!.string("secret()'s name")
            let environment = e.environment
            _ = try environmentCall { () throws(EnvironmentError) in try environment.secretPath(secret) }
            return .host(RedactedValue { () throws(FurrowError) -> Value in
                .string(try environmentCall { () throws(EnvironmentError) in try environment.secretText(secret) })
            })
        },
        .method("stack", ["name"], doc: "environment.stack(name) → stack") { e, b, _ throws(FurrowError) in
            let stackName = try b[0]!.string("stack()'s name")
            let environment = e.environment
            return .host(StackObject(try environmentCall { () throws(EnvironmentError) in try environment.listedStack(stackName) }, of: e))
        },
        .method("check", doc: "environment.check() → list of {stack, problem, fix}\nEverything wrong with the layout; an empty list when it is healthy.") { e, _, _ in
            .list(e.environment.check().map { problem in
                .map(["stack": problem.stack.map { .string($0) } ?? .null, "problem": .string(problem.problem), "fix": .string(problem.fix)])
            })
        },
        .method("link", ["force"], required: 0, effect: .mutates, doc: "environment.link(force: false) → list of changes\nCreates or repairs the three links of every stack; a regular file in a link's place is replaced only with force: true. Planned in dry-run.") { e, b, args throws(FurrowError) in
            .list(try e.link(force: b[0]?.isTruthy ?? false, fiber: args.fiber).map { .map($0) })
        },
        runMember("plan", effect: .reads),
        runMember("apply", effect: .mutates),
        runMember("destroy", effect: .mutates),
    ])

    private static func runMember(_ action: String, effect: Effect) -> HostMember<EnvironmentObject> {
        .method(action, ["only", "skip", "continue_on_error"], required: 0, effect: effect, doc: "environment.\(action)(only: [], skip: [], continue_on_error: false) → result\nRuns every stack in precedence order\(action == "destroy" ? " (reversed)" : ""), stopping at the first failure unless continue_on_error.") { e, b, args throws(FurrowError) in
            let only = try b[0].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.strings("only") }
            let skip = try b[1].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.strings("skip") } ?? []
            return .host(try e.run(action, only: only, skip: skip, continueOnError: b[2]?.isTruthy ?? false, fiber: args.fiber))
        }
    }

    // MARK: link

    func link(force: Bool, fiber: Fiber) throws(FurrowError) -> [FurrowMap] {
        var rows: [FurrowMap] = []
        let environment = self.environment
        for change in environment.linkChanges(force: force) {
            var row: FurrowMap = ["stack": .string(change.stack), "link": .string(change.link.name), "target": .string(change.target),
                                  "change": .string(change.change.name)]
            if case .skipped(let reason) = change.change {
                row["reason"] = .string(reason)
                rows.append(row)
                continue
            }
            _ = try fiber.interpreter.mutation(fiber, "\(change.change.name) link \(name)/\(change.stack)/\(change.link.name) -> \(change.target)",
                                               ["path": .string(change.path), "target": .string(change.target)]) { () throws(FurrowError) -> Value in
                try environmentCall { () throws(EnvironmentError) in try environment.makeLink(change) }
                return .null
            }
            if fiber.dryRun { row["dry_run"] = .bool(true) }
            rows.append(row)
        }
        return rows
    }

    // MARK: plan / apply / destroy

    func run(_ action: String, only: [String]?, skip: [String], continueOnError: Bool, fiber: Fiber) throws(FurrowError) -> EnvironmentRunResult {
        let environment = self.environment
        let order = try environmentCall { () throws(EnvironmentError) in
            try environment.runOrder(destroying: action == "destroy", only: only, skip: skip)
        }
        var rows: [FurrowMap] = []
        var stopped = false
        for (name, selected) in order {
            var row: FurrowMap = ["stack": .string(name), "action": .string(action)]
            if !selected {
                row["result"] = .string("skipped")
            } else if stopped {
                row["result"] = .string("not run")
            } else {
                do {
                    let outcome = try stack(name).run(action, fiber: fiber)
                    row["result"] = .string(outcome.result)
                    row["add"] = .int(outcome.add)
                    row["change"] = .int(outcome.change)
                    row["destroy"] = .int(outcome.destroy)
                } catch {
                    row["result"] = .string("failed")
                    row["error"] = .string(error.message)
                    if !continueOnError { stopped = true }
                }
            }
            for key in ["add", "change", "destroy", "error"] where row[key] == nil { row[key] = .null }
            rows.append(row)
        }
        return EnvironmentRunResult(environment: name, action: action, rows: rows, dryRun: fiber.dryRun)
    }
}

/// The combined result of an environment's plan, apply or destroy: one row per stack.
final class EnvironmentRunResult: HostObject, @unchecked Sendable {
    let environment: String
    let action: String
    let rows: [FurrowMap]
    let dryRun: Bool

    init(environment: String, action: String, rows: [FurrowMap], dryRun: Bool) {
        self.environment = environment
        self.action = action
        self.rows = rows
        self.dryRun = dryRun
    }

    /// The worst result of any stack: `failed`, else `ok`.
    var status: String {
        rows.contains { $0["result"].map { $0 == .string("failed") } ?? false } ? "failed" : "ok"
    }

    override var typeName: String { "environment_result" }
    override var summary: String {
        "\(action) of environment \(environment)\(dryRun ? " (dry-run)" : ""): \(status)\n" + Format.table(rows)
    }
    override func display(color: Bool) -> String? { summary }
    override var fields: FurrowMap {
        var fields: FurrowMap = ["environment": .string(environment), "action": .string(action), "status": .string(status)]
        if dryRun { fields["dry_run"] = .bool(true) }
        fields["stacks"] = .list(rows.map { .map($0) })
        return fields
    }
}

/// One stack of an environment (`environment.stack(name)`, `environment.stacks`).
final class StackObject: HostObject, @unchecked Sendable {
    let stack: Stack
    let environment: EnvironmentObject

    init(_ stack: Stack, of environment: EnvironmentObject) {
        self.stack = stack
        self.environment = environment
    }

    var name: String { stack.name }
    var workspace: TerraformWorkspace { environment.terraform.workspace(stack.path, "default") }

    override var typeName: String { "stack" }
    override var summary: String { "<stack \(name) of \(environment.name)>" }
    override var fields: FurrowMap {
        ["name": .string(name), "path": .string(stack.path), "environment": .string(environment.name)]
    }
    override var memberNames: [String] { Self.members.names }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, name, fiber: fiber)
    }

    static let members = HostMembers<StackObject>("stack", [
        .property("name") { s, _ in .string(s.name) },
        .property("path") { s, _ in .string(s.stack.path) },
        .property("environment") { s, _ in .string(s.environment.name) },
        .property("backend", doc: "stack.backend → {type, settings}\nThe backend block of .variables/backend-<stack>.tf.") { s, _ throws(FurrowError) in
            let stack = s.stack
            let backend = try environmentCall { () throws(EnvironmentError) in try stack.backend() }
            return .map(["type": .string(backend.type), "settings": Format.fromJSON(.object(backend.settings))])
        },
        .property("variables", doc: "stack.variables → list of {name, type, default, required, description, sensitive}") { s, _ throws(FurrowError) in
            let stack = s.stack
            return .list(try environmentCall { () throws(EnvironmentError) in try stack.declaredVariables() }.map { variable in
                let defaultValue: Value = variable.defaultValue.map { variable.sensitive ? .host(RedactedValue(Format.fromJSON($0))) : Format.fromJSON($0) } ?? .null
                return .map([
                    "name": .string(variable.name), "type": variable.type.map { .string($0) } ?? .null,
                    "default": defaultValue, "required": .bool(variable.isRequired),
                    "description": variable.description.map { .string($0) } ?? .null, "sensitive": .bool(variable.sensitive),
                ])
            })
        },
        .property("outputs", doc: "stack.outputs() → map\nThe stack's root outputs (sensitive ones redacted).") { s, fiber throws(FurrowError) in
            try WorkspaceObject(s.workspace).member("outputs", fiber: fiber) ?? .null
        },
        .property("workspace", doc: "stack.workspace → workspace\nThe stack's default workspace.") { s, _ in .host(WorkspaceObject(s.workspace)) },
        runMember("plan", effect: .reads),
        runMember("apply", effect: .mutates),
        runMember("destroy", effect: .mutates),
    ])

    private static func runMember(_ action: String, effect: Effect) -> HostMember<StackObject> {
        .method(action, effect: effect, doc: "stack.\(action)() → {stack, action, result, add, change, destroy}\nRuns terraform \(action) in the stack's directory (its backend and the environment's tfvars come through the links).") { s, _, args throws(FurrowError) in
            let outcome = try s.run(action, fiber: args.fiber)
            return .map(["stack": .string(s.name), "action": .string(action), "result": .string(outcome.result),
                         "add": .int(outcome.add), "change": .int(outcome.change), "destroy": .int(outcome.destroy)])
        }
    }

    struct Outcome {
        var result: String
        var add: Int, change: Int, destroy: Int
    }

    /// Plans the stack; for apply and destroy then applies that plan, unless in plan mode
    /// (the result then says `planned`) or the plan changes nothing.
    func run(_ action: String, fiber: Fiber) throws(FurrowError) -> Outcome {
        let stack = self.stack
        _ = try environmentCall { () throws(EnvironmentError) in try stack.terraformFiles() }  // clear errors for a missing or empty stack directory
        let workspace = self.workspace
        let plan = try terraformCall { () throws(TerraformError) in try workspace.plan(destroy: action == "destroy") }
        var outcome = Outcome(result: plan.hasChanges ? "changes" : "no changes", add: plan.add, change: plan.change, destroy: plan.destroy)
        if action == "plan" {
            workspace.discard(plan)
            return outcome
        }
        guard plan.hasChanges else {
            workspace.discard(plan)
            return outcome
        }
        return try fiber.interpreter.mutation(fiber, plan: { () -> PlannedChange<Outcome> in
            workspace.discard(plan)
            outcome.result = "planned"
            return PlannedChange("\(action) stack \(name) (planned: +\(plan.add) ~\(plan.change) -\(plan.destroy))",
                                 details: ["environment": .string(environment.name)], result: outcome)
        }, perform: { () throws(FurrowError) -> Outcome in
            _ = try terraformCall { () throws(TerraformError) in try workspace.apply(plan) }
            outcome.result = action == "destroy" ? "destroyed" : "applied"
            return outcome
        })
    }
}
