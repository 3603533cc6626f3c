import FurrowJSON

/// A comparison operator of a pushed-down `where`.
public enum StateComparisonOperator: String, Sendable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// One field comparison against a constant: `.state == "new"`, `.build.number >= 3`.
public struct StateComparison: Sendable, Equatable {
    /// Attribute names from the item down (one name for a top-level attribute).
    public var path: [String]
    public var comparison: StateComparisonOperator
    public var value: JSONValue

    public init(_ path: [String], _ comparison: StateComparisonOperator, _ value: JSONValue) {
        self.path = path
        self.comparison = comparison
        self.value = value
    }

    public init(_ attribute: String, _ comparison: StateComparisonOperator, _ value: JSONValue) {
        self.init([attribute], comparison, value)
    }

    /// Whether `item` satisfies the comparison. This is the meaning every store must reproduce:
    /// - `==` / `!=`: value equality (numbers by value, strings by bytes); an absent field equals null.
    /// - `<` `<=` `>` `>=`: when both sides are numbers or both are strings, their order; anything
    ///   else (absent, null, bools, mixed kinds, lists, maps) is matched, because the script's own
    ///   test decides those items (null sorts first; mixed kinds are a type error) and a store
    ///   must never hide an item that would change the result.
    public func matches(_ item: StateItem) -> Bool {
        let field = lookup(item) ?? .null
        switch comparison {
        case .equal: return StateValueComparison.equal(field, value)
        case .notEqual: return !StateValueComparison.equal(field, value)
        case .less: return StateValueComparison.order(field, value).map { $0 < 0 } ?? true
        case .lessOrEqual: return StateValueComparison.order(field, value).map { $0 <= 0 } ?? true
        case .greater: return StateValueComparison.order(field, value).map { $0 > 0 } ?? true
        case .greaterOrEqual: return StateValueComparison.order(field, value).map { $0 >= 0 } ?? true
        }
    }

    private func lookup(_ item: StateItem) -> JSONValue? {
        guard let first = path.first else { return nil }
        var current = item[first]
        for name in path.dropFirst() { current = current?[name] }
        return current
    }
}

/// A conjunction of comparisons that a store may evaluate itself (in SQL, or as a DynamoDB filter
/// expression) instead of the interpreter. An empty filter matches everything.
public struct StateFilter: Sendable, Equatable {
    public var comparisons: [StateComparison]

    public init(_ comparisons: [StateComparison]) { self.comparisons = comparisons }

    public func matches(_ item: StateItem) -> Bool { comparisons.allSatisfy { $0.matches(item) } }
}
