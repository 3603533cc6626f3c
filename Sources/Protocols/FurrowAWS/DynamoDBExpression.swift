import Foundation
import FurrowJSON
import OrderedCollections

/// A DynamoDB condition or filter expression with its placeholders.
///
/// Attribute names and values only ever enter through `#n`/`:v` placeholders, so a user's strings never become
/// expression syntax. Build them with the static helpers; a raw `expression` is for callers that wrote it themselves.
public struct DynamoDBExpression: Sendable, Equatable {
    public var expression: String
    /// Placeholder (`#n0`) → attribute name.
    public var names: [String: String]
    /// Placeholder (`:v0`) → plain value (encoded to DynamoDB's typed form when sent).
    public var values: [String: JSONValue]

    public init(expression: String, names: [String: String] = [:], values: [String: JSONValue] = [:]) {
        self.expression = expression
        self.names = names
        self.values = values
    }

    /// `#n0 = :v0 AND #n1 = :v1 ...` for each member of `equalities`, in order.
    public static func equals(_ equalities: OrderedDictionary<String, JSONValue>) -> DynamoDBExpression {
        var builder = Builder()
        let terms = equalities.map { "\(builder.name($0.key)) = \(builder.value($0.value))" }
        return builder.expression(terms.joined(separator: " AND "))
    }

    /// `attribute_not_exists(#n0)`: for "create only if absent".
    public static func attributeNotExists(_ attribute: String) -> DynamoDBExpression {
        var builder = Builder()
        let name = builder.name(attribute)
        return builder.expression("attribute_not_exists(\(name))")
    }

    /// `attribute_exists(#n0)`: for "change only if present".
    public static func attributeExists(_ attribute: String) -> DynamoDBExpression {
        var builder = Builder()
        let name = builder.name(attribute)
        return builder.expression("attribute_exists(\(name))")
    }

    /// Both expressions must hold. Placeholders of `other` are renumbered so that the two never collide.
    public func and(_ other: DynamoDBExpression) -> DynamoDBExpression {
        var combined = self
        // The first prefix that no placeholder of `self` starts with, so renamed placeholders cannot collide.
        let taken = Array(names.keys) + Array(values.keys)
        var round = names.count + values.count
        while taken.contains(where: { $0.dropFirst().hasPrefix("r\(round)_") }) { round += 1 }
        let renamed = other.prefixed(with: "r\(round)_")
        combined.expression = "(\(expression)) AND (\(renamed.expression))"
        combined.names.merge(renamed.names) { a, _ in a }
        combined.values.merge(renamed.values) { a, _ in a }
        return combined
    }

    /// The same expression with every placeholder renamed `#<prefix>...` / `:<prefix>...`.
    func prefixed(with prefix: String) -> DynamoDBExpression {
        var text = expression
        var names: [String: String] = [:]
        var values: [String: JSONValue] = [:]
        // Longest placeholders first, so `#n1` never rewrites part of `#n10`.
        for placeholder in (Array(self.names.keys) + Array(self.values.keys)).sorted(by: { $0.count > $1.count }) {
            let sigil = placeholder.prefix(1)
            let renamed = sigil + prefix + placeholder.dropFirst()
            text = text.replacingOccurrences(of: placeholder, with: String(renamed))
            if sigil == "#" {
                names[String(renamed)] = self.names[placeholder]
            } else {
                values[String(renamed)] = self.values[placeholder]
            }
        }
        return DynamoDBExpression(expression: text, names: names, values: values)
    }

    /// Numbers placeholders for one expression: the same attribute name reuses its placeholder.
    public struct Builder: Sendable {
        public private(set) var names: [String: String] = [:]
        public private(set) var values: [String: JSONValue] = [:]
        private var placeholderOfName: [String: String] = [:]
        private let namePrefix: String
        private let valuePrefix: String

        public init(namePrefix: String = "#n", valuePrefix: String = ":v") {
            self.namePrefix = namePrefix
            self.valuePrefix = valuePrefix
        }

        public mutating func name(_ attribute: String) -> String {
            if let existing = placeholderOfName[attribute] { return existing }
            let placeholder = "\(namePrefix)\(placeholderOfName.count)"
            placeholderOfName[attribute] = placeholder
            names[placeholder] = attribute
            return placeholder
        }

        public mutating func value(_ value: JSONValue) -> String {
            let placeholder = "\(valuePrefix)\(values.count)"
            values[placeholder] = value
            return placeholder
        }

        public func expression(_ text: String) -> DynamoDBExpression {
            DynamoDBExpression(expression: text, names: names, values: values)
        }
    }
}
