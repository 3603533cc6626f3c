import Foundation
import Testing
@testable import FurrowState

@Suite struct LeaseTests {
    let directory = TemporaryDirectory()
    let start = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func acquireRefuseExpireTakeOverAndReleaseLate() throws {
        let store = try SQLiteStateStore(path: directory.file("leases.db"))
        let first = try #require(try store.acquireLease("env/feat-x", owner: "worker-a", ttl: .seconds(45 * 60), now: start).lease)
        #expect(first.owner == "worker-a")
        #expect(first.expiresAt == start.addingTimeInterval(45 * 60))

        // Held: another owner is refused and told who holds it until when.
        let refused = try store.acquireLease("env/feat-x", owner: "worker-b", ttl: .seconds(60), now: start.addingTimeInterval(60))
        #expect(refused == .held(by: first))
        // The holder itself may take it again, which extends it.
        let again = try #require(
            try store.acquireLease("env/feat-x", owner: "worker-a", ttl: .seconds(45 * 60), now: start.addingTimeInterval(60)).lease)
        #expect(again.expiresAt == start.addingTimeInterval(46 * 60))

        // Expired: another owner takes it over.
        let late = start.addingTimeInterval(47 * 60)
        let takeover = try #require(try store.acquireLease("env/feat-x", owner: "worker-b", ttl: .seconds(60), now: late).lease)
        #expect(takeover.owner == "worker-b")

        // The old holder, releasing late, is told and leaves the new holder's lease alone.
        #expect(try store.releaseLease(again, now: late) == .takenOver(by: takeover))
        #expect(stateError { _ = try store.renewLease(again, ttl: .seconds(60), now: late) }?.kind == .leaseLost)
        #expect(try store.acquireLease("env/feat-x", owner: "worker-c", ttl: .seconds(60), now: late) == .held(by: takeover))

        // Released in time: free for anyone.
        #expect(try store.releaseLease(takeover, now: late.addingTimeInterval(30)) == .released)
        #expect(try store.acquireLease("env/feat-x", owner: "worker-c", ttl: .seconds(60), now: late.addingTimeInterval(31)).lease != nil)
    }

    @Test func aHolderThatOutlivesItsTtlIsToldWhenItReleases() throws {
        let store = try SQLiteStateStore(path: directory.file("leases.db"))
        let lease = try #require(try store.acquireLease("sow", owner: "a", ttl: .seconds(10), now: start).lease)
        let renewed = try store.renewLease(lease, ttl: .seconds(20), now: start.addingTimeInterval(5))
        #expect(renewed.expiresAt == start.addingTimeInterval(25))
        let outcome = try store.releaseLease(renewed, now: start.addingTimeInterval(30))
        #expect(outcome == .expiredBeforeRelease(expiredAt: start.addingTimeInterval(25)))
        #expect(try store.acquireLease("sow", owner: "b", ttl: .seconds(10), now: start.addingTimeInterval(31)).lease != nil)
    }

    @Test func withLeaseReleasesAfterTheBlockEvenWhenItThrows() throws {
        let store = try SQLiteStateStore(path: directory.file("leases.db"))
        let owner = Lease.uniqueOwner()
        #expect(owner != Lease.uniqueOwner())
        let run = try store.withLease("reap", owner: owner, ttl: .seconds(60), clock: { start }) { lease in
            #expect(try store.acquireLease("reap", owner: "other", ttl: .seconds(60), now: start) == .held(by: lease))
            if case .held = try store.withLease("reap", owner: "other", ttl: .seconds(60), clock: { start }, { _ in 1 }) {
            } else {
                Issue.record("a held lease ran the block")
            }
            return 42
        }
        guard case .ran(42, .released) = run else { Issue.record("unexpected \(run)"); return }

        struct Failure: Error {}
        #expect(throws: Failure.self) {
            _ = try store.withLease("reap", owner: owner, ttl: .seconds(60), clock: { start }) { _ in throw Failure() }
        }
        #expect(try store.acquireLease("reap", owner: "other", ttl: .seconds(60), now: start).lease != nil)

        // A block that outlives the ttl is told so on release.
        var now = start.addingTimeInterval(120)
        let late = try store.withLease("sow", owner: owner, ttl: .seconds(10), clock: { now }) { _ in
            now = now.addingTimeInterval(11)
        }
        guard case .ran(_, .expiredBeforeRelease) = late else { Issue.record("unexpected \(late)"); return }
    }

    @Test func rejectsEmptyNamesOwnersAndTtls() throws {
        let store = try SQLiteStateStore(path: directory.file("leases.db"))
        #expect(stateError { _ = try store.acquireLease("", owner: "a", ttl: .seconds(1), now: start) }?.kind == .invalid)
        #expect(stateError { _ = try store.acquireLease("x", owner: "", ttl: .seconds(1), now: start) }?.kind == .invalid)
        #expect(stateError { _ = try store.acquireLease("x", owner: "a", ttl: .zero, now: start) }?.kind == .invalid)
    }

    /// The helper executable built beside the test bundle.
    func raceHelper() throws -> String {
        let bundleDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let helper = bundleDirectory.appendingPathComponent("furrow-state-race").path
        try #require(
            FileManager.default.isExecutableFile(atPath: helper),
            "the helper furrow-state-race was not built at \(helper); run `swift build --product furrow-state-race`")
        return helper
    }

    @Test func twoProcessesStartedTogetherNeverBothWin() throws {
        let helper = try raceHelper()
        for round in 0..<12 {
            // A fresh file each round, so the processes also race to create it and its tables.
            let path = directory.file("race-\(round)/state.db")
            let processes = try ["a", "b"].map { owner -> (Process, Pipe, Pipe) in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: helper)
                process.arguments = [path, owner, "env/feat-x"]
                let output = Pipe()
                let errors = Pipe()
                process.standardOutput = output
                process.standardError = errors
                try process.run()
                return (process, output, errors)
            }
            var answers: [String] = []
            for (process, output, errors) in processes {
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "helper failed: \(problems)")
                answers.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(answers.sorted() == ["lost", "won"], "round \(round): \(answers)")
        }
    }

    @Test func twoRunningProcessesRaceForManyLeasesAndExactlyOneWinsEach() throws {
        let helper = try raceHelper()
        let path = directory.file("race.db")
        let racers = try ["a", "b"].map { try Racer(helper: helper, databasePath: path, owner: $0) }
        defer { racers.forEach { $0.finish() } }
        var wins = ["a": 0, "b": 0]
        for round in 0..<300 {
            let lease = "lease-\(round)"
            // Alternate who is asked first, so neither has a systematic head start.
            let order = round % 2 == 0 ? racers : racers.reversed()
            for racer in order { try racer.ask(lease) }
            var winners: [String] = []
            for racer in racers {
                let answer = try racer.answer()
                #expect(answer == "won" || answer == "lost", "unexpected answer \(answer)")
                if answer == "won" { winners.append(racer.owner) }
            }
            #expect(winners.count == 1, "round \(round): winners \(winners)")
            for winner in winners { wins[winner, default: 0] += 1 }
        }
        #expect(wins["a"]! + wins["b"]! == 300)
        // The database agrees: each lease has exactly the owner that said it won.
        let store = try SQLiteStateStore(path: path)
        let held = try store.acquireLease("lease-0", owner: "observer", ttl: .seconds(1), now: Date())
        #expect(held.lease == nil)
    }
}

/// A running `furrow-state-race` process answering one lease per line.
final class Racer {
    let owner: String
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered: [UInt8] = []

    init(helper: String, databasePath: String, owner: String) throws {
        self.owner = owner
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = [databasePath, owner]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    func ask(_ lease: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((lease + "\n").utf8))
    }

    func answer() throws -> String {
        let descriptor = output.fileHandleForReading.fileDescriptor
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw RacerExited(owner: owner) }
            buffered += chunk[..<count]
        }
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

struct RacerExited: Error, CustomStringConvertible {
    let owner: String
    var description: String { "the racer \(owner) exited before answering" }
}
