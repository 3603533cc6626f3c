import Foundation
import FurrowJSON
import Testing
@testable import FurrowTerraform

@Suite struct BadInputTests {
    @Test func aDirectoryWithoutConfigurationIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let empty = try scratch.fixture("empty")
        let terraform = scratch.terraform()

        let error = try #require(terraformError { try terraform.workspace(empty, "feat-x").plan() })
        #expect(error.kind == .notAConfiguration)
        #expect(error.directory == empty)
        #expect(error.workspace == "feat-x")
        #expect(error.description.contains("no terraform configuration files"))
        #expect(!FileManager.default.fileExists(atPath: empty + "/.terraform"))

        let missing = try #require(terraformError { try terraform.workspaces(scratch.root + "/nowhere") })
        #expect(missing.kind == .notAConfiguration)
        #expect(missing.description.contains("no such directory"))
    }

    @Test func aMissingExecutableIsNamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        for executable in ["no-such-terraform", scratch.root + "/bin/terraform"] {
            let terraform = scratch.terraform(executable: executable)
            let error = try #require(terraformError { try terraform.workspace(directory, "feat-x").create() })
            #expect(error.kind == .executableNotFound)
            #expect(error.description.contains(executable))
            #expect(error.description.contains(directory))
            #expect(error.description.contains("feat-x"))
        }
    }

    @Test func aSyntaxErrorNamesDirectoryWorkspaceAndCommand() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("broken")
        let error = try #require(terraformError { try scratch.terraform().workspace(directory, "feat-x").plan() })
        #expect(error.kind == .commandFailed)
        #expect(error.directory == directory)
        #expect(error.workspace == "feat-x")
        #expect(error.command.hasPrefix("\(Scratch.defaultExecutable) init"))
        #expect(error.exitCode == 1)
        #expect(error.stderrTail.contains("Error"))
        #expect(error.logFile != nil)
    }

    @Test func aVariableOfTheWrongTypeFailsThePlan() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "typo")
        try workspace.create()
        let error = try #require(terraformError { try workspace.plan(vars: ["replicas": "many"]) })
        #expect(error.kind == .commandFailed)
        #expect(error.command.hasPrefix("\(Scratch.defaultExecutable) plan"))
        #expect(error.stderrTail.contains("replicas"))
        #expect(error.description.contains("workspace typo"))
        // Neither a plan file nor a variable file is left behind.
        for folder in ["plans", "tmp"] {
            let left = (try? FileManager.default.contentsOfDirectory(atPath: scratch.furrowDirectory + "/" + folder)) ?? []
            #expect(left.isEmpty, "left in \(folder): \(left)")
        }
    }

    @Test func aLockedStateIsReportedAndInterruptReleasesIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("slow")
        let terraform = scratch.terraform()
        let workspace = terraform.workspace(directory, "locked")
        try workspace.create()

        let slowApply = LockedBox<TerraformError?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            slowApply.update { $0 = terraformError { try workspace.apply(vars: ["sleep_seconds": 60]) } }
            finished.signal()
        }.start()

        let lockInfo = directory + "/terraform.tfstate.d/locked/.terraform.tfstate.lock.info"
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: lockInfo) && ContinuousClock.now < deadline { usleep(100_000) }
        try #require(FileManager.default.fileExists(atPath: lockInfo), "the slow apply never took the lock")

        let locked = try #require(terraformError { try workspace.plan(vars: ["sleep_seconds": 1]) })
        #expect(locked.kind == .stateLocked)
        #expect(locked.description.contains("workspace locked"))
        #expect(locked.stderrTail.contains("Error acquiring the state lock"))

        let started = Date()
        terraform.interruptAll()
        #expect(finished.wait(timeout: .now() + 40) == .success)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(slowApply.value?.kind == .interrupted)

        // The state is usable again: the lock is gone and an apply goes through.
        try workspace.apply(vars: ["sleep_seconds": 0])
        #expect(try workspace.outputs()["slept"]?.value == .int(0))
    }

    @Test func aTimedOutApplyIsInterruptedAndTheNextRunWorks() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("slow")
        let workspace = scratch.terraform(interruptGrace: .seconds(25)).workspace(directory, "patient")
        try workspace.create()

        let started = Date()
        let error = try #require(terraformError { try workspace.apply(vars: ["sleep_seconds": 30], timeout: .seconds(3)) })
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(error.kind == .timedOut)
        #expect(error.exitCode != nil)  // terraform stopped by itself after the interrupt
        #expect(error.command.hasPrefix("\(Scratch.defaultExecutable) apply"))
        #expect(error.workspace == "patient")

        try workspace.apply(vars: ["sleep_seconds": 0])
        #expect(try workspace.stateList() == ["terraform_data.slow"])
        #expect(try workspace.outputs()["slept"]?.value == .int(0))
    }

    @Test func aKilledApplyLeavesAUsableState() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("slow")
        let workspace = scratch.terraform(interruptGrace: .zero).workspace(directory, "killed")
        try workspace.create()

        let error = try #require(terraformError { try workspace.apply(vars: ["sleep_seconds": 30], timeout: .seconds(3)) })
        #expect(error.kind == .timedOut)
        #expect(error.description.contains("killed by signal 9"))
        #expect(error.exitCode == nil)

        try workspace.apply(vars: ["sleep_seconds": 0])
        #expect(try workspace.outputs()["slept"]?.value == .int(0))
    }
}
