import OrderedCollections
import OrderedCollections
import Foundation
import FurrowJSON

/// One terraform workspace of one configuration directory: Furrow's unit of an
/// environment. Every method runs terraform synchronously with `TF_WORKSPACE` set to
/// this workspace, so different workspaces of one directory can run from different
/// threads at the same time. The directory is initialised on first use.
///
/// Commands on a workspace that does not exist fail with `.workspaceNotFound` instead of
/// letting terraform create it silently (the local backend does); existence is checked
/// once per workspace per `Terraform` instance.
public struct TerraformWorkspace: Sendable {
    public let terraform: Terraform
    /// Absolute path of the configuration directory.
    public let directory: String
    public let name: String

    init(terraform: Terraform, directory: String, name: String) {
        self.terraform = terraform
        self.directory = directory
        self.name = name
    }

    /// Variables for a run, passed as a generated `*.tfvars.json` file so types survive
    /// (strings, numbers, bools, lists, maps) and no value appears on a command line.
    public typealias Variables = OrderedDictionary<String, JSONValue>

    // MARK: - Workspaces

    /// Whether the workspace exists (asks terraform every time).
    public func exists() throws(TerraformError) -> Bool {
        try terraform.workspaces(directory).contains(name)
    }

    /// Creates the workspace; fails if it exists already.
    public func create() throws(TerraformError) {
        try validateName()
        try terraform.ensureInitialized(directory, workspace: name)
        try terraform.execute(directory: directory, workspace: name, ["workspace", "new", "-no-color", name])
        terraform.state(of: directory).remember(name)
    }

    /// Makes sure the workspace exists, creating it when it does not; true when it was
    /// created. (Nothing is "selected": every run chooses its workspace itself.)
    /// One terraform run at most: `workspace new`, with "already exists" taken as success.
    @discardableResult
    public func selectOrCreate() throws(TerraformError) -> Bool {
        try validateName()
        if terraform.state(of: directory).isKnown(name) { return false }
        do {
            try create()
            return true
        } catch where error.kind == .commandFailed && error.stderrTail.contains("already exists") {
            terraform.state(of: directory).remember(name)
            return false
        }
    }

    /// Deletes the workspace. A workspace whose state still holds resources is refused
    /// unless `force` is true (its resources are then forgotten, not destroyed: call
    /// `destroy` first); `default` is never deleted.
    public func delete(force: Bool = false) throws(TerraformError) {
        let command = "\(terraform.settings.executable) workspace delete"
        guard name != "default" else {
            throw TerraformError(kind: .defaultWorkspace, directory: directory, workspace: name, command: command,
                                 message: "the default workspace cannot be deleted")
        }
        try validateName()
        try requireExisting("workspace delete")
        if !force {
            let remaining = try stateList()
            guard remaining.isEmpty else {
                let shown = remaining.prefix(5).joined(separator: ", ") + (remaining.count > 5 ? ", …" : "")
                throw TerraformError(kind: .workspaceNotEmpty, directory: directory, workspace: name, command: command,
                                     message: "the workspace still has \(remaining.count) resource(s) (\(shown)); destroy them first or delete with force")
            }
        }
        var arguments = ["workspace", "delete", "-no-color"]
        if force { arguments.append("-force") }
        arguments.append(name)
        // Run with TF_WORKSPACE=default: terraform refuses to delete the selected workspace.
        try terraform.execute(directory: directory, workspace: name, arguments, workspaceOverride: "default")
        terraform.state(of: directory).forget(name)
    }

    /// Runs `terraform init` for the directory now (see `Terraform.initialize`).
    @discardableResult
    public func initialize(backendConfig: [String: String] = [:], reconfigure: Bool? = nil) throws(TerraformError) -> TerraformRun {
        try terraform.initialize(directory, backendConfig: backendConfig, reconfigure: reconfigure)
    }

    // MARK: - Plan, apply, destroy

    /// Plans and saves the plan; the returned value says what it would do and can be
    /// applied with `apply(_:)`. `varFiles` are relative to the configuration directory.
    public func plan(
        vars: Variables = Variables(),
        varFiles: [String] = [],
        targets: [String] = [],
        destroy: Bool = false,
        timeout: Duration? = nil
    ) throws(TerraformError) -> TerraformPlan {
        try prepare("plan")
        let planFile = try privateFile(in: "plans", suffix: ".tfplan")
        var arguments = ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=\(planFile)"]
        if destroy { arguments.append("-destroy") }
        arguments += lockArguments()
        arguments += targets.map { "-target=\($0)" }
        let run: TerraformRun
        do {
            run = try withVariables(vars, varFiles: varFiles) { (variableArguments) throws(TerraformError) in
                try terraform.execute(directory: directory, workspace: name, arguments + variableArguments,
                                      timeout: timeout, acceptedExitCodes: [0, 2])
            }
        } catch {
            try? FileManager.default.removeItem(atPath: planFile)
            throw error
        }
        let json: JSONValue
        do {
            let shown = try terraform.execute(directory: directory, workspace: name,
                                              ["show", "-json", "-no-color", planFile], logStdout: false)
            json = try decode(shown)
        } catch {
            try? FileManager.default.removeItem(atPath: planFile)
            throw error
        }
        return TerraformPlan(directory: directory, workspace: name, planFile: planFile, isDestroy: destroy,
                             exitCode: run.exitCode, json: json, logFile: run.logFile)
    }

    /// Plans and applies in one terraform run.
    @discardableResult
    public func apply(vars: Variables = Variables(), varFiles: [String] = [], targets: [String] = [],
                      timeout: Duration? = nil) throws(TerraformError) -> TerraformRun {
        try prepare("apply")
        let arguments = ["apply", "-input=false", "-no-color", "-auto-approve"] + lockArguments()
            + targets.map { "-target=\($0)" }
        return try withVariables(vars, varFiles: varFiles) { (variableArguments) throws(TerraformError) in
            try terraform.execute(directory: directory, workspace: name, arguments + variableArguments, timeout: timeout)
        }
    }

    /// Applies exactly the saved `plan` (terraform refuses it if the state moved on since),
    /// then removes the plan file.
    @discardableResult
    public func apply(_ plan: TerraformPlan, timeout: Duration? = nil) throws(TerraformError) -> TerraformRun {
        let command = "\(terraform.settings.executable) apply"
        guard plan.directory == directory, plan.workspace == name else {
            throw TerraformError(kind: .invalidPlan, directory: directory, workspace: name, command: command,
                                 message: "the plan belongs to workspace \(plan.workspace) of \(plan.directory)")
        }
        guard FileManager.default.fileExists(atPath: plan.planFile) else {
            throw TerraformError(kind: .invalidPlan, directory: directory, workspace: name, command: command,
                                 message: "the plan file \(plan.planFile) is gone (applied or discarded already)")
        }
        try prepare("apply")
        let run = try terraform.execute(directory: directory, workspace: name,
                                        ["apply", "-input=false", "-no-color"] + lockArguments() + [plan.planFile],
                                        timeout: timeout)
        try? FileManager.default.removeItem(atPath: plan.planFile)
        return run
    }

    /// Removes the file of a plan that will not be applied.
    public func discard(_ plan: TerraformPlan) {
        try? FileManager.default.removeItem(atPath: plan.planFile)
    }

    /// Destroys every resource of the workspace (the workspace itself stays).
    @discardableResult
    public func destroy(vars: Variables = Variables(), varFiles: [String] = [], targets: [String] = [],
                        timeout: Duration? = nil) throws(TerraformError) -> TerraformRun {
        try prepare("destroy")
        let arguments = ["destroy", "-input=false", "-no-color", "-auto-approve"] + lockArguments()
            + targets.map { "-target=\($0)" }
        return try withVariables(vars, varFiles: varFiles) { (variableArguments) throws(TerraformError) in
            try terraform.execute(directory: directory, workspace: name, arguments + variableArguments, timeout: timeout)
        }
    }

    // MARK: - State

    /// The root outputs, in terraform's order, each with its sensitivity and type.
    public func outputs() throws(TerraformError) -> OrderedDictionary<String, TerraformOutput> {
        try prepare("output")
        let run = try terraform.execute(directory: directory, workspace: name, ["output", "-json", "-no-color"],
                                        logStdout: false)
        let json = try decode(run)
        var outputs = OrderedDictionary<String, TerraformOutput>()
        for (outputName, entry) in json.objectValue ?? [:] {
            outputs[outputName] = TerraformOutput(value: entry["value"] ?? .null,
                                                  sensitive: entry["sensitive"]?.boolValue ?? false,
                                                  type: entry["type"] ?? .null)
        }
        return outputs
    }

    /// Every resource instance in the state, with sensitive attributes redacted.
    public func resources() throws(TerraformError) -> [TerraformResource] {
        try prepare("show")
        let run = try terraform.execute(directory: directory, workspace: name, ["show", "-json", "-no-color"],
                                        logStdout: false)
        return TerraformResource.all(in: try decode(run))
    }

    /// Addresses of the resource instances in the state (`terraform state list`).
    public func stateList() throws(TerraformError) -> [String] {
        try prepare("state list")
        let run: TerraformRun
        do {
            run = try terraform.execute(directory: directory, workspace: name, ["state", "list", "-no-color"])
        } catch where error.kind == .commandFailed && error.stderrTail.contains("No state file was found") {
            return []  // a workspace that never applied anything
        }
        return run.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: - Helpers

    /// Initialises the directory if needed and makes sure the workspace exists before the
    /// terraform command `step` (`plan`, `apply`...), whose name its errors carry.
    private func prepare(_ step: String) throws(TerraformError) {
        try validateName()
        try terraform.ensureInitialized(directory, workspace: name)
        try requireExisting(step)
    }

    /// A missing workspace is a failure of `step`, the command that needed it, not of the
    /// `workspace list` that found it missing.
    private func requireExisting(_ step: String) throws(TerraformError) {
        let state = terraform.state(of: directory)
        if state.isKnown(name) { return }
        let names = try terraform.workspaces(directory)
        guard names.contains(name) else {
            throw TerraformError(kind: .workspaceNotFound, directory: directory, workspace: name,
                                 command: "\(terraform.settings.executable) \(step)",
                                 message: "workspace \(name) does not exist (existing: \(names.joined(separator: ", ")))")
        }
    }

    /// Terraform's rule: a workspace name is usable in a URL path and in a file name.
    private func validateName() throws(TerraformError) {
        let allowed = name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0)
        }
        guard !name.isEmpty, allowed, name != ".", name != ".." else {
            throw TerraformError(kind: .invalidWorkspaceName, directory: directory, workspace: name,
                                 command: "\(terraform.settings.executable) workspace",
                                 message: "'\(name)' is not a usable workspace name (letters, digits, '-', '_', '.')")
        }
    }

    private func lockArguments() -> [String] {
        guard let lockTimeout = terraform.settings.lockTimeout else { return [] }
        let milliseconds = lockTimeout.components.seconds * 1000 + lockTimeout.components.attoseconds / 1_000_000_000_000_000
        return ["-lock-timeout=\(milliseconds)ms"]
    }

    /// A new path under the Furrow directory, in a directory only the user can read
    /// (plans and variable files hold variable values).
    private func privateFile(in subdirectory: String, suffix: String) throws(TerraformError) -> String {
        let folder = terraform.furrowDirectory + "/" + subdirectory
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw TerraformError(kind: .commandFailed, directory: directory, workspace: name,
                                 command: "\(terraform.settings.executable)",
                                 message: "cannot create \(folder): \(error.localizedDescription)")
        }
        return "\(folder)/\(RunLog.fileNameSafe(name))-\(UUID().uuidString.lowercased())\(suffix)"
    }

    /// Runs `body` with the `-var-file` arguments for `vars` (written to a private
    /// `*.tfvars.json` that is removed afterwards) and `varFiles`.
    private func withVariables<Result>(
        _ vars: Variables, varFiles: [String],
        _ body: ([String]) throws(TerraformError) -> Result
    ) throws(TerraformError) -> Result {
        var arguments = varFiles.map { "-var-file=\($0)" }
        guard !vars.isEmpty else { return try body(arguments) }
        let file = try privateFile(in: "tmp", suffix: ".tfvars.json")
        let created = FileManager.default.createFile(atPath: file, contents: Data(JSONValue.object(vars).encoded().utf8),
                                                     attributes: [.posixPermissions: 0o600])
        guard created else {
            throw TerraformError(kind: .commandFailed, directory: directory, workspace: name,
                                 command: "\(terraform.settings.executable)", message: "cannot write \(file)")
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        arguments.append("-var-file=\(file)")
        return try body(arguments)
    }

    private func decode(_ run: TerraformRun) throws(TerraformError) -> JSONValue {
        do {
            return try JSONValue.parse(run.stdout)
        } catch {
            throw TerraformError(kind: .unreadableOutput, directory: directory, workspace: name, command: run.command,
                                 message: "terraform printed no valid JSON: \(error)", logFile: run.logFile)
        }
    }
}
