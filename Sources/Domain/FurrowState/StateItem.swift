import OrderedCollections
import FurrowJSON

/// One item of a state table: attribute names to values (strings, numbers, bools, lists, maps, null).
/// Furrow times arrive as ISO-8601 strings and are kept exactly as given.
public typealias StateItem = OrderedDictionary<String, JSONValue>

/// The condition of a conditional write: every listed attribute must equal the given value.
/// A null value means "absent or null".
public typealias StateCondition = OrderedDictionary<String, JSONValue>

/// The rules every store applies to items, so that scripts behave the same on SQLite and DynamoDB.
public enum StateItemRules {
    /// DynamoDB's item size limit (400 KB), applied by every store.
    public static let maximumItemSize = 400 * 1024
    /// DynamoDB's limit on a partition key value, in UTF-8 bytes.
    public static let maximumKeySize = 2048
    /// DynamoDB's limit on nested attributes: an attribute's value holds lists and maps at most
    /// this many levels deep, counting its own. Applied by every store, and not only for
    /// DynamoDB's sake: the SQLite store parses a stored item with a bounded JSON parser, and
    /// SQLite's JSON functions (the pushed-down filters of a scan) fail on a deeper row.
    public static let maximumNesting = 32

    /// Why a list or map at `path` cannot be stored (it is nested deeper than `maximumNesting`).
    public static func nestingProblem(at path: String) -> String {
        "\(path) is nested more than \(maximumNesting) levels deep; items hold lists and maps at most \(maximumNesting) levels deep"
    }

    /// The size of an item as DynamoDB counts it, closely enough: attribute names plus values, where a
    /// string counts its UTF-8 bytes, a number about one byte per two significant digits plus one,
    /// a bool or null one byte, and a list or map three bytes plus one per element plus the elements.
    public static func size(of item: StateItem) -> Int {
        item.reduce(0) { $0 + $1.key.utf8.count + size(ofValue: $1.value) }
    }

    static func size(ofValue value: JSONValue) -> Int {
        switch value {
        case .null, .bool: return 1
        case .string(let s): return s.utf8.count
        case .int(let i): return numberSize(String(i.magnitude))
        case .double(let d): return numberSize(String(d.magnitude))
        case .array(let elements): return elements.reduce(3) { $0 + 1 + size(ofValue: $1) }
        case .object(let members): return members.reduce(3) { $0 + 1 + $1.key.utf8.count + size(ofValue: $1.value) }
        }
    }

    private static func numberSize(_ digits: String) -> Int {
        let mantissa = digits.prefix { $0 != "e" && $0 != "E" }
        let significant = mantissa.filter(\.isNumber).drop { $0 == "0" }.reversed().drop { $0 == "0" }
        return min(21, (significant.count + 1) / 2 + 1)
    }

    /// The reason `value` cannot be stored, or nil when it can (numbers must be finite, lists
    /// and maps nested at most `maximumNesting` levels; `level` is the value's own).
    static func problem(in value: JSONValue, at path: String, level: Int = 1) -> String? {
        switch value {
        case .double(let d) where !d.isFinite: return "\(path) is \(d), which has no stored form"
        case .array(let elements):
            if level > maximumNesting { return nestingProblem(at: path) }
            for (index, element) in elements.enumerated() {
                if let problem = problem(in: element, at: "\(path)[\(index)]", level: level + 1) { return problem }
            }
        case .object(let members):
            if level > maximumNesting { return nestingProblem(at: path) }
            for (name, member) in members {
                if let problem = problem(in: member, at: "\(path).\(name)", level: level + 1) { return problem }
            }
        default: break
        }
        return nil
    }

    /// Checks that `key` is a valid key value: a non-empty string of at most 2048 UTF-8 bytes.
    public static func validateKey(_ key: JSONValue?, table: String, keyAttribute: String) throws(StateError) {
        guard let key else {
            throw StateError(.invalid, table: table, message: "the item has no key attribute '\(keyAttribute)'")
        }
        guard case .string(let text) = key else {
            throw StateError(
                .invalid, table: table,
                message: "the key attribute '\(keyAttribute)' must be a non-empty string, not \(typeName(key))")
        }
        try validateKey(text, table: table)
    }

    public static func validateKey(_ key: String, table: String) throws(StateError) {
        guard !key.isEmpty else { throw StateError(.invalid, table: table, message: "the key must be a non-empty string") }
        guard key.utf8.count <= maximumKeySize else {
            throw StateError(
                .invalid, table: table,
                message: "the key is \(key.utf8.count) bytes long; keys are limited to \(maximumKeySize) bytes")
        }
    }

    /// Checks a whole item: key, values, and size.
    public static func validate(_ item: StateItem, table: String, keyAttribute: String) throws(StateError) {
        try validateKey(item[keyAttribute], table: table, keyAttribute: keyAttribute)
        let key = item[keyAttribute]?.stringValue
        for (name, value) in item {
            guard !name.isEmpty else { throw StateError(.invalid, table: table, key: key, message: "an attribute name is empty") }
            if let problem = problem(in: value, at: name) {
                throw StateError(.invalid, table: table, key: key, message: problem)
            }
        }
        let itemSize = size(of: item)
        guard itemSize <= maximumItemSize else {
            throw StateError(
                .itemTooLarge, table: table, key: key,
                message: "the item is \(itemSize) bytes; items are limited to \(maximumItemSize) bytes (400 KB)")
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a bool"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a map"
        }
    }
}

/// The evaluation of a conditional write's condition, the same in every store.
public enum StateConditionCheck {
    /// The attributes of `item` that do not satisfy `condition`, in the condition's order (empty when
    /// it holds). A missing item is checked as an empty one.
    public static func mismatches(of condition: StateCondition, in item: StateItem) -> [StateMismatch] {
        condition.compactMap { name, expected in
            let actual = item[name]
            let holds = expected.isNull
                ? (actual == nil || actual!.isNull)
                : actual.map { StateValueComparison.equal($0, expected) } ?? false
            return holds ? nil : StateMismatch(attribute: name, expected: expected, actual: actual)
        }
    }
}

/// Value comparisons shared by conditions and filters, the same in every store: numbers compare by
/// value (3 equals 3.0), strings by their UTF-8 bytes, maps regardless of member order.
public enum StateValueComparison {
    public static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.int, _), (.double, _):
            return compareNumbers(a, b) == 0
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { name, value in y[name].map { equal(value, $0) } ?? false }
        default: return false
        }
    }

    /// The order of two values of the same kind (both numbers or both strings): -1, 0 or 1; nil when
    /// they cannot be ordered (mixed kinds, bools, null, lists, maps).
    public static func order(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x.utf8.elementsEqual(y.utf8) { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        default: return compareNumbers(a, b)
        }
    }

    /// Exact comparison of two numbers, including a 64-bit integer against a double.
    static func compareNumbers(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x == y ? 0 : (x < y ? -1 : 1)
        case (.int(let x), .double(let y)): return compare(x, y)
        case (.double(let x), .int(let y)): return compare(y, x).map { -$0 }
        default: return nil
        }
    }

    private static func compare(_ integer: Int64, _ real: Double) -> Int? {
        if real.isNaN { return nil }
        if real >= 9_223_372_036_854_775_808.0 { return -1 }
        if real < -9_223_372_036_854_775_808.0 { return 1 }
        let whole = Int64(real.rounded(.down))
        if integer != whole { return integer < whole ? -1 : 1 }
        return real > Double(whole) ? -1 : 0
    }
}

extension StateItem {
    /// The item's canonical JSON text: members sorted by name (UTF-8 order) at every level, so equal
    /// items are stored identically and neither store depends on member order.
    func canonicalJSON() -> String {
        StateItem.canonical(.object(self)).encoded()
    }

    private static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements): return .array(elements.map(canonical))
        case .object(let members):
            var sorted = OrderedDictionary<String, JSONValue>(minimumCapacity: members.count)
            for name in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                sorted[name] = canonical(members[name]!)
            }
            return .object(sorted)
        default: return value
        }
    }
}
