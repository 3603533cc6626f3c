import Foundation
import FurrowDNSWire
import FurrowSQLite

/// The embedded DNS zone: rrsets kept in the SQLite state file (table `furrow_dns_records`, one
/// row per rrset), so a laptop or a test has a zone with no server at all. A change set is
/// applied in one immediate transaction, with the same checks as the RFC 2136 provider: a create
/// needs the rrset absent, an update or delete needs it to still hold exactly the values read.
/// Any failed check rolls the whole change set back.
public final class LocalZoneProvider: ZoneProvider, @unchecked Sendable {
    public let zone: DNSZoneName
    public let database: SQLiteDatabase

    public init(zone: DNSZoneName, path: String) throws(DNSZoneError) {
        self.zone = zone
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        do {
            database = try SQLiteDatabase(path: path)
            try Self.createTable(in: database)
        } catch {
            throw .invalidRecord("cannot open the local DNS zone \(zone) in \(path): \(String(describing: error))")
        }
    }

    public var location: String { "local \(database.path)" }

    /// The rows are kept in primary-key order (`WITHOUT ROWID`): a zone read walks them in the
    /// order it asks for, with no second lookup of each row by rowid. A state file written before
    /// that layout has its table rebuilt once, in one transaction.
    private static func createTable(in database: SQLiteDatabase) throws {
        let columns = """
            zone TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
            ttl INTEGER NOT NULL, vals TEXT NOT NULL,
            PRIMARY KEY (zone, name, type)
            """
        try database.execute("CREATE TABLE IF NOT EXISTS furrow_dns_records (\(columns)) WITHOUT ROWID")
        func hasRowids() throws -> Bool {
            let sql = try database.firstRow("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'furrow_dns_records'") { $0.string(0) }
            return !(sql ?? "").uppercased().contains("WITHOUT ROWID")
        }
        guard try hasRowids() else { return }
        try database.transaction {
            guard try hasRowids() else { return }
            try database.execute("""
                CREATE TABLE furrow_dns_records_rebuilt (\(columns)) WITHOUT ROWID;
                INSERT INTO furrow_dns_records_rebuilt SELECT zone, name, type, ttl, vals FROM furrow_dns_records;
                DROP TABLE furrow_dns_records;
                ALTER TABLE furrow_dns_records_rebuilt RENAME TO furrow_dns_records;
                """)
        }
    }

    public func records(type: DNSRecordType?) throws -> [DNSRecordSet] {
        var result: [DNSRecordSet] = []
        let zoneText = zone.description
        let sql = type == nil
            ? "SELECT name, type, ttl, vals FROM furrow_dns_records WHERE zone = ? ORDER BY name, type"
            : "SELECT name, type, ttl, vals FROM furrow_dns_records WHERE zone = ? AND type = ? ORDER BY name, type"
        var parameters: [SQLiteValue] = [.text(zoneText)]
        if let type { parameters.append(.text(type.description)) }
        try database.query(sql, parameters) { row in
            result.append(try Self.recordSet(row))
            return true
        }
        return result
    }

    public func apply(_ changes: ZoneChangeSet) throws {
        try database.transaction {
            for change in changes.changes {
                switch change {
                case .create(let set):
                    if let existing = try current(set.key) {
                        throw conflict("\(set.name.textWithoutTrailingDot) \(set.type) exists already (\(existing.valueStrings.joined(separator: ", ")))")
                    }
                    try write(set)
                case .update(let from, let to):
                    try requireUnchanged(from)
                    try remove(from.key)
                    try write(to)
                case .delete(let set):
                    try requireUnchanged(set)
                    try remove(set.key)
                }
            }
        }
    }

    private func current(_ key: DNSRecordKey) throws -> DNSRecordSet? {
        try database.firstRow("SELECT name, type, ttl, vals FROM furrow_dns_records WHERE zone = ? AND name = ? AND type = ?",
                              [.text(zone.description), .text(key.name.textWithoutTrailingDot), .text(key.type.description)]) { row in
            try Self.recordSet(row)
        }
    }

    private func requireUnchanged(_ expected: DNSRecordSet) throws {
        guard let existing = try current(expected.key) else {
            throw conflict("\(expected.name.textWithoutTrailingDot) \(expected.type) no longer exists")
        }
        if existing.values != expected.values {
            throw conflict("\(expected.name.textWithoutTrailingDot) \(expected.type) now holds \(existing.valueStrings.joined(separator: ", "))")
        }
    }

    private func write(_ set: DNSRecordSet) throws {
        try database.run("INSERT INTO furrow_dns_records (zone, name, type, ttl, vals) VALUES (?, ?, ?, ?, ?)",
                         [.text(zone.description), .text(set.name.textWithoutTrailingDot), .text(set.type.description),
                          .integer(Int64(set.ttl)), .text(set.valueStrings.joined(separator: "\n"))])
    }

    private func remove(_ key: DNSRecordKey) throws {
        try database.run("DELETE FROM furrow_dns_records WHERE zone = ? AND name = ? AND type = ?",
                         [.text(zone.description), .text(key.name.textWithoutTrailingDot), .text(key.type.description)])
    }

    private func conflict(_ detail: String) -> DNSZoneError {
        .concurrentChange(zone: zone.description, server: location, detail: detail)
    }

    /// The rrset of a `name, type, ttl, vals` row; the name is parsed from the column's bytes,
    /// with no `String` made of it. Values are stored in presentation form, one per line:
    /// presentation form escapes control characters inside TXT strings, so a newline never
    /// occurs within a value.
    private static func recordSet(_ row: SQLiteRow) throws -> DNSRecordSet {
        let name = try row.withText(0) { bytes throws(DNSWireError) in try DNSName(presentation: bytes) }
        let recordType = try row.withText(1) { bytes throws(DNSWireError) in try DNSRecordType(presentation: bytes) }
        let ttl = row.int64(2)
        // Read in place, split on the newline byte only when there is one: most rrsets hold a
        // single value.
        let data = try row.withText(3) { (values: UnsafeBufferPointer<UInt8>) throws(DNSWireError) -> [DNSRData] in
            guard values.contains(UInt8(ascii: "\n")) else { return [try DNSRData(type: recordType, presentation: values)] }
            var data: [DNSRData] = []
            for value in values.split(separator: UInt8(ascii: "\n")) {
                data.append(try DNSRData(type: recordType, presentation: UnsafeBufferPointer(rebasing: value)))
            }
            return data
        }
        return DNSRecordSet(name: name, type: recordType, ttl: UInt32(clamping: ttl), values: data)
    }
}
