import Foundation
import FurrowAWS
import FurrowJSON
import FurrowState
import OrderedCollections

/// The state store on DynamoDB: one DynamoDB table per state table (keyed by one string attribute), items
/// stored attribute by attribute (so the AWS console and other tools read them), and leases as conditional
/// writes on one more table (`leaseTable`, keyed by `name`).
///
/// It follows the `StateStore` contract exactly like `SQLiteStateStore`: the same `StateItemRules` are
/// checked before anything is sent, and conflicts carry the same messages and mismatches. A missing table
/// is created (on-demand billing) and waited for. Safe to call from several threads.
public final class DynamoDBStateStore: StateStore, @unchecked Sendable {
    public static let defaultLeaseTable = "furrow-leases"

    public let client: DynamoDBClient
    public let leaseTable: String
    private let cacheLock = NSLock()
    private var keyAttributes: [String: String] = [:]
    private var leaseTableReady = false

    public init(client: DynamoDBClient, leaseTable: String = DynamoDBStateStore.defaultLeaseTable) {
        self.client = client
        self.leaseTable = leaseTable
    }

    // MARK: - Tables

    @discardableResult
    public func ensureTable(_ name: String, keyAttribute: String) throws(StateError) -> StateTableDefinition {
        try StateTableDefinition.validate(name: name)
        guard (1...255).contains(keyAttribute.utf8.count) else {
            throw StateError(.invalid, table: name, message: "the key attribute name must have 1 to 255 bytes")
        }
        if let known = cached(name), known == keyAttribute {
            return StateTableDefinition(name: name, keyAttribute: keyAttribute)
        }
        let existing: String? = try perform("creating the table", table: name, key: nil) {
            if let key = try describeKeyAttribute(name) { return key }
            do {
                try client.createTable(name: name, keyAttribute: keyAttribute)
                return nil
            } catch let error as AWSError where error.kind == .alreadyExists {
                // Another process created it meanwhile: wait for it and read its key.
                try client.waitUntilActive(name: name)
                return try describeKeyAttribute(name)
            }
        }
        if let existing, existing != keyAttribute {
            throw StateError(.invalid, table: name, message: "the table is keyed by '\(existing)', not '\(keyAttribute)'")
        }
        remember(name, keyAttribute: keyAttribute)
        return StateTableDefinition(name: name, keyAttribute: keyAttribute)
    }

    public func tables() throws(StateError) -> [StateTableDefinition] {
        try perform("listing tables", table: nil, key: nil) {
            try client.listTables().filter { $0 != leaseTable }.sorted().compactMap { name in
                try describeKeyAttribute(name).map { StateTableDefinition(name: name, keyAttribute: $0) }
            }
        }
    }

    /// The hash key of an existing table, nil when there is no such table.
    private func describeKeyAttribute(_ name: String) throws -> String? {
        let table: JSONValue
        do {
            table = try client.describeTable(name: name)
        } catch let error as AWSError where error.kind == .notFound {
            return nil
        }
        if table["TableStatus"]?.stringValue != "ACTIVE" { try client.waitUntilActive(name: name) }
        let hash = table["KeySchema"]?.arrayValue?.first { $0["KeyType"]?.stringValue == "HASH" }
        guard let key = hash?["AttributeName"]?.stringValue else {
            throw StateError(.storage, table: name, message: "DescribeTable returned no hash key")
        }
        return key
    }

    private func keyAttribute(of table: String) throws(StateError) -> String {
        if let known = cached(table) { return known }
        try StateTableDefinition.validate(name: table)
        guard let key = try perform("reading the table", table: table, key: nil, { try describeKeyAttribute(table) }) else {
            throw StateError(.noSuchTable, table: table, message: "no such table")
        }
        remember(table, keyAttribute: key)
        return key
    }

    private func cached(_ table: String) -> String? {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        return keyAttributes[table]
    }

    private func remember(_ table: String, keyAttribute: String) {
        cacheLock.lock()
        keyAttributes[table] = keyAttribute
        cacheLock.unlock()
    }

    // MARK: - Items

    public func get(_ table: String, key: String) throws(StateError) -> StateItem? {
        let keyName = try keyAttribute(of: table)
        try StateItemRules.validateKey(key, table: table)
        return try perform("reading the item", table: table, key: key) {
            try client.getItem(table: table, key: [keyName: .string(key)])?.objectValue
        }
    }

    public func put(_ table: String, item: StateItem, ifAbsent: Bool) throws(StateError) {
        let keyName = try keyAttribute(of: table)
        try StateItemRules.validate(item, table: table, keyAttribute: keyName)
        let key = item[keyName]!.stringValue!
        do throws(StateError) {
            try perform("writing the item", table: table, key: key) {
                try client.putItem(
                    table: table, item: .object(item),
                    condition: ifAbsent ? DynamoDBExpression.attributeNotExists(keyName) : nil)
            }
        } catch where error.kind == .conflict {
            throw StateError(.conflict, table: table, key: key, message: "an item with this key already exists")
        }
    }

    @discardableResult
    public func update(_ table: String, key: String, changes: StateItem, condition: StateCondition?) throws(StateError)
        -> StateItem
    {
        let keyName = try keyAttribute(of: table)
        try StateItemRules.validateKey(key, table: table)
        if let newKey = changes[keyName], !StateValueComparison.equal(newKey, .string(key)) {
            throw StateError(.invalid, table: table, key: key, message: "the key attribute '\(keyName)' cannot be changed")
        }
        // Check the rules on the item as it will be, so an update that would break them sends nothing;
        // the conditional write below still makes the change atomic against concurrent writers.
        guard var updated = try get(table, key: key) else {
            throw StateError(.conflict, table: table, key: key, message: "the item does not exist")
        }
        if let condition {
            let mismatches = StateConditionCheck.mismatches(of: condition, in: updated)
            guard mismatches.isEmpty else { throw StateError.conflict(table: table, key: key, mismatches: mismatches) }
        }
        var set = OrderedDictionary<String, JSONValue>()
        var remove: [String] = []
        for (name, value) in changes where name != keyName {
            if value.isNull {
                updated.removeValue(forKey: name)
                remove.append(name)
            } else {
                updated[name] = value
                set[name] = value
            }
        }
        try StateItemRules.validate(updated, table: table, keyAttribute: keyName)
        if set.isEmpty && remove.isEmpty { return updated }
        let guardExpression = conditionExpression(condition, requiringItem: keyName)
        do throws(StateError) {
            return try perform("updating the item", table: table, key: key) {
                try client.updateItem(
                    table: table, key: [keyName: .string(key)], set: .object(set), remove: remove,
                    condition: guardExpression
                ).objectValue ?? [:]
            }
        } catch where error.kind == .conflict {
            throw try explainConflict(table: table, key: key, condition: condition)
        }
    }

    @discardableResult
    public func delete(_ table: String, key: String, condition: StateCondition?) throws(StateError) -> Bool {
        let keyName = try keyAttribute(of: table)
        try StateItemRules.validateKey(key, table: table)
        let expression = condition.flatMap { $0.isEmpty ? nil : conditionExpression($0, requiringItem: nil) }
        do throws(StateError) {
            return try perform("deleting the item", table: table, key: key) {
                try client.deleteItem(table: table, key: [keyName: .string(key)], condition: expression) != nil
            }
        } catch where error.kind == .conflict {
            throw try explainConflict(table: table, key: key, condition: condition)
        }
    }

    /// The conflict error of a conditional write that DynamoDB refused: what the item holds now, compared
    /// with the condition (DynamoDB does not say which part failed).
    private func explainConflict(table: String, key: String, condition: StateCondition?) throws(StateError) -> StateError {
        let current = try get(table, key: key)
        let mismatches = condition.map { StateConditionCheck.mismatches(of: $0, in: current ?? [:]) } ?? []
        if !mismatches.isEmpty { return StateError.conflict(table: table, key: key, mismatches: mismatches) }
        if current == nil { return StateError(.conflict, table: table, key: key, message: "the item does not exist") }
        return StateError(.conflict, table: table, key: key, message: "the item changed while it was being written")
    }

    /// `attribute_exists(key) AND a = :v AND (attribute_not_exists(b) OR b = :null) ...`.
    private func conditionExpression(_ condition: StateCondition?, requiringItem keyName: String?) -> DynamoDBExpression? {
        var builder = DynamoDBExpression.Builder(namePrefix: "#c", valuePrefix: ":c")
        var terms: [String] = []
        if let keyName { terms.append("attribute_exists(\(builder.name(keyName)))") }
        for (name, expected) in condition ?? [:] {
            let placeholder = builder.name(name)
            if expected.isNull {
                terms.append("(attribute_not_exists(\(placeholder)) OR \(placeholder) = \(builder.value(.null)))")
            } else {
                terms.append("\(placeholder) = \(builder.value(expected))")
            }
        }
        return terms.isEmpty ? nil : builder.expression(terms.joined(separator: " AND "))
    }

    // MARK: - Scans

    public func scan(_ table: String, filter: StateFilter?, pageSize: Int) throws(StateError) -> any StateScanCursor {
        _ = try keyAttribute(of: table)
        guard pageSize > 0 else {
            throw StateError(.invalid, table: table, message: "the page size must be positive, not \(pageSize)")
        }
        return DynamoDBScanCursor(store: self, table: table, filter: filter, pageSize: pageSize)
    }

    public func count(_ table: String, filter: StateFilter?) throws(StateError) -> Int {
        let cursor = try scan(table, filter: filter, pageSize: 1000)
        var total = 0
        while let page = try cursor.nextPage() { total += page.count }
        return total
    }

    fileprivate func scanPage(_ table: String, filter: DynamoDBExpression?, limit: Int, startKey: JSONValue?)
        throws(StateError) -> DynamoDBScanPage
    {
        try perform("scanning", table: table, key: nil) {
            try client.scanPage(table: table, filter: filter, limit: limit, startKey: startKey, consistentRead: true)
        }
    }

    // MARK: - Leases

    public func acquireLease(_ name: String, owner: String, ttl: Duration, now: Date) throws(StateError)
        -> LeaseAcquisition
    {
        try validateLease(name: name, owner: owner, ttl: ttl)
        try ensureLeaseTable()
        let nowMs = now.millisecondsSince1970
        let expiresMs = nowMs + ttl.wholeMilliseconds
        var builder = DynamoDBExpression.Builder()
        // Placeholders first: `builder.expression` must see every name and value already added.
        let nameField = builder.name("name"), ownerField = builder.name("owner"), expiresField = builder.name("expires_ms")
        let ownerValue = builder.value(.string(owner)), nowValue = builder.value(.int(nowMs))
        let condition = builder.expression(
            "attribute_not_exists(\(nameField)) OR \(ownerField) = \(ownerValue) OR \(expiresField) <= \(nowValue)")
        let lease = Lease(name: name, owner: owner, expiresAt: Date(millisecondsSince1970: expiresMs))
        // A holder that releases between our write and our read leaves nothing to report: try again.
        for _ in 0..<5 {
            do throws(StateError) {
                try perform("acquiring the lease \(name)", table: nil, key: nil) {
                    try client.putItem(
                        table: leaseTable,
                        item: ["name": .string(name), "owner": .string(owner), "expires_ms": .int(expiresMs)],
                        condition: condition)
                }
                return .acquired(lease)
            } catch where error.kind == .conflict {
                if let holder = try readLease(name) { return .held(by: holder) }
            }
        }
        throw StateError(.storage, table: nil, message: "acquiring the lease \(name) failed: it kept changing hands")
    }

    @discardableResult
    public func releaseLease(_ lease: Lease, now: Date) throws(StateError) -> LeaseRelease {
        try ensureLeaseTable()
        let nowMs = now.millisecondsSince1970
        var builder = DynamoDBExpression.Builder()
        let ownerTest = "\(builder.name("owner")) = \(builder.value(.string(lease.owner)))"
        let condition = builder.expression(ownerTest)
        do throws(StateError) {
            let old = try perform("releasing the lease \(lease.name)", table: nil, key: nil) {
                try client.deleteItem(table: leaseTable, key: ["name": .string(lease.name)], condition: condition)
            }
            let expiresMs = old?["expires_ms"]?.intValue ?? lease.expiresAt.millisecondsSince1970
            return expiresMs <= nowMs ? .expiredBeforeRelease(expiredAt: Date(millisecondsSince1970: expiresMs)) : .released
        } catch where error.kind == .conflict {
            if let holder = try readLease(lease.name) { return .takenOver(by: holder) }
            return lease.expiresAt.millisecondsSince1970 <= nowMs ? .expiredBeforeRelease(expiredAt: lease.expiresAt) : .released
        }
    }

    public func renewLease(_ lease: Lease, ttl: Duration, now: Date) throws(StateError) -> Lease {
        try validateLease(name: lease.name, owner: lease.owner, ttl: ttl)
        try ensureLeaseTable()
        let expiresMs = now.millisecondsSince1970 + ttl.wholeMilliseconds
        var builder = DynamoDBExpression.Builder(namePrefix: "#c", valuePrefix: ":c")
        let ownerTest = "\(builder.name("owner")) = \(builder.value(.string(lease.owner)))"
        let condition = builder.expression(ownerTest)
        do throws(StateError) {
            try perform("renewing the lease \(lease.name)", table: nil, key: nil) {
                _ = try client.updateItem(
                    table: leaseTable, key: ["name": .string(lease.name)], set: ["expires_ms": .int(expiresMs)],
                    condition: condition)
            }
        } catch where error.kind == .conflict {
            let holder = (try? readLease(lease.name)) ?? nil
            let by = holder.map { " by \($0.owner)" } ?? ""
            throw StateError(
                .leaseLost, table: nil,
                message: "the lease \(lease.name) expired and was taken over\(by); its holder outlived its ttl")
        }
        return Lease(name: lease.name, owner: lease.owner, expiresAt: Date(millisecondsSince1970: expiresMs))
    }

    public func leases() throws(StateError) -> [Lease] {
        try ensureLeaseTable()
        return try perform("listing the leases", table: nil, key: nil) {
            try client.scanAll(table: leaseTable, consistentRead: true).compactMap { item -> Lease? in
                guard let name = item["name"]?.stringValue, let owner = item["owner"]?.stringValue,
                    let expires = item["expires_ms"]?.intValue
                else { return nil }
                return Lease(name: name, owner: owner, expiresAt: Date(millisecondsSince1970: expires))
            }.sorted { $0.name < $1.name }
        }
    }

    @discardableResult
    public func breakLease(_ name: String) throws(StateError) -> Lease? {
        try ensureLeaseTable()
        return try perform("breaking the lease \(name)", table: nil, key: nil) {
            guard let old = try client.deleteItem(table: leaseTable, key: ["name": .string(name)]),
                let owner = old["owner"]?.stringValue, let expires = old["expires_ms"]?.intValue
            else { return nil }
            return Lease(name: name, owner: owner, expiresAt: Date(millisecondsSince1970: expires))
        }
    }

    private func readLease(_ name: String) throws(StateError) -> Lease? {
        try perform("reading the lease \(name)", table: nil, key: nil) {
            guard let item = try client.getItem(table: leaseTable, key: ["name": .string(name)]),
                let owner = item["owner"]?.stringValue, let expires = item["expires_ms"]?.intValue
            else { return nil }
            return Lease(name: name, owner: owner, expiresAt: Date(millisecondsSince1970: expires))
        }
    }

    private func ensureLeaseTable() throws(StateError) {
        cacheLock.lock()
        let ready = leaseTableReady
        cacheLock.unlock()
        if ready { return }
        try ensureTable(leaseTable, keyAttribute: "name")
        cacheLock.lock()
        leaseTableReady = true
        cacheLock.unlock()
    }

    private func validateLease(name: String, owner: String, ttl: Duration) throws(StateError) {
        guard !name.isEmpty else { throw StateError(.invalid, table: nil, message: "a lease name must not be empty") }
        guard !owner.isEmpty else { throw StateError(.invalid, table: nil, message: "the lease \(name) needs a non-empty owner") }
        guard ttl.wholeMilliseconds > 0 else { throw StateError(.invalid, table: nil, message: "the lease \(name) needs a positive ttl") }
    }

    // MARK: - Errors

    /// Runs `body`, turning AWS errors into `StateError`s that say what was being done to which table and key.
    /// A failed condition becomes a `.conflict` without details; callers explain it.
    private func perform<T>(_ operation: String, table: String?, key: String?, _ body: () throws -> T) throws(StateError) -> T {
        do {
            return try body()
        } catch let error as StateError {
            throw error
        } catch let error as AWSError {
            switch error.kind {
            case .conditionalCheckFailed:
                throw StateError(.conflict, table: table, key: key, message: "the condition did not hold")
            case .notFound where table != nil:
                forget(table!)
                throw StateError(.noSuchTable, table: table, key: key, message: "\(operation) failed: no such table")
            default:
                throw StateError(.storage, table: table, key: key, message: "\(operation) failed: \(error)")
            }
        } catch {
            throw StateError(.storage, table: table, key: key, message: "\(operation) failed: \(error)")
        }
    }

    private func forget(_ table: String) {
        cacheLock.lock()
        keyAttributes[table] = nil
        cacheLock.unlock()
    }
}

/// A page-wise DynamoDB scan: each `nextPage()` sends Scan requests (from the last `LastEvaluatedKey`) until one
/// returns matching items or the table ends. The pushable part of the filter goes to DynamoDB as a
/// `FilterExpression`; every item is still checked against the whole filter here, so results equal the reference
/// meaning of `StateFilter` whatever DynamoDB makes of the expression.
final class DynamoDBScanCursor: StateScanCursor {
    private let store: DynamoDBStateStore
    private let table: String
    private let filter: StateFilter?
    private let expression: DynamoDBExpression?
    private let pageSize: Int
    private var startKey: JSONValue?
    private var exhausted = false
    private(set) var itemsRead = 0

    init(store: DynamoDBStateStore, table: String, filter: StateFilter?, pageSize: Int) {
        self.store = store
        self.table = table
        self.filter = filter
        self.expression = filter.flatMap(DynamoDBFilterCompiler.expression)
        self.pageSize = pageSize
    }

    func nextPage() throws(StateError) -> [StateItem]? {
        while !exhausted {
            let page = try store.scanPage(table, filter: expression, limit: pageSize, startKey: startKey)
            startKey = page.lastEvaluatedKey
            if startKey == nil { exhausted = true }
            itemsRead += page.items.count
            var items = page.items.compactMap(\.objectValue)
            if let filter { items = items.filter(filter.matches) }
            if !items.isEmpty { return items }
        }
        return nil
    }
}

/// The part of a `StateFilter` DynamoDB can evaluate with the same meaning, as a `FilterExpression`.
/// Comparisons with lists or maps are left out (checked in Swift only); so are orderings against bools and null.
enum DynamoDBFilterCompiler {
    static func expression(_ filter: StateFilter) -> DynamoDBExpression? {
        var builder = DynamoDBExpression.Builder(namePrefix: "#f", valuePrefix: ":f")
        var terms: [String] = []
        for comparison in filter.comparisons {
            let path = comparison.path.map { builder.name($0) }.joined(separator: ".")
            guard !comparison.path.isEmpty else { continue }
            switch (comparison.comparison, comparison.value) {
            case (_, .array), (_, .object): continue
            case (.equal, .null): terms.append("(attribute_not_exists(\(path)) OR \(path) = \(builder.value(.null)))")
            case (.notEqual, .null): terms.append("(attribute_exists(\(path)) AND \(path) <> \(builder.value(.null)))")
            case (.equal, let value): terms.append("\(path) = \(builder.value(value))")
            // An absent field equals null, which differs from any non-null constant.
            case (.notEqual, let value): terms.append("(attribute_not_exists(\(path)) OR \(path) <> \(builder.value(value)))")
            case (_, .null), (_, .bool): continue
            // An ordering keeps every item whose field is of another kind (see `StateComparison.matches`).
            case (let order, let value):
                let type = builder.value(.string(value.stringValue != nil ? "S" : "N"))
                terms.append("(NOT attribute_type(\(path), \(type)) OR \(path) \(order.rawValue) \(builder.value(value)))")
            }
        }
        return terms.isEmpty ? nil : builder.expression(terms.joined(separator: " AND "))
    }
}

extension Duration {
    var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Date {
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
    init(millisecondsSince1970: Int64) { self.init(timeIntervalSince1970: Double(millisecondsSince1970) / 1000) }
}
