import Foundation
import FurrowLibrary
import FurrowRuntime
import FurrowTestSupport
import Testing

/// Every builtin marked `.mutates` changes nothing under `--dry-run`: files, the state table,
/// the DNS zone, terraform workspaces and their state, and no child process runs.
@Suite struct PlanModeTests {
    /// One call of each mutating builtin, by the name `mutatingBuiltins` gives it. The
    /// script defines `ws` (workspace `w` of `tf/`, applied), `t` (state table PlanTable),
    /// `z` (the local DNS zone) and `env` (examples' dev environment with a link missing).
    static let calls: [String: String] = [
        "os.exec": #"os.exec(["touch", "ran.txt"])"#,
        "os.write": #"os.write("file.txt", "after")"#,
        "os.remove": #"os.remove("file.txt")"#,
        "state.table": #"state.table("PlanNewTable")"#,
        "state.lock": #"state.lock("plan-lease", ttl: 1m) { 1 }"#,
        "state.try_lock": #"state.try_lock("plan-lease", ttl: 1m) { 1 }"#,
        "state.claim": #"state.claim("plan-claim", ttl: 1m) { 1 }"#,
        "state.unlock": #"state.unlock("plan-lease", force: true)"#,
        // nothing listens on port 9: a request that is sent fails the script
        "http.post": #"http.post("http://127.0.0.1:9/builds", json: {a: 1}, retries: 0)"#,
        "http.put": #"http.put("http://127.0.0.1:9/builds/1", json: {a: 1}, retries: 0)"#,
        "http.delete": #"http.delete("http://127.0.0.1:9/builds/1", retries: 0)"#,
        "http.request": #"http.request("PATCH", "http://127.0.0.1:9/builds/1", json: {a: 1}, retries: 0)"#,
        "state.table.put": #"t.put({name: "b", state: "new"})"#,
        "state.table.update": #"t.update("a", {state: "gone"})"#,
        "state.table.delete": #"t.delete("a")"#,
        "workspace.create": #"tf.workspace("tf", "other").create()"#,
        "workspace.select_or_create": #"tf.workspace("tf", "other").select_or_create()"#,
        "workspace.delete": "ws.delete(force: true)",
        "workspace.apply": "ws.apply(vars: {n: 2})\nws.apply(ws.plan(vars: {n: 3}))",
        "workspace.destroy": "ws.destroy(vars: {n: 1})",
        "dns_zone.upsert": #"z.upsert("new", "A", ["10.0.0.2"])"#,
        "dns_zone.delete": #"z.delete("kept", "A")"#,
        "dns_zone.sync": #"z.sync([{name: "synced", type: "A", values: ["10.0.0.3"]}], owner: "plan-test")"#,
        "environment.link": "env.link(force: true)",
        "environment.apply": "env.apply()",
        "environment.destroy": "env.destroy()",
        "stack.apply": #"env.stack("kafka").apply()"#,
        "stack.destroy": #"env.stack("kafka").destroy()"#,
    ]

    static let definitions = """
        let ws = tf.workspace("tf", "w")
        let t = state.table("PlanTable")
        let z = dns.zone()
        let env = environment("envs/el-b2c-environment-dev")
        """

    /// What the world looks like, read without plan mode.
    static let observe = """
        let ws = tf.workspace("tf", "w")
        print(tf.workspaces("tf"), ws.state_list(), ws.outputs())
        print(state.tables() | map .name)
        print(state.table("PlanTable").scan() | map "${.name}:${.state}")
        print(dns.zone().records() | map "${.name} ${.type} ${.values}")
        print(state.try_lock("plan-lease", ttl: 1s) { "lease free" })
        """

    /// Every builtin function, namespace member and host method marked `.mutates`, by name
    /// (`os.write`, `workspace.apply`): found from the interpreter and one object of each
    /// host type, so a new mutating builtin cannot be missed here.
    static func mutatingBuiltins(scratch: URL) throws -> Set<String> {
        var options = RunOptions()
        options.dryRun = true
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let configuration = try Configuration.load(environment: ["FURROW_STATE_PATH": scratch.appendingPathComponent("enumerate.db").path])
        let interpreter = Library.makeInterpreter(options: options, configuration: configuration)
        var names: Set<String> = []
        func visit(_ name: String, _ value: Value) {
            if case .function(let function as NativeFunction) = value, function.effect == .mutates { names.insert(name) }
            if case .host(let namespace as Namespace) = value {
                for (member, value) in namespace.members { visit("\(name).\(member)", value) }
            }
        }
        for (name, value) in interpreter.builtins { visit(name, value) }
        let root = Paths.root.path
        let session = interpreter.makeSession()
        let objects = try session.evaluate("""
            let e = environment("\(root)/examples/envs/el-b2c-environment-prod")
            let t = state.table("Enumerate")
            [tf.workspace("\(scratch.path)/tf", "w"), t, t.scan(), dns.zone(), e, e.stacks[0], e.secret("kafka_admin_password")]
            """)
        guard case .list(let values)? = objects else { throw PlanModeError(message: "no objects: \(String(describing: objects))") }
        for case .host(let object) in values {
            for member in object.memberNames {
                if case .function(let function as NativeFunction)? = try? object.member(member, fiber: interpreter.fiber),
                    function.effect == .mutates
                {
                    names.insert("\(object.typeName).\(member)")
                }
            }
        }
        for type in interpreter.hostTypes {
            for member in type.members where member.effect == .mutates { names.insert("\(type.name).\(member.name)") }
        }
        return names
    }

    @Test func everyMutatingBuiltinChangesNothingUnderDryRun() throws {
        let scratch = try makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let enumeration = scratch.appendingPathComponent(".furrow")
        #expect(try Self.mutatingBuiltins(scratch: enumeration) == Set(Self.calls.keys))

        let setup = try run("""
            os.write("tf/main.tf", "variable \\"n\\" {\\n  type = number\\n}\\nresource \\"terraform_data\\" \\"x\\" {\\n  input = var.n\\n}\\noutput \\"n\\" {\\n  value = terraform_data.x.output\\n}\\n")
            let ws = tf.workspace("tf", "w")
            ws.select_or_create()
            ws.apply(vars: {n: 1})
            state.table("PlanTable").put({name: "a", state: "new"})
            dns.zone().upsert("kept", "A", ["10.0.0.1"])
            os.write("file.txt", "before")
            os.remove("envs/el-b2c-environment-dev/kafka/backend.tf")
            """, in: scratch)
        #expect(setup.status == 0, "\(setup.stderr)")
        let before = try run(Self.observe, in: scratch)
        let filesBefore = try snapshot(scratch)

        let script = Self.definitions + "\n" + Self.calls.keys.sorted().map { "\(Self.calls[$0]!)\nprint(\"called \($0)\")" }.joined(separator: "\n")
        let planned = try run(script, in: scratch, arguments: ["--dry-run"])
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.lines.filter { $0.hasPrefix("called ") } == Self.calls.keys.sorted().map { "called \($0)" }, "\(planned.stdout)\n\(planned.stderr)")
        #expect(planned.stderr.contains("dry-run: would"))

        let after = try run(Self.observe, in: scratch)
        #expect(before.status == 0 && after.status == 0, "\(before.stderr)\n\(after.stderr)")
        #expect(after.stdout == before.stdout)
        #expect(before.stdout.contains("kept A") && before.stdout.contains("a:new") && before.stdout.contains("lease free"), "\(before.stdout)")
        let filesAfter = try snapshot(scratch)
        let changed = Set(filesAfter.keys).union(filesBefore.keys).filter { filesAfter[$0] != filesBefore[$0] }
        #expect(changed.isEmpty, "files changed under --dry-run: \(changed.sorted())")
    }

    struct PlanModeError: Error { let message: String }

    private func makeScratch() throws -> URL {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("tf"), withIntermediateDirectories: true)
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-R", Paths.root.appendingPathComponent("examples/envs").path, scratch.appendingPathComponent("envs").path]
        try copy.run()
        copy.waitUntilExit()
        #expect(copy.terminationStatus == 0)
        #expect(FileManager.default.createFile(atPath: scratch.appendingPathComponent("tfrc").path, contents: Data()))
        return scratch
    }

    private func run(_ source: String, in scratch: URL, arguments: [String] = []) throws -> FurrowRunResult {
        let file = scratch.appendingPathComponent("script-\(UUID().uuidString).furrow")
        try source.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try FurrowProcess.run(
            ["run", file.path] + arguments, directory: scratch,
            environment: ["TF_CLI_CONFIG_FILE": scratch.appendingPathComponent("tfrc").path])
    }

    /// Every file and link under `root` with its content or target. Left out: the state
    /// database (compared through reads), terraform's working directories (`.terraform`,
    /// which even a plan prepares) and `.furrow` (run logs and plan files).
    private func snapshot(_ root: URL) throws -> [String: String] {
        var files: [String: String] = [:]
        let manager = FileManager.default
        for case let relative as String in manager.enumerator(atPath: root.path)! {
            let parts = relative.split(separator: "/")
            if parts.contains(".terraform") || parts.contains(".furrow") || relative.hasPrefix("script-") { continue }
            let path = root.appendingPathComponent(relative).path
            if let target = try? manager.destinationOfSymbolicLink(atPath: path) {
                files[relative] = "-> " + target
            } else if let data = manager.contents(atPath: path) {
                files[relative] = String(decoding: data, as: UTF8.self)
            }
        }
        return files
    }
}
