import Foundation
import FurrowJSON
import FurrowSQLite

/// The embedded state store: every table's items in one SQLite file (`.furrow/state.db` by default).
///
/// Layout (tables prefixed `furrow_state_`, so other Furrow components can share the file):
/// - `furrow_state_tables(name, key_attribute)`: the catalog, so a table's key attribute is known;
/// - `furrow_state_items(table_name, key, item)`: one row per item, `item` its canonical JSON;
/// - `furrow_state_leases(name, owner, expires_ms)`: leases.
///
/// One instance owns one serialised connection (see `SQLiteDatabase`): share it among threads, or
/// open one per thread for parallel reads. Several processes may use the same file at once: every
/// read-then-write runs in one `BEGIN IMMEDIATE` transaction, and writers wait for each other.
public final class SQLiteStateStore: StateStore, @unchecked Sendable {
    /// Where the store lives unless configured otherwise (relative to the working directory).
    public static let defaultPath = ".furrow/state.db"

    public let path: String
    private let database: SQLiteDatabase
    private let cacheLock = NSLock()
    private var keyAttributes: [String: String] = [:]

    /// Opens the store, creating the file (and its parent directory) and the tables on first use.
    public init(path: String = SQLiteStateStore.defaultPath, readOnly: Bool = false, busyTimeout: Duration = .seconds(30))
        throws(StateError)
    {
        self.path = path
        if !readOnly { try SQLiteStateStore.createParentDirectory(of: path) }
        do {
            database = try SQLiteDatabase(path: path, mode: readOnly ? .readOnly : .readWriteCreate, busyTimeout: busyTimeout)
        } catch {
            throw StateError(.storage, table: nil, message: "cannot open the state database: \(error)")
        }
        try perform("preparing the state database", table: nil, key: nil) { try createSchemaIfMissing() }
    }

    /// Creates the directories above `path` that are missing (like `mkdir -p`).
    private static func createParentDirectory(of path: String) throws(StateError) {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw StateError(
                    .storage, table: nil, message: "cannot create the directory \(prefix) for the state database \(path): \(reason)")
            }
        }
    }

    /// True when the file could only be opened for reading; every write then fails with a clear error.
    public var isReadOnly: Bool { database.isReadOnly }

    private func createSchemaIfMissing() throws {
        let present = try database.firstRow(
            """
            SELECT count(*) FROM sqlite_schema WHERE type = 'table'
              AND name IN ('furrow_state_tables', 'furrow_state_items', 'furrow_state_leases')
            """
        ) { $0.int64(0) }
        if present == 3 { return }
        try database.transaction {
            try database.execute(
                """
                CREATE TABLE IF NOT EXISTS furrow_state_tables (
                    name TEXT PRIMARY KEY NOT NULL,
                    key_attribute TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS furrow_state_items (
                    table_name TEXT NOT NULL REFERENCES furrow_state_tables(name),
                    key TEXT NOT NULL,
                    item TEXT NOT NULL,
                    PRIMARY KEY (table_name, key)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS furrow_state_leases (
                    name TEXT PRIMARY KEY NOT NULL,
                    owner TEXT NOT NULL,
                    expires_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
    }

    // MARK: - Tables

    @discardableResult
    public func ensureTable(_ name: String, keyAttribute: String) throws(StateError) -> StateTableDefinition {
        try StateTableDefinition.validate(name: name)
        guard (1...255).contains(keyAttribute.utf8.count) else {
            throw StateError(.invalid, table: name, message: "the key attribute name must have 1 to 255 bytes")
        }
        if let known = cachedKeyAttribute(name), known == keyAttribute {
            return StateTableDefinition(name: name, keyAttribute: keyAttribute)
        }
        // Look first without a write transaction, so a read-only store can open its existing tables.
        let existing: String? = try perform("creating the table", table: name, key: nil) {
            let lookup = "SELECT key_attribute FROM furrow_state_tables WHERE name = ?"
            if let existing = try database.firstRow(lookup, [.text(name)], { $0.string(0) }) { return existing }
            return try database.transaction {
                if let existing = try database.firstRow(lookup, [.text(name)], { $0.string(0) }) { return existing }
                try database.run(
                    "INSERT INTO furrow_state_tables (name, key_attribute) VALUES (?, ?)", [.text(name), .text(keyAttribute)])
                return nil
            }
        }
        if let existing, existing != keyAttribute {
            throw StateError(
                .invalid, table: name,
                message: "the table is keyed by '\(existing)', not '\(keyAttribute)'")
        }
        remember(name, keyAttribute: keyAttribute)
        return StateTableDefinition(name: name, keyAttribute: keyAttribute)
    }

    public func tables() throws(StateError) -> [StateTableDefinition] {
        try perform("listing tables", table: nil, key: nil) {
            var result: [StateTableDefinition] = []
            try database.query("SELECT name, key_attribute FROM furrow_state_tables ORDER BY name") { row in
                result.append(StateTableDefinition(name: row.string(0), keyAttribute: row.string(1)))
                return true
            }
            return result
        }
    }

    private func cachedKeyAttribute(_ table: String) -> String? {
        cacheLock.withLock { keyAttributes[table] }
    }

    private func remember(_ table: String, keyAttribute: String) {
        cacheLock.withLock { keyAttributes[table] = keyAttribute }
    }

    /// The key attribute of an existing table; `.noSuchTable` when it was never created.
    private func keyAttribute(of table: String) throws(StateError) -> String {
        if let known = cachedKeyAttribute(table) { return known }
        let stored = try perform("looking up the table", table: table, key: nil) {
            try database.firstRow(
                "SELECT key_attribute FROM furrow_state_tables WHERE name = ?", [.text(table)], { $0.string(0) })
        }
        guard let stored else {
            throw StateError(.noSuchTable, table: table, message: "the table does not exist; create it first, naming its key attribute")
        }
        remember(table, keyAttribute: stored)
        return stored
    }

    // MARK: - Items

    public func get(_ table: String, key: String) throws(StateError) -> StateItem? {
        _ = try keyAttribute(of: table)
        try StateItemRules.validateKey(key, table: table)
        return try perform("reading the item", table: table, key: key) { try readItem(table, key: key) }
    }

    public func put(_ table: String, item: StateItem, ifAbsent: Bool) throws(StateError) {
        let keyName = try keyAttribute(of: table)
        try StateItemRules.validate(item, table: table, keyAttribute: keyName)
        let key = item[keyName]!.stringValue!
        let parameters: [SQLiteValue] = [.text(table), .text(key), .text(item.canonicalJSON())]
        let written = try perform("writing the item", table: table, key: key) {
            try database.run(
                ifAbsent
                    ? "INSERT OR IGNORE INTO furrow_state_items (table_name, key, item) VALUES (?, ?, ?)"
                    : "INSERT OR REPLACE INTO furrow_state_items (table_name, key, item) VALUES (?, ?, ?)",
                parameters)
        }
        if written == 0 {
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
            throw StateError(
                .invalid, table: table, key: key, message: "the key attribute '\(keyName)' cannot be changed")
        }
        return try perform("updating the item", table: table, key: key) { () throws -> StateItem in
            try database.transaction {
                guard var item = try readItem(table, key: key) else {
                    throw StateError(.conflict, table: table, key: key, message: "the item does not exist")
                }
                try check(condition, against: item, table: table, key: key)
                for (name, value) in changes {
                    if value.isNull { item.removeValue(forKey: name) } else { item[name] = value }
                }
                try StateItemRules.validate(item, table: table, keyAttribute: keyName)
                try database.run(
                    "UPDATE furrow_state_items SET item = ? WHERE table_name = ? AND key = ?",
                    [.text(item.canonicalJSON()), .text(table), .text(key)])
                return item
            }
        }
    }

    @discardableResult
    public func delete(_ table: String, key: String, condition: StateCondition?) throws(StateError) -> Bool {
        _ = try keyAttribute(of: table)
        try StateItemRules.validateKey(key, table: table)
        return try perform("deleting the item", table: table, key: key) {
            guard let condition, !condition.isEmpty else {
                return try database.run(
                    "DELETE FROM furrow_state_items WHERE table_name = ? AND key = ?", [.text(table), .text(key)]) > 0
            }
            return try database.transaction {
                let item = try readItem(table, key: key)
                try check(condition, against: item ?? [:], table: table, key: key)
                guard item != nil else { return false }
                return try database.run(
                    "DELETE FROM furrow_state_items WHERE table_name = ? AND key = ?", [.text(table), .text(key)]) > 0
            }
        }
    }

    public func scan(_ table: String, filter: StateFilter?, pageSize: Int) throws(StateError) -> any StateScanCursor {
        let keyName = try keyAttribute(of: table)
        guard pageSize > 0 else {
            throw StateError(.invalid, table: table, message: "the page size must be positive, not \(pageSize)")
        }
        return SQLiteScanCursor(store: self, table: table, filter: SQLiteFilterCompiler(filter, keyAttribute: keyName), pageSize: pageSize)
    }

    public func count(_ table: String, filter: StateFilter?) throws(StateError) -> Int {
        let compiled = SQLiteFilterCompiler(filter, keyAttribute: try keyAttribute(of: table))
        if compiled.residual.isEmpty {
            let total = try perform("counting items", table: table, key: nil) {
                try database.firstRow(
                    "SELECT count(*) FROM furrow_state_items WHERE table_name = ? AND \(compiled.sql)",
                    [.text(table)] + compiled.parameters, { $0.int64(0) })
            }
            return Int(total ?? 0)
        }
        let cursor = SQLiteScanCursor(store: self, table: table, filter: compiled, pageSize: 1000)
        var total = 0
        while let page = try cursor.nextPage() { total += page.count }
        return total
    }

    /// One page of rows after `afterKey` (exclusive) in key order, with the compiled filter applied in SQL.
    fileprivate func readPage(
        _ table: String, after afterKey: String, filter: SQLiteFilterCompiler, limit: Int
    ) throws(StateError) -> [(key: String, item: StateItem)] {
        try perform("scanning", table: table, key: nil) {
            var rows: [(key: String, item: StateItem)] = []
            rows.reserveCapacity(limit)
            try database.query(
                """
                SELECT key, item FROM furrow_state_items
                WHERE table_name = ? AND key > ? AND \(filter.sql) ORDER BY key LIMIT ?
                """,
                [.text(table), .text(afterKey)] + filter.parameters + [.integer(Int64(limit))]
            ) { row in
                let key = row.string(0)
                rows.append((key, try row.withBytes(1) { bytes throws(StateError) in try decodeItem(bytes, table: table, key: key) }))
                return true
            }
            return rows
        }
    }

    private func readItem(_ table: String, key: String) throws -> StateItem? {
        try database.firstRow(
            "SELECT item FROM furrow_state_items WHERE table_name = ? AND key = ?", [.text(table), .text(key)],
            { row in try row.withBytes(0) { bytes throws(StateError) in try decodeItem(bytes, table: table, key: key) } })
    }

    /// The item stored as `bytes` (its canonical JSON text), parsed where SQLite holds the row.
    private func decodeItem(_ bytes: UnsafeRawBufferPointer, table: String, key: String) throws(StateError) -> StateItem {
        let value: JSONValue
        switch JSONValue.parse(buffer: bytes) {
        case .success(let parsed): value = parsed
        case .failure(let error):
            throw StateError(.storage, table: table, key: key, message: "the stored item is damaged: \(error)")
        }
        guard case .object(let item) = value else {
            throw StateError(.storage, table: table, key: key, message: "the stored item is damaged: not a map")
        }
        return item
    }

    private func check(_ condition: StateCondition?, against item: StateItem, table: String, key: String) throws(StateError) {
        guard let condition else { return }
        let mismatches = StateConditionCheck.mismatches(of: condition, in: item)
        guard mismatches.isEmpty else { throw StateError.conflict(table: table, key: key, mismatches: mismatches) }
    }

    // MARK: - Leases

    public func acquireLease(_ name: String, owner: String, ttl: Duration, now: Date) throws(StateError)
        -> LeaseAcquisition
    {
        try validateLease(name: name, owner: owner, ttl: ttl)
        let nowMs = now.furrowMilliseconds
        let expiresMs = nowMs + ttl.furrowMilliseconds
        return try perform("acquiring the lease \(name)", table: nil, key: nil) {
            try database.transaction {
                if let holder = try readLease(name), holder.owner != owner, holder.expiresAt.furrowMilliseconds > nowMs {
                    return .held(by: holder)
                }
                try database.run(
                    "INSERT OR REPLACE INTO furrow_state_leases (name, owner, expires_ms) VALUES (?, ?, ?)",
                    [.text(name), .text(owner), .integer(expiresMs)])
                return .acquired(Lease(name: name, owner: owner, expiresAt: Date(furrowMilliseconds: expiresMs)))
            }
        }
    }

    @discardableResult
    public func releaseLease(_ lease: Lease, now: Date) throws(StateError) -> LeaseRelease {
        let nowMs = now.furrowMilliseconds
        return try perform("releasing the lease \(lease.name)", table: nil, key: nil) {
            try database.transaction {
                guard let holder = try readLease(lease.name) else {
                    // Only a later owner removes a lease it took over, so a missing row means ours had run out.
                    return lease.expiresAt.furrowMilliseconds <= nowMs
                        ? .expiredBeforeRelease(expiredAt: lease.expiresAt) : .released
                }
                guard holder.owner == lease.owner else { return .takenOver(by: holder) }
                try database.run(
                    "DELETE FROM furrow_state_leases WHERE name = ? AND owner = ?", [.text(lease.name), .text(lease.owner)])
                return holder.expiresAt.furrowMilliseconds <= nowMs
                    ? .expiredBeforeRelease(expiredAt: holder.expiresAt) : .released
            }
        }
    }

    public func renewLease(_ lease: Lease, ttl: Duration, now: Date) throws(StateError) -> Lease {
        try validateLease(name: lease.name, owner: lease.owner, ttl: ttl)
        let expiresMs = now.furrowMilliseconds + ttl.furrowMilliseconds
        return try perform("renewing the lease \(lease.name)", table: nil, key: nil) {
            try database.transaction {
                let holder = try readLease(lease.name)
                guard let holder, holder.owner == lease.owner else {
                    let by = holder.map { " by \($0.owner)" } ?? ""
                    throw StateError(
                        .leaseLost, table: nil,
                        message: "the lease \(lease.name) expired and was taken over\(by); its holder outlived its ttl")
                }
                try database.run(
                    "UPDATE furrow_state_leases SET expires_ms = ? WHERE name = ?", [.integer(expiresMs), .text(lease.name)])
                return Lease(name: lease.name, owner: lease.owner, expiresAt: Date(furrowMilliseconds: expiresMs))
            }
        }
    }

    public func leases() throws(StateError) -> [Lease] {
        try perform("listing the leases", table: nil, key: nil) {
            var found: [Lease] = []
            try database.query("SELECT name, owner, expires_ms FROM furrow_state_leases ORDER BY name") { row in
                found.append(Lease(name: row.string(0), owner: row.string(1), expiresAt: Date(furrowMilliseconds: row.int64(2))))
                return true
            }
            return found
        }
    }

    @discardableResult
    public func breakLease(_ name: String) throws(StateError) -> Lease? {
        try perform("breaking the lease \(name)", table: nil, key: nil) {
            try database.transaction {
                guard let holder = try readLease(name) else { return nil }
                _ = try database.run("DELETE FROM furrow_state_leases WHERE name = ?", [.text(name)])
                return holder
            }
        }
    }

    private func readLease(_ name: String) throws -> Lease? {
        try database.firstRow("SELECT owner, expires_ms FROM furrow_state_leases WHERE name = ?", [.text(name)]) {
            Lease(name: name, owner: $0.string(0), expiresAt: Date(furrowMilliseconds: $0.int64(1)))
        }
    }

    private func validateLease(name: String, owner: String, ttl: Duration) throws(StateError) {
        guard !name.isEmpty else { throw StateError(.invalid, table: nil, message: "a lease name must not be empty") }
        guard !owner.isEmpty else {
            throw StateError(.invalid, table: nil, message: "the lease \(name) needs a non-empty owner")
        }
        guard ttl.furrowMilliseconds > 0 else {
            throw StateError(.invalid, table: nil, message: "the lease \(name) needs a positive ttl")
        }
    }

    // MARK: - Errors

    /// Runs `body`, turning SQLite's errors into `StateError`s that say what was being done, to which
    /// table and key, and in which file.
    private func perform<T>(_ operation: String, table: String?, key: String?, _ body: () throws -> T) throws(StateError)
        -> T
    {
        do {
            return try body()
        } catch let error as StateError {
            throw error
        } catch let error as SQLiteError {
            let hint = error.isReadOnly ? " (the state database is read-only)"
                : error.isCorrupt ? " (the state database file is damaged or not a database)"
                : error.isBusy ? " (another process kept the database busy too long)" : ""
            throw StateError(.storage, table: table, key: key, message: "\(operation) failed\(hint): \(error)")
        } catch {
            throw StateError(.storage, table: table, key: key, message: "\(operation) failed: \(error)")
        }
    }
}

/// Keyset pagination over one table: each page starts after the last key read, so pages are stable
/// while other writers work and a stopped scan reads nothing more.
final class SQLiteScanCursor: StateScanCursor {
    private let store: SQLiteStateStore
    private let table: String
    private let filter: SQLiteFilterCompiler
    private let residual: StateFilter?
    private let pageSize: Int
    private var lastKey = ""
    private var exhausted = false
    private(set) var itemsRead = 0

    init(store: SQLiteStateStore, table: String, filter: SQLiteFilterCompiler, pageSize: Int) {
        self.store = store
        self.table = table
        self.filter = filter
        self.residual = filter.residualFilter
        self.pageSize = pageSize
    }

    func nextPage() throws(StateError) -> [StateItem]? {
        while !exhausted {
            let rows = try store.readPage(table, after: lastKey, filter: filter, limit: pageSize)
            itemsRead += rows.count
            if rows.count < pageSize { exhausted = true }
            guard let last = rows.last else { break }
            lastKey = last.key
            let items = residual.map { residual in rows.map(\.item).filter(residual.matches) } ?? rows.map(\.item)
            if !items.isEmpty { return items }
        }
        return nil
    }
}
