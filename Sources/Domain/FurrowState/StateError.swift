import FurrowJSON

/// One attribute whose value differed from what a conditional write expected.
public struct StateMismatch: Sendable, Equatable, CustomStringConvertible {
    public let attribute: String
    /// The value the condition asked for (null: absent or null).
    public let expected: JSONValue
    /// The value found, or nil when the attribute (or the whole item) is absent.
    public let actual: JSONValue?

    public init(attribute: String, expected: JSONValue, actual: JSONValue?) {
        self.attribute = attribute
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        let found = actual.map { $0.encoded() } ?? "absent"
        let wanted = expected.isNull ? "absent" : expected.encoded()
        return "\(attribute) is \(found), expected \(wanted)"
    }
}

/// A failure of a state-table operation. Every error names the table (and the key when there is one),
/// never item contents beyond the attributes a condition named.
public struct StateError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A conditional write found something other than it expected; `mismatches` says what.
        case conflict
        /// The item, key, table name or key attribute, lease or page size is not acceptable.
        case invalid
        /// The item is over the 400 KB limit.
        case itemTooLarge = "too_large"
        /// The table has not been created.
        case noSuchTable = "no_such_table"
        /// A lease is no longer held by the caller.
        case leaseLost = "lease_lost"
        /// The storage failed: unreadable, corrupt, read-only or busy database, or a service error.
        case storage
    }

    public let kind: Kind
    public let table: String?
    public let key: String?
    public let message: String
    /// For `.conflict`: each attribute that differed (empty when the item's existence was the issue).
    public let mismatches: [StateMismatch]

    public init(_ kind: Kind, table: String?, key: String? = nil, message: String, mismatches: [StateMismatch] = []) {
        self.kind = kind
        self.table = table
        self.key = key
        self.message = message
        self.mismatches = mismatches
    }

    /// The conflict of a conditional write whose condition found `mismatches`.
    public static func conflict(table: String, key: String, mismatches: [StateMismatch]) -> StateError {
        StateError(
            .conflict, table: table, key: key, message: mismatches.map(\.description).joined(separator: "; "),
            mismatches: mismatches)
    }

    public var description: String {
        var place = ""
        if let table { place += "table \(table)" }
        if let key { place += place.isEmpty ? "key \"\(key)\"" : ", key \"\(key)\"" }
        let prefix = kind == .conflict ? "conflict" : ""
        let head = [prefix, place].filter { !$0.isEmpty }.joined(separator: " in ")
        return head.isEmpty ? message : "\(head): \(message)"
    }
}
