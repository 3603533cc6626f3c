import Foundation
import FurrowProcess
import FurrowJSON
import FurrowRuntime
import FurrowTerraform
import OrderedCollections

/// `tf.*`: terraform workspaces, plans, applies and outputs through a real `terraform`
/// (or `tofu`) executable — configuration `terraform.bin`, logs under `.furrow/logs/`.
struct TerraformBuiltins: BuiltinModule {
    let terraform: Terraform

    /// The one terraform runner of an interpreter, shared with `environment()`:
    /// configuration `terraform.bin` (default `terraform`), `terraform.cli_config` and
    /// `terraform.lock_timeout` (seconds, passed as `-lock-timeout` to plan, apply and destroy).
    static func makeTerraform(_ configuration: Configuration) -> Terraform {
        let lockTimeout: Duration? = switch configuration.value("terraform", "lock_timeout") {
        case .int(let seconds)?: .seconds(max(0, seconds))
        case .string(let text)?: Int(text).map { .seconds(max(0, $0)) }
        default: nil
        }
        return Terraform(TerraformSettings(
            executable: configuration.setting("terraform", "bin"),
            furrowDirectory: ".furrow",
            cliConfigFile: configuration.string("terraform", "cli_config"),
            lockTimeout: lockTimeout))
    }

    func install(into interpreter: Interpreter) {
        interpreter.register(WorkspaceObject.members.description)
        interpreter.register(RedactedValue.members.description)
        let terraform = self.terraform
        let interruption = interpreter.interruption
        terraform.stopRequest = {
            switch interruption.level {
            case .none: .none
            case .interrupt: .interrupt
            case .force: .kill
            }
        }
        interpreter.register("tf", .host(Namespace("tf", doc: "tf.workspace(dir, name), tf.workspaces(dir), tf.init(dir, backend_config: {}), tf.check(dir), tf.version()", members: [
            "workspace": builtin("tf.workspace", ["dir", "name"], required: 1, doc: "tf.workspace(dir, name = \"default\") → workspace\nA workspace of the terraform configuration in dir (not created by this call): exists create select_or_create delete plan apply destroy outputs resources state_list init.") { b, _ throws(FurrowError) in
                let dir = try b[0]!.string("tf.workspace()'s dir")
                let name = try b[1].map { v throws(FurrowError) in try v.string("tf.workspace()'s name") } ?? "default"
                return .host(WorkspaceObject(terraform.workspace(dir, name)))
            },
            "workspaces": builtin("tf.workspaces", ["dir"], doc: "tf.workspaces(dir) → list of names\nThe workspaces of the configuration in dir, as terraform lists them.") { b, _ throws(FurrowError) in
                let dir = try b[0]!.string("tf.workspaces()'s dir")
                return .list(try terraformCall { () throws(TerraformError) in try terraform.workspaces(dir) }.map { .string($0) })
            },
            "init": builtin("tf.init", ["dir", "backend_config"], required: 1, doc: "tf.init(dir, backend_config: {}) → null\nRuns terraform init in dir now (with -reconfigure when backend settings are given).") { b, _ throws(FurrowError) in
                let dir = try b[0]!.string("tf.init()'s dir")
                let settings = try backendSettings(b[1])
                _ = try terraformCall { () throws(TerraformError) in try terraform.initialize(dir, backendConfig: settings) }
                return .null
            },
            "check": builtin("tf.check", ["dir"], doc: "tf.check(dir) → null\nA `config` error unless dir (config.terraform.dir, say) is set, exists and holds terraform configuration (*.tf, *.tf.json); runs no terraform. Jobs call it before they touch any row.") { b, _ throws(FurrowError) in
                if b[0]!.isNull {
                    throw FurrowError("terraform.dir is not set: furrow.toml names the terraform configuration the jobs apply ([terraform] dir = \"...\")", kind: "config")
                }
                let dir = try b[0]!.string("tf.check()'s dir")
                do throws(TerraformError) {
                    try terraform.checkConfiguration(dir)
                } catch {
                    throw FurrowError("terraform.dir '\(dir)': \(error.message)", kind: "config", data: .map(["dir": .string(dir)]))
                }
                return .null
            },
            "version": builtin("tf.version", [], doc: "tf.version() → string\nThe version the terraform executable reports, e.g. \"1.11.4\".") { _, _ throws(FurrowError) in
                .string(try terraformCall { () throws(TerraformError) in try terraform.version() })
            },
        ])))
    }
}

/// Runs a terraform operation, turning its failure into a Furrow error of kind `terraform`
/// whose message names the directory, workspace and command, and whose data has them as fields.
func terraformCall<Result>(_ body: () throws(TerraformError) -> Result) throws(FurrowError) -> Result {
    do {
        return try body()
    } catch {
        throw furrowError(error)
    }
}

func furrowError(_ error: TerraformError) -> FurrowError {
    var data: FurrowMap = [
        "reason": .string(snakeCase(error.kind.rawValue)), "dir": .string(error.directory),
        "workspace": error.workspace.map { .string($0) } ?? .null, "command": .string(error.command),
    ]
    if let code = error.exitCode { data["exit_code"] = .int(Int(code)) }
    if let log = error.logFile { data["log"] = .string(log) }
    // An interrupted run (Ctrl-C, SIGTERM) raises the interrupt itself, so callers see one kind.
    return FurrowError(error.description, kind: error.kind == .interrupted ? "interrupted" : "terraform", data: .map(data))
}

/// `workspaceNotFound` → `workspace_not_found`, the way Furrow spells names.
private func snakeCase(_ name: String) -> String {
    var out = ""
    for character in name {
        if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
    }
    return out
}

private func backendSettings(_ value: Value?) throws(FurrowError) -> [String: String] {
    guard let value, !value.isNull else { return [:] }
    var settings: [String: String] = [:]
    for (key, setting) in try value.map("backend_config") {
        settings[key] = Format.str(setting)
    }
    return settings
}

/// Furrow values as terraform variables: a map whose values keep their JSON types.
/// Redacted values (sensitive outputs, secrets) go in with their real value: variables
/// reach terraform through a private file, never a log or a command line.
func terraformVariables(_ value: Value?) throws(FurrowError) -> TerraformWorkspace.Variables {
    guard let value, !value.isNull else { return [:] }
    var variables = TerraformWorkspace.Variables()
    for (name, variable) in try value.map("vars") {
        variables[name] = try Format.toJSON(try revealed(variable))
    }
    return variables
}

private func revealed(_ value: Value, depth: Int = 0) throws(FurrowError) -> Value {
    if depth > Limits.valueNesting {
        throw FurrowError.value("a variable is nested more than \(Limits.valueNesting) levels deep, too deep to pass to terraform")
    }
    switch value {
    case .host(let redacted as RedactedValue): return try redacted.reveal()
    case .list(let items):
        var out: [Value] = []
        for item in items { out.append(try revealed(item, depth: depth + 1)) }
        return .list(out)
    case .map(let entries):
        var out: FurrowMap = [:]
        for (key, item) in entries { out[key] = try revealed(item, depth: depth + 1) }
        return .map(out)
    default: return value
    }
}

private func optionalStrings(_ value: Value?, _ what: String) throws(FurrowError) -> [String] {
    guard let value, !value.isNull else { return [] }
    return try value.strings(what)
}

/// A value that must never be shown: a terraform `sensitive` output or an environment
/// secret. It prints as `<sensitive>`, encodes to JSON as an empty object, and gives its
/// value only to `.reveal()` and to terraform variables (`vars:`), so it can be passed on
/// without ever being shown.
final class RedactedValue: HostObject, @unchecked Sendable {
    /// The value in clear, for the one place that passes it on.
    let reveal: () throws(FurrowError) -> Value
    init(_ reveal: @escaping () throws(FurrowError) -> Value) { self.reveal = reveal }
    convenience init(_ value: Value) { self.init { () throws(FurrowError) in value } }

    override var typeName: String { "sensitive" }
    override var summary: String { "<sensitive>" }
    override var fields: FurrowMap { [:] }
    override var jsonValue: Value? { .string("<sensitive>") }
    override var memberNames: [String] { Self.members.names }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, name, fiber: fiber)
    }

    static let members = HostMembers<RedactedValue>("sensitive", [
        .method("reveal", doc: "sensitive.reveal() → value\nThe value in clear. Never print or log it.") { r, _, _ throws(FurrowError) in
            try r.reveal()
        },
    ])
}

/// A workspace of one terraform configuration directory (`tf.workspace(dir, name)`).
final class WorkspaceObject: HostObject, @unchecked Sendable {
    let workspace: TerraformWorkspace
    init(_ workspace: TerraformWorkspace) { self.workspace = workspace }

    override var typeName: String { "workspace" }
    override var summary: String { "<workspace \(workspace.name) of \(workspace.directory)>" }
    override var fields: FurrowMap { ["name": .string(workspace.name), "dir": .string(workspace.directory)] }
    override var memberNames: [String] { Self.members.names }
    override func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, name, fiber: fiber)
    }

    private var label: String { "workspace \(workspace.name) of \(workspace.directory)" }

    static let members = HostMembers<WorkspaceObject>("workspace", [
        .property("name") { w, _ in .string(w.workspace.name) },
        .property("dir") { w, _ in .string(w.workspace.directory) },
        .method("exists", doc: "workspace.exists() → bool") { w, _, _ throws(FurrowError) in
            let workspace = w.workspace
            return .bool(try terraformCall { () throws(TerraformError) in try workspace.exists() })
        },
        .method("create", effect: .mutates, doc: "workspace.create() → null\nCreates the workspace; fails if it exists (planned in dry-run).") { w, _, args throws(FurrowError) in
            let workspace = w.workspace
            let label = w.label
            return try args.fiber.interpreter.mutation(args.fiber, "create \(label)", ["workspace": .string(workspace.name), "dir": .string(workspace.directory)]) { () throws(FurrowError) -> Value in
                try terraformCall { () throws(TerraformError) in try workspace.create() }
                return .null
            }
        },
        .method("select_or_create", effect: .mutates, doc: "workspace.select_or_create() → bool\nMakes sure the workspace exists; true when it was created (planned in dry-run).") { w, _, args throws(FurrowError) in
            let workspace = w.workspace
            let label = w.label
            return try args.fiber.interpreter.mutation(args.fiber, "create \(label) unless it exists", ["workspace": .string(workspace.name), "dir": .string(workspace.directory)]) { () throws(FurrowError) -> Value in
                .bool(try terraformCall { () throws(TerraformError) in try workspace.selectOrCreate() })
            }
        },
        .method("delete", ["force"], required: 0, effect: .mutates, doc: "workspace.delete(force: false) → null\nDeletes the workspace; one that still has resources needs force: true (planned in dry-run).") { w, b, args throws(FurrowError) in
            let workspace = w.workspace
            let label = w.label
            let force = b[0]?.isTruthy ?? false
            return try args.fiber.interpreter.mutation(args.fiber, "delete \(label)\(force ? " (forced)" : "")", ["workspace": .string(workspace.name), "dir": .string(workspace.directory)]) { () throws(FurrowError) -> Value in
                try terraformCall { () throws(TerraformError) in try workspace.delete(force: force) }
                return .null
            }
        },
        .method("plan", ["vars", "var_files", "targets", "destroy"], required: 0, doc: "workspace.plan(vars: {}, var_files: [], targets: [], destroy: false) → plan\nPlans and saves the plan: .add .change .destroy .replace .changes .has_changes; apply it with workspace.apply(plan).") { w, b, _ throws(FurrowError) in
            let workspace = w.workspace
            let vars = try terraformVariables(b[0])
            let varFiles = try optionalStrings(b[1], "var_files"), targets = try optionalStrings(b[2], "targets")
            let destroy = b[3]?.isTruthy ?? false
            return .host(PlanObject(try terraformCall { () throws(TerraformError) in
                try workspace.plan(vars: vars, varFiles: varFiles, targets: targets, destroy: destroy)
            }))
        },
        .method("apply", ["plan", "vars", "var_files", "targets"], required: 0, effect: .mutates, doc: "workspace.apply(vars: {}, var_files: [], targets: []) or workspace.apply(plan) → result\nApplies (exactly the given plan, when one is given). In dry-run it plans instead and returns the plan.") { w, b, args throws(FurrowError) in
            let workspace = w.workspace
            if case .host(let plan as PlanObject)? = b[0] {
                return try WorkspaceObject.apply(plan, on: workspace, fiber: args.fiber)
            }
            var varsValue = b[1]
            if let first = b[0], !first.isNull {
                guard case .map = first else { throw FurrowError.type("workspace.apply() takes a plan or vars: {...}, got \(first.typeName)") }
                varsValue = first
            }
            let vars = try terraformVariables(varsValue)
            let varFiles = try optionalStrings(b[2], "var_files"), targets = try optionalStrings(b[3], "targets")
            return try WorkspaceObject.run("apply", on: workspace, destroy: false, vars: vars, varFiles: varFiles, targets: targets, fiber: args.fiber)
        },
        .method("destroy", ["vars", "var_files", "targets"], required: 0, effect: .mutates, doc: "workspace.destroy(vars: {}, var_files: [], targets: []) → result\nDestroys every resource of the workspace (the workspace stays). In dry-run it makes a destroy plan and returns it.") { w, b, args throws(FurrowError) in
            let workspace = w.workspace
            let vars = try terraformVariables(b[0])
            let varFiles = try optionalStrings(b[1], "var_files"), targets = try optionalStrings(b[2], "targets")
            return try WorkspaceObject.run("destroy", on: workspace, destroy: true, vars: vars, varFiles: varFiles, targets: targets, fiber: args.fiber)
        },
        .method("outputs", doc: "workspace.outputs() → map\nThe root outputs; sensitive ones print as <sensitive> (their .reveal() gives the value).") { w, _, _ throws(FurrowError) in
            let workspace = w.workspace
            let outputs = try terraformCall { () throws(TerraformError) in try workspace.outputs() }
            var result: FurrowMap = [:]
            for (outputName, output) in outputs {
                let value = Format.fromJSON(output.value)
                result[outputName] = output.sensitive ? .host(RedactedValue(value)) : value
            }
            return .map(result)
        },
        .method("resources", doc: "workspace.resources() → list\nEvery resource instance in the state: address, mode, type, name, index, provider, module, values (sensitive attributes redacted).") { w, _, _ throws(FurrowError) in
            let workspace = w.workspace
            let resources = try terraformCall { () throws(TerraformError) in try workspace.resources() }
            return .list(resources.map { resource in
                .map([
                    "address": .string(resource.address), "mode": .string(resource.mode), "type": .string(resource.type),
                    "name": .string(resource.name), "index": resource.index.map(Format.fromJSON) ?? .null,
                    "provider": .string(resource.provider), "module": resource.module.map { .string($0) } ?? .null,
                    "values": Format.fromJSON(resource.values),
                ])
            })
        },
        .method("state_list", doc: "workspace.state_list() → list of addresses") { w, _, _ throws(FurrowError) in
            let workspace = w.workspace
            return .list(try terraformCall { () throws(TerraformError) in try workspace.stateList() }.map { .string($0) })
        },
        .method("init", ["backend_config"], required: 0, doc: "workspace.init(backend_config: {}) → null\nRuns terraform init in the workspace's directory now.") { w, b, _ throws(FurrowError) in
            let workspace = w.workspace
            let settings = try backendSettings(b[0])
            _ = try terraformCall { () throws(TerraformError) in try workspace.initialize(backendConfig: settings) }
            return .null
        },
    ])

    /// `apply(vars:)` / `destroy(vars:)`; in plan mode the corresponding plan is made
    /// (and its file discarded) and returned with `dry_run: true`.
    static func run(_ command: String, on workspace: TerraformWorkspace, destroy: Bool, vars: TerraformWorkspace.Variables,
                    varFiles: [String], targets: [String], fiber: Fiber) throws(FurrowError) -> Value {
        try fiber.interpreter.mutation(fiber, plan: { () throws(FurrowError) -> PlannedChange<Value> in
            try dryRunPlan(command, on: workspace) { () throws(TerraformError) in
                try workspace.plan(vars: vars, varFiles: varFiles, targets: targets, destroy: destroy)
            }
        }, perform: { () throws(FurrowError) -> Value in
            let started = ContinuousClock.now
            let run = try terraformCall { () throws(TerraformError) -> TerraformRun in
                destroy ? try workspace.destroy(vars: vars, varFiles: varFiles, targets: targets)
                    : try workspace.apply(vars: vars, varFiles: varFiles, targets: targets)
            }
            return result(command, workspace: workspace, run: run, took: ContinuousClock.now - started)
        })
    }

    static func apply(_ plan: PlanObject, on workspace: TerraformWorkspace, fiber: Fiber) throws(FurrowError) -> Value {
        try fiber.interpreter.mutation(fiber, plan: { () -> PlannedChange<Value> in
            PlannedChange("apply the plan", details: ["workspace": .string(workspace.name), "dir": .string(workspace.directory)], result: .host(plan))
        }, perform: { () throws(FurrowError) -> Value in
            let started = ContinuousClock.now
            let run = try terraformCall { () throws(TerraformError) in try workspace.apply(plan.plan) }
            return result(plan.plan.isDestroy ? "destroy" : "apply", workspace: workspace, run: run, took: ContinuousClock.now - started)
        })
    }

    /// A plan standing in for an apply or destroy under `--dry-run`. A workspace that does
    /// not exist yet (its creation was only planned) cannot be planned: that is said instead.
    static func dryRunPlan(_ command: String, on workspace: TerraformWorkspace,
                           _ makePlan: () throws(TerraformError) -> TerraformPlan) throws(FurrowError) -> PlannedChange<Value> {
        let details: FurrowMap = ["workspace": .string(workspace.name), "dir": .string(workspace.directory)]
        do {
            let plan = try makePlan()
            workspace.discard(plan)
            return PlannedChange("\(command) (planned: +\(plan.add) ~\(plan.change) -\(plan.destroy))", details: details,
                                 result: .host(PlanObject(plan, dryRunAction: command)))
        } catch where error.kind == .workspaceNotFound {
            return PlannedChange("\(command); the workspace does not exist yet, so there is no plan", details: details,
                                 result: .map(["dry_run": .bool(true), "action": .string("\(command) workspace \(workspace.name) of \(workspace.directory) (not created yet: no plan)")]))
        } catch {
            throw furrowError(error)
        }
    }

    static func result(_ command: String, workspace: TerraformWorkspace, run: TerraformRun, took: Duration) -> Value {
        let nanoseconds = took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000
        return .map([
            "workspace": .string(workspace.name), "dir": .string(workspace.directory), "action": .string(command),
            "took": .duration(Int64(nanoseconds)), "log": .string(run.logFile),
        ])
    }
}

/// A saved plan (`workspace.plan(...)`): what it would do, appliable with `workspace.apply(plan)`.
final class PlanObject: HostObject, @unchecked Sendable {
    let plan: TerraformPlan
    /// Set when the plan stands in for an apply or destroy under `--dry-run`.
    let dryRunAction: String?
    init(_ plan: TerraformPlan, dryRunAction: String? = nil) {
        self.plan = plan
        self.dryRunAction = dryRunAction
    }

    override var typeName: String { "plan" }
    override var summary: String {
        let kind = plan.isDestroy ? "destroy plan" : "plan"
        return "<\(kind) of workspace \(plan.workspace): +\(plan.add) ~\(plan.change) -\(plan.destroy)>"
    }
    override var fields: FurrowMap {
        var fields: FurrowMap = [:]
        if let dryRunAction {
            fields["dry_run"] = .bool(true)
            fields["action"] = .string(dryRunAction)
        }
        fields["workspace"] = .string(plan.workspace)
        fields["dir"] = .string(plan.directory)
        fields["mode"] = .string(plan.isDestroy ? "destroy" : "apply")
        fields["add"] = .int(plan.add)
        fields["change"] = .int(plan.change)
        fields["destroy"] = .int(plan.destroy)
        fields["replace"] = .int(plan.replace)
        fields["has_changes"] = .bool(plan.hasChanges)
        fields["changes"] = .list(plan.changes.map { .map(["address": .string($0.address), "actions": .list($0.actions.map { .string($0) })]) })
        fields["file"] = dryRunAction == nil ? .string(plan.planFile) : .null
        return fields
    }
}
