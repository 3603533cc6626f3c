import Foundation
import FurrowEnvironment
import FurrowJSON
import Testing

/// The environment model on directories written by the tests: no interpreter, no terraform.
@Suite struct EnvironmentModelTests {
    /// An environment `env` with stacks `db` and `web`; `web` declares `password` sensitive.
    private func makeEnvironment() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-envmodel-\(UUID().uuidString)/env")
        let files = [
            ".variables/stacks": "# precedence\ndb\nweb   # the front end\n",
            ".variables/terraform.tfvars": "replicas = 2\npassword = \"hunter2\"\n",
            ".variables/backend-db.tf": "terraform {\n  backend \"local\" {\n    path = \"db.tfstate\"\n  }\n}\n",
            ".variables/backend-web.tf": "terraform {\n  backend \"local\" {}\n}\n",
            ".secrets/token": "t0ken\n",
            "db/main.tf": "variable \"replicas\" {\n  type = number\n}\n",
            "web/main.tf": "variable \"password\" {\n  type      = string\n  sensitive = true\n}\n",
        ]
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func readsTheStackListInPrecedenceOrder() throws {
        let environment = try Environment(path: try makeEnvironment().path + "/")
        #expect(environment.name == "env")
        #expect(environment.stackNames == ["db", "web"])
        #expect(environment.secretNames == ["token"])
        #expect(try environment.secretText("token") == "t0ken\n")
        #expect(try environment.variables() == ["replicas": .int(2), "password": .string("hunter2")])
    }

    @Test func badStackListsAreLayoutErrorsWithTheLine() throws {
        let root = try makeEnvironment()
        let stacks = root.appendingPathComponent(".variables/stacks")
        try "db\n../web\n".write(to: stacks, atomically: true, encoding: .utf8)
        #expect(throws: EnvironmentError.self) { try Environment(path: root.path) }
        do {
            _ = try Environment(path: root.path)
        } catch {
            #expect(error.kind == .layout)
            #expect(error.message.hasSuffix(".variables/stacks:2: '../web' is not a stack directory name"))
        }
        try "db\nweb\ndb\n".write(to: stacks, atomically: true, encoding: .utf8)
        do {
            _ = try Environment(path: root.path)
            Issue.record("a stack listed twice was accepted")
        } catch {
            #expect(error.message.hasSuffix(":3: stack db is listed twice (first at line 1)"))
        }
    }

    @Test func sensitiveVariablesAreThoseAnyStackDeclaresSensitive() throws {
        let environment = try Environment(path: try makeEnvironment().path)
        #expect(environment.sensitiveVariableNames() == ["password"])
    }

    @Test func linkCreatesTheMissingLinksThenCheckFindsNothing() throws {
        let environment = try Environment(path: try makeEnvironment().path)
        #expect(environment.check().contains(LayoutProblem(stack: "db", problem: "db/backend.tf is missing (should link to ../.variables/backend-db.tf)", fix: "environment(...).link()")))
        let changes = environment.linkChanges(force: false)
        #expect(changes.count == 6)
        #expect(changes.allSatisfy { $0.change == .create })
        for change in changes { try environment.makeLink(change) }
        #expect(environment.linkChanges(force: false).isEmpty)
        #expect(environment.check() == [])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: environment.path + "/web/terraform.tfvars") == "../.variables/terraform.tfvars")
    }

    @Test func aRegularFileInALinksPlaceIsReplacedOnlyWithForce() throws {
        let environment = try Environment(path: try makeEnvironment().path)
        try "password = \"local\"\n".write(toFile: environment.path + "/web/terraform.tfvars", atomically: true, encoding: .utf8)
        let skipped = environment.linkChanges(force: false).first { $0.stack == "web" && $0.link == .tfvars }
        #expect(skipped?.change == .skipped(reason: "a regular file is in the way (force: true replaces it)"))
        let forced = try #require(environment.linkChanges(force: true).first { $0.stack == "web" && $0.link == .tfvars })
        #expect(forced.change == .replaceFile)
        try environment.makeLink(forced)
        #expect(StackLink.tfvars.inspect(in: environment.path + "/web", stack: "web") == .correct)
    }

    @Test func runOrderReversesForDestroyAndSelects() throws {
        let environment = try Environment(path: try makeEnvironment().path)
        #expect(try environment.runOrder(destroying: false, only: nil, skip: []).map(\.stack) == ["db", "web"])
        let destroy = try environment.runOrder(destroying: true, only: nil, skip: ["web"])
        #expect(destroy.map(\.stack) == ["web", "db"])
        #expect(destroy.map(\.selected) == [false, true])
        #expect(try environment.runOrder(destroying: false, only: ["web"], skip: []).map(\.selected) == [false, true])
        #expect(throws: EnvironmentError.self) { try environment.runOrder(destroying: false, only: ["cache"], skip: []) }
    }

    @Test func theBackendAndVariablesOfAStack() throws {
        let environment = try Environment(path: try makeEnvironment().path)
        let backend = try environment.stack("db").backend()
        #expect(backend.type == "local")
        #expect(backend.settings["path"] == .string("db.tfstate"))
        #expect(try environment.stack("web").declaredVariables().map(\.name) == ["password"])
        do {
            _ = try environment.stack("cache").declaredVariables()
            Issue.record("a missing stack directory was read")
        } catch {
            #expect(error.kind == .layout)
            #expect(error.message.hasSuffix("cache does not exist"))
        }
    }

    @Test func discoverFindsEnvironmentsButNotInsideThem() throws {
        let root = try makeEnvironment().deletingLastPathComponent()
        #expect(try Environment.discover(under: root.path) == [root.appendingPathComponent("env").path])
        #expect(throws: EnvironmentError.self) { try Environment.discover(under: root.path + "/nowhere") }
    }
}
