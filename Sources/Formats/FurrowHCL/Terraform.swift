import OrderedCollections
import FurrowJSON

/// A `terraform { backend "TYPE" { ... } }` block: where a stack keeps its state.
public struct TerraformBackend: Hashable, Sendable {
    /// The backend type label: `s3`, `local`, `gcs`, ...
    public let type: String
    /// The backend's settings; nested blocks become objects.
    public let settings: OrderedDictionary<String, JSONValue>
    public let range: HCLRange
}

/// A `validation { condition = ... error_message = ... }` block inside a variable.
public struct TerraformValidation: Hashable, Sendable {
    /// The condition's source text.
    public let condition: String
    /// The message terraform shows when the condition fails (templates kept as text).
    public let errorMessage: String?
}

/// A `variable "name" { ... }` declaration of a stack.
public struct TerraformVariable: Hashable, Sendable {
    public let name: String
    /// The type constraint as written (`list(string)`, `map(object({a = string}))`), nil if absent.
    public let type: String?
    /// The default value; nil when the variable has none and so must be set.
    public let defaultValue: JSONValue?
    public let description: String?
    /// Terraform hides the value of a sensitive variable; Furrow must never print it.
    public let sensitive: Bool
    /// False when the declaration says `nullable = false`.
    public let nullable: Bool
    public let validations: [TerraformValidation]
    public let range: HCLRange

    /// True when no default exists, so every apply must supply a value.
    public var isRequired: Bool { defaultValue == nil }
}

/// An `output "name" { ... }` declaration of a stack.
public struct TerraformOutputDeclaration: Hashable, Sendable {
    public let name: String
    /// The value expression; usually a reference such as `aws_instance.web.public_ip`.
    public let value: HCLExpression
    public let description: String?
    /// Terraform redacts sensitive outputs; Furrow must never print them.
    public let sensitive: Bool
    /// The references of `depends_on`, as written.
    public let dependsOn: String?
    public let range: HCLRange
}

/// Terraform's own files read through HCL: tfvars, backend blocks, variables and outputs.
public enum TerraformHCL {
    /// Decodes a `terraform.tfvars` file: every attribute must be a literal value.
    public static func decodeTFVars(_ text: String, filename: String = "terraform.tfvars") throws(HCLError) -> OrderedDictionary<String, JSONValue> {
        let body = try HCLFile.parse(text, filename: filename)
        if let block = body.blocks.first {
            throw HCLError(at: block.range, "a tfvars file holds only attributes, found a block \"\(block.type)\"")
        }
        var values: OrderedDictionary<String, JSONValue> = [:]
        for (name, attribute) in body.attributes {
            values[name] = try literal(attribute, "variable \"\(name)\" must be set to a literal value; references, function calls and operators are not allowed in a tfvars file")
        }
        return values
    }

    /// The backend of a configuration, or nil when it has none (terraform then uses local state).
    /// More than one backend is an error, as it is for terraform.
    public static func backend(in body: HCLBody) throws(HCLError) -> TerraformBackend? {
        var found: TerraformBackend?
        for settings in body.blocks(ofType: "terraform") {
            for block in settings.body.blocks(ofType: "backend") {
                guard block.labels.count == 1 else {
                    throw HCLError(at: block.range, "a backend block needs exactly one label, its type (backend \"s3\" { ... })")
                }
                if let found {
                    throw HCLError(at: block.range, "more than one backend: \"\(found.type)\" is already set at line \(found.range.start.line)")
                }
                found = TerraformBackend(type: block.labels[0], settings: try objectValue(of: block.body, in: "backend \"\(block.labels[0])\""),
                                         range: block.range)
            }
        }
        return found
    }

    /// The `variable` blocks of a body, in source order.
    public static func variables(in body: HCLBody) throws(HCLError) -> [TerraformVariable] {
        var seen: [String: HCLRange] = [:]
        var variables: [TerraformVariable] = []
        for block in body.blocks(ofType: "variable") {
            let name = try singleLabel(of: block)
            if let first = seen[name] {
                throw HCLError(at: block.range, "duplicate variable \"\(name)\" (first declared at line \(first.start.line))")
            }
            seen[name] = block.range
            let attributes = block.body.attributes
            var type: String?
            switch attributes["type"]?.expression {
            case .raw(let text)?: type = text
            case .literal(.string(let text))?: type = text // the legacy quoted form, type = "string"
            case .literal?: throw HCLError(at: attributes["type"]!.range, "variable \"\(name)\": type must be a type constraint such as string or list(string)")
            case nil: type = nil
            }
            let defaultValue = try attributes["default"].map { (attribute: HCLAttribute) throws(HCLError) in
                try literal(attribute, "variable \"\(name)\": default must be a literal value")
            }
            var validations: [TerraformValidation] = []
            for validation in block.body.blocks(ofType: "validation") {
                guard let condition = validation.body.attributes["condition"] else {
                    throw HCLError(at: validation.range, "variable \"\(name)\": a validation block needs a condition")
                }
                validations.append(TerraformValidation(
                    condition: sourceText(of: condition.expression),
                    errorMessage: try string(validation.body.attributes["error_message"], in: "variable \"\(name)\"")))
            }
            variables.append(TerraformVariable(
                name: name, type: type, defaultValue: defaultValue,
                description: try string(attributes["description"], in: "variable \"\(name)\""),
                sensitive: try bool(attributes["sensitive"], in: "variable \"\(name)\"") ?? false,
                nullable: try bool(attributes["nullable"], in: "variable \"\(name)\"") ?? true,
                validations: validations, range: block.range))
        }
        return variables
    }

    /// The `output` blocks of a body, in source order.
    public static func outputs(in body: HCLBody) throws(HCLError) -> [TerraformOutputDeclaration] {
        var seen: [String: HCLRange] = [:]
        var outputs: [TerraformOutputDeclaration] = []
        for block in body.blocks(ofType: "output") {
            let name = try singleLabel(of: block)
            if let first = seen[name] {
                throw HCLError(at: block.range, "duplicate output \"\(name)\" (first declared at line \(first.start.line))")
            }
            seen[name] = block.range
            let attributes = block.body.attributes
            guard let value = attributes["value"] else {
                throw HCLError(at: block.range, "output \"\(name)\" has no value")
            }
            outputs.append(TerraformOutputDeclaration(
                name: name, value: value.expression,
                description: try string(attributes["description"], in: "output \"\(name)\""),
                sensitive: try bool(attributes["sensitive"], in: "output \"\(name)\"") ?? false,
                dependsOn: attributes["depends_on"].map { sourceText(of: $0.expression) },
                range: block.range))
        }
        return outputs
    }

    // MARK: Helpers

    /// A body of literal attributes and unlabeled nested blocks as one object.
    private static func objectValue(of body: HCLBody, in context: String) throws(HCLError) -> OrderedDictionary<String, JSONValue> {
        var object: OrderedDictionary<String, JSONValue> = [:]
        for (name, attribute) in body.attributes {
            object[name] = try literal(attribute, "\(context): \"\(name)\" must be a literal value; terraform does not allow references here")
        }
        for block in body.blocks {
            guard block.labels.isEmpty else {
                throw HCLError(at: block.range, "\(context): nested block \"\(block.type)\" must not have labels")
            }
            guard object[block.type] == nil else {
                throw HCLError(at: block.range, "\(context): \"\(block.type)\" is set more than once")
            }
            object[block.type] = .object(try objectValue(of: block.body, in: "\(context) \(block.type)"))
        }
        return object
    }

    private static func literal(_ attribute: HCLAttribute, _ message: String) throws(HCLError) -> JSONValue {
        guard let value = attribute.expression.literalValue else { throw HCLError(at: attribute.range, message) }
        return value
    }

    private static func string(_ attribute: HCLAttribute?, in context: String) throws(HCLError) -> String? {
        guard let attribute else { return nil }
        guard case .literal(.string(let text)) = attribute.expression else {
            throw HCLError(at: attribute.range, "\(context): \(attribute.name) must be a string")
        }
        return text
    }

    private static func bool(_ attribute: HCLAttribute?, in context: String) throws(HCLError) -> Bool? {
        guard let attribute else { return nil }
        guard case .literal(.bool(let flag)) = attribute.expression else {
            throw HCLError(at: attribute.range, "\(context): \(attribute.name) must be true or false")
        }
        return flag
    }

    private static func singleLabel(of block: HCLBlock) throws(HCLError) -> String {
        guard block.labels.count == 1 else {
            throw HCLError(at: block.range, "a \(block.type) block needs exactly one label, its name")
        }
        return block.labels[0]
    }

    private static func sourceText(of expression: HCLExpression) -> String {
        switch expression {
        case .raw(let text): return text
        case .literal(let value): return value.encoded()
        }
    }
}
