import Foundation
import FurrowJSON
import OrderedCollections

/// One page of a scan: the items (plain values) and the key to continue from, nil on the last page.
public struct DynamoDBScanPage: Sendable {
    public let items: [JSONValue]
    public let lastEvaluatedKey: JSONValue?
}

/// DynamoDB over its JSON 1.0 protocol. Items, keys and results are plain `JSONValue` objects; the typed
/// attribute-value form stays inside this type. Every call blocks and may be made from any thread.
///
/// Errors are `AWSError`; a failed condition is `.conditionalCheckFailed`, a missing table `.notFound`.
public struct DynamoDBClient: Sendable {
    public let http: AWSHTTPClient

    public init(http: AWSHTTPClient) { self.http = http }
    public init(configuration: AWSConfiguration) { self.init(http: AWSHTTPClient(configuration: configuration)) }

    /// Any DynamoDB operation with a raw (typed) input; the building block of the methods below.
    public func call(_ operation: String, _ input: JSONValue) throws -> JSONValue {
        try http.callJSON(
            .dynamoDB, targetPrefix: "DynamoDB_20120810", operation: operation, jsonVersion: "1.0", input: input)
    }

    // MARK: Tables

    /// Creates a table keyed by one string attribute, billed per request, and waits until it is ACTIVE.
    /// Returns the table description. An existing table is `.alreadyExists`.
    @discardableResult
    public func createTable(name: String, keyAttribute: String, waitTimeout: Double = 300) throws -> JSONValue {
        _ = try call(
            "CreateTable",
            [
                "TableName": .string(name), "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [["AttributeName": .string(keyAttribute), "AttributeType": "S"]],
                "KeySchema": [["AttributeName": .string(keyAttribute), "KeyType": "HASH"]],
            ])
        return try waitUntilActive(name: name, timeout: waitTimeout)
    }

    /// Polls `DescribeTable` until the table is ACTIVE; throws when `timeout` seconds pass first.
    @discardableResult
    public func waitUntilActive(name: String, timeout: Double = 300) throws -> JSONValue {
        let deadline = ContinuousClock.now + .milliseconds(timeout > 0 ? Int64(min(timeout, 31_536_000) * 1000) : 0)
        var pause = 0.2
        while true {
            let table = try describeTable(name: name)
            let status = table["TableStatus"]?.stringValue ?? "unknown"
            if status == "ACTIVE" { return table }
            guard ContinuousClock.now < deadline else {
                throw AWSError(
                    kind: .service, service: "dynamodb", operation: "DescribeTable",
                    message: "table \(name) is still \(status) after \(Int(timeout)) seconds")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 2)
        }
    }

    /// The `Table` member of `DescribeTable`: `TableStatus`, `KeySchema`, `ItemCount` ...
    public func describeTable(name: String) throws -> JSONValue {
        try call("DescribeTable", ["TableName": .string(name)])["Table"] ?? .null
    }

    public func deleteTable(name: String) throws {
        _ = try call("DeleteTable", ["TableName": .string(name)])
    }

    /// Every table name, following `LastEvaluatedTableName` across pages.
    public func listTables() throws -> [String] {
        var names: [String] = []
        var start: String?
        repeat {
            var input: OrderedDictionary<String, JSONValue> = ["Limit": 100]
            if let start { input["ExclusiveStartTableName"] = .string(start) }
            let output = try call("ListTables", .object(input))
            names += (output["TableNames"]?.arrayValue ?? []).compactMap(\.stringValue)
            start = output["LastEvaluatedTableName"]?.stringValue
        } while start != nil
        return names
    }

    // MARK: Items

    /// The item with `key` (e.g. `["name": "feat-x"]`), or nil when there is none.
    public func getItem(table: String, key: JSONValue, consistentRead: Bool = true) throws -> JSONValue? {
        let output = try call(
            "GetItem",
            [
                "TableName": .string(table), "Key": .object(try typedObject(key, "key")),
                "ConsistentRead": .bool(consistentRead),
            ])
        guard let item = output["Item"]?.objectValue else { return nil }
        return .object(try DynamoDBAttributeValue.decodeItem(item))
    }

    /// Writes a whole item, replacing any item with the same key. With `condition`, only if it holds.
    public func putItem(table: String, item: JSONValue, condition: DynamoDBExpression? = nil) throws {
        var input: OrderedDictionary<String, JSONValue> = [
            "TableName": .string(table), "Item": .object(try typedObject(item, "item")),
        ]
        try add(condition, as: "ConditionExpression", to: &input)
        _ = try call("PutItem", .object(input))
    }

    /// Sets the members of `set` and removes the attributes in `remove` of the item with `key` (creating it when
    /// absent, unless `condition` says otherwise). Members of `set` equal to the key are skipped, so a whole item may
    /// be passed. Returns the item as it is after the update.
    @discardableResult
    public func updateItem(
        table: String, key: JSONValue, set: JSONValue = [:], remove: [String] = [], condition: DynamoDBExpression? = nil
    ) throws -> JSONValue {
        let typedKey = try typedObject(key, "key")
        guard let assignments = set.objectValue else {
            throw invalidInput("UpdateItem", "the values to set must be an object")
        }
        var builder = DynamoDBExpression.Builder(namePrefix: "#u", valuePrefix: ":u")
        var setTerms: [String] = []
        for (name, value) in assignments where key[name] != value {
            setTerms.append("\(builder.name(name)) = \(builder.value(value))")
        }
        let removeTerms = remove.map { builder.name($0) }
        var clauses: [String] = []
        if !setTerms.isEmpty { clauses.append("SET " + setTerms.joined(separator: ", ")) }
        if !removeTerms.isEmpty { clauses.append("REMOVE " + removeTerms.joined(separator: ", ")) }
        guard !clauses.isEmpty else { throw invalidInput("UpdateItem", "nothing to set or remove") }
        let update = builder.expression(clauses.joined(separator: " "))

        var input: OrderedDictionary<String, JSONValue> = [
            "TableName": .string(table), "Key": .object(typedKey), "UpdateExpression": .string(update.expression),
            "ReturnValues": "ALL_NEW",
        ]
        try add(update, condition, to: &input, conditionMember: "ConditionExpression", operation: "UpdateItem")
        let output = try call("UpdateItem", .object(input))
        return .object(try DynamoDBAttributeValue.decodeItem(output["Attributes"]?.objectValue ?? [:]))
    }

    /// Deletes the item with `key`; with `condition`, only if it holds. Returns the deleted item, nil if there was none.
    @discardableResult
    public func deleteItem(table: String, key: JSONValue, condition: DynamoDBExpression? = nil) throws -> JSONValue? {
        var input: OrderedDictionary<String, JSONValue> = [
            "TableName": .string(table), "Key": .object(try typedObject(key, "key")), "ReturnValues": "ALL_OLD",
        ]
        try add(condition, as: "ConditionExpression", to: &input)
        let output = try call("DeleteItem", .object(input))
        guard let old = output["Attributes"]?.objectValue else { return nil }
        return .object(try DynamoDBAttributeValue.decodeItem(old))
    }

    // MARK: Scans

    /// One page of a scan. `limit` caps the items DynamoDB reads for this page (before `filter` applies), so a
    /// filtered page may be empty yet not the last; continue while `lastEvaluatedKey` is non-nil.
    public func scanPage(
        table: String, filter: DynamoDBExpression? = nil, limit: Int? = nil, startKey: JSONValue? = nil,
        consistentRead: Bool = false
    ) throws -> DynamoDBScanPage {
        var input: OrderedDictionary<String, JSONValue> = ["TableName": .string(table)]
        if let limit { input["Limit"] = .int(Int64(limit)) }
        if let startKey { input["ExclusiveStartKey"] = .object(try typedObject(startKey, "start key")) }
        if consistentRead { input["ConsistentRead"] = true }
        try add(filter, as: "FilterExpression", to: &input)
        let output = try call("Scan", .object(input))
        let items = try (output["Items"]?.arrayValue ?? []).map { typed -> JSONValue in
            guard let members = typed.objectValue else { throw invalidInput("Scan", "an item is not an object") }
            return .object(try DynamoDBAttributeValue.decodeItem(members))
        }
        let last = try output["LastEvaluatedKey"]?.objectValue.map {
            JSONValue.object(try DynamoDBAttributeValue.decodeItem($0))
        }
        return DynamoDBScanPage(items: items, lastEvaluatedKey: last)
    }

    /// Scans page by page, handing each page to `body`; stops after the last page or when `body` returns false.
    public func scan(
        table: String, filter: DynamoDBExpression? = nil, pageLimit: Int? = nil, consistentRead: Bool = false,
        _ body: (DynamoDBScanPage) throws -> Bool
    ) throws {
        var startKey: JSONValue?
        repeat {
            let page = try scanPage(
                table: table, filter: filter, limit: pageLimit, startKey: startKey, consistentRead: consistentRead)
            guard try body(page) else { return }
            startKey = page.lastEvaluatedKey
        } while startKey != nil
    }

    /// Every item of the table (that passes `filter`), across all pages.
    public func scanAll(table: String, filter: DynamoDBExpression? = nil, consistentRead: Bool = false) throws
        -> [JSONValue]
    {
        var items: [JSONValue] = []
        try scan(table: table, filter: filter, consistentRead: consistentRead) { page in
            items += page.items
            return true
        }
        return items
    }

    // MARK: Helpers

    private func typedObject(_ value: JSONValue, _ what: String) throws -> OrderedDictionary<String, JSONValue> {
        guard let members = value.objectValue else {
            throw invalidInput("request", "the \(what) must be an object, got \(value.encoded())")
        }
        return try DynamoDBAttributeValue.encodeItem(members)
    }

    private func invalidInput(_ operation: String, _ message: String) -> AWSError {
        AWSError(kind: .validation, service: "dynamodb", operation: operation, message: message)
    }

    private func add(
        _ expression: DynamoDBExpression?, as member: String, to input: inout OrderedDictionary<String, JSONValue>
    ) throws {
        guard let expression else { return }
        input[member] = .string(expression.expression)
        try addPlaceholders(names: expression.names, values: expression.values, to: &input)
    }

    /// Adds an update expression's placeholders and an optional condition, refusing placeholders used by both.
    private func add(
        _ update: DynamoDBExpression, _ condition: DynamoDBExpression?,
        to input: inout OrderedDictionary<String, JSONValue>,
        conditionMember: String, operation: String
    ) throws {
        var names = update.names
        var values = update.values
        if let condition {
            let shared = Set(names.keys).intersection(condition.names.keys).union(
                Set(values.keys).intersection(condition.values.keys))
            guard shared.isEmpty else {
                throw invalidInput(
                    operation,
                    "the condition reuses placeholders of the update: \(shared.sorted().joined(separator: ", "))")
            }
            names.merge(condition.names) { a, _ in a }
            values.merge(condition.values) { a, _ in a }
            input[conditionMember] = .string(condition.expression)
        }
        try addPlaceholders(names: names, values: values, to: &input)
    }

    private func addPlaceholders(
        names: [String: String], values: [String: JSONValue], to input: inout OrderedDictionary<String, JSONValue>
    ) throws {
        if !names.isEmpty {
            var typed = OrderedDictionary<String, JSONValue>()
            for placeholder in names.keys.sorted() { typed[placeholder] = .string(names[placeholder]!) }
            input["ExpressionAttributeNames"] = .object(typed)
        }
        if !values.isEmpty {
            var typed = OrderedDictionary<String, JSONValue>()
            for placeholder in values.keys.sorted() {
                typed[placeholder] = try DynamoDBAttributeValue.encode(values[placeholder]!)
            }
            input["ExpressionAttributeValues"] = .object(typed)
        }
    }
}
