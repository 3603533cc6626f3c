import Foundation
import FurrowJSON
import Testing
@testable import FurrowTerraform

@Suite struct ConcurrencyTests {
    @Test func twoWorkspacesOfOneDirectoryPlanAndApplyInParallel() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()
        let names = ["left", "right"]

        let results = concurrently(names.count) { index -> String? in
            let workspace = terraform.workspace(directory, names[index])
            do throws(TerraformError) {
                try workspace.selectOrCreate()
                let plan = try workspace.plan(vars: ["name": .string(names[index]), "services": ["api", "web"]])
                guard plan.add == 4 else { return "\(names[index]): planned \(plan.add) additions" }
                try workspace.apply(plan)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(results == [nil, nil])
        for name in names {
            let outputs = try terraform.workspace(directory, name).outputs()
            #expect(outputs["endpoints"]?.value["api"] == .string("api.\(name).example.test"))
        }
        #expect(scratch.logs(containing: "-init-").count == 1)
    }

    @Test func initRunsOncePerDirectoryUnderConcurrency() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()

        let results = concurrently(4) { index -> String? in
            do throws(TerraformError) {
                try terraform.workspace(directory, "ws\(index)").create()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(results == [nil, nil, nil, nil])
        #expect(scratch.logs(containing: "-init-").count == 1)
        #expect(try terraform.workspaces(directory).sorted() == ["default", "ws0", "ws1", "ws2", "ws3"])

        // A second Terraform instance (another process, in effect) initialises again, once.
        let other = scratch.terraform()
        _ = concurrently(3) { _ in try? other.workspaces(directory) }
        #expect(scratch.logs(containing: "-init-").count == 2)
    }
}
