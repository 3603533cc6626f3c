// Benchmark of the SQLite state store (run a release build):
//
//   swift build -c release --product furrow-state-bench && .build/release/furrow-state-bench [ITEMS]
//
// Measures inserting ITEMS (default 100,000) developer-environment items one put at a time, a full
// scan + filter (state == "deployed") + sort in Swift, the same with the filter pushed down to SQL,
// and point gets per second. The database is a fresh file in the temporary directory.
import Foundation
import FurrowJSON
import FurrowState

let itemCount = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
let directory = NSTemporaryDirectory() + "furrow-state-bench-" + UUID().uuidString
defer { try? FileManager.default.removeItem(atPath: directory) }

/// Wall-clock and CPU seconds of `body`. On a shared machine the CPU time is the steadier figure.
struct Timing {
    var wall: Double
    var cpu: Double
}

func cpuSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func measure(_ body: () throws -> Void) rethrows -> Timing {
    let wallStart = DispatchTime.now().uptimeNanoseconds
    let cpuStart = cpuSeconds()
    try body()
    return Timing(wall: Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9, cpu: cpuSeconds() - cpuStart)
}

/// The best of `runs` timings, so a busy machine disturbs the figure less.
func best(of runs: Int, _ body: () throws -> Void) rethrows -> Timing {
    var fastest = Timing(wall: .infinity, cpu: .infinity)
    for _ in 0..<runs {
        let timing = try measure(body)
        fastest = Timing(wall: min(fastest.wall, timing.wall), cpu: min(fastest.cpu, timing.cpu))
    }
    return fastest
}

func report(_ label: String, _ timing: Timing, _ detail: String = "") {
    let padded = label.padding(toLength: 40, withPad: " ", startingAt: 0)
    print("\(padded) \(String(format: "%8.1f ms wall %8.1f ms cpu", timing.wall * 1000, timing.cpu * 1000))  \(detail)")
}

/// Deterministic pseudo-random numbers, so every run measures the same data.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

let states = ["new", "deploying", "deployed", "deployed", "deployed", "failed", "deleted"]
var random = SplitMix(state: 42)
@MainActor func environment(_ index: Int) -> StateItem {
    let day = 1 + random.below(28)
    let second = random.below(86_400)
    let updated = String(
        format: "2026-11-%02dT%02d:%02d:%02d.%03dZ", day, second / 3600, second / 60 % 60, second % 60, random.below(1000))
    return [
        "name": .string(String(format: "feat-%06d", index)),
        "state": .string(states[random.below(states.count)]),
        "version": .int(Int64(random.below(50))),
        "updated": .string(updated),
        "tyk": .string(String(format: "sha-%08x", random.next() & 0xFFFF_FFFF)),
        "tyk-analytics": "master",
        "tyk-pump": .string(random.below(2) == 0 ? "master" : String(format: "feat-%06d", index)),
        "protected": .bool(random.below(10) == 0),
    ]
}

do {
    let store = try SQLiteStateStore(path: directory + "/state.db")
    let table = try store.ensureTable("DeveloperEnvironments", keyAttribute: "name").name
    print("furrow-state-bench: \(itemCount) items, SQLite state store, \(ProcessInfo.processInfo.activeProcessorCount) cores")

    let items = (0..<itemCount).map(environment)
    let insert = try measure {
        for item in items { try store.put(table, item: item, ifAbsent: false) }
    }
    report("insert (one put each)", insert, String(format: "%.0f puts/s", Double(itemCount) / insert.wall))

    /// Sorts by the `updated` field, reading each item's field once (as a sort by key does).
    func sortedByUpdated(_ items: [StateItem]) -> [StateItem] {
        let keys = items.map { $0["updated"]?.stringValue ?? "" }
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { items[$0] }
    }

    let scanOnly = try best(of: 5) {
        let cursor = try store.scan(table, filter: nil, pageSize: 1000)
        while try cursor.nextPage() != nil {}
    }
    report("  of which: scan (read + decode)", scanOnly)

    var deployed = 0
    let scanAll = try best(of: 5) {
        var all: [StateItem] = []
        let cursor = try store.scan(table, filter: nil, pageSize: 1000)
        while let page = try cursor.nextPage() { all += page }
        let selected = sortedByUpdated(all.filter { $0["state"] == "deployed" })
        deployed = selected.count
    }
    report("scan + filter in Swift + sort", scanAll, "\(deployed) deployed of \(itemCount)")

    let filter = StateFilter([StateComparison("state", .equal, "deployed")])
    var pushed = 0
    let scanPushed = try best(of: 5) {
        var selected: [StateItem] = []
        let cursor = try store.scan(table, filter: filter, pageSize: 1000)
        while let page = try cursor.nextPage() { selected += page }
        selected = sortedByUpdated(selected)
        pushed = selected.count
    }
    report("scan with filter pushed to SQL + sort", scanPushed, "\(pushed) deployed")
    guard pushed == deployed else { fatalError("the pushed-down filter found \(pushed) items, Swift found \(deployed)") }

    let counted = try best(of: 5) { _ = try store.count(table, filter: filter) }
    report("count with filter pushed to SQL", counted)

    let lookupKeys = (0..<min(itemCount, 50_000)).map { _ in String(format: "feat-%06d", random.below(itemCount)) }
    let lookups = lookupKeys.count
    var found = 0
    let gets = try measure {
        for key in lookupKeys where try store.get(table, key: key) != nil { found += 1 }
    }
    report("point gets", gets, String(format: "%.0f gets/s (%d found of %d)", Double(lookups) / gets.wall, found, lookups))

    var updates = 0
    let conditional = try measure {
        for key in items.prefix(20_000).map({ $0["name"]!.stringValue! }) {
            let item = try store.get(table, key: key)!
            try store.update(table, key: key, changes: ["version": .int(item["version"]!.intValue! + 1)], condition: ["version": item["version"]!])
            updates += 1
        }
    }
    report("get + conditional update", conditional, String(format: "%.0f updates/s", Double(updates) / conditional.wall))
} catch {
    FileHandle.standardError.write(Data("furrow-state-bench: \(error)\n".utf8))
    exit(1)
}
