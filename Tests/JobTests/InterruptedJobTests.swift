import Foundation
import FurrowTestSupport
import Testing

/// sow stopped as ECS, Kubernetes, systemd or a person stops it, on the real terraform with
/// a slow apply (`slow-*` environments of examples/devenv sleep in a local-exec), on SQLite
/// and on the DynamoDB-compatible local server: afterwards terraform's state is not locked,
/// the lease is free, and the next sow finishes the work, applying each environment once.
@Suite(.serialized) struct InterruptedJobTests {
    enum Store: String, CaseIterable { case sqlite, dynamodb }

    static func world(_ store: Store, server: LocalAWSServer?) throws -> JobWorld {
        let world = try JobWorld()
        if store == .dynamodb, let server {
            world.environment = [
                "FURROW_STATE_STORE": "dynamodb", "FURROW_AWS_ENDPOINT": server.endpoint.absoluteString,
                "FURROW_AWS_REGION": LocalAWSServer.region,
                "AWS_ACCESS_KEY_ID": LocalAWSServer.accessKeyId, "AWS_SECRET_ACCESS_KEY": LocalAWSServer.secretAccessKey,
            ]
        }
        return world
    }

    /// Starts sow, waits until `slow` is being applied, and returns the running process and its output.
    static func sowMidApply(_ world: JobWorld, slow: String) throws -> (Process, Pipe, Pipe) {
        let sow = world.process(["run", "std/sow", "--report", world.directory.appendingPathComponent("report.json").path])
        let out = Pipe(), err = Pipe()
        sow.standardOutput = out
        sow.standardError = err
        try sow.run()
        try world.waitFor(60) { try world.state(slow) == "deploying" }
        // terraform is in its apply (the local-exec sleeps for 15 s)
        sleep(3)
        return (sow, out, err)
    }

    /// Whether any process still runs with this world's directory on its command line.
    static func programsRunning(in world: JobWorld) -> Bool {
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", world.directory.path]
        pgrep.standardOutput = FileHandle.nullDevice
        try? pgrep.run()
        pgrep.waitUntilExit()
        return pgrep.terminationStatus == 0
    }

    static func noTerraformLock(_ world: JobWorld) -> Bool {
        let files = FileManager.default.enumerator(atPath: world.directory.path)?.compactMap { $0 as? String } ?? []
        return !files.contains { $0.hasSuffix(".tfstate.lock.info") }
    }

    @Test(arguments: [(Store.sqlite, SIGTERM), (Store.sqlite, SIGINT), (Store.dynamodb, SIGTERM), (Store.dynamodb, SIGINT)])
    func aStopSignalMidApplyLeavesNothingBroken(_ store: Store, _ signal: Int32) throws {
        let server = store == .dynamodb ? try LocalAWSServer() : nil
        defer { server?.stop() }
        let world = try Self.world(store, server: server)
        try world.newbuild("feat-\(store.rawValue)")
        try world.newbuild("slow-\(store.rawValue)")
        let (sow, out, err) = try Self.sowMidApply(world, slow: "slow-\(store.rawValue)")
        let stopped = Date()
        kill(sow.processIdentifier, signal)
        let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sow.waitUntilExit()
        let took = Date().timeIntervalSince(stopped)
        #expect(sow.terminationStatus == 128 + signal, "\(log)")
        #expect(took < 25, "stopped in \(took) s")
        #expect(summary.contains("interrupted"), "the summary shows the interrupted environment:\n\(summary)")
        #expect(summary.contains("deployed"), "and what was done:\n\(summary)")
        #expect(FileManager.default.fileExists(atPath: world.directory.appendingPathComponent("report.json").path))
        #expect(try world.state("slow-\(store.rawValue)") == "failed")
        #expect(try world.query("state.leases() | map .name") == "[]", "the lease is free")
        #expect(Self.noTerraformLock(world), "terraform released its state lock")

        let next = try world.run("run", "std/sow")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains("slow-\(store.rawValue)") && !next.stdout.contains("feat-\(store.rawValue)"),
                "the next run applies only the interrupted environment, at once:\n\(next.stdout)")
        #expect(try world.state("slow-\(store.rawValue)") == "deployed")
        #expect(try world.state("feat-\(store.rawValue)") == "deployed")
    }

    @Test func afterSIGKILLTheClaimIsBrokenAsDocumentedAndTheNextRunFinishes() throws {
        let world = try JobWorld()
        try world.newbuild("slow-kill")
        let (sow, _, _) = try Self.sowMidApply(world, slow: "slow-kill")
        kill(sow.processIdentifier, SIGKILL)
        sow.waitUntilExit()
        // terraform, in its own process group, outlives a killed furrow: wait until it is gone
        try world.waitFor(60) { !Self.programsRunning(in: world) }
        let claim = "env/DeveloperEnvironments/slow-kill"
        let blocked = try world.run("run", "std/sow")
        #expect(blocked.status == 0 && blocked.stdout.contains("claimed by another worker"), "\(blocked.stdout)")
        #expect(try world.state("slow-kill") == "deploying", "nobody touches an environment whose claim is alive")
        let refused = try world.run("-c", "state.unlock(\"\(claim)\")")
        #expect(refused.status == 1 && refused.stderr.contains("locked error: the lease \(claim) is held by"), "\(refused.stderr)")
        let broken = try world.run("-c", "print(state.unlock(\"\(claim)\", force: true).name)")
        #expect(broken.stdout == "\(claim)\n", "\(broken.stderr)")
        let next = try world.run("run", "std/sow")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try world.state("slow-kill") == "deployed")
    }

    @Test func aSecondSowWhileTheFirstRunsLeavesItsEnvironmentAloneAndExitsZero() throws {
        let world = try JobWorld()
        try world.newbuild("slow-overlap")
        let (sow, _, _) = try Self.sowMidApply(world, slow: "slow-overlap")
        let second = try world.run("run", "std/sow")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("slow-overlap") && second.stdout.contains("claimed by another worker"), "\(second.stdout)")
        #expect(!second.stderr.contains("std/sow:"), "no stack trace through the stdlib:\n\(second.stderr)")
        kill(sow.processIdentifier, SIGTERM)
        sow.waitUntilExit()
    }
}
