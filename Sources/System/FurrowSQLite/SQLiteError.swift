import CSQLite

/// A failure reported by SQLite, with its result code, its message and the database file it concerns.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (for example 8 = SQLITE_READONLY, 26 = SQLITE_NOTADB, 5 = SQLITE_BUSY).
    public let extendedCode: Int32
    /// SQLite's own message for this failure.
    public let message: String
    /// The database file (":memory:" for an in-memory database).
    public let path: String

    public init(extendedCode: Int32, message: String, path: String) {
        self.extendedCode = extendedCode
        self.message = message
        self.path = path
    }

    /// The primary result code (the low byte of the extended code).
    public var code: Int32 { extendedCode & 0xFF }

    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    public var isReadOnly: Bool { code == SQLITE_READONLY }
    /// The file is damaged or is not an SQLite database at all.
    public var isCorrupt: Bool { code == SQLITE_CORRUPT || code == SQLITE_NOTADB }
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }

    public var description: String {
        let generic = String(cString: sqlite3_errstr(extendedCode))
        let detail = message == generic ? message : "\(message) (\(generic))"
        return "SQLite database \(path): \(detail) [code \(extendedCode)]"
    }
}
