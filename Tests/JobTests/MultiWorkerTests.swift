import Foundation
import FurrowAWS
import FurrowJSON
import FurrowTestSupport
import Testing

/// Several sow workers on one DynamoDB table (the local AWS-compatible server), applying a
/// configuration whose every apply takes about 2 s (8 s for `slow-*`) and appends the environment's name to a log.
final class WorkerWorld {
    let server: LocalAWSServer
    let world: JobWorld
    let appliedLog: URL

    init() throws {
        server = try LocalAWSServer()
        world = try JobWorld()
        appliedLog = world.directory.appendingPathComponent("applied.log")
        let paced = world.directory.appendingPathComponent("paced")
        try FileManager.default.createDirectory(at: paced, withIntermediateDirectories: true)
        var text = #"variable "name" { type = string }"# + "\n"
        for name in ["tyk", "tyk-analytics", "tyk-pump", "base", "infra"] {
            text += "variable \"\(name)\" {\n  type    = string\n  default = \"master\"\n}\n"
        }
        text += """
            resource "terraform_data" "apply" {
              triggers_replace = [var.tyk, var.tyk-analytics, var.tyk-pump]
              provisioner "local-exec" {
                command = "sleep ${startswith(var.name, "slow-") ? 8 : 2}; echo ${var.name} >> \(appliedLog.path)"
              }
            }
            """
        try text.write(to: paced.appendingPathComponent("main.tf"), atomically: true, encoding: .utf8)
        world.environment = server.clientEnvironment.merging([
            "FURROW_STATE_STORE": "dynamodb", "FURROW_AWS_ENDPOINT": server.endpoint.absoluteString,
            "FURROW_AWS_REGION": LocalAWSServer.region, "FURROW_TERRAFORM_DIR": "paced",
        ]) { _, new in new }
        let initialised = try world.run("-c", "tf.init(\"paced\")")
        #expect(initialised.status == 0, "\(initialised.stderr)")
    }

    deinit { server.stop() }

    /// Starts `count` sow workers at once and waits for all; returns each one's exit status and output.
    func workers(_ count: Int, _ arguments: [String] = []) throws -> [(status: Int32, output: String)] {
        let processes = (0..<count).map { _ in world.process(["run", "std/sow"] + arguments) }
        let pipes = processes.map { _ in Pipe() }
        for (process, pipe) in zip(processes, pipes) {
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
        }
        return zip(processes, pipes).map { process, pipe in
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
    }

    var applied: [String] {
        ((try? String(contentsOf: appliedLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}

@Suite(.serialized) struct MultiWorkerTests {
    @Test func threeWorkersApplyEveryEnvironmentExactlyOnce() throws {
        let workers = try WorkerWorld()
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

    @Test func aKilledWorkersClaimIsLeftAloneUntilItExpires() throws {
        let workers = try WorkerWorld()
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

    @Test func aBuildReportedDuringAnApplyStaysNewForTheNextRun() throws {
        let workers = try WorkerWorld()
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
