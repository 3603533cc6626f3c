import Foundation
import FurrowJSON
import Testing
@testable import FurrowTerraform

@Suite struct WorkspaceTests {
    @Test func createsListsAndDeletesWorkspaces() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()

        #expect(try terraform.workspaces(directory) == ["default"])
        let blue = terraform.workspace(directory, "blue")
        #expect(try blue.exists() == false)
        try blue.create()
        #expect(try blue.exists())
        #expect(try blue.selectOrCreate() == false)
        #expect(try terraform.workspace(directory, "green").selectOrCreate() == true)
        #expect(try terraform.workspaces(directory).sorted() == ["blue", "default", "green"])
        // A fresh instance knows nothing yet and still finds the existing workspace.
        #expect(try scratch.terraform().workspace(directory, "green").selectOrCreate() == false)

        let again = terraformError { try blue.create() }
        #expect(again?.kind == .commandFailed)
        #expect(again?.stderrTail.contains("already exists") == true)

        try blue.delete()
        #expect(try blue.exists() == false)
        #expect(try terraform.workspaces(directory).sorted() == ["default", "green"])
    }

    @Test func refusesToDeleteDefaultOrNonEmptyWorkspaces() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()

        let defaultError = terraformError { try terraform.workspace(directory, "default").delete(force: true) }
        #expect(defaultError?.kind == .defaultWorkspace)

        let busy = terraform.workspace(directory, "busy")
        try busy.create()
        try busy.apply()
        let refusal = terraformError { try busy.delete() }
        #expect(refusal?.kind == .workspaceNotEmpty)
        #expect(refusal?.description.contains("terraform_data.rollout") == true)
        #expect(try busy.exists())

        try busy.delete(force: true)
        #expect(try busy.exists() == false)

        let missing = terraformError { try terraform.workspace(directory, "never-made").delete() }
        #expect(missing?.kind == .workspaceNotFound)
    }

    @Test func commandsOnAMissingWorkspaceFailInsteadOfCreatingIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try scratch.fixture("basic")
        let terraform = scratch.terraform()

        let ghost = terraform.workspace(directory, "ghost")
        let error = terraformError { try ghost.plan() }
        #expect(error?.kind == .workspaceNotFound)
        #expect(error?.workspace == "ghost")
        #expect(error?.description.contains(directory) == true)
        #expect(try terraform.workspaces(directory) == ["default"])

        let badName = terraformError { try terraform.workspace(directory, "a/b").create() }
        #expect(badName?.kind == .invalidWorkspaceName)
    }

    @Test func parsesWorkspaceListWithOverrideNote() {
        let output = """
        * default
          feat-x
          qa

        The active workspace is being overridden using the TF_WORKSPACE environment
        variable.

        """
        #expect(Terraform.parseWorkspaceList(output) == ["default", "feat-x", "qa"])
    }
}
