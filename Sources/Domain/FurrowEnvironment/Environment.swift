import Foundation
import FurrowHCL
import FurrowJSON
import OrderedCollections

/// Why an environment or stack could not be read: its layout (`environment`), its HCL
/// (`hcl`) or the file system (`io`). The raw value is the error kind scripts see.
public struct EnvironmentError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case layout = "environment"
        case hcl
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// One thing wrong with an environment's layout, and the fix to say.
public struct LayoutProblem: Equatable, Sendable {
    /// The stack it concerns; nil for the environment as a whole.
    public let stack: String?
    public let problem: String
    public let fix: String

    public init(stack: String?, problem: String, fix: String) {
        self.stack = stack
        self.problem = problem
        self.fix = fix
    }
}

/// A link `link()` would create or repair, or one it skips and why.
public struct LinkChange: Equatable, Sendable {
    public enum Change: Equatable, Sendable {
        case create, replace, replaceFile
        case skipped(reason: String)

        /// How the change is named in results and logs.
        public var name: String {
            switch self {
            case .create: return "create"
            case .replace: return "replace"
            case .replaceFile: return "replace file"
            case .skipped: return "skipped"
            }
        }
    }

    public let stack: String
    public let link: StackLink
    /// The link's path and what it must point to.
    public let path: String
    public let target: String
    public let change: Change
}

/// An environment directory: stack directories listed in `.variables/stacks` (their
/// precedence order) that reach the environment's secrets, backend files and variables
/// through three symlinks each (docs/environments.md).
public struct Environment: Sendable {
    public let path: String
    public let name: String
    /// Stack names in precedence order, as `.variables/stacks` lists them.
    public let stackNames: [String]

    public init(path: String) throws(EnvironmentError) {
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
        self.name = (trimmed as NSString).lastPathComponent
        let stacksFile = trimmed + "/.variables/stacks"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EnvironmentError(.layout, "not an environment: \(path) is not a directory")
        }
        guard let data = FileManager.default.contents(atPath: stacksFile) else {
            throw EnvironmentError(.layout, "not an environment: \(path) has no .variables/stacks (the stack precedence file)")
        }
        var names: [String] = []
        var lines: [String: Int] = [:]
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let entry = (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard !entry.contains("/"), entry != ".", entry != "..", !entry.contains(" ") else {
                throw EnvironmentError(.layout, "\(stacksFile):\(index + 1): '\(entry)' is not a stack directory name")
            }
            if let first = lines[entry] {
                throw EnvironmentError(.layout, "\(stacksFile):\(index + 1): stack \(entry) is listed twice (first at line \(first))")
            }
            lines[entry] = index + 1
            names.append(entry)
        }
        self.stackNames = names
    }

    /// Directories under `root` that hold `.variables/stacks`, sorted; environments are not
    /// searched inside, nor are hidden directories.
    public static func discover(under root: String) throws(EnvironmentError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EnvironmentError(.layout, "no such directory: \(root)")
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

    public var tfvarsPath: String { path + "/.variables/terraform.tfvars" }

    /// `.variables/terraform.tfvars` decoded; a missing file is an empty map.
    public func variables() throws(EnvironmentError) -> OrderedDictionary<String, JSONValue> {
        guard let data = FileManager.default.contents(atPath: tfvarsPath) else { return [:] }
        do throws(HCLError) {
            return try TerraformHCL.decodeTFVars(String(decoding: data, as: UTF8.self), filename: tfvarsPath)
        } catch {
            throw EnvironmentError(.hcl, "invalid tfvars: \(error.description)")
        }
    }

    /// Variables some stack of the environment declares `sensitive = true`: their values in
    /// terraform.tfvars must never be shown. Stacks whose files cannot be read declare nothing.
    public func sensitiveVariableNames() -> Set<String> {
        var names: Set<String> = []
        for stack in stackNames.map(stack) {
            guard let variables = try? stack.declaredVariables() else { continue }
            for variable in variables where variable.sensitive { names.insert(variable.name) }
        }
        return names
    }

    public var secretNames: [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path + "/.secrets")) ?? []
        return entries.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The path of the secret file `.secrets/<name>`, which must exist.
    public func secretPath(_ secret: String) throws(EnvironmentError) -> String {
        guard secretNames.contains(secret) else {
            throw EnvironmentError(.layout, "environment \(name) has no secret named '\(secret)' (secrets: \(secretNames.joined(separator: ", ")))")
        }
        return path + "/.secrets/" + secret
    }

    /// The text of a secret file, read when it is needed.
    public func secretText(_ secret: String) throws(EnvironmentError) -> String {
        let file = try secretPath(secret)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw EnvironmentError(.io, "cannot read secret '\(secret)' of environment \(name)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    public func stack(_ name: String) -> Stack { Stack(name: name, environment: self) }

    /// The stack `name`, which `.variables/stacks` must list.
    public func listedStack(_ stackName: String) throws(EnvironmentError) -> Stack {
        guard stackNames.contains(stackName) else {
            throw EnvironmentError(.layout, "environment \(name) does not list a stack named '\(stackName)' (stacks: \(stackNames.joined(separator: ", ")))")
        }
        return stack(stackName)
    }

    /// The stacks a plan, apply or destroy goes through, in order (destroy reverses the
    /// precedence), each with whether `only` and `skip` select it.
    public func runOrder(destroying: Bool, only: [String]?, skip: [String]) throws(EnvironmentError) -> [(stack: String, selected: Bool)] {
        for stackName in (only ?? []) + skip where !stackNames.contains(stackName) {
            throw EnvironmentError(.layout, "environment \(name) does not list a stack named '\(stackName)'")
        }
        let order = destroying ? stackNames.reversed() : stackNames
        return order.map { ($0, !skip.contains($0) && (only?.contains($0) ?? true)) }
    }

    // MARK: check

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

    /// Everything wrong with the layout; empty when it is healthy.
    public func check() -> [LayoutProblem] {
        var problems: [LayoutProblem] = []
        func problem(_ stack: String?, _ text: String, _ fix: String) {
            problems.append(LayoutProblem(stack: stack, problem: text, fix: fix))
        }
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
                problem(name, "submodule \(name) is not checked out", "git submodule update --init \(name)")
                continue
            }
            if !exists {
                problem(name, "listed in .variables/stacks but \(name)/ does not exist",
                        "add the stack (git submodule add <url> \(name)) or remove it from .variables/stacks")
                continue
            }
            present.append(name)
            let backendFile = path + "/.variables/backend-\(name).tf"
            let backendMissing = !fileManager.fileExists(atPath: backendFile)
            if backendMissing {
                problem(name, ".variables/backend-\(name).tf is missing", "write the stack's backend block to .variables/backend-\(name).tf")
            }
            for link in StackLink.allCases {
                let target = link.target(for: name)
                switch link.inspect(in: stackPath, stack: name) {
                case .correct: break
                case .missing:
                    problem(name, "\(name)/\(link.name) is missing (should link to \(target))", "environment(...).link()")
                case .elsewhere(let destination):
                    problem(name, "\(name)/\(link.name) points to \(destination) instead of \(target)", "environment(...).link()")
                case .broken:
                    if link == .backend && backendMissing { break }
                    problem(name, "\(name)/\(link.name) -> \(target) is broken: the target does not exist", "create \(target.dropFirst(3)) in the environment")
                case .loop:
                    problem(name, "\(name)/\(link.name) is a symlink loop", "environment(...).link()")
                case .regularFile:
                    problem(name, "\(name)/\(link.name) is a regular file where a link to \(target) belongs",
                            "move its content to \(target.dropFirst(3)), then environment(...).link(force: true)")
                case .directory:
                    problem(name, "\(name)/\(link.name) is a directory where a link to \(target) belongs",
                            "move its content to \(target.dropFirst(3)) and remove it, then environment(...).link()")
                }
            }
        }
        for entry in ((try? fileManager.contentsOfDirectory(atPath: path)) ?? []).sorted() where !entry.hasPrefix(".") && !listed.contains(entry) {
            let entryPath = path + "/" + entry
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: entryPath, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let hasTerraform = ((try? fileManager.contentsOfDirectory(atPath: entryPath)) ?? []).contains { $0.hasSuffix(".tf") }
            if hasTerraform || submodules.contains(entry) {
                problem(entry, "\(entry)/ is a stack but .variables/stacks does not list it",
                        "add \(entry) to .variables/stacks (in precedence order) or remove the directory")
            }
        }
        let tfvars: OrderedDictionary<String, JSONValue>
        do {
            tfvars = try variables()
        } catch {
            problem(nil, error.message, "fix .variables/terraform.tfvars")
            return problems
        }
        var declared: Set<String> = []
        for name in present {
            do {
                for variable in try stack(name).declaredVariables() {
                    declared.insert(variable.name)
                    if variable.isRequired, tfvars[variable.name] == nil {
                        problem(name, "variable \(variable.name) has no default and terraform.tfvars does not set it",
                                "set \(variable.name) in .variables/terraform.tfvars")
                    }
                }
            } catch {
                problem(name, error.message, "fix the stack's terraform files")
                declared.formUnion(tfvars.keys)  // unknown declarations: no "undeclared" reports
            }
        }
        for key in tfvars.keys where !declared.contains(key) {
            problem(nil, "terraform.tfvars sets \(key), which no stack declares",
                    "remove \(key) from .variables/terraform.tfvars or declare it in a stack")
        }
        return problems
    }

    // MARK: link

    /// What `link(force:)` would do, stack by stack and link by link. Correct links, and
    /// broken ones (the target is what is missing), need nothing; an empty stack directory
    /// is a submodule not checked out, where links would only hide that.
    public func linkChanges(force: Bool) -> [LinkChange] {
        var changes: [LinkChange] = []
        let fileManager = FileManager.default
        for name in stackNames {
            let stackPath = path + "/" + name
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: stackPath, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard !((try? fileManager.contentsOfDirectory(atPath: stackPath))?.isEmpty ?? true) else { continue }
            for link in StackLink.allCases {
                let change: LinkChange.Change
                switch link.inspect(in: stackPath, stack: name) {
                case .correct, .broken: continue
                case .missing: change = .create
                case .elsewhere, .loop: change = .replace
                case .regularFile:
                    change = force ? .replaceFile : .skipped(reason: "a regular file is in the way (force: true replaces it)")
                case .directory:
                    change = .skipped(reason: "a directory is in the way (move it yourself)")
                }
                changes.append(LinkChange(stack: name, link: link, path: stackPath + "/" + link.name, target: link.target(for: name), change: change))
            }
        }
        return changes
    }

    /// Makes one link of `linkChanges` (a skipped one is left alone).
    public func makeLink(_ change: LinkChange) throws(EnvironmentError) {
        if case .skipped = change.change { return }
        let fileManager = FileManager.default
        if change.change != .create { try? fileManager.removeItem(atPath: change.path) }
        do {
            try fileManager.createSymbolicLink(atPath: change.path, withDestinationPath: change.target)
        } catch {
            throw EnvironmentError(.io, "cannot link \(change.path) -> \(change.target): \(error.localizedDescription)")
        }
    }
}
