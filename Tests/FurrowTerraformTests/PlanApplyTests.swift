import Foundation
import FurrowJSON
import Testing
@testable import FurrowTerraform

@Suite struct PlanApplyTests {
    @Test func plansCountsAndAppliesTheSavedPlan() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "feat-x")
        try workspace.create()

        let first = try workspace.plan(vars: ["services": ["api", "web"]])
        #expect(first.exitCode == 2)
        #expect(first.hasChanges)
        #expect((first.add, first.change, first.destroy, first.replace) == (4, 0, 0, 0))
        #expect(Set(first.changes.map(\.address)) == [
            "terraform_data.credential", "terraform_data.rollout",
            #"terraform_data.service["api"]"#, #"terraform_data.service["web"]"#,
        ])
        #expect(first.changes.allSatisfy { $0.actions == ["create"] && $0.action == "create" })
        #expect(first.outputChanges.map(\.name).contains("endpoints"))
        #expect(FileManager.default.fileExists(atPath: first.planFile))
        #expect(first.json["format_version"] != nil)

        try workspace.apply(first)
        #expect(!FileManager.default.fileExists(atPath: first.planFile))
        #expect(try workspace.stateList().count == 4)
        let reapplied = terraformError { try workspace.apply(first) }
        #expect(reapplied?.kind == .invalidPlan)

        let unchanged = try workspace.plan(vars: ["services": ["api", "web"]])
        #expect(unchanged.exitCode == 0)
        #expect(!unchanged.hasChanges)
        #expect(unchanged.changes.isEmpty)
        workspace.discard(unchanged)
        #expect(!FileManager.default.fileExists(atPath: unchanged.planFile))

        // web goes away, api changes in place, the rollout is replaced.
        let next = try workspace.plan(vars: ["services": ["api"], "replicas": 3, "generation": 2])
        #expect(next.hasChanges)
        #expect((next.add, next.change, next.destroy, next.replace) == (1, 1, 2, 1))
        let actions = Dictionary(uniqueKeysWithValues: next.changes.map { ($0.address, $0.action) })
        #expect(actions == [
            #"terraform_data.service["api"]"#: "update",
            #"terraform_data.service["web"]"#: "delete",
            "terraform_data.rollout": "replace",
        ])
        try workspace.apply(next)
        #expect(try workspace.stateList().count == 3)
    }

    @Test func aPlanAppliesOnlyToItsOwnWorkspace() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()
        let blue = terraform.workspace(directory, "blue")
        let green = terraform.workspace(directory, "green")
        try blue.create()
        try green.create()
        let plan = try blue.plan()
        let error = terraformError { try green.apply(plan) }
        #expect(error?.kind == .invalidPlan)
        #expect(try green.stateList().isEmpty)
    }

    @Test func variablesKeepTheirTypesThroughTfvarsJSON() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "typed")
        try workspace.create()

        try workspace.apply(vars: [
            "name": "typed",
            "replicas": 3,
            "public": true,
            "services": ["api", "dashboard"],
            "tags": ["team": "core", "cost-centre": "42"],
        ])
        let outputs = try workspace.outputs()
        #expect(outputs["replicas"]?.value == .int(3))
        #expect(outputs["public"]?.value == .bool(true))
        #expect(outputs["tags"]?.value == ["cost-centre": "42", "team": "core"])
        #expect(outputs["endpoints"]?.value == [
            "api": "api.typed.example.test", "dashboard": "dashboard.typed.example.test",
        ])
        #expect(outputs["endpoints"]?.type == ["object", ["api": "string", "dashboard": "string"]])
        #expect(outputs["replicas"]?.type == "number")
        #expect(outputs["endpoints"]?.sensitive == false)

        // The generated variable file is gone.
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: scratch.furrowDirectory + "/tmp")) ?? []
        #expect(leftovers.isEmpty)
    }

    @Test func outputsFlagSensitiveValuesAndLogsNeverHoldThem() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "secretive")
        try workspace.create()
        try workspace.apply(vars: ["name": "secretive"])

        let outputs = try workspace.outputs()
        #expect(outputs["token"]?.sensitive == true)
        #expect(outputs["token"]?.value == "s3cr3t-secretive")
        #expect(outputs["replicas"]?.sensitive == false)

        let resources = try workspace.resources()
        let credential = try #require(resources.first { $0.address == "terraform_data.credential" })
        #expect(credential.values["input"] == TerraformResource.redactedValue)

        let logs = scratch.logs()
        #expect(logs.count >= 4)
        for log in logs {
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(!text.contains("s3cr3t"), "secret value in \(log)")
        }
    }

    @Test func resourcesAndStateListDescribeTheState() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "described")
        try workspace.create()
        #expect(try workspace.resources().isEmpty)
        #expect(try workspace.stateList().isEmpty)

        try workspace.apply(vars: ["services": ["api"], "replicas": 2])
        let resources = try workspace.resources()
        #expect(resources.map(\.address).sorted() == [
            "terraform_data.credential", "terraform_data.rollout", #"terraform_data.service["api"]"#,
        ])
        let service = try #require(resources.first { $0.name == "service" })
        #expect(service.type == "terraform_data")
        #expect(service.mode == "managed")
        #expect(service.index == "api")
        #expect(service.module == nil)
        #expect(service.provider == "terraform.io/builtin/terraform")
        #expect(service.values["input"]?["replicas"] == .int(2))
        #expect(try workspace.stateList().sorted() == resources.map(\.address).sorted())
    }

    @Test func destroyEmptiesTheWorkspaceAndDestroyPlansCountRight() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "doomed")
        try workspace.create()

        // A destroy plan of an empty workspace: nothing to do, whatever the exit code says.
        let nothing = try workspace.plan(destroy: true)
        #expect(!nothing.hasChanges)
        #expect(nothing.changes.isEmpty)
        #expect(nothing.isDestroy)

        try workspace.apply()
        let destroyPlan = try workspace.plan(destroy: true)
        #expect(destroyPlan.hasChanges)
        #expect((destroyPlan.add, destroyPlan.change, destroyPlan.destroy) == (0, 0, 3))
        workspace.discard(destroyPlan)

        try workspace.destroy()
        #expect(try workspace.stateList().isEmpty)
        #expect(try workspace.outputs().isEmpty)
        try workspace.delete()
    }

    @Test func outputOnlyChangesAreChanges() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "outputs")
        try workspace.create()
        try workspace.apply()
        let plan = try workspace.plan(vars: ["banner_width": 12])
        #expect(plan.hasChanges)
        #expect(plan.changes.isEmpty)
        #expect(plan.outputChanges == [TerraformOutputChange(name: "banner", actions: ["update"])])
    }

    @Test func largeOutputDoesNotDeadlock() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "large")
        try workspace.create()
        let run = try workspace.apply(vars: ["banner_width": 300_000])
        #expect(run.stdout.count > 300_000)
        let banner = try workspace.outputs()["banner"]?.value.stringValue
        #expect(banner?.count == 300_000)
    }

    @Test func targetsAndVarFilesReachTerraform() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        try #"{"replicas": 5}"#.write(toFile: directory + "/five.tfvars.json", atomically: true, encoding: .utf8)
        let workspace = scratch.terraform().workspace(directory, "targeted")
        try workspace.create()
        let plan = try workspace.plan(varFiles: ["five.tfvars.json"], targets: ["terraform_data.rollout"])
        #expect(plan.changes.map(\.address) == ["terraform_data.rollout"])
        try workspace.apply(plan)
        #expect(try workspace.stateList() == ["terraform_data.rollout"])
        try workspace.apply(varFiles: ["five.tfvars.json"])
        #expect(try workspace.outputs()["replicas"]?.value == .int(5))
    }

    @Test func everyRunLeavesALog() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let workspace = scratch.terraform().workspace(directory, "logged")
        try workspace.create()
        let run = try workspace.apply()
        let text = try String(contentsOfFile: run.logFile, encoding: .utf8)
        #expect(run.logFile.hasPrefix(scratch.furrowDirectory + "/logs/"))
        #expect(run.logFile.contains("-logged-apply-"))
        #expect(text.contains("# directory: \(directory)"))
        #expect(text.contains("# workspace: logged"))
        #expect(text.contains("Apply complete!"))
        #expect(text.contains("exit code 0"))
        #expect(scratch.logs(containing: "-init-").count == 1)
    }

    @Test func reportsTheTerraformVersion() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let version = try scratch.terraform().version()
        #expect(version.split(separator: ".").count == 3)
    }
}
