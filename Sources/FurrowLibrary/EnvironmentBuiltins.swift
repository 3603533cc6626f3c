import Foundation
import FurrowHCL
import FurrowJSON
import FurrowRuntime
import FurrowTerraform

/// `environment(path)`, `environments(root)`, `stacks(root)`: the environment layout of
/// docs/environments.md — an environment directory composing stack directories that
/// reach its secrets, backend and variables through three symlinks.
struct EnvironmentBuiltins: BuiltinModule {
    let terraform: Terraform

    func install(into interpreter: Interpreter) {
        let terraform = self.terraform
        interpreter.register("environment", builtin("environment", ["path"], doc: "environment(path) → environment\nThe environment in path (a directory with .variables/stacks): name path stacks vars secrets secret(name) stack(name) check() link(force:) plan() apply(only:, skip:, continue_on_error:) destroy().") { b, _ throws(FurrowError) in
            .host(try EnvironmentObject(path: try b[0]!.string("environment()'s path"), terraform: terraform))
        })
        interpreter.register("environments", builtin("environments", ["root"], doc: "environments(root) → list of environments\nEvery environment directory under root (one holding .variables/stacks), sorted by path.") { b, _ throws(FurrowError) in
            let root = try b[0]!.string("environments()'s root")
            var found: [Value] = []
            for path in try EnvironmentObject.discover(under: root) {
                found.append(.host(try EnvironmentObject(path: path, terraform: terraform)))
            }
            return .list(found)
        })
        interpreter.register("stacks", builtin("stacks", ["root"], doc: "stacks(root) → list of {name, environments, paths}\nEvery distinct stack listed by an environment under root, with the environments that use it.") { b, _ throws(FurrowError) in
            let root = try b[0]!.string("stacks()'s root")
            var users: [String: (environments: [Value], paths: [Value])] = [:]
            for path in try EnvironmentObject.discover(under: root) {
                let environment = try EnvironmentObject(path: path, terraform: terraform)
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

/// The three links every stack directory holds, and where each must point.
enum StackLink: CaseIterable {
    case secrets, backend, tfvars

    var name: String {
        switch self {
        case .secrets: return ".secrets"
        case .backend: return "backend.tf"
        case .tfvars: return "terraform.tfvars"
        }
    }

    func target(for stack: String) -> String {
        switch self {
        case .secrets: return "../.secrets"
        case .backend: return "../.variables/backend-\(stack).tf"
        case .tfvars: return "../.variables/terraform.tfvars"
        }
    }

    /// What is at the link's place in a stack directory.
    enum Found: Equatable {
        case missing
        case correct
        case elsewhere(String)
        /// Points where it should, but the target does not exist.
        case broken
        /// A chain of links that never ends in a file.
        case loop
        case regularFile
        case directory
    }

    func inspect(in stackPath: String, stack: String) -> Found {
        let path = stackPath + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
            var resolved = stat()
            if stat(path, &resolved) != 0 {
                if errno == ELOOP { return .loop }
                return destination == target(for: stack) ? .broken : .elsewhere(destination)
            }
            return destination == target(for: stack) ? .correct : .elsewhere(destination)
        case S_IFDIR: return .directory
        default: return .regularFile
        }
    }
}

/// An environment directory (`environment(path)`).
final class EnvironmentObject: HostObject, @unchecked Sendable {
    let path: String
    let name: String
    /// Stack names in precedence order, as `.variables/stacks` lists them.
    let stackNames: [String]
    let terraform: Terraform

    init(path: String, terraform: Terraform) throws(FurrowError) {
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
        self.name = (trimmed as NSString).lastPathComponent
        self.terraform = terraform
        let stacksFile = trimmed + "/.variables/stacks"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FurrowError("not an environment: \(path) is not a directory", kind: "environment")
        }
        guard let data = FileManager.default.contents(atPath: stacksFile) else {
            throw FurrowError("not an environment: \(path) has no .variables/stacks (the stack precedence file)", kind: "environment")
        }
        var names: [String] = []
        var lines: [String: Int] = [:]
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let entry = (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard !entry.contains("/"), entry != ".", entry != "..", !entry.contains(" ") else {
                throw FurrowError("\(stacksFile):\(index + 1): '\(entry)' is not a stack directory name", kind: "environment")
            }
            if let first = lines[entry] {
                throw FurrowError("\(stacksFile):\(index + 1): stack \(entry) is listed twice (first at line \(first))", kind: "environment")
            }
            lines[entry] = index + 1
            names.append(entry)
        }
        self.stackNames = names
    }

    /// Directories under `root` that hold `.variables/stacks`, sorted; environments are not
    /// searched inside, nor are hidden directories.
    static func discover(under root: String) throws(FurrowError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FurrowError("no such directory: \(root)", kind: "environment")
        }
        var found: [String] = []
        func walk(_ directory: String, depth: Int) {
            if FileManager.default.fileExists(atPath: directory + "/.variables/stacks") {
                found.append(directory)
                return
            }
            guard depth < 6, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for entry in entries.sorted() where !entry.hasPrefix(".") {
                let child = directory + "/" + entry
                var childInfo = stat()
                guard lstat(child, &childInfo) == 0, childInfo.st_mode & S_IFMT == S_IFDIR else { continue }
                walk(child, depth: depth + 1)
            }
        }
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        walk(trimmed, depth: 0)
        return found.sorted()
    }

    var tfvarsPath: String { path + "/.variables/terraform.tfvars" }

    /// `.variables/terraform.tfvars` decoded; a missing file is an empty map.
    func variables() throws(FurrowError) -> FurrowMap {
        guard let data = FileManager.default.contents(atPath: tfvarsPath) else { return [:] }
        do throws(HCLError) {
            var values: FurrowMap = [:]
            for (key, value) in try TerraformHCL.decodeTFVars(String(decoding: data, as: UTF8.self), filename: tfvarsPath) {
                values[key] = Format.fromJSON(value)
            }
            return values
        } catch {
            throw FurrowError("invalid tfvars: \(error.description)", kind: "hcl")
        }
    }

    var secretNames: [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path + "/.secrets")) ?? []
        return entries.filter { !$0.hasPrefix(".") }.sorted()
    }

    func stack(_ name: String) -> StackObject { StackObject(name: name, environment: self) }

    override var typeName: String { "environment" }
    override var summary: String { "<environment \(name): \(stackNames.joined(separator: ", "))>" }
    override var fields: FurrowMap {
        ["name": .string(name), "path": .string(path), "stacks": .list(stackNames.map { .string($0) }),
         "secrets": .list(secretNames.map { .string($0) })]
    }
    override var memberNames: [String] {
        ["name", "path", "stacks", "vars", "secrets", "secret", "stack", "check", "link", "plan", "apply", "destroy"]
    }

    override func member(_ member: String, fiber: Fiber) throws(FurrowError) -> Value? {
        switch member {
        case "name", "path", "secrets": return fields[member]
        case "stacks": return .list(stackNames.map { .host(stack($0)) })
        case "vars": return .map(try variables())
        case "secret":
            return builtin("secret", ["name"], doc: "environment.secret(name) → sensitive\nThe secret file .secrets/<name>; prints as <sensitive>, .reveal() gives its text.") { b, _ throws(FurrowError) in
                let secret = try b[0]!.string("secret()'s name")
                guard self.secretNames.contains(secret) else {
                    throw FurrowError("environment \(self.name) has no secret named '\(secret)' (secrets: \(self.secretNames.joined(separator: ", ")))", kind: "environment")
                }
                let file = self.path + "/.secrets/" + secret
                return .host(RedactedValue { () throws(FurrowError) -> Value in
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw FurrowError("cannot read secret '\(secret)' of environment \(self.name)", kind: "io")
                    }
                    return .string(String(decoding: data, as: UTF8.self))
                })
            }
        case "stack":
            return builtin("stack", ["name"], doc: "environment.stack(name) → stack") { b, _ throws(FurrowError) in
                let stackName = try b[0]!.string("stack()'s name")
                guard self.stackNames.contains(stackName) else {
                    throw FurrowError("environment \(self.name) does not list a stack named '\(stackName)' (stacks: \(self.stackNames.joined(separator: ", ")))", kind: "environment")
                }
                return .host(self.stack(stackName))
            }
        case "check":
            return builtin("check", [], doc: "environment.check() → list of {stack, problem, fix}\nEverything wrong with the layout; an empty list when it is healthy.") { _, _ throws(FurrowError) in
                .list(self.check().map { .map($0) })
            }
        case "link":
            return builtin("link", ["force"], required: 0, effect: .mutates, doc: "environment.link(force: false) → list of changes\nCreates or repairs the three links of every stack; a regular file in a link's place is replaced only with force: true. Planned in dry-run.") { b, args throws(FurrowError) in
                .list(try self.link(force: b[0]?.isTruthy ?? false, fiber: args.fiber).map { .map($0) })
            }
        case "plan", "apply", "destroy":
            return builtin(member, ["only", "skip", "continue_on_error"], required: 0, effect: member == "plan" ? .reads : .mutates, doc: "environment.\(member)(only: [], skip: [], continue_on_error: false) → result\nRuns every stack in precedence order\(member == "destroy" ? " (reversed)" : ""), stopping at the first failure unless continue_on_error.") { b, args throws(FurrowError) in
                let only = try b[0].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.strings("only") }
                let skip = try b[1].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.strings("skip") } ?? []
                for name in (only ?? []) + skip where !self.stackNames.contains(name) {
                    throw FurrowError("environment \(self.name) does not list a stack named '\(name)'", kind: "environment")
                }
                return .host(self.run(member, only: only, skip: skip, continueOnError: b[2]?.isTruthy ?? false, fiber: args.fiber))
            }
        default:
            return nil
        }
    }

    // MARK: check

    private func problem(_ stack: String?, _ problem: String, _ fix: String) -> FurrowMap {
        ["stack": stack.map { .string($0) } ?? .null, "problem": .string(problem), "fix": .string(fix)]
    }

    /// Paths of `.gitmodules` submodules, when the environment has that file.
    private var submodulePaths: Set<String> {
        guard let text = try? String(contentsOfFile: path + "/.gitmodules", encoding: .utf8) else { return [] }
        var paths: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "path" { paths.insert(parts[1]) }
        }
        return paths
    }

    func check() -> [FurrowMap] {
        var problems: [FurrowMap] = []
        let submodules = submodulePaths
        let fileManager = FileManager.default
        let listed = Set(stackNames)
        var present: [String] = []
        for name in stackNames {
            let stackPath = path + "/" + name
            var isDirectory: ObjCBool = false
            let exists = fileManager.fileExists(atPath: stackPath, isDirectory: &isDirectory) && isDirectory.boolValue
            let empty = exists && ((try? fileManager.contentsOfDirectory(atPath: stackPath))?.isEmpty ?? true)
            if submodules.contains(name), !exists || empty {
                problems.append(problem(name, "submodule \(name) is not checked out", "git submodule update --init \(name)"))
                continue
            }
            if !exists {
                problems.append(problem(name, "listed in .variables/stacks but \(name)/ does not exist",
                                        "add the stack (git submodule add <url> \(name)) or remove it from .variables/stacks"))
                continue
            }
            present.append(name)
            let backendFile = path + "/.variables/backend-\(name).tf"
            let backendMissing = !fileManager.fileExists(atPath: backendFile)
            if backendMissing {
                problems.append(problem(name, ".variables/backend-\(name).tf is missing", "write the stack's backend block to .variables/backend-\(name).tf"))
            }
            for link in StackLink.allCases {
                let target = link.target(for: name)
                switch link.inspect(in: stackPath, stack: name) {
                case .correct: break
                case .missing:
                    problems.append(problem(name, "\(name)/\(link.name) is missing (should link to \(target))", "environment(...).link()"))
                case .elsewhere(let destination):
                    problems.append(problem(name, "\(name)/\(link.name) points to \(destination) instead of \(target)", "environment(...).link()"))
                case .broken:
                    if link == .backend && backendMissing { break }
                    problems.append(problem(name, "\(name)/\(link.name) -> \(target) is broken: the target does not exist", "create \(target.dropFirst(3)) in the environment"))
                case .loop:
                    problems.append(problem(name, "\(name)/\(link.name) is a symlink loop", "environment(...).link()"))
                case .regularFile:
                    problems.append(problem(name, "\(name)/\(link.name) is a regular file where a link to \(target) belongs",
                                            "move its content to \(target.dropFirst(3)), then environment(...).link(force: true)"))
                case .directory:
                    problems.append(problem(name, "\(name)/\(link.name) is a directory where a link to \(target) belongs",
                                            "move its content to \(target.dropFirst(3)) and remove it, then environment(...).link()"))
                }
            }
        }
        for entry in ((try? fileManager.contentsOfDirectory(atPath: path)) ?? []).sorted() where !entry.hasPrefix(".") && !listed.contains(entry) {
            let entryPath = path + "/" + entry
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: entryPath, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let hasTerraform = ((try? fileManager.contentsOfDirectory(atPath: entryPath)) ?? []).contains { $0.hasSuffix(".tf") }
            if hasTerraform || submodules.contains(entry) {
                problems.append(problem(entry, "\(entry)/ is a stack but .variables/stacks does not list it",
                                        "add \(entry) to .variables/stacks (in precedence order) or remove the directory"))
            }
        }
        let tfvars: FurrowMap
        do {
            tfvars = try variables()
        } catch {
            problems.append(problem(nil, error.message, "fix .variables/terraform.tfvars"))
            return problems
        }
        var declared: Set<String> = []
        for name in present {
            do {
                let variables = try stack(name).declaredVariables()
                for variable in variables {
                    declared.insert(variable.name)
                    if variable.isRequired, tfvars[variable.name] == nil {
                        problems.append(problem(name, "variable \(variable.name) has no default and terraform.tfvars does not set it",
                                                "set \(variable.name) in .variables/terraform.tfvars"))
                    }
                }
            } catch {
                problems.append(problem(name, error.message, "fix the stack's terraform files"))
                declared.formUnion(tfvars.keys)  // unknown declarations: no "undeclared" reports
            }
        }
        for key in tfvars.keys where !declared.contains(key) {
            problems.append(problem(nil, "terraform.tfvars sets \(key), which no stack declares",
                                    "remove \(key) from .variables/terraform.tfvars or declare it in a stack"))
        }
        return problems
    }

    // MARK: link

    func link(force: Bool, fiber: Fiber) throws(FurrowError) -> [FurrowMap] {
        var changes: [FurrowMap] = []
        let fileManager = FileManager.default
        for name in stackNames {
            let stackPath = path + "/" + name
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: stackPath, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            // An empty directory is a submodule not checked out: links would only hide that.
            guard !((try? fileManager.contentsOfDirectory(atPath: stackPath))?.isEmpty ?? true) else { continue }
            for link in StackLink.allCases {
                let linkPath = stackPath + "/" + link.name, target = link.target(for: name)
                let found = link.inspect(in: stackPath, stack: name)
                let change: String
                switch found {
                case .correct, .broken: continue
                case .missing: change = "create"
                case .elsewhere, .loop: change = "replace"
                case .regularFile:
                    guard force else {
                        changes.append(["stack": .string(name), "link": .string(link.name), "target": .string(target), "change": .string("skipped"),
                                        "reason": .string("a regular file is in the way (force: true replaces it)")])
                        continue
                    }
                    change = "replace file"
                case .directory:
                    changes.append(["stack": .string(name), "link": .string(link.name), "target": .string(target), "change": .string("skipped"),
                                    "reason": .string("a directory is in the way (move it yourself)")])
                    continue
                }
                _ = try fiber.interpreter.mutation(fiber, "\(change) link \(self.name)/\(name)/\(link.name) -> \(target)", ["path": .string(linkPath), "target": .string(target)]) { () throws(FurrowError) -> Value in
                    if found != .missing { try? fileManager.removeItem(atPath: linkPath) }
                    do {
                        try fileManager.createSymbolicLink(atPath: linkPath, withDestinationPath: target)
                    } catch {
                        throw FurrowError("cannot link \(linkPath) -> \(target): \(error.localizedDescription)", kind: "io")
                    }
                    return .null
                }
                var row: FurrowMap = ["stack": .string(name), "link": .string(link.name), "target": .string(target), "change": .string(change)]
                if fiber.dryRun { row["dry_run"] = .bool(true) }
                changes.append(row)
            }
        }
        return changes
    }

    // MARK: plan / apply / destroy

    func run(_ action: String, only: [String]?, skip: [String], continueOnError: Bool, fiber: Fiber) -> EnvironmentRunResult {
        var order = stackNames
        if action == "destroy" { order.reverse() }
        var rows: [FurrowMap] = []
        var stopped = false
        for name in order {
            var row: FurrowMap = ["stack": .string(name), "action": .string(action)]
            if skip.contains(name) || !(only?.contains(name) ?? true) {
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
    let name: String
    let environment: EnvironmentObject
    var path: String { environment.path + "/" + name }
    var workspace: TerraformWorkspace { environment.terraform.workspace(path, "default") }

    init(name: String, environment: EnvironmentObject) {
        self.name = name
        self.environment = environment
    }

    override var typeName: String { "stack" }
    override var summary: String { "<stack \(name) of \(environment.name)>" }
    override var fields: FurrowMap {
        ["name": .string(name), "path": .string(path), "environment": .string(environment.name)]
    }
    override var memberNames: [String] {
        ["name", "path", "environment", "backend", "variables", "outputs", "workspace", "plan", "apply", "destroy"]
    }

    /// The parsed `*.tf` files of the stack directory (links included: backend.tf).
    private func terraformFiles() throws(FurrowError) -> [HCLBody] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FurrowError("stack \(name) of environment \(environment.name): \(path) does not exist", kind: "environment")
        }
        let entries = (try? fileManager.contentsOfDirectory(atPath: path)) ?? []
        guard entries.contains(where: { ($0.hasSuffix(".tf") && $0 != "backend.tf") || $0.hasSuffix(".tf.json") }) else {
            throw FurrowError("stack \(name) of environment \(environment.name): \(path) has no terraform files (*.tf)", kind: "environment")
        }
        // Only HCL files are read here: variables declared in *.tf.json are not seen by check().
        let files = entries.filter { $0.hasSuffix(".tf") && $0 != "backend.tf" }.sorted()
        var bodies: [HCLBody] = []
        for file in files {
            let filePath = path + "/" + file
            guard let data = fileManager.contents(atPath: filePath) else { continue }
            do throws(HCLError) {
                bodies.append(try HCLFile.parse(String(decoding: data, as: UTF8.self), filename: filePath))
            } catch {
                throw FurrowError("invalid terraform: \(error.description)", kind: "hcl")
            }
        }
        return bodies
    }

    func declaredVariables() throws(FurrowError) -> [TerraformVariable] {
        var variables: [TerraformVariable] = []
        for body in try terraformFiles() {
            do throws(HCLError) {
                variables += try TerraformHCL.variables(in: body)
            } catch {
                throw FurrowError("invalid terraform: \(error.description)", kind: "hcl")
            }
        }
        return variables
    }

    func backend() throws(FurrowError) -> Value {
        let file = environment.path + "/.variables/backend-\(name).tf"
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FurrowError("stack \(name) of environment \(environment.name) has no backend file \(file)", kind: "environment")
        }
        let found: TerraformBackend?
        do throws(HCLError) {
            found = try TerraformHCL.backend(in: try HCLFile.parse(String(decoding: data, as: UTF8.self), filename: file))
        } catch {
            throw FurrowError("invalid backend: \(error.description)", kind: "hcl")
        }
        guard let backend = found else {
            throw FurrowError("\(file) holds no terraform { backend \"...\" { } } block", kind: "environment")
        }
        return .map(["type": .string(backend.type), "settings": Format.fromJSON(.object(backend.settings))])
    }

    override func member(_ member: String, fiber: Fiber) throws(FurrowError) -> Value? {
        switch member {
        case "name", "path", "environment": return fields[member]
        case "backend": return try backend()
        case "variables":
            return .list(try declaredVariables().map { variable in
                let defaultValue: Value = variable.defaultValue.map { variable.sensitive ? .host(RedactedValue(Format.fromJSON($0))) : Format.fromJSON($0) } ?? .null
                return .map([
                    "name": .string(variable.name), "type": variable.type.map { .string($0) } ?? .null,
                    "default": defaultValue, "required": .bool(variable.isRequired),
                    "description": variable.description.map { .string($0) } ?? .null, "sensitive": .bool(variable.sensitive),
                ])
            })
        case "workspace": return .host(WorkspaceObject(workspace))
        case "outputs":
            return try WorkspaceObject(workspace).member("outputs", fiber: fiber)
        case "plan", "apply", "destroy":
            return builtin(member, [], effect: member == "plan" ? .reads : .mutates, doc: "stack.\(member)() → {stack, action, result, add, change, destroy}\nRuns terraform \(member) in the stack's directory (its backend and the environment's tfvars come through the links).") { _, args throws(FurrowError) in
                let outcome = try self.run(member, fiber: args.fiber)
                return .map(["stack": .string(self.name), "action": .string(member), "result": .string(outcome.result),
                             "add": .int(outcome.add), "change": .int(outcome.change), "destroy": .int(outcome.destroy)])
            }
        default:
            return nil
        }
    }

    struct Outcome {
        var result: String
        var add: Int, change: Int, destroy: Int
    }

    /// Plans the stack; for apply and destroy then applies that plan, unless in plan mode
    /// (the result then says `planned`) or the plan changes nothing.
    func run(_ action: String, fiber: Fiber) throws(FurrowError) -> Outcome {
        _ = try terraformFiles()  // clear errors for a missing or empty stack directory
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
