import Foundation
import FurrowSQLite
import Testing

@Suite struct SQLiteDatabaseTests {
    let directory = TemporaryDirectory()

    @Test func bindsAndReadsEveryStorageClass() throws {
        let database = try SQLiteDatabase(path: directory.file("typed.db"))
        try database.execute("CREATE TABLE t (a, b, c, d, e)")
        let text = "nul\u{0}inside é😀"
        try database.run(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.integer(Int64.min), .real(0.1), .text(text), .blob([0, 1, 255]), .null])
        let row = try #require(
            try database.firstRow("SELECT a, b, c, d, e FROM t") { row in
                (row.int64(0), row.double(1), row.string(2), row.bytes(3), row.isNull(4), row.value(2), row.columnCount)
            })
        #expect(row.0 == Int64.min)
        #expect(row.1 == 0.1)
        #expect(row.2 == text)
        #expect(row.3 == [0, 1, 255])
        #expect(row.4)
        #expect(row.5 == .text(text))
        #expect(row.6 == 5)
    }

    @Test func opensInWalModeWithForeignKeys() throws {
        let database = try SQLiteDatabase(path: directory.file("wal.db"))
        #expect(try database.firstRow("PRAGMA journal_mode") { $0.string(0) } == "wal")
        #expect(try database.firstRow("PRAGMA foreign_keys") { $0.int64(0) } == 1)
        #expect(!database.isReadOnly)
    }

    @Test func transactionsCommitOrRollBackAndNestAsSavepoints() throws {
        let database = try SQLiteDatabase(path: directory.file("tx.db"))
        try database.execute("CREATE TABLE t (v INTEGER)")
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try database.transaction {
                try database.run("INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        #expect(try database.firstRow("SELECT count(*) FROM t") { $0.int64(0) } == 0)

        try database.transaction {
            try database.run("INSERT INTO t VALUES (2)")
            try? database.transaction {
                try database.run("INSERT INTO t VALUES (3)")
                throw Abort()
            }
            _ = try database.transaction { try database.run("INSERT INTO t VALUES (4)") }
        }
        var values: [Int64] = []
        try database.query("SELECT v FROM t ORDER BY v") { row in
            values.append(row.int64(0))
            return true
        }
        #expect(values == [2, 4])
    }

    @Test func errorsCarryCodeMessageAndPath() throws {
        let path = directory.file("errors.db")
        let database = try SQLiteDatabase(path: path)
        let missing = try #require(sqliteError { try database.run("INSERT INTO missing VALUES (1)") })
        #expect(missing.code == 1)
        #expect(missing.message.contains("no such table: missing"))
        #expect(missing.description.contains(path))
        let unbound = try #require(sqliteError { try database.run("SELECT ?", []) })
        #expect(unbound.message.contains("takes 1 parameters, 0 given"))
    }

    func sqliteError(_ body: () throws -> Void) -> SQLiteError? {
        do {
            try body()
            return nil
        } catch {
            return error as? SQLiteError
        }
    }

    @Test func queriesNestInsideRowCallbacksEvenPastTheStatementCache() throws {
        let database = try SQLiteDatabase(path: ":memory:")
        try database.execute("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);")
        var pairs: [Int64] = []
        try database.query("SELECT v FROM t ORDER BY v") { outer in
            let v = outer.int64(0)
            // The same statement again, while the outer one is still stepping.
            try database.query("SELECT v FROM t ORDER BY v") { inner in
                pairs.append(v * 10 + inner.int64(0))
                return true
            }
            // Enough distinct statements to overflow the cache.
            for i in 0..<200 { _ = try database.firstRow("SELECT \(i)") { $0.int64(0) } }
            return true
        }
        #expect(pairs == [11, 12, 13, 21, 22, 23, 31, 32, 33])
    }

    @Test func queryStopsWhenTheBodySaysSo() throws {
        let database = try SQLiteDatabase(path: ":memory:")
        var seen = 0
        try database.query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n") { _ in
            seen += 1
            return seen < 10
        }
        #expect(seen == 10)
    }
}
