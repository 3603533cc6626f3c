import Foundation
import FurrowJSON
import Testing
@testable import FurrowState

@Suite struct StateStoreTests {
    let directory = TemporaryDirectory()

    func makeStore(_ name: String = "state.db") throws -> SQLiteStateStore {
        try SQLiteStateStore(path: directory.file(name))
    }

    func environmentsTable(_ store: SQLiteStateStore) throws -> String {
        try store.ensureTable("DeveloperEnvironments", keyAttribute: "name").name
    }

    @Test func createsTheFileAndItsParentDirectoryOnFirstUse() throws {
        let path = directory.file("nested/deeper/.furrow/state.db")
        let store = try SQLiteStateStore(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try store.tables().isEmpty)
        try store.ensureTable("Things", keyAttribute: "id")
        try store.ensureTable("DeveloperEnvironments", keyAttribute: "name")
        #expect(
            try store.tables() == [
                StateTableDefinition(name: "DeveloperEnvironments", keyAttribute: "name"),
                StateTableDefinition(name: "Things", keyAttribute: "id"),
            ])
        // The catalog survives reopening, so `get` knows the key attribute of an existing table.
        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.tables().map(\.keyAttribute) == ["name", "id"])
    }

    @Test func roundTripsEveryValueKindExactly() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        let item: StateItem = [
            "name": "feat-x",
            "state": "new",
            "empty": "",
            "unicode": "é😀 \"quoted\" \\ \n\t\u{01}",
            "decomposed": "e\u{301}",
            "version": 3,
            "big": .int(Int64.max),
            "small": .int(Int64.min),
            "ratio": 0.1,
            "whole_double": 2.0,
            "huge": 1e300,
            "tiny": .double(.leastNonzeroMagnitude),
            "negative": -12.5,
            "enabled": true,
            "disabled": false,
            "nothing": nil,
            "created": "2026-11-22T10:00:00.123Z",
            "tags": ["a", 1, 2.5, true, nil, ["nested"], ["k": "v"]],
            "empty_list": [],
            "empty_map": [:],
            "components": ["tyk": "sha-1a2b", "tyk-analytics": "master", "deep": ["z": 1, "a": [1, 2]]],
        ]
        try store.put(table, item: item, ifAbsent: false)
        let stored = try #require(try store.get(table, key: "feat-x"))
        #expect(sameItem(stored, item))
        #expect(stored["big"] == .int(Int64.max))
        #expect(stored["whole_double"] == .double(2.0))
        #expect(stored["version"] == .int(3))
        #expect(stored["nothing"] == .null)
        #expect(stored["decomposed"] == .string("e\u{301}"))
        #expect(stored["created"] == .string("2026-11-22T10:00:00.123Z"))
        #expect(try store.get(table, key: "missing") == nil)
    }

    @Test func putIfAbsentRefusesAnExistingItem() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        try store.put(table, item: ["name": "feat-x", "state": "new"], ifAbsent: true)
        let error = try #require(stateError { try store.put(table, item: ["name": "feat-x", "state": "other"], ifAbsent: true) })
        #expect(error.kind == .conflict)
        #expect(error.table == "DeveloperEnvironments")
        #expect(error.key == "feat-x")
        #expect(error.description.contains("DeveloperEnvironments"))
        #expect(error.description.contains("feat-x"))
        #expect(try store.get(table, key: "feat-x")?["state"] == "new")
        // A plain put replaces the item.
        try store.put(table, item: ["name": "feat-x", "state": "deployed"], ifAbsent: false)
        #expect(sameItem(try store.get(table, key: "feat-x"), ["name": "feat-x", "state": "deployed"]))
    }

    @Test func conditionalUpdateSucceedsOrSaysWhatDiffered() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        try store.put(table, item: ["name": "feat-x", "state": "new", "version": 3, "note": "x"], ifAbsent: false)

        let updated = try store.update(
            table, key: "feat-x", changes: ["state": "deploying", "version": 4, "note": nil],
            condition: ["state": "new", "version": 3, "error": nil])
        #expect(sameItem(updated, ["name": "feat-x", "state": "deploying", "version": 4]))
        #expect(sameItem(try store.get(table, key: "feat-x"), updated))

        let error = try #require(
            stateError {
                try store.update(
                    table, key: "feat-x", changes: ["state": "deployed"], condition: ["state": "new", "version": 3, "name": "feat-x"])
            })
        #expect(error.kind == .conflict)
        #expect(
            error.mismatches == [
                StateMismatch(attribute: "state", expected: "new", actual: "deploying"),
                StateMismatch(attribute: "version", expected: 3, actual: 4),
            ])
        #expect(
            error.description
                == #"conflict in table DeveloperEnvironments, key "feat-x": state is "deploying", expected "new"; version is 4, expected 3"#
        )
        #expect(try store.get(table, key: "feat-x")?["state"] == "deploying")

        // Null in a condition means "absent or null"; numbers compare by value.
        let absent = try #require(
            stateError { try store.update(table, key: "feat-x", changes: ["a": 1], condition: ["state": nil]) })
        #expect(absent.mismatches == [StateMismatch(attribute: "state", expected: nil, actual: "deploying")])
        try store.update(table, key: "feat-x", changes: ["version": 5], condition: ["version": 4.0, "missing": nil])

        // Updating a missing item is a conflict, not an insert.
        let missing = try #require(stateError { try store.update(table, key: "ghost", changes: ["state": "new"], condition: nil) })
        #expect(missing.kind == .conflict)
        #expect(missing.description.contains("ghost") && missing.description.contains("does not exist"))
        #expect(try store.get(table, key: "ghost") == nil)

        // The key attribute cannot be changed.
        let rekey = try #require(stateError { try store.update(table, key: "feat-x", changes: ["name": "other"], condition: nil) })
        #expect(rekey.kind == .invalid)
    }

    @Test func conditionalDeleteSucceedsOrSaysWhatDiffered() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        try store.put(table, item: ["name": "feat-x", "state": "deleted"], ifAbsent: false)
        let error = try #require(stateError { try store.delete(table, key: "feat-x", condition: ["state": "reaping"]) })
        #expect(error.kind == .conflict)
        #expect(error.description.contains(#"state is "deleted", expected "reaping""#))
        #expect(try store.get(table, key: "feat-x") != nil)

        try store.update(table, key: "feat-x", changes: ["state": "reaping"], condition: ["state": "deleted"])
        #expect(try store.delete(table, key: "feat-x", condition: ["state": "reaping"]))
        #expect(try store.get(table, key: "feat-x") == nil)

        // A missing item: the condition is checked against an empty item.
        #expect(try store.delete(table, key: "feat-x", condition: nil) == false)
        #expect(try store.delete(table, key: "feat-x", condition: ["state": nil]) == false)
        let gone = try #require(stateError { try store.delete(table, key: "feat-x", condition: ["state": "reaping"]) })
        #expect(gone.mismatches == [StateMismatch(attribute: "state", expected: "reaping", actual: nil)])
        #expect(gone.description.contains("state is absent"))
    }

    @Test func rejectsBadKeysAndTablesClearly() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        let noKey = try #require(stateError { try store.put(table, item: ["state": "new"], ifAbsent: false) })
        #expect(noKey.kind == .invalid)
        #expect(noKey.description.contains("DeveloperEnvironments") && noKey.description.contains("'name'"))

        let numberKey = try #require(stateError { try store.put(table, item: ["name": 7], ifAbsent: false) })
        #expect(numberKey.description.contains("must be a non-empty string, not a number"))
        #expect(stateError { try store.put(table, item: ["name": ""], ifAbsent: false) }?.kind == .invalid)
        #expect(stateError { _ = try store.get(table, key: "") }?.kind == .invalid)
        #expect(stateError { _ = try store.get(table, key: String(repeating: "k", count: 2049)) }?.kind == .invalid)
        #expect(stateError { try store.put(table, item: ["name": "x", "bad": .double(.nan)], ifAbsent: false) }?.kind == .invalid)

        let unknown = try #require(stateError { _ = try store.get("NoSuchTable", key: "a") })
        #expect(unknown.kind == .noSuchTable)
        #expect(unknown.description.contains("NoSuchTable"))
        #expect(stateError { try store.ensureTable("DeveloperEnvironments", keyAttribute: "id") }?.kind == .invalid)
        #expect(stateError { try store.ensureTable("a b", keyAttribute: "id") }?.kind == .invalid)
        #expect(stateError { try store.ensureTable("ab", keyAttribute: "id") }?.kind == .invalid)
        #expect(try store.count(table, filter: nil) == 0)
    }

    @Test func refusesItemsOverFourHundredKilobytesAndWritesNothing() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        let large = String(repeating: "x", count: 400 * 1024)
        let error = try #require(stateError { try store.put(table, item: ["name": "big", "blob": .string(large)], ifAbsent: false) })
        #expect(error.kind == .itemTooLarge)
        #expect(error.description.contains("DeveloperEnvironments") && error.description.contains("big"))
        #expect(try store.get(table, key: "big") == nil)

        // Just under the limit is fine; an update that pushes it over changes nothing.
        let fits = String(repeating: "x", count: 400 * 1024 - 100)
        try store.put(table, item: ["name": "big", "blob": .string(fits)], ifAbsent: false)
        let grow = try #require(stateError { try store.update(table, key: "big", changes: ["more": .string(String(repeating: "y", count: 200))], condition: nil) })
        #expect(grow.kind == .itemTooLarge)
        #expect(try store.get(table, key: "big")?["more"] == nil)
    }

    /// Lists and maps nest at most 32 levels in an attribute (DynamoDB's limit): deeper ones
    /// would be written but could not be read back (the JSON parser of stored items stops at
    /// 512 levels) or filtered (SQLite's JSON functions refuse the row).
    @Test func refusesAttributesNestedDeeperThanThirtyTwoLevels() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        func nested(_ levels: Int) -> JSONValue {
            var value = JSONValue.array([])
            for _ in 1..<levels { value = .array([value]) }
            return value
        }
        try store.put(table, item: ["name": "deep", "v": nested(32), "n": 1], ifAbsent: false)
        #expect(try store.get(table, key: "deep")?["v"] == nested(32))
        let filter = StateFilter([StateComparison("n", .greater, 0)])
        #expect(try store.count(table, filter: filter) == 1)

        let deeper = try #require(stateError { try store.put(table, item: ["name": "deeper", "v": nested(33)], ifAbsent: false) })
        #expect(deeper.kind == .invalid)
        #expect(deeper.description.contains("v" + String(repeating: "[0]", count: 32) + " is nested more than 32 levels deep"))
        #expect(try store.get(table, key: "deeper") == nil)
        let grow = try #require(stateError { try store.update(table, key: "deep", changes: ["v": .object(["a": nested(32)])], condition: nil) })
        #expect(grow.description.contains("v.a" + String(repeating: "[0]", count: 31) + " is nested more than 32 levels deep"))
        #expect(try store.get(table, key: "deep")?["v"] == nested(32))
    }

    @Test func itemSizeCountsNamesAndValuesAsDynamoDBDoes() {
        #expect(StateItemRules.size(of: ["name": "abc"]) == 7)
        #expect(StateItemRules.size(of: ["n": 12345]) == 1 + 4)
        #expect(StateItemRules.size(of: ["b": true, "z": nil]) == 4)
        #expect(StateItemRules.size(of: ["l": ["ab", 1]]) == 1 + 3 + (1 + 2) + (1 + 2))
        #expect(StateItemRules.size(of: ["m": ["k": "v"]]) == 1 + 3 + 1 + 1 + 1)
    }

    @Test func scansTenThousandItemsInKeyOrderPageByPage() throws {
        let store = try makeStore()
        let table = try store.ensureTable("Items", keyAttribute: "id").name
        for i in 0..<10_000 {
            try store.put(table, item: ["id": .string(String(format: "item-%05d", i)), "n": .int(Int64(i))], ifAbsent: false)
        }
        #expect(try store.count(table, filter: nil) == 10_000)

        let cursor = try store.scan(table, filter: nil, pageSize: 500)
        var pages = 0
        var ids: [String] = []
        while let page = try cursor.nextPage() {
            pages += 1
            #expect(page.count == 500)
            ids += page.map { $0["id"]!.stringValue! }
        }
        #expect(pages == 20)
        #expect(ids == (0..<10_000).map { String(format: "item-%05d", $0) })
        #expect(cursor.itemsRead == 10_000)
        #expect(try cursor.nextPage() == nil)

        // Stopping early (`| take 5`) reads one page, not the table.
        let early = try store.scan(table, filter: nil, pageSize: 500)
        let firstFive = try #require(try early.nextPage()).prefix(5)
        #expect(firstFive.map { $0["n"] } == [0, 1, 2, 3, 4])
        #expect(early.itemsRead == 500)
    }

    @Test func pushedDownFiltersEqualFilteringInSwift() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        let states: [JSONValue] = ["new", "deploying", "deployed", "failed", "deleted", "Deployed", "é", nil, 3, true]
        var all: [StateItem] = []
        for i in 0..<1500 {
            var item: StateItem = ["name": .string("env-\(i)")]
            if i % 11 != 0 { item["state"] = states[i % states.count] }
            switch i % 6 {
            case 0: item["version"] = .int(Int64(i % 40))
            case 1: item["version"] = .double(Double(i % 40) + 0.5)
            case 2: item["version"] = .double(Double(i % 40))
            case 3: item["version"] = .string("\(i % 40)")
            case 4: item["version"] = nil
            default: break
            }
            if i % 3 == 0 { item["protected"] = .bool(i % 2 == 0) }
            if i % 5 == 0 { item["build"] = ["number": .int(Int64(i % 17)), "branch": .string(i % 2 == 0 ? "main" : "feat")] }
            if i % 7 == 0 { item["tags"] = ["a", "b"] }
            if i % 13 == 0 { item["created"] = .string("2026-11-\(10 + i % 20)T10:00:00.000Z") }
            try store.put(table, item: item, ifAbsent: false)
            all.append(item)
        }
        let filters: [StateFilter] = [
            StateFilter([StateComparison("state", .equal, "deployed")]),
            StateFilter([StateComparison("state", .notEqual, "deployed")]),
            StateFilter([StateComparison("state", .equal, nil)]),
            StateFilter([StateComparison("state", .notEqual, nil)]),
            StateFilter([StateComparison("state", .equal, 3)]),
            StateFilter([StateComparison("state", .equal, true)]),
            StateFilter([StateComparison("state", .notEqual, true)]),
            StateFilter([StateComparison("state", .greater, "deployed")]),
            StateFilter([StateComparison("state", .lessOrEqual, "Deployed")]),
            StateFilter([StateComparison("state", .greaterOrEqual, "é")]),
            StateFilter([StateComparison("version", .equal, 7)]),
            StateFilter([StateComparison("version", .equal, 7.0)]),
            StateFilter([StateComparison("version", .equal, 7.5)]),
            StateFilter([StateComparison("version", .less, 10)]),
            StateFilter([StateComparison("version", .greaterOrEqual, 20.5)]),
            StateFilter([StateComparison("version", .greater, "2")]),
            StateFilter([StateComparison("version", .less, nil)]),
            StateFilter([StateComparison("version", .less, true)]),
            StateFilter([StateComparison("protected", .equal, false)]),
            StateFilter([StateComparison("protected", .notEqual, false)]),
            StateFilter([StateComparison(["build", "number"], .greater, 8)]),
            StateFilter([StateComparison(["build", "branch"], .equal, "main"), StateComparison("state", .equal, "new")]),
            StateFilter([StateComparison("created", .less, "2026-11-20T00:00:00.000Z")]),
            StateFilter([StateComparison("tags", .equal, ["a", "b"])]),
            StateFilter([StateComparison("tags", .notEqual, ["a", "b"]), StateComparison("version", .less, 5)]),
            StateFilter([StateComparison("build", .equal, ["branch": "main", "number": 0])]),
            StateFilter([StateComparison("odd\"name", .equal, nil)]),
            StateFilter([StateComparison("name", .equal, "env-5")]),
            StateFilter([StateComparison("name", .greater, "env-9")]),
            StateFilter([StateComparison("name", .notEqual, "env-1"), StateComparison("state", .equal, "new")]),
            StateFilter([StateComparison("name", .lessOrEqual, "env-10")]),
            StateFilter([StateComparison("name", .equal, 5)]),
            StateFilter([]),
        ]
        for filter in filters {
            let expected = all.filter(filter.matches).map { $0["name"]!.stringValue! }.sorted {
                $0.utf8.lexicographicallyPrecedes($1.utf8)
            }
            let cursor = try store.scan(table, filter: filter, pageSize: 97)
            var found: [String] = []
            while let page = try cursor.nextPage() { found += page.map { $0["name"]!.stringValue! } }
            #expect(found == expected, "filter \(filter)")
            #expect(try store.count(table, filter: filter) == expected.count, "count with filter \(filter)")
        }
    }

    @Test func pushedDownFilterReadsOnlyMatchingRows() throws {
        let store = try makeStore()
        let table = try environmentsTable(store)
        for i in 0..<1000 {
            try store.put(table, item: ["name": .string("env-\(i)"), "state": i % 10 == 0 ? "new" : "deployed"], ifAbsent: false)
        }
        let cursor = try store.scan(table, filter: StateFilter([StateComparison("state", .equal, "new")]), pageSize: 500)
        let page = try #require(try cursor.nextPage())
        #expect(page.count == 100)
        #expect(cursor.itemsRead == 100)

        // A comparison on the key uses the key column: one row read.
        let byKey = try store.scan(table, filter: StateFilter([StateComparison("name", .equal, "env-500")]), pageSize: 500)
        #expect(try byKey.nextPage()?.map { $0["name"] } == ["env-500"])
        #expect(try byKey.nextPage() == nil)
        #expect(byKey.itemsRead == 1)
    }

    @Test(arguments: [false, true])
    func eightThreadsIncrementOneCounterExactly(sharingOneStore: Bool) throws {
        let path = directory.file("counter.db")
        let setup = try SQLiteStateStore(path: path)
        try setup.ensureTable("Counters", keyAttribute: "name")
        try setup.put("Counters", item: ["name": "hits", "version": 0], ifAbsent: true)

        let threads = 8
        let incrementsPerThread = 40
        let done = DispatchGroup()
        let failures = Failures()
        for _ in 0..<threads {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    let store = sharingOneStore ? setup : try SQLiteStateStore(path: path)
                    var made = 0
                    while made < incrementsPerThread {
                        let version = try store.get("Counters", key: "hits")!["version"]!.intValue!
                        do {
                            try store.update(
                                "Counters", key: "hits", changes: ["version": .int(version + 1)], condition: ["version": .int(version)])
                            made += 1
                        } catch let error as StateError where error.kind == .conflict {
                            continue
                        }
                    }
                } catch {
                    failures.record("\(error)")
                }
            }.start()
        }
        done.wait()
        #expect(failures.all.isEmpty)
        #expect(try setup.get("Counters", key: "hits")?["version"] == .int(Int64(threads * incrementsPerThread)))
    }

    @Test func corruptFileGivesAClearError() throws {
        let path = directory.file("corrupt.db")
        var garbage = [UInt8](repeating: 0, count: 8192)
        for i in garbage.indices { garbage[i] = UInt8(truncatingIfNeeded: i &* 7919 &+ 13) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))
        let error = try #require(stateError { _ = try SQLiteStateStore(path: path) })
        #expect(error.kind == .storage)
        #expect(error.description.contains(path))
        #expect(error.description.contains("not a database"))
    }

    @Test func damageInsideAValidFileIsReportedWithTheTableAndKey() throws {
        let path = directory.file("damaged.db")
        do {
            let store = try SQLiteStateStore(path: path)
            try store.ensureTable("DeveloperEnvironments", keyAttribute: "name")
            for i in 0..<2000 {
                try store.put(
                    "DeveloperEnvironments", item: ["name": .string("env-\(i)"), "note": .string(String(repeating: "n", count: 200))],
                    ifAbsent: false)
            }
        }
        // Keep the first page (header and schema), overwrite the rest with garbage.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data((0..<Int(size) - 4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }))
        try handle.close()

        let store = try SQLiteStateStore(path: path)
        let error = try #require(stateError { _ = try store.get("DeveloperEnvironments", key: "env-7") })
        #expect(error.kind == .storage)
        #expect(error.description.contains("DeveloperEnvironments") && error.description.contains(path))
        #expect(error.description.contains("damaged"))
    }

    @Test func readOnlyFileCanBeReadButRefusesWritesClearly() throws {
        let path = directory.file("readonly.db")
        do {
            let store = try SQLiteStateStore(path: path)
            try store.ensureTable("DeveloperEnvironments", keyAttribute: "name")
            try store.put("DeveloperEnvironments", item: ["name": "feat-x", "state": "new"], ifAbsent: false)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }

        let store = try SQLiteStateStore(path: path)
        #expect(store.isReadOnly)
        #expect(try store.ensureTable("DeveloperEnvironments", keyAttribute: "name").keyAttribute == "name")
        let create = try #require(stateError { try store.ensureTable("NewTable", keyAttribute: "name") })
        #expect(create.description.contains("NewTable") && create.description.contains("read-only"))
        #expect(try store.get("DeveloperEnvironments", key: "feat-x")?["state"] == "new")
        let error = try #require(
            stateError { try store.update("DeveloperEnvironments", key: "feat-x", changes: ["state": "deploying"], condition: nil) })
        #expect(error.kind == .storage)
        #expect(error.description.contains("DeveloperEnvironments") && error.description.contains("feat-x"))
        #expect(error.description.contains("read-only"))
        #expect(stateError { try store.put("DeveloperEnvironments", item: ["name": "b"], ifAbsent: false) }?.kind == .storage)
        #expect(try store.get("DeveloperEnvironments", key: "feat-x")?["state"] == "new")
        #expect(try store.get("DeveloperEnvironments", key: "b") == nil)

        // Asking for read-only explicitly works the same on a writable file.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let explicit = try SQLiteStateStore(path: path, readOnly: true)
        #expect(explicit.isReadOnly)
        #expect(stateError { try explicit.delete("DeveloperEnvironments", key: "feat-x", condition: nil) }?.description.contains("read-only") == true)
    }

    @Test func missingDatabaseOpenedReadOnlyIsAnError() {
        let error = stateError { _ = try SQLiteStateStore(path: directory.file("absent/state.db"), readOnly: true) }
        #expect(error?.kind == .storage)
        #expect(error?.description.contains("absent/state.db") == true)
    }
}

/// Errors collected from worker threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func record(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}
