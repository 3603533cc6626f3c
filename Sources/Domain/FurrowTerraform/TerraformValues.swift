import OrderedCollections
import FurrowJSON

/// One resource a plan would touch, from `resource_changes` of `terraform show -json`.
public struct TerraformResourceChange: Sendable, Equatable {
    public let address: String
    /// Terraform's action list: `["create"]`, `["update"]`, `["delete"]`,
    /// `["delete", "create"]` or `["create", "delete"]` (a replacement), `["read"]`, `["forget"]`.
    public let actions: [String]

    public init(address: String, actions: [String]) {
        self.address = address
        self.actions = actions
    }

    /// The actions as one word: `create`, `update`, `delete`, `replace`, `read`, `forget`.
    public var action: String {
        if isReplacement { return "replace" }
        return actions.first ?? "no-op"
    }

    public var isReplacement: Bool { Set(actions) == ["create", "delete"] }
}

/// One root output a plan would change.
public struct TerraformOutputChange: Sendable, Equatable {
    public let name: String
    public let actions: [String]
}

/// A saved terraform plan and what it would do, decoded from `terraform show -json` of
/// the plan file. Apply exactly this plan with `TerraformWorkspace.apply(_:)`.
public struct TerraformPlan: Sendable {
    /// Absolute path of the configuration directory.
    public let directory: String
    public let workspace: String
    /// The saved plan (binary, as `terraform plan -out` wrote it); it holds variable
    /// values, so it is private to the user and removed once applied.
    public let planFile: String
    /// Whether this is a destroy plan.
    public let isDestroy: Bool
    /// Resources to create; a replacement counts here and in `destroy`, as in terraform's own summary.
    public let add: Int
    /// Resources to update in place.
    public let change: Int
    /// Resources to delete, replacements included.
    public let destroy: Int
    /// Resources to delete and re-create.
    public let replace: Int
    /// Every resource the plan would act on, in terraform's order (no-ops left out).
    public let changes: [TerraformResourceChange]
    /// Root outputs the plan would add, change or remove.
    public let outputChanges: [TerraformOutputChange]
    /// True when applying would change any resource or output. Decided from the plan
    /// itself: `-detailed-exitcode` only says "maybe" (it reports 2 for some plans that do nothing).
    public let hasChanges: Bool
    /// The exit code of `terraform plan -detailed-exitcode`: 0 (no changes) or 2 (changes).
    public let exitCode: Int32
    /// The whole `show -json` document. It contains variable and sensitive values in
    /// clear: never print or log it.
    public let json: JSONValue
    /// The log file of the `terraform plan` run.
    public let logFile: String

    init(directory: String, workspace: String, planFile: String, isDestroy: Bool, exitCode: Int32,
         json: JSONValue, logFile: String) {
        self.directory = directory
        self.workspace = workspace
        self.planFile = planFile
        self.isDestroy = isDestroy
        self.exitCode = exitCode
        self.json = json
        self.logFile = logFile

        var changes: [TerraformResourceChange] = []
        var add = 0, change = 0, destroy = 0, replace = 0
        for entry in json["resource_changes"]?.arrayValue ?? [] {
            let actions = (entry["change"]?["actions"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard let address = entry["address"]?.stringValue, actions != ["no-op"], actions != ["read"],
                  !actions.isEmpty else { continue }
            let resourceChange = TerraformResourceChange(address: address, actions: actions)
            changes.append(resourceChange)
            if resourceChange.isReplacement {
                replace += 1; add += 1; destroy += 1
            } else if actions == ["create"] {
                add += 1
            } else if actions == ["update"] {
                change += 1
            } else if actions == ["delete"] {
                destroy += 1
            }
        }
        var outputChanges: [TerraformOutputChange] = []
        for (name, entry) in json["output_changes"]?.objectValue ?? [:] {
            let actions = (entry["actions"]?.arrayValue ?? []).compactMap(\.stringValue)
            if actions.isEmpty || actions == ["no-op"] { continue }
            outputChanges.append(TerraformOutputChange(name: name, actions: actions))
        }
        self.changes = changes
        self.outputChanges = outputChanges
        self.add = add
        self.change = change
        self.destroy = destroy
        self.replace = replace
        self.hasChanges = exitCode == 2 && (!changes.isEmpty || !outputChanges.isEmpty)
    }
}

/// One root output of a workspace's state, from `terraform output -json`.
public struct TerraformOutput: Sendable, Equatable {
    /// The value in clear. When `sensitive` is true, show it only where the user asked
    /// for that output by name; never log it.
    public let value: JSONValue
    /// Declared `sensitive = true` in the configuration.
    public let sensitive: Bool
    /// Terraform's type expression: `"string"`, `["map", "string"]`, `["object", {...}]`...
    public let type: JSONValue

    public init(value: JSONValue, sensitive: Bool, type: JSONValue) {
        self.value = value
        self.sensitive = sensitive
        self.type = type
    }
}

/// One resource instance in a workspace's state, from `terraform show -json`.
public struct TerraformResource: Sendable, Equatable {
    /// `terraform_data.app`, `module.net.aws_vpc.main`, `terraform_data.node[0]`...
    public let address: String
    /// `managed` or `data`.
    public let mode: String
    public let type: String
    public let name: String
    /// The `count` or `for_each` key, if any.
    public let index: JSONValue?
    public let provider: String
    /// Address of the module holding it, nil in the root module.
    public let module: String?
    /// The attributes, with every value terraform marks sensitive replaced by `"(sensitive value)"`.
    public let values: JSONValue

    /// What stands in for a sensitive attribute in `values`.
    public static let redactedValue: JSONValue = "(sensitive value)"
}

extension TerraformResource {
    /// Every resource instance in a `show -json` state document, modules included.
    static func all(in state: JSONValue) -> [TerraformResource] {
        var found: [TerraformResource] = []
        func visit(_ module: JSONValue, address: String?) {
            for entry in module["resources"]?.arrayValue ?? [] {
                found.append(TerraformResource(
                    address: entry["address"]?.stringValue ?? "",
                    mode: entry["mode"]?.stringValue ?? "",
                    type: entry["type"]?.stringValue ?? "",
                    name: entry["name"]?.stringValue ?? "",
                    index: entry["index"],
                    provider: entry["provider_name"]?.stringValue ?? "",
                    module: address,
                    values: redact(entry["values"] ?? .null, marks: entry["sensitive_values"] ?? .null)))
            }
            for child in module["child_modules"]?.arrayValue ?? [] {
                visit(child, address: child["address"]?.stringValue)
            }
        }
        if let root = state["values"]?["root_module"] { visit(root, address: nil) }
        return found
    }

    /// `value` with the parts `marks` (terraform's `sensitive_values` shape: `true` for
    /// a sensitive value, objects and arrays mirroring the value) replaced.
    static func redact(_ value: JSONValue, marks: JSONValue) -> JSONValue {
        switch (value, marks) {
        case (_, .bool(true)):
            return redactedValue
        case (.object(let members), .object(let memberMarks)):
            var redacted = OrderedDictionary<String, JSONValue>()
            for (key, member) in members {
                redacted[key] = memberMarks[key].map { redact(member, marks: $0) } ?? member
            }
            return .object(redacted)
        case (.array(let elements), .array(let elementMarks)):
            return .array(elements.enumerated().map { index, element in
                index < elementMarks.count ? redact(element, marks: elementMarks[index]) : element
            })
        default:
            return value
        }
    }
}
