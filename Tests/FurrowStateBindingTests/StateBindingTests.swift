import Foundation
import FurrowTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `state` builtins through the real binary: the golden scripts of `Tests/Scripts/state/` against DynamoDB
/// (a local AWS server; ScriptTests runs them on SQLite), and on both stores racing processes, lost leases and
/// broken storage.
@Suite struct StateBindingTests {
    @Test(arguments: GoldenScript.scripts(in: "state"))
    func goldenScriptOnDynamoDB(_ script: GoldenScript) throws {
        let mismatches = try script.run(environment: try Backend.dynamodb.environment(), clearing: ["FURROW_", "AWS_"])
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func everyStateScriptIsFound() {
        #expect(GoldenScript.scripts(in: "state").count >= 5)
    }

    /// Two processes start at once and race for one lease: exactly one runs its block.
    @Test(arguments: Backend.allCases)
    func racingProcessesOneTakesTheLease(_ backend: Backend) throws {
        let environment = try backend.environment()
        let directory = try Paths.scratchDirectory()
        let lease = "race-\(UUID().uuidString.prefix(8))"
        let code = "print(state.try_lock(\"\(lease)\", ttl: 30s) {\n  sleep(1500ms)\n  \"won\"\n})"
        let racers = try (0..<2).map { _ in try startFurrow(["-c", code], environment: environment, directory: directory) }
        let results = racers.map { $0.wait() }
        for result in results { #expect(result.status == 0, "stderr:\n\(result.stderr)") }
        #expect(results.map(\.lines).sorted { $0.description < $1.description } == [["null"], ["won"]])

        // state.lock without wait: the loser fails at once with kind `locked`, naming the holder.
        let lockCode = "state.lock(\"\(lease)-lock\", ttl: 30s) {\n  sleep(1500ms)\n  print(\"won\")\n}"
        let lockers = try (0..<2).map { _ in try startFurrow(["-c", lockCode], environment: environment, directory: directory) }
        let lockResults = lockers.map { $0.wait() }
        #expect(lockResults.filter { $0.status == 0 && $0.lines == ["won"] }.count == 1)
        let loser = lockResults.first { $0.status != 0 }
        #expect(loser?.stderr.contains("locked error: the lease \(lease)-lock is held by ") == true, "\(loser?.stderr ?? "no loser")")
    }

    /// A holder that outlives its ttl while another owner takes the lease is told so with `lease_lost`.
    @Test(arguments: Backend.allCases)
    func holderOutlivingItsTTLLosesTheLease(_ backend: Backend) throws {
        let environment = try backend.environment()
        let directory = try Paths.scratchDirectory()
        let lease = "lost-\(UUID().uuidString.prefix(8))"
        let slow = try startFurrow(
            ["-c", "state.lock(\"\(lease)\", ttl: 300ms) { sleep(2500ms) }"], environment: environment, directory: directory)
        Thread.sleep(forTimeInterval: 1.2)
        let taker = try startFurrow(
            ["-c", "print(state.lock(\"\(lease)\", ttl: 30s, wait: 5s) {\n  sleep(3s)\n  \"taken\"\n})"],
            environment: environment, directory: directory)
        let slowResult = slow.wait()
        let takerResult = taker.wait()
        #expect(takerResult.status == 0 && takerResult.lines == ["taken"], "stderr:\n\(takerResult.stderr)")
        #expect(slowResult.status == 1)
        #expect(slowResult.stderr.contains("lease_lost error: the lease \(lease) expired at "), "\(slowResult.stderr)")
    }

    /// A lease broken with `state.unlock(force: true)` while its block runs, and taken by another
    /// owner, is lost well inside its ttl: the holder's `lease_lost` says so, not that it outlived the ttl.
    @Test(arguments: Backend.allCases)
    func holderOfABrokenLeaseIsToldItWasBrokenInsideItsTTL(_ backend: Backend) throws {
        let environment = try backend.environment()
        let directory = try Paths.scratchDirectory()
        let lease = "broken-\(UUID().uuidString.prefix(8))"
        let holder = try startFurrow(
            ["-c", "state.lock(\"\(lease)\", ttl: 30s) { sleep(2500ms) }"], environment: environment, directory: directory)
        Thread.sleep(forTimeInterval: 1.2)
        let breaker = try startFurrow(
            ["-c", "state.unlock(\"\(lease)\", force: true)\nprint(state.lock(\"\(lease)\", ttl: 30s) {\n  sleep(3s)\n  \"taken\"\n})"],
            environment: environment, directory: directory)
        let holderResult = holder.wait()
        let breakerResult = breaker.wait()
        #expect(breakerResult.status == 0 && breakerResult.lines == ["taken"], "stderr:\n\(breakerResult.stderr)")
        #expect(holderResult.status == 1)
        #expect(holderResult.stderr.contains("lease_lost error: the lease \(lease) was taken by "), "\(holderResult.stderr)")
        #expect(holderResult.stderr.contains(" of its ttl 30s: it was broken (state.unlock with force: true), or the clocks "), "\(holderResult.stderr)")
    }

    @Test func corruptSQLiteFileIsAClearError() throws {
        let directory = try Paths.scratchDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".furrow"), withIntermediateDirectories: true)
        let garbage = Data(String(repeating: "this is not a database file. ", count: 200).utf8)
        try garbage.write(to: directory.appendingPathComponent(".furrow/state.db"))
        let result = try runFurrow(
            ["-c", "state.table(\"Corrupt\").put({name: \"a\"})"], directory: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("storage error: table Corrupt: "), "\(result.stderr)")
        #expect(result.stderr.contains(".furrow/state.db: file is not a database"), "\(result.stderr)")
        // The file was left as it was.
        #expect(try Data(contentsOf: directory.appendingPathComponent(".furrow/state.db")) == garbage)
    }

    @Test func aServerThatIsDownIsAClearError() throws {
        let port = try closedPort()
        var environment = SharedAWSServer.dynamoDBEnvironment(endpoint: "http://127.0.0.1:\(port)")
        environment["FURROW_STATE_STORE"] = "dynamodb"
        let started = Date()
        let result = try runFurrow(
            ["-c", "state.table(\"DownTable\").get(\"feat-x\")"], environment: environment, directory: try Paths.scratchDirectory())
        #expect(result.status == 1)
        #expect(result.stderr.contains("storage error: table DownTable: "), "\(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(port)") || result.stderr.contains("connect"), "\(result.stderr)")
        #expect(!result.stderr.contains(LocalAWSServer.secretAccessKeyMarker))
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func anUnknownStoreIsAConfigurationError() throws {
        let result = try runFurrow(
            ["-c", "state.table(\"Anything\")"], environment: ["FURROW_STATE_STORE": "etcd"],
            directory: try Paths.scratchDirectory())
        #expect(result.status == 2, "a configuration error, as when furrow.toml is wrong")
        #expect(result.stderr.contains("config state.store is \"etcd\"; use \"sqlite\" or \"dynamodb\""), "\(result.stderr)")
    }

    /// A port on 127.0.0.1 that nothing listens on: bound, then closed.
    private func closedPort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socketDescriptor, pointer, length) == 0 && getsockname(socketDescriptor, pointer, &length) == 0
            }
        }
        #expect(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension LocalAWSServer {
    /// The dummy secret, which must never appear in an error.
    static var secretAccessKeyMarker: String { "secretAccessKey: " + secretAccessKey }
}

/// `state.claim`: a lease kept alive by a heartbeat while its block runs, which lapses after its holder dies.
@Suite struct ClaimBindingTests {
    /// A block far longer than the claim's ttl keeps it: nobody else gets it while the holder runs.
    @Test(arguments: Backend.allCases)
    func aHeartbeatKeepsTheClaimPastItsTTL(_ backend: Backend) throws {
        let environment = try backend.environment()
        let directory = try Paths.scratchDirectory()
        let claim = "claim-\(UUID().uuidString.prefix(8))"
        let holder = try startFurrow(
            ["-c", "print(state.claim(\"\(claim)\", ttl: 600ms) { sleep(3s)\n \"done\" })"], environment: environment,
            directory: directory)
        Thread.sleep(forTimeInterval: 1.5)
        let other = try runFurrow(
            ["-c", "print(state.claim(\"\(claim)\", ttl: 600ms) { \"taken\" })"], environment: environment, directory: directory)
        #expect(other.lines == ["null"], "the claim is still held: \(other.stdout)\(other.stderr)")
        let held = holder.wait(timeout: 30)
        #expect(held.status == 0 && held.lines == ["done"], "\(held.stdout)\(held.stderr)")
        let after = try runFurrow(
            ["-c", "print(state.claim(\"\(claim)\", ttl: 600ms) { \"taken\" })"], environment: environment, directory: directory)
        #expect(after.lines == ["taken"], "released at the end: \(after.stderr)")
    }

    /// A holder killed with SIGKILL leaves its claim; others leave it alone until it expires, then take it.
    @Test(arguments: Backend.allCases)
    func aKilledHoldersClaimIsTakenOverOnlyAfterItExpires(_ backend: Backend) throws {
        let environment = try backend.environment()
        let directory = try Paths.scratchDirectory()
        let claim = "killed-\(UUID().uuidString.prefix(8))"
        let marker = directory.appendingPathComponent("\(claim).held").path
        let holder = try startFurrow(
            ["-c", "state.claim(\"\(claim)\", ttl: 8s) {\n os.write(\"\(marker)\", \"x\")\n sleep(60s) }"],
            environment: environment, directory: directory)
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: marker) && ContinuousClock.now < deadline { usleep(50_000) }
        kill(holder.processIdentifier, SIGKILL)
        _ = holder.wait(timeout: 10)
        let killedAt = Date()
        let during = try runFurrow(
            ["-c", "print(state.claim(\"\(claim)\", ttl: 8s) { \"taken\" })"], environment: environment, directory: directory)
        #expect(Date().timeIntervalSince(killedAt) < 8, "the check ran while the claim was alive")
        #expect(during.lines == ["null"], "the dead holder's claim is alive until it expires: \(during.stderr)")
        Thread.sleep(forTimeInterval: max(0, 8.5 - Date().timeIntervalSince(killedAt)))
        let after = try runFurrow(
            ["-c", "print(state.claim(\"\(claim)\", ttl: 8s) { \"taken\" })"], environment: environment, directory: directory)
        #expect(after.lines == ["taken"], "taken over after expiry: \(after.stderr)")
    }
}
