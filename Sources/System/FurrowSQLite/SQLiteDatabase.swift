import CSQLite
import Foundation

/// One connection to an SQLite database file, serialised: it may be shared among threads, and its
/// operations (and whole transactions) run one at a time under an internal lock.
///
/// For work that should proceed in parallel, open one `SQLiteDatabase` per thread on the same file:
/// the database is put in WAL mode, so readers do not block the writer, and writers wait for each
/// other up to the busy timeout. Several processes may open the same file the same way.
///
/// The layer is generic: it knows nothing of Furrow's tables, so the state table and the DNS zone
/// can keep their own tables in one file.
public final class SQLiteDatabase: @unchecked Sendable {
    /// How to open the file.
    public enum OpenMode: Sendable {
        /// Read and write; create the file when missing.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only; any write fails with SQLITE_READONLY.
        case readOnly
    }

    /// The file this connection opened.
    public let path: String
    private let handle: OpaquePointer
    private let lock = NSRecursiveLock()
    private var statementCache: [String: OpaquePointer] = [:]
    private var transactionDepth = 0
    private static let statementCacheLimit = 128

    /// Opens (or creates) the database at `path` and configures it: extended result codes, the busy
    /// timeout, WAL journaling with `synchronous = NORMAL` (a killed process loses no committed
    /// transaction), and enforced foreign keys.
    ///
    /// A file without any write permission bit is opened read-only even by root, so that a database
    /// someone marked read-only is never written by Furrow, whoever runs it.
    public init(path: String, mode: OpenMode = .readWriteCreate, busyTimeout: Duration = .seconds(30))
        throws(SQLiteError)
    {
        self.path = path
        var effectiveMode = mode
        if mode != .readOnly, SQLiteDatabase.fileHasNoWritePermission(path) { effectiveMode = .readOnly }
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch effectiveMode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(opened)
            throw SQLiteError(extendedCode: status, message: message, path: path)
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        do {
            if isReadOnly {
                // Reading the schema touches the file header, so a damaged file is reported here.
                try execute("SELECT count(*) FROM sqlite_schema")
            } else {
                // Two processes switching a new file to WAL at once: SQLite may answer BUSY
                // without calling the busy handler (it could deadlock), so retry here.
                var attempts = 0
                while true {
                    do {
                        try execute("PRAGMA journal_mode = WAL")
                        break
                    } catch let error as SQLiteError where error.isBusy && attempts < 500 {
                        attempts += 1
                        usleep(UInt32(2_000 + Int.random(in: 0..<8_000)))
                    }
                }
                try execute("PRAGMA synchronous = NORMAL")
            }
            try execute("PRAGMA foreign_keys = ON")
        } catch {
            sqlite3_close_v2(handle)
            throw error
        }
    }

    deinit {
        for statement in statementCache.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// True when this connection cannot write (opened read-only, or the file is read-only).
    public var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// Runs one or more SQL statements without parameters (schema, pragmas), discarding any rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        lock.lock()
        defer { lock.unlock() }
        var remaining = sql
        while true {
            var statement: OpaquePointer?
            var tailOffset = 0
            let status = remaining.withCString { start -> Int32 in
                var tail: UnsafePointer<CChar>?
                let status = sqlite3_prepare_v2(handle, start, -1, &statement, &tail)
                if let tail { tailOffset = start.distance(to: tail) }
                return status
            }
            guard status == SQLITE_OK else { throw currentError(status) }
            guard let statement else { return }  // only whitespace or comments left
            defer { sqlite3_finalize(statement) }
            var step = sqlite3_step(statement)
            while step == SQLITE_ROW { step = sqlite3_step(statement) }
            guard step == SQLITE_DONE else { throw currentError(step) }
            remaining = String(decoding: Array(remaining.utf8).dropFirst(tailOffset), as: UTF8.self)
        }
    }

    /// Runs one statement with `parameters` bound to its `?` placeholders, in order, and returns the
    /// number of rows it inserted, changed or deleted.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let (statement, cached) = try preparedStatement(sql)
        defer { finish(statement, cached: cached) }
        try bind(parameters, to: statement)
        var step = sqlite3_step(statement)
        while step == SQLITE_ROW { step = sqlite3_step(statement) }
        guard step == SQLITE_DONE else { throw currentError(step) }
        return Int(sqlite3_changes64(handle))
    }

    /// Runs a query and hands each result row to `body`, which may stop early by returning false.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = [], _ body: (SQLiteRow) throws -> Bool) throws {
        lock.lock()
        defer { lock.unlock() }
        let (statement, cached) = try preparedStatement(sql)
        defer { finish(statement, cached: cached) }
        try bind(parameters, to: statement)
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return }
            guard step == SQLITE_ROW else { throw currentError(step) }
            if try !body(SQLiteRow(statement: statement)) { return }
        }
    }

    /// The first row of a query mapped by `transform`, or nil when the query returns no row.
    public func firstRow<T>(_ sql: String, _ parameters: [SQLiteValue] = [], _ transform: (SQLiteRow) throws -> T)
        throws -> T?
    {
        var result: T?
        try query(sql, parameters) { row in
            result = try transform(row)
            return false
        }
        return result
    }

    /// Runs `body` in a transaction, committed when it returns and rolled back when it throws.
    ///
    /// `immediate` takes the write lock at the start (`BEGIN IMMEDIATE`), so a read-then-write
    /// transaction cannot fail halfway because another connection wrote meanwhile; use it for every
    /// transaction that may write. Other connections' writers wait up to the busy timeout.
    /// Nested calls become savepoints of the enclosing transaction. The connection's lock is held
    /// throughout, so other threads sharing this connection wait.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let depth = transactionDepth
        let savepoint = "furrow_savepoint_\(depth)"
        if depth == 0 {
            try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        } else {
            try execute("SAVEPOINT \(savepoint)")
        }
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let result = try body()
            try execute(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
            return result
        } catch {
            if depth == 0 {
                // A failed COMMIT may already have ended the transaction; only roll back an open one.
                if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            } else {
                try? execute("ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
            }
            throw error
        }
    }

    // MARK: - Statements

    /// A prepared statement for `sql`: the cached one, or, when that one is running already (a query
    /// made from inside another's row callback), a fresh one that `finish` finalizes.
    private func preparedStatement(_ sql: String) throws(SQLiteError) -> (OpaquePointer, cached: Bool) {
        if let statement = statementCache[sql] {
            if sqlite3_stmt_busy(statement) == 0 { return (statement, true) }
            return (try prepare(sql, persistent: false), false)
        }
        let statement = try prepare(sql, persistent: true)
        if statementCache.count >= SQLiteDatabase.statementCacheLimit {
            // Statements still stepping belong to queries in progress and must stay alive.
            for (cachedSQL, cached) in statementCache where sqlite3_stmt_busy(cached) == 0 {
                sqlite3_finalize(cached)
                statementCache.removeValue(forKey: cachedSQL)
            }
        }
        statementCache[sql] = statement
        return (statement, true)
    }

    private func prepare(_ sql: String, persistent: Bool) throws(SQLiteError) -> OpaquePointer {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let status = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        guard status == SQLITE_OK, let statement else { throw currentError(status) }
        return statement
    }

    private func finish(_ statement: OpaquePointer, cached: Bool) {
        if cached {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        } else {
            sqlite3_finalize(statement)
        }
    }

    /// SQLite copies bound text and blobs at once (SQLITE_TRANSIENT), so the Swift values may go away.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ parameters: [SQLiteValue], to statement: OpaquePointer) throws(SQLiteError) {
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw SQLiteError(
                extendedCode: SQLITE_RANGE,
                message: "statement takes \(expected) parameters, \(parameters.count) given",
                path: path)
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, index)
            case .integer(let i): status = sqlite3_bind_int64(statement, index, i)
            case .real(let d): status = sqlite3_bind_double(statement, index, d)
            case .text(let s):
                status = s.withCString {
                    sqlite3_bind_text64(statement, index, $0, UInt64(s.utf8.count), SQLiteDatabase.transient, UInt8(SQLITE_UTF8))
                }
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), SQLiteDatabase.transient)
                }
            }
            guard status == SQLITE_OK else { throw currentError(status) }
        }
    }

    private func currentError(_ status: Int32) -> SQLiteError {
        let code = sqlite3_extended_errcode(handle)
        let message = String(cString: sqlite3_errmsg(handle))
        return SQLiteError(extendedCode: code == SQLITE_OK ? status : code, message: message, path: path)
    }

    private static func fileHasNoWritePermission(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o222 == 0
    }
}
