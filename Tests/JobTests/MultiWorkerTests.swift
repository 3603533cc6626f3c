import Foundation
import FurrowAWS
import FurrowJSON
import FurrowTestSupport
import Testing

/// Several sow and reap workers on one DynamoDB table (the local AWS-compatible server),
/// applying a configuration whose every apply and every destroy takes about 2 s (8 s for
/// `slow-*`) and appends the environment's name to a log (`applied.log`, `destroyed.log`).
/// With `s3Backend`, terraform keeps each workspace's state in a bucket of the same server and
/// locks it with a lock file (`use_lockfile`).
final class WorkerWorld {
    let server: LocalAWSServer
    let world: JobWorld
    let appliedLog: URL
    let destroyedLog: URL
    /// When the world was made, on the wall clock (which leases in the table use) and on the monotonic one.
    private let wallStart = Date()
    private let steadyStart = SuspendingClock.now

    /// The wall clock moved this far from the monotonic clock while the scenario ran.
    struct ClockStepped: Error, CustomStringConvertible {
        let seconds: Double
        var description: String { "the wall clock was stepped \(String(format: "%.1f", seconds))s against the monotonic clock while the workers ran" }
    }

    /// Runs `scenario` in a world of its own. A lease's expiry in the table is a wall-clock time, so a
    /// wall clock stepped while the workers run (the host's time set, a virtual machine resumed) lets a
    /// worker take a claim that is still another's, as the holder then reports (`lease_lost`); such a
    /// run says nothing about the workers, and the scenario runs again in a fresh world, three times at most.
    static func onSteadyClock(
        s3Backend: Bool = false, environment: [String: String] = [:], _ scenario: (WorkerWorld) throws -> Void
    ) throws {
        for attempt in 1...3 {
            do {
                try scenario(try WorkerWorld(s3Backend: s3Backend, environment: environment))
                return
            } catch let step as ClockStepped where attempt < 3 {
                print("\(step); running the scenario again")
            }
        }
    }

    init(s3Backend: Bool = false, environment: [String: String] = [:]) throws {
        server = try LocalAWSServer()
        world = try JobWorld()
        appliedLog = world.directory.appendingPathComponent("applied.log")
        destroyedLog = world.directory.appendingPathComponent("destroyed.log")
        let paced = world.directory.appendingPathComponent("paced")
        try FileManager.default.createDirectory(at: paced, withIntermediateDirectories: true)
        var text = ""
        if s3Backend {
            try Self.python(["import boto3, sys", "boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').create_bucket(Bucket='furrow-state')"], server: server)
            text += server.terraformS3Backend([("bucket", "furrow-state"), ("key", "paced/terraform.tfstate")])
        }
        text += #"variable "name" { type = string }"# + "\n"
        for name in ["tyk", "tyk-analytics", "tyk-pump", "base", "infra"] {
            text += "variable \"\(name)\" {\n  type    = string\n  default = \"master\"\n}\n"
        }
        text += """
            resource "terraform_data" "apply" {
              triggers_replace = [var.tyk, var.tyk-analytics, var.tyk-pump]
              input            = var.name
              provisioner "local-exec" {
                command = "sleep ${startswith(var.name, "slow-") ? 8 : 2}; echo ${var.name} >> \(appliedLog.path)"
              }
              provisioner "local-exec" {
                when    = destroy
                command = "sleep ${startswith(self.input, "slow-") ? 8 : 2}; echo ${self.input} >> \(destroyedLog.path)"
              }
            }
            """
        try text.write(to: paced.appendingPathComponent("main.tf"), atomically: true, encoding: .utf8)
        world.environment = server.clientEnvironment.merging([
            "FURROW_STATE_STORE": "dynamodb", "FURROW_AWS_ENDPOINT": server.endpoint.absoluteString,
            "FURROW_AWS_REGION": LocalAWSServer.region, "FURROW_TERRAFORM_DIR": "paced",
        ]) { _, new in new }.merging(environment) { _, new in new }
        let initialised = try world.run("-c", "tf.init(\"paced\")")
        #expect(initialised.status == 0, "\(initialised.stderr)")
    }

    deinit { server.stop() }

    /// Starts `count` workers of `job` at once and waits for all; returns each one's exit status and output.
    /// Throws `ClockStepped` when the wall clock left the monotonic one since the world was made.
    func workers(_ count: Int, _ arguments: [String] = [], job: String = "std/sow") throws -> [(status: Int32, output: String)] {
        let processes = (0..<count).map { _ in world.process(["run", job] + arguments) }
        let pipes = processes.map { _ in Pipe() }
        for (process, pipe) in zip(processes, pipes) {
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
        }
        // A step and its undoing both fall between two samples only if they come within 50 ms.
        let sampler = ClockSampler(wallStart: wallStart, steadyStart: steadyStart)
        let runs = zip(processes, pipes).map { process, pipe in
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        let step = sampler.stop()
        if abs(step) > 2 { throw ClockStepped(seconds: step) }
        return runs
    }

    var applied: [String] { Self.lines(appliedLog) }
    var destroyed: [String] { Self.lines(destroyedLog) }

    private static func lines(_ file: URL) -> [String] {
        ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The names of the zone's records, sorted (the local zone, shared by every worker).
    func recordNames() throws -> [String] {
        let json = try world.query("dns.zone(\"dev.example.com\").records() | map .name | sorted")
        return try JSONValue.parse(json).arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Runs python3 with the server's endpoint as its argument; returns its output.
    @discardableResult
    static func python(_ lines: [String], server: LocalAWSServer) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", lines.joined(separator: "\n"), server.endpoint.absoluteString]
        process.environment = ProcessInfo.processInfo.environment.merging(server.clientEnvironment) { _, new in new }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 failed")
        return String(decoding: data, as: UTF8.self)
    }
}

/// Samples how far the wall clock is from where the monotonic clock puts it (in seconds, since the two
/// starts) every 50 ms on a thread of its own until stopped; keeps the largest.
private final class ClockSampler: @unchecked Sendable {
    private let wallStart: Date
    private let steadyStart: SuspendingClock.Instant
    private let condition = NSCondition()
    private var stopped = false
    private var finished = false
    private var largest = 0.0

    init(wallStart: Date, steadyStart: SuspendingClock.Instant) {
        self.wallStart = wallStart
        self.steadyStart = steadyStart
        Thread { [self] in
            condition.lock()
            while !stopped {
                sample()
                _ = condition.wait(until: Date().addingTimeInterval(0.05))
            }
            finished = true
            condition.broadcast()
            condition.unlock()
        }.start()
    }

    /// Called holding `condition`.
    private func sample() {
        let steady = SuspendingClock.now - steadyStart
        let step = Date().timeIntervalSince(wallStart) - (Double(steady.components.seconds) + Double(steady.components.attoseconds) / 1e18)
        if abs(step) > abs(largest) { largest = step }
    }

    /// The largest step seen, with one last sample taken now.
    func stop() -> Double {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        sample()
        return largest
    }
}

@Suite(.serialized) struct MultiWorkerTests {
    @Test func threeWorkersApplyEveryEnvironmentExactlyOnce() throws {
        try WorkerWorld.onSteadyClock { workers in
            let names = (1...9).map { "feat-\($0)" }
            for name in names { try workers.world.newbuild(name) }
            let runs = try workers.workers(3)
            for run in runs { #expect(run.status == 0, "\(run.output)") }
            #expect(workers.applied.sorted() == names.sorted(), "each environment applied once: \(workers.applied)")
            for name in names { #expect(try workers.world.state(name) == "deployed") }
            // what each worker did, plus what it left to the others, covers every environment
            let deployed = runs.map { $0.output.components(separatedBy: " deployed ").count - 1 }
            #expect(deployed.reduce(0, +) == names.count, "\(runs.map(\.output))")
        }
    }

    @Test func aKilledWorkersClaimIsLeftAloneUntilItExpires() throws {
        try WorkerWorld.onSteadyClock { workers in
            try workers.world.newbuild("slow-k")
            let victim = workers.world.process(["run", "std/sow", "--claim-ttl", "10s"])
            victim.standardOutput = FileHandle.nullDevice
            victim.standardError = FileHandle.nullDevice
            try victim.run()
            try workers.world.waitFor(60) { try workers.world.state("slow-k") == "deploying" }
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            let killedAt = Date()

            let while_alive = try workers.workers(2)
            #expect(Date().timeIntervalSince(killedAt) < 10, "the others ran while the claim was alive")
            for run in while_alive {
                #expect(run.status == 0)
                #expect(run.output.contains("left"), "the claimed environment is left to its holder: \(run.output)")
            }
            #expect(try workers.world.state("slow-k") == "deploying")

            Thread.sleep(forTimeInterval: max(0, 10.5 - Date().timeIntervalSince(killedAt)))
            let after = try workers.workers(1)
            #expect(after[0].status == 0, "\(after[0].output)")
            #expect(try workers.world.state("slow-k") == "deployed")
        }
    }

    @Test func aBuildReportedDuringAnApplyStaysNewForTheNextRun() throws {
        try WorkerWorld.onSteadyClock { workers in
            for name in ["feat-a", "slow-b", "feat-c"] { try workers.world.newbuild(name) }
            let processes = (0..<2).map { _ in workers.world.process(["run", "std/sow"]) }
            for process in processes {
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
            }
            try workers.world.waitFor(60) { try workers.world.state("slow-b") == "deploying" }
            try workers.world.newbuild("slow-b", sha: "second")
            for process in processes { process.waitUntilExit() }
            #expect(try workers.world.state("slow-b") == "new", "the newer build is left for the next run")
            let next = try workers.workers(2)
            for run in next { #expect(run.status == 0, "\(run.output)") }
            #expect(try workers.world.state("slow-b") == "deployed")
            #expect(try workers.world.query("state.table(\"DeveloperEnvironments\").get(\"slow-b\").applied.tyk") == "\"second\"")
        }
    }

    /// Three sow workers on an S3 backend whose state lock fails at once (`-lock-timeout=0s`):
    /// every apply gets its workspace's lock on the first try, since each workspace has its own
    /// lock object and the claims keep one worker per workspace.
    @Test func workersOnAnS3BackendNeverMeetAtTheStateLock() throws {
        try WorkerWorld.onSteadyClock(s3Backend: true, environment: ["FURROW_TERRAFORM_LOCK_TIMEOUT": "0"]) { workers in
            let names = (1...9).map { "feat-\($0)" }
            for name in names { try workers.world.newbuild(name) }
            let runs = try workers.workers(3)
            for run in runs { #expect(run.status == 0, "\(run.output)") }
            #expect(workers.applied.sorted() == names.sorted(), "each environment applied once: \(workers.applied)")
            for name in names { #expect(try workers.world.state(name) == "deployed") }
            // every apply was told to fail at once on a held lock (terraform.lock_timeout = 0)
            let logs = workers.world.directory.appendingPathComponent(".furrow/logs")
            let headers = try FileManager.default.contentsOfDirectory(atPath: logs.path).compactMap { file in
                (try? String(contentsOf: logs.appendingPathComponent(file), encoding: .utf8))?.split(separator: "\n").first.map(String.init)
            }.filter { $0.contains(" apply ") }
            #expect(headers.count == names.count && headers.allSatisfy { $0.contains("-lock-timeout=0ms") }, "\(headers)")
            // The server's request log: every conditional PUT of a lock object, and its status.
            let log = (try? String(contentsOfFile: workers.server.logPath, encoding: .utf8)) ?? ""
            let lockPuts = log.split(separator: "\n").filter { $0.contains("\"PUT ") && $0.contains(".tflock") }
            let refused = lockPuts.filter { !$0.contains(" HTTP/1.1\" 200 ") }
            let objects = Set(lockPuts.compactMap { line in line.split(separator: " ").first { $0.contains(".tflock") } })
            #expect(lockPuts.count >= names.count, "every apply took its lock: \(lockPuts.count) lock writes")
            #expect(refused.isEmpty, "a lock was found held: \(refused)")
            for name in names { #expect(objects.contains { $0.contains("/\(name)/") }, "\(name) has its own lock object: \(objects)") }
            print("s3 backend, 3 workers, \(names.count) environments: \(lockPuts.count) lock writes on \(objects.count) lock objects, \(refused.count) found the lock held")
        }
    }

    /// The zone's records for `names`: `tyk.<name>` and `pump.<name>`, owned by chitragupta.
    private func publish(_ names: [String], in workers: WorkerWorld) throws {
        let entries = names.enumerated().flatMap { index, name in
            ["{name: \"tyk.\(name)\", type: \"A\", values: [\"10.0.\(index).1\"]}", "{name: \"pump.\(name)\", type: \"A\", values: [\"10.0.\(index).2\"]}"]
        }
        let synced = try workers.world.run("-c", "dns.zone(\"dev.example.com\").sync([\(entries.joined(separator: ", "))], owner: \"chitragupta\")")
        #expect(synced.status == 0, "\(synced.stderr)")
    }

    @Test func threeReapWorkersDestroyEveryDeletedEnvironmentExactlyOnce() throws {
        try WorkerWorld.onSteadyClock { workers in
            let gone = (1...9).map { "gone-\($0)" }
            let kept = ["keep-1", "keep-2"]
            for name in gone + kept { try workers.world.newbuild(name) }
            for run in try workers.workers(3) { #expect(run.status == 0, "\(run.output)") }
            try publish(gone + kept, in: workers)
            let unowned = try workers.world.run("-c", "dns.zone(\"dev.example.com\").upsert(\"mail.gone-1\", \"A\", [\"10.9.9.9\"])")
            #expect(unowned.status == 0, "\(unowned.stderr)")
            for name in gone { try workers.world.run("run", "std/newbuild", "--delete", name) }

            let runs = try workers.workers(3, ["--yes", "--limit", "20"], job: "std/reap")
            for run in runs { #expect(run.status == 0, "\(run.output)") }
            #expect(workers.destroyed.sorted() == gone.sorted(), "each environment destroyed once: \(workers.destroyed)")
            for name in gone { #expect(try workers.world.state(name) == "absent") }
            for name in kept { #expect(try workers.world.state(name) == "deployed") }
            let workspaces = try workers.world.query("tf.workspaces(\"paced\")")
            for name in gone { #expect(!workspaces.contains("\"\(name)\""), "\(workspaces)") }
            // the deleted environments' records went; the others', and the one nobody owns, stayed
            let expected = (kept.flatMap { ["tyk.\($0)", "pump.\($0)", "_furrow-owner.tyk.\($0)", "_furrow-owner.pump.\($0)"] } + ["mail.gone-1"]).sorted()
            #expect(try workers.recordNames().filter { $0 != "@" && $0 != "ns" }.sorted() == expected)
            // what each worker reaped, plus what it left to the others, covers every environment
            let reaped = runs.map { $0.output.components(separatedBy: " reaped ").count - 1 }
            #expect(reaped.reduce(0, +) == gone.count, "\(runs.map(\.output))")
            for run in runs {
                let handled = [" reaped ", " left ", " skipped "].map { run.output.components(separatedBy: $0).count - 1 }.reduce(0, +)
                #expect(handled == gone.count, "every worker accounts for every candidate: \(run.output)")
            }
        }
    }

    @Test func aKilledReapWorkersEnvironmentIsFinishedOnceItsClaimExpires() throws {
        try WorkerWorld.onSteadyClock { workers in
            for name in ["slow-k", "keep-1"] { try workers.world.newbuild(name) }
            for run in try workers.workers(2) { #expect(run.status == 0, "\(run.output)") }
            try publish(["slow-k", "keep-1"], in: workers)
            try workers.world.run("run", "std/newbuild", "--delete", "slow-k")

            let victim = workers.world.process(["run", "std/reap", "--yes", "--claim-ttl", "10s"])
            victim.standardOutput = FileHandle.nullDevice
            victim.standardError = FileHandle.nullDevice
            try victim.run()
            try workers.world.waitFor(60) { try workers.world.state("slow-k") == "reaping" }
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            let killedAt = Date()

            let whileAlive = try workers.workers(2, ["--yes"], job: "std/reap")
            #expect(Date().timeIntervalSince(killedAt) < 10, "the others ran while the claim was alive")
            for run in whileAlive {
                #expect(run.status == 0, "\(run.output)")
                #expect(run.output.contains(" left "), "the claimed environment is left to its holder: \(run.output)")
            }
            #expect(try workers.world.state("slow-k") == "reaping")

            Thread.sleep(forTimeInterval: max(0, 10.5 - Date().timeIntervalSince(killedAt)))
            let after = try workers.workers(1, ["--yes"], job: "std/reap")
            #expect(after[0].status == 0, "\(after[0].output)")
            #expect(after[0].output.contains(" reaped "), "\(after[0].output)")
            #expect(try workers.world.state("slow-k") == "absent")
            #expect(try workers.world.state("keep-1") == "deployed")
            #expect(!(try workers.world.query("tf.workspaces(\"paced\")")).contains("slow-k"))
            #expect(try workers.recordNames().filter { $0.contains("slow-k") } == [])
            #expect(try workers.recordNames().contains("tyk.keep-1"))
            #expect(workers.destroyed.contains("slow-k"), "its resources were destroyed: \(workers.destroyed)")
        }
    }
}
