import Foundation
import FurrowAWS
import FurrowJSON
import FurrowRuntime
import FurrowState
import FurrowStateDynamoDB

/// `state`: tables of items (`state.table`, `state.tables`) and leases (`state.lock`, `state.try_lock`) on the
/// embedded SQLite store or DynamoDB, chosen by `config.state.store`.
struct StateBuiltins: BuiltinModule {
    let configuration: Configuration

    func install(into interpreter: Interpreter) {
        interpreter.register(StateTable.members.description)
        let connection = StateConnection(configuration: configuration)
        interpreter.extensions[StateConnection.extensionKey] = connection
        let members: FurrowMap = [
            "table": builtin(
                "state.table", ["name", "key"], required: 1, effect: .mutates,
                doc: "state.table(name, key: \"name\") → table\nThe state table `name` whose items are keyed by the attribute `key`, created when missing. Methods: get, put, update, delete, scan, count."
            ) { b, args throws(FurrowError) in
                let name = try b[0]!.string("state.table()'s name")
                let key = try b[1].map { v throws(FurrowError) in try v.string("state.table()'s key") } ?? "name"
                return .host(try StateTable.open(name, keyAttribute: key, connection: connection, fiber: args.fiber))
            },
            "tables": builtin(
                "state.tables", [], doc: "state.tables() → list\nThe existing tables as {name, key} maps, sorted by name."
            ) { _, _ throws(FurrowError) in
                let store = try connection.store()
                let tables = try connection.run { () throws(StateError) in try store.tables() }
                return .list(tables.map { .map(["name": .string($0.name), "key": .string($0.keyAttribute)]) })
            },
            "lock": .function(NativeFunction(
                "state.lock",
                doc: "state.lock(name, ttl: 15m, wait: 0s) { ... } → the block's value\nRuns the block holding the lease `name` (released at the end, also on error). When another owner holds it, polls for up to `wait`, then fails with kind `locked` naming the holder.",
                parameters: ["name", "ttl", "wait", "body"], effect: .mutates
            ) { (args: Arguments) throws(FurrowError) -> Value in
                try LeaseCall(args, function: "state.lock", allowsWait: true).run(connection, waitsOrFails: true)
            }),
            "leases": builtin(
                "state.leases", [], doc: "state.leases() → list\nEvery lease on record as {name, holder, expires, expired}, sorted by name."
            ) { _, _ throws(FurrowError) in
                let store = try connection.store()
                let now = Date()
                return .list(try connection.run { () throws(StateError) in try store.leases() }.map(leaseValue(now)))
            },
            "unlock": builtin(
                "state.unlock", ["name", "force"], required: 1, effect: .mutates,
                doc: "state.unlock(name, force: false) → the lease removed, or null\nBreaks the lease `name` of a holder that died (SIGKILL, a lost machine). A lease whose ttl has not run out is refused with kind `locked` unless force: true."
            ) { b, args throws(FurrowError) in
                let name = try b[0]!.string("state.unlock()'s name")
                let force = b[1]?.isTruthy ?? false
                let store = try connection.store()
                let now = Date()
                guard let current = try connection.run({ () throws(StateError) in try store.leases() }).first(where: { $0.name == name }) else {
                    return .null
                }
                if current.expiresAt > now, !force {
                    throw FurrowError(
                        "the lease \(name) is held by \(current.owner) until \(LeaseCall.iso(current.expiresAt)); state.unlock(\"\(name)\", force: true) breaks it (only when that holder is gone)",
                        kind: "locked", data: .map(["lease": .string(name), "holder": .string(current.owner)]))
                }
                return try args.fiber.interpreter.mutation(args.fiber, "break the lease \(name) held by \(current.owner)", ["lease": .string(name)]) { () throws(FurrowError) -> Value in
                    let removed = try connection.run { () throws(StateError) in try store.breakLease(name) }
                    if let removed {
                        args.fiber.interpreter.log.write(level: "warn", message: "broke the lease \(name) held by \(removed.owner)", fields: [("lease", .string(name)), ("holder", .string(removed.owner))])
                    }
                    return removed.map(leaseValue(now)) ?? .null
                }
            },
            "try_lock": .function(NativeFunction(
                "state.try_lock",
                doc: "state.try_lock(name, ttl: 15m) { ... } → the block's value, or null\nRuns the block holding the lease `name` when it is free; returns null without running it when another owner holds it.",
                parameters: ["name", "ttl", "body"], effect: .mutates
            ) { (args: Arguments) throws(FurrowError) -> Value in
                try LeaseCall(args, function: "state.try_lock", allowsWait: false).run(connection, waitsOrFails: false)
            }),
            "claim": .function(NativeFunction(
                "state.claim",
                doc: "state.claim(name, ttl: 15m) { ... } → the block's value, or null\nRuns the block holding the lease `name`, renewed every third of the ttl while the block runs (a claim that lapses soon after its holder dies); returns null without running it when another owner holds it.",
                parameters: ["name", "ttl", "body"], effect: .mutates
            ) { (args: Arguments) throws(FurrowError) -> Value in
                try LeaseCall(args, function: "state.claim", allowsWait: false).run(connection, waitsOrFails: false, heartbeat: true)
            }),
        ]
        interpreter.register(
            "state",
            .host(Namespace(
                "state",
                doc: "state.table(name, key: \"name\"), state.tables(), state.lock(name, ttl:) { ... }, state.try_lock(name, ttl:) { ... }, state.claim(name, ttl:) { ... }, state.leases(), state.unlock(name, force:)",
                members: members)))
    }
}

/// The store of one interpreter, opened on first use and then shared by every thread (`parallel` tasks).
final class StateConnection: @unchecked Sendable {
    static let extensionKey = "state"
    let configuration: Configuration
    private let lock = NSLock()
    private var opened: (any StateStore)?

    init(configuration: Configuration) { self.configuration = configuration }

    /// The configured store: `config.state.store` is `sqlite` (file `config.state.path`) or `dynamodb`
    /// (`config.aws.region`, `config.aws.endpoint`, credentials from the AWS environment and files).
    func store() throws(FurrowError) -> any StateStore {
        lock.lock()
        defer { lock.unlock() }
        if let opened { return opened }
        let made = try open()
        opened = made
        return made
    }

    private func open() throws(FurrowError) -> any StateStore {
        let kind = configuration.setting("state", "store")
        switch kind {
        case "sqlite":
            let path = configuration.setting("state", "path")
            return try run { () throws(StateError) in try openSQLite(path) }
        case "dynamodb":
            var endpoint: URL?
            if let text = configuration.string("aws", "endpoint"), !text.isEmpty {
                guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
                    throw FurrowError("config aws.endpoint is not a URL: \(text)", kind: "config")
                }
                endpoint = url
            }
            do {
                let aws = try AWSConfiguration.resolve(region: configuration.string("aws", "region"), endpoint: endpoint)
                let leaseTable = configuration.setting("state", "lease_table")
                return DynamoDBStateStore(client: DynamoDBClient(configuration: aws), leaseTable: leaseTable)
            } catch {
                throw FurrowError("cannot use the DynamoDB state store: \(error)", kind: "config")
            }
        default:
            throw FurrowError("config state.store is \"\(kind)\"; use \"sqlite\" or \"dynamodb\"", kind: "config")
        }
    }

    /// Opens the SQLite store. Two processes creating a new file at the same moment can make SQLite refuse the
    /// switch to WAL mode with "database is locked" without waiting for the busy timeout; the file is ready a
    /// moment later, so opening is tried again for up to 10 seconds.
    private func openSQLite(_ path: String) throws(StateError) -> SQLiteStateStore {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try SQLiteStateStore(path: path)
            } catch where error.message.contains("database is locked") && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// Runs a store operation, turning its `StateError` into a Furrow error of the same kind (`conflict`,
    /// `invalid`, `too_large`, `no_such_table`, `lease_lost`, `storage`) that names the table and key.
    func run<T>(_ body: () throws(StateError) -> T) throws(FurrowError) -> T {
        do {
            return try body()
        } catch {
            throw StateConnection.furrowError(error)
        }
    }

    static func furrowError(_ error: StateError) -> FurrowError {
        var data: FurrowMap = [:]
        if let table = error.table { data["table"] = .string(table) }
        if let key = error.key { data["key"] = .string(key) }
        if !error.mismatches.isEmpty {
            data["mismatches"] = .list(error.mismatches.map { mismatch in
                .map([
                    "attribute": .string(mismatch.attribute), "expected": StateValues.value(mismatch.expected),
                    "actual": mismatch.actual.map(StateValues.value) ?? .null,
                ])
            })
        }
        return FurrowError(error.description, kind: error.kind.rawValue, data: .map(data))
    }
}

// MARK: - Tables

/// A state table as scripts see it: `t.get(key)`, `t.put(item)`, `t.update(key, changes, if:)`,
/// `t.delete(key, if:)`, `t.scan()`, `t.count()`.
final class StateTable: HostObject, @unchecked Sendable {
    let connection: StateConnection
    let name: String
    let keyAttribute: String
    /// False only in plan mode for a table that does not exist yet (and was not created): reads find nothing.
    let exists: Bool

    private init(connection: StateConnection, name: String, keyAttribute: String, exists: Bool) {
        self.connection = connection
        self.name = name
        self.keyAttribute = keyAttribute
        self.exists = exists
    }

    /// Opens the table, creating it when missing; in plan mode a missing table is planned, not created.
    static func open(_ name: String, keyAttribute: String, connection: StateConnection, fiber: Fiber) throws(FurrowError)
        -> StateTable
    {
        let store: any StateStore
        do {
            store = try connection.store()
        } catch {
            throw FurrowError("table \(name): \(error.message)", kind: error.kind, data: error.data)
        }
        return try fiber.interpreter.mutation(fiber, plan: { () throws(FurrowError) -> PlannedChange<StateTable> in
            let existing = try connection.run { () throws(StateError) in try store.tables() }.first { $0.name == name }
            if let existing {
                if existing.keyAttribute != keyAttribute {
                    throw StateConnection.furrowError(StateError(
                        .invalid, table: name, message: "the table is keyed by '\(existing.keyAttribute)', not '\(keyAttribute)'"))
                }
                return .unchanged(StateTable(connection: connection, name: name, keyAttribute: keyAttribute, exists: true))
            }
            try connection.run { () throws(StateError) in try StateTableDefinition.validate(name: name) }
            return PlannedChange(
                "create the state table \(name) keyed by \(keyAttribute)", details: ["table": .string(name), "key": .string(keyAttribute)],
                result: StateTable(connection: connection, name: name, keyAttribute: keyAttribute, exists: false))
        }, perform: { () throws(FurrowError) -> StateTable in
            _ = try connection.run { () throws(StateError) in try store.ensureTable(name, keyAttribute: keyAttribute) }
            return StateTable(connection: connection, name: name, keyAttribute: keyAttribute, exists: true)
        })
    }

    override var typeName: String { "state.table" }
    override var summary: String { "<state table \(name) keyed by \(keyAttribute)>" }
    override var fields: FurrowMap { ["name": .string(name), "key": .string(keyAttribute)] }
    override var memberNames: [String] { Self.members.names }
    override func member(_ member: String, fiber: Fiber) throws(FurrowError) -> Value? {
        try Self.members.member(of: self, member, fiber: fiber, qualifier: name)
    }

    static let members = HostMembers<StateTable>("state.table", [
        .property("name") { t, _ in .string(t.name) },
        .property("key") { t, _ in .string(t.keyAttribute) },
        .method("get", ["key"], doc: "table.get(key) → item or null") { t, b, _ throws(FurrowError) in
            let key = try t.key(b[0]!)
            guard t.exists else { return .null }
            let store = try t.connection.store()
            return try t.connection.run { () throws(StateError) in try store.get(t.name, key: key) }
                .map { StateValues.value(.object($0)) } ?? .null
        },
        .method("put", ["item", "if_absent"], required: 1, effect: .mutates, doc: "table.put(item, if_absent: false) → item\nStores the item, replacing the one with its key; with if_absent, a conflict when one exists.") { t, b, args throws(FurrowError) in
            let ifAbsent = b[1]?.isTruthy ?? false
            let item = try StateValues.item(b[0]!, table: t.name, keyAttribute: t.keyAttribute)
            try t.check(item)
            let key = item[t.keyAttribute]!.stringValue!
            return try args.fiber.interpreter.mutation(
                args.fiber, "put the item \"\(key)\" into the state table \(t.name)",
                ["table": .string(t.name), "key": .string(key), "item": StateValues.value(.object(item))]
            ) { () throws(FurrowError) -> Value in
                let store = try t.connection.store()
                try t.connection.run { () throws(StateError) in try store.put(t.name, item: item, ifAbsent: ifAbsent) }
                return StateValues.value(.object(item))
            }
        },
        .method("update", ["key", "changes", "if"], required: 2, effect: .mutates, doc: "table.update(key, changes, if: {attr: value}) → item\nSets the attributes of `changes` (null removes one) on the existing item when every attribute of `if` has its value (null: absent); otherwise a `conflict` error saying what differed.") { t, b, args throws(FurrowError) in
            let key = try t.key(b[0]!)
            let changes = try StateValues.map(b[1]!, what: "the changes", table: t.name, key: key)
            let condition = try b[2].map { v throws(FurrowError) in
                try StateValues.map(v, what: "the if: condition", table: t.name, key: key)
            }
            var details: FurrowMap = [
                "table": .string(t.name), "key": .string(key), "changes": StateValues.value(.object(changes)),
            ]
            if let condition { details["if"] = StateValues.value(.object(condition)) }
            return try args.fiber.interpreter.mutation(
                args.fiber, "update the item \"\(key)\" in the state table \(t.name)", details
            ) { () throws(FurrowError) -> Value in
                let store = try t.connection.store()
                let updated = try t.connection.run { () throws(StateError) in
                    try store.update(t.name, key: key, changes: changes, condition: condition)
                }
                return StateValues.value(.object(updated))
            }
        },
        .method("delete", ["key", "if"], required: 1, effect: .mutates, doc: "table.delete(key, if: {attr: value}) → bool\nDeletes the item (when `if` holds); whether one was deleted.") { t, b, args throws(FurrowError) in
            let key = try t.key(b[0]!)
            let condition = try b[1].map { v throws(FurrowError) in
                try StateValues.map(v, what: "the if: condition", table: t.name, key: key)
            }
            var details: FurrowMap = ["table": .string(t.name), "key": .string(key)]
            if let condition { details["if"] = StateValues.value(.object(condition)) }
            return try args.fiber.interpreter.mutation(
                args.fiber, "delete the item \"\(key)\" from the state table \(t.name)", details
            ) { () throws(FurrowError) -> Value in
                let store = try t.connection.store()
                return .bool(try t.connection.run { () throws(StateError) in
                    try store.delete(t.name, key: key, condition: condition)
                })
            }
        },
        .method("scan", ["page_size", "pushdown"], required: 0, doc: "table.scan(page_size: 100, pushdown: true) → list\nA lazy list of the items, read a page at a time as a pipeline pulls items; `where` tests of fields against constants run in the store unless pushdown is false. Used any other way (len, [i], ==) it is read in full once.") { t, b, _ throws(FurrowError) in
            let pageSize = try b[0].map { v throws(FurrowError) in try v.int("scan()'s page_size") } ?? 100
            guard pageSize > 0, pageSize <= Limits.scanPageSize else {
                throw FurrowError.value("scan()'s page_size must be from 1 to \(Limits.scanPageSize), not \(pageSize)")
            }
            return .host(StateScan(table: t, pageSize: pageSize, pushdown: b[1]?.isTruthy ?? true))
        },
        .method("count", doc: "table.count() → int") { t, _, _ throws(FurrowError) in
            guard t.exists else { return .int(0) }
            let store = try t.connection.store()
            return .int(try t.connection.run { () throws(StateError) in try store.count(t.name, filter: nil) })
        },
    ])

    private func key(_ value: Value) throws(FurrowError) -> String {
        guard case .string(let key) = value else {
            throw StateConnection.furrowError(StateError(
                .invalid, table: name,
                message: "the key ('\(keyAttribute)') must be a non-empty string, not \(value.typeName)"))
        }
        try connection.run { () throws(StateError) in try StateItemRules.validateKey(key, table: name) }
        return key
    }

    /// The store's own rules, checked before planning too, so a dry run reports what a real run would refuse.
    private func check(_ item: StateItem) throws(FurrowError) {
        try connection.run { () throws(StateError) in try StateItemRules.validate(item, table: name, keyAttribute: keyAttribute) }
    }
}

/// `table.scan()`: a lazy list that reads the table a page at a time, only as far as the pipeline pulls.
/// `items_read` tells how many items the store returned to the last run over it.
final class StateScan: HostObject, ValueSequence, @unchecked Sendable {
    let table: StateTable
    let pageSize: Int
    let pushdown: Bool
    private let lock = NSLock()
    private var read = 0
    /// The items, once something other than a pipeline stage has used the scan.
    private let cache = ItemCache()

    init(table: StateTable, pageSize: Int, pushdown: Bool) {
        self.table = table
        self.pageSize = pageSize
        self.pushdown = pushdown
    }

    override var typeName: String { "state.scan" }
    override var summary: String { "<scan of state table \(table.name)>" }
    override var fields: FurrowMap {
        lock.lock()
        defer { lock.unlock() }
        return ["table": .string(table.name), "items_read": .int(read)]
    }

    func forEach(_ fiber: Fiber, filter: PushdownFilter?, _ body: (Value) throws(FurrowError) -> Bool) throws(FurrowError) {
        if let items = cache.kept {
            for item in items where !(try body(item)) { return }
            return
        }
        try read(filter: filter, body)
    }

    func items(_ fiber: Fiber?) throws(FurrowError) -> [Value] {
        try cache.items { () throws(FurrowError) -> [Value] in
            var out: [Value] = []
            try read(filter: nil) { (v: Value) throws(FurrowError) -> Bool in
                out.append(v)
                return true
            }
            return out
        }
    }

    var keptItems: [Value]? { cache.kept }

    /// One pass over the store, a page at a time.
    private func read(filter: PushdownFilter?, _ body: (Value) throws(FurrowError) -> Bool) throws(FurrowError) {
        guard table.exists else { return }
        let store = try table.connection.store()
        let stateFilter = pushdown ? filter.flatMap(StateValues.filter) : nil
        let cursor = try table.connection.run { () throws(StateError) in
            try store.scan(table.name, filter: stateFilter, pageSize: pageSize)
        }
        defer {
            lock.lock()
            read = cursor.itemsRead
            lock.unlock()
        }
        while let page = try table.connection.run({ () throws(StateError) in try cursor.nextPage() }) {
            for item in page where !(try body(StateValues.value(.object(item)))) { return }
        }
    }
}

// MARK: - Leases

/// A lease as `state.leases()` shows it.
private func leaseValue(_ now: Date) -> (Lease) -> Value {
    { lease in
        .map(["name": .string(lease.name), "holder": .string(lease.owner), "expires": .string(LeaseCall.iso(lease.expiresAt)),
              "expired": .bool(lease.expiresAt <= now)])
    }
}

/// One `state.lock` / `state.try_lock` call: its arguments, and the run of its block under the lease.
struct LeaseCall {
    let function: String
    let name: String
    let ttl: Duration
    let ttlNanoseconds: Int64
    let wait: Int64
    let body: Callable
    let fiber: Fiber

    static let defaultTTL: Int64 = 15 * 60 * 1_000_000_000

    /// The block may come positionally (a trailing block) or as `body:`; `ttl:` and `wait:` are durations.
    init(_ args: Arguments, function: String, allowsWait: Bool) throws(FurrowError) {
        var name: String?
        var ttl = LeaseCall.defaultTTL
        var wait: Int64 = 0
        var body: Callable?
        func duration(_ value: Value, _ what: String) throws(FurrowError) -> Int64 {
            guard case .duration(let nanos) = value, nanos >= 0 else {
                throw FurrowError.type("\(function)()'s \(what) must be a duration like 45m, got \(value.typeName)")
            }
            return nanos
        }
        for i in 0..<args.count {
            switch args.labels?[i] ?? nil {
            case nil:
                if case .function(let f) = args[i], body == nil { body = f }
                else if name == nil { name = try args[i].string("\(function)()'s name") }
                else { throw FurrowError.type("\(function)(name, ttl:) { ... } got an extra argument") }
            case "name": name = try args[i].string("\(function)()'s name")
            case "ttl": ttl = try duration(args[i], "ttl")
            case "wait" where allowsWait: wait = try duration(args[i], "wait")
            case "body":
                guard case .function(let f) = args[i] else { throw FurrowError.type("\(function)()'s body must be a block") }
                body = f
            case let label?:
                throw FurrowError.type("\(function)() has no parameter named '\(label)'")
            }
        }
        guard let name, !name.isEmpty else { throw FurrowError.type("\(function)() needs a lease name: \(function)(\"name\", ttl: 45m) { ... }") }
        guard let body else { throw FurrowError.type("\(function)(\"\(name)\") needs a block: \(function)(\"\(name)\", ttl: 45m) { ... }") }
        guard ttl >= 1_000_000 else { throw FurrowError.value("\(function)(\"\(name)\")'s ttl must be at least 1ms") }
        self.function = function
        self.name = name
        self.ttlNanoseconds = ttl
        self.ttl = .nanoseconds(ttl)
        self.wait = wait
        self.body = body
        self.fiber = args.fiber
    }

    /// Takes the lease (through plan mode: a dry run plans it and runs the block without it), runs the block,
    /// releases the lease. `waitsOrFails`: `lock` (wait, then a `locked` error) or `try_lock` (null at once).
    /// `heartbeat`: renew the lease while the block runs (`state.claim`).
    func run(_ connection: StateConnection, waitsOrFails: Bool, heartbeat: Bool = false) throws(FurrowError) -> Value {
        var result: Value = .null
        var ranForReal = false
        _ = try fiber.interpreter.mutation(
            fiber, "take the lease \(name) for \(TimeFormat.duration(ttlNanoseconds))",
            ["lease": .string(name), "ttl": .duration(ttlNanoseconds)]
        ) { () throws(FurrowError) -> Value in
            ranForReal = true
            result = try runHoldingLease(
                try connection.store(), connection: connection, waitsOrFails: waitsOrFails, heartbeat: heartbeat)
            return .null
        }
        return ranForReal ? result : try fiber.call(body, [])
    }

    /// The block under `FurrowState.withLease`: waits through the fiber's interruptible sleep,
    /// so Ctrl-C or SIGTERM ends a wait for a lease as it ends any other.
    private func runHoldingLease(
        _ store: any StateStore, connection: StateConnection, waitsOrFails: Bool, heartbeat: Bool
    ) throws(FurrowError)
        -> Value
    {
        let fiber = self.fiber, body = self.body
        let run: LeasedRun<Value>
        var taken: Lease?
        var began = ContinuousClock.now
        do {
            run = try store.withLease(
                name, owner: Lease.uniqueOwner(), ttl: ttl, wait: .nanoseconds(waitsOrFails ? wait : 0),
                heartbeat: heartbeat ? Double(ttlNanoseconds) / 3e9 : nil,
                pause: { pause in try fiber.sleep(nanoseconds: Int64(pause.components.seconds) * 1_000_000_000 + pause.components.attoseconds / 1_000_000_000) }
            ) { lease in
                taken = lease
                began = .now
                return try fiber.call(body, [])
            }
        } catch let error as FurrowError {
            throw error
        } catch let error as StateError {
            throw StateConnection.furrowError(error)
        } catch {
            throw FurrowError("\(error)", kind: .storage)
        }
        switch run {
        case .held(let holder):
            if !waitsOrFails { return .null }
            let waited = wait > 0 ? " after waiting \(TimeFormat.duration(wait))" : ""
            throw FurrowError(
                "the lease \(name) is held by \(holder.owner) until \(isoTime(holder.expiresAt))\(waited)",
                kind: "locked", data: .map(["lease": .string(name), "holder": .string(holder.owner), "until": .string(isoTime(holder.expiresAt))]))
        case .ran(let value, release: .released):
            return value
        case .ran(let value, release: .expiredBeforeRelease(let expiredAt)):
            fiber.interpreter.log.write(
                level: "warn",
                message: "the lease \(name) expired before its block ended: the block outlived its ttl; nobody took the lease meanwhile",
                fields: [("lease", .string(name)), ("ttl", .duration(ttlNanoseconds)), ("expired", .string(isoTime(expiredAt)))])
            return value
        case .ran(_, release: .takenOver(let holder)):
            // Timed on this host's monotonic clock: a block shorter than its ttl cannot have let the
            // lease run out, so its expiry in the table was passed some other way.
            let held = ContinuousClock.now - began
            let heldNanoseconds = held.components.seconds * 1_000_000_000 + held.components.attoseconds / 1_000_000_000
            let ttlText = TimeFormat.duration(ttlNanoseconds)
            let what =
                held < ttl
                ? "was taken by \(holder.owner) after its block had run \(TimeFormat.duration(heldNanoseconds)) of its ttl \(ttlText): it was broken (state.unlock with force: true), or the clocks of the hosts sharing the table disagree or were stepped"
                : heartbeat
                    ? "expired while its block ran (ttl \(ttlText); its renewals did not reach the table) and \(holder.owner) took it"
                    : "expired at \(taken.map { isoTime($0.expiresAt) } ?? "?") while its block ran (ttl \(ttlText)) and \(holder.owner) took it"
            throw FurrowError(
                "the lease \(name) \(what): the block did not hold it exclusively to the end",
                kind: "lease_lost", data: .map(["lease": .string(name), "holder": .string(holder.owner)]))
        }
    }

    private func isoTime(_ date: Date) -> String { LeaseCall.iso(date) }

    static func iso(_ date: Date) -> String {
        TimeFormat.iso(Int64((date.timeIntervalSince1970 * 1000).rounded()) * 1_000_000)
    }
}

// MARK: - Values

/// How Furrow values become stored items and back. Items hold strings, numbers, bools, lists, maps and null;
/// a Furrow time is stored as its canonical ISO-8601 UTC text (`2026-11-22T10:00:00Z`, `...00.250Z`), and
/// a stored string exactly in that canonical form reads back as a time. Anything else (functions, host objects,
/// durations, ranges, errors) is refused with an error naming the table, key and attribute.
enum StateValues {
    static func item(_ value: Value, table: String, keyAttribute: String) throws(FurrowError) -> StateItem {
        guard case .map(let members) = value else {
            throw StateConnection.furrowError(StateError(.invalid, table: table, message: "an item must be a map, not \(value.typeName)"))
        }
        guard let keyValue = members[keyAttribute] else {
            throw StateConnection.furrowError(StateError(.invalid, table: table, message: "the item has no key attribute '\(keyAttribute)'"))
        }
        guard case .string(let key) = keyValue, !key.isEmpty else {
            let found = keyValue.stringValue == "" ? "an empty string" : keyValue.typeName
            throw StateConnection.furrowError(StateError(
                .invalid, table: table, message: "the key attribute '\(keyAttribute)' must be a non-empty string, not \(found)"))
        }
        return try map(value, what: "the item", table: table, key: key)
    }

    static func map(_ value: Value, what: String, table: String, key: String) throws(FurrowError) -> StateItem {
        guard case .map(let members) = value else {
            throw StateConnection.furrowError(StateError(.invalid, table: table, key: key, message: "\(what) must be a map, not \(value.typeName)"))
        }
        var item = StateItem(minimumCapacity: members.count)
        for (name, member) in members { item[name] = try json(member, at: name, table: table, key: key) }
        return item
    }

    /// `level`: how deep a list or map `value` would be (the attribute's own is 1). Deeper than
    /// the store allows is refused here, before the conversion could recurse any further.
    static func json(_ value: Value, at path: String, table: String, key: String, level: Int = 1) throws(FurrowError) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int64(i))
        case .float(let d):
            guard d.isFinite else { throw refusal("\(path) is \(d), which has no stored form", table, key) }
            return .double(d)
        case .string(let s): return .string(s)
        case .time(let t): return .string(TimeFormat.iso(t))
        case .list(let elements):
            if level > StateItemRules.maximumNesting { throw refusal(StateItemRules.nestingProblem(at: path), table, key) }
            var out: [JSONValue] = []
            out.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() { out.append(try json(element, at: "\(path)[\(index)]", table: table, key: key, level: level + 1)) }
            return .array(out)
        case .map(let members):
            if level > StateItemRules.maximumNesting { throw refusal(StateItemRules.nestingProblem(at: path), table, key) }
            var out = StateItem(minimumCapacity: members.count)
            for (name, member) in members { out[name] = try json(member, at: "\(path).\(name)", table: table, key: key, level: level + 1) }
            return .object(out)
        default:
            throw refusal(
                "\(path) is a \(value.typeName), which cannot be stored (items hold strings, numbers, bools, lists, maps, null and times)",
                table, key)
        }
    }

    private static func refusal(_ message: String, _ table: String, _ key: String) -> FurrowError {
        StateConnection.furrowError(StateError(.invalid, table: table, key: key, message: message))
    }

    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int(i))
        case .double(let d): return .float(d)
        case .string(let s): return canonicalTime(s).map(Value.time) ?? .string(s)
        case .array(let elements): return .list(elements.map(value))
        case .object(let members):
            // Members in name order at every level, as the SQLite store keeps them, so that an item prints
            // the same whichever store it came from (DynamoDB keeps no order).
            var out = FurrowMap(minimumCapacity: members.count)
            let names = members.keys
            if zip(names, names.dropFirst()).allSatisfy({ $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                for (name, member) in members { out[name] = value(member) }
            } else {
                for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) { out[name] = value(members[name]!) }
            }
            return .map(out)
        }
    }

    /// The time a string stands for when it is exactly the text Furrow writes for that time.
    static func canonicalTime(_ text: String) -> Int64? {
        let utf8 = text.utf8
        guard (20...30).contains(utf8.count), utf8.last == UInt8(ascii: "Z"),
            utf8[utf8.index(utf8.startIndex, offsetBy: 10)] == UInt8(ascii: "T"),
            let time = TimeFormat.parse(text), TimeFormat.iso(time) == text
        else { return nil }
        return time
    }

    /// The part of a `where` the store can evaluate with Furrow's meaning. Comparisons whose constant is not a
    /// plain string, number, bool or null are left to the stage (which checks every item anyway); a time
    /// constant is pushed for `==` only (as its canonical text), and a string in canonical time form is pushed
    /// only for `==`, since such stored strings read back as times, which compare differently.
    static func filter(_ pushdown: PushdownFilter) -> StateFilter? {
        var comparisons: [StateComparison] = []
        for comparison in pushdown.comparisons {
            let op: StateComparisonOperator
            switch comparison.op {
            case .eq: op = .equal
            case .ne: op = .notEqual
            case .lt: op = .less
            case .le: op = .lessOrEqual
            case .gt: op = .greater
            case .ge: op = .greaterOrEqual
            }
            let constant: JSONValue
            switch comparison.value {
            case .null: constant = .null
            case .bool(let b): constant = .bool(b)
            case .int(let i): constant = .int(Int64(i))
            case .float(let d) where d.isFinite: constant = .double(d)
            case .string(let s):
                if op != .equal && canonicalTime(s) != nil { continue }
                constant = .string(s)
            case .time(let t) where op == .equal: constant = .string(TimeFormat.iso(t))
            default: continue
            }
            comparisons.append(StateComparison(comparison.field, op, constant))
        }
        return comparisons.isEmpty ? nil : StateFilter(comparisons)
    }
}
