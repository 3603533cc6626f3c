import Foundation
import FurrowTestSupport
import Testing

/// Workspaces on an S3 backend served by the local AWS-compatible server: terraform keeps
/// each workspace's state at `env:/<workspace>/<key>` and locks with a lock file.
@Suite struct S3BackendTests {
    @Test func workspaceStateLandsUnderItsPrefix() throws {
        let server = try LocalAWSServer()
        defer { server.stop() }
        let scratch = try makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }

        let created = try python("""
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            s3.create_bucket(Bucket="furrow-state")
            print("created")
            """, server: server)
        #expect(created == "created\n")

        try writeConfiguration(in: scratch, server: server, """
            variable "tyk" { type = string }
            resource "terraform_data" "app" { input = var.tyk }
            output "tyk" { value = terraform_data.app.output }
            """)

        let script = """
            tf.init("devenv", backend_config: {bucket: "furrow-state", key: "devenv/terraform.tfstate"})
            let ws = tf.workspace("devenv", "feat-x")
            print(ws.select_or_create())
            ws.apply(vars: {tyk: "sha-1a2b"})
            print(ws.outputs().tyk)
            print(tf.workspaces("devenv"))
            """
        try script.write(to: scratch.appendingPathComponent("s3.furrow"), atomically: true, encoding: .utf8)
        let result = try runFurrow(["run", "s3.furrow"], in: scratch, environment: server.clientEnvironment)
        #expect(result.status == 0, "stderr:\n\(result.stderr)")
        #expect(result.stdout == "true\nsha-1a2b\n[\"default\", \"feat-x\"]\n")

        let keys = try python("""
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            for item in s3.list_objects_v2(Bucket="furrow-state").get("Contents", []):
                print(item["Key"])
            """, server: server)
        #expect(keys == "env:/feat-x/devenv/terraform.tfstate\n", "objects in the bucket:\n\(keys)")
    }

    @Test func twoAppliesOfOneWorkspaceAreSerialisedByTheLock() throws {
        let server = try LocalAWSServer()
        defer { server.stop() }
        let scratch = try makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        _ = try python("""
            import boto3, sys
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket="furrow-state")
            """, server: server)
        try writeConfiguration(in: scratch, server: server, """
            variable "tyk" { type = string }
            resource "terraform_data" "app" {
              input = var.tyk
              provisioner "local-exec" { command = "sleep 3" }
            }
            """)
        try """
            tf.init("devenv", backend_config: {bucket: "furrow-state", key: "devenv/terraform.tfstate"})
            tf.workspace("devenv", "feat-x").select_or_create()
            """.write(to: scratch.appendingPathComponent("setup.furrow"), atomically: true, encoding: .utf8)
        let setup = try runFurrow(["run", "setup.furrow"], in: scratch, environment: server.clientEnvironment)
        #expect(setup.status == 0, "stderr:\n\(setup.stderr)")
        try """
            tf.init("devenv", backend_config: {bucket: "furrow-state", key: "devenv/terraform.tfstate"})
            tf.workspace("devenv", "feat-x").apply(vars: {tyk: args[0]})
            print("applied")
            """.write(to: scratch.appendingPathComponent("apply.furrow"), atomically: true, encoding: .utf8)
        // The second apply starts once the first holds the lock object in the bucket, so the
        // two runs meet at the state lock (and not, say, in terraform's own init).
        let overrides = ["TF_CLI_CONFIG_FILE": scratch.appendingPathComponent("tfrc").path].merging(server.clientEnvironment) { _, new in new }
        let started = Date()
        let first = try FurrowProcess(["run", "apply.furrow", "--", "v0"], directory: scratch, environment: overrides)
        var locked = false
        while !locked, Date().timeIntervalSince(started) < 60 {
            locked = try python("""
                import boto3, sys
                s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
                print(any(o["Key"].endswith(".tflock") for o in s3.list_objects_v2(Bucket="furrow-state").get("Contents", [])))
                """, server: server) == "True\n"
        }
        #expect(locked, "the first apply never took the lock")
        let second = try runFurrow(["run", "apply.furrow", "--", "v1"], in: scratch, environment: server.clientEnvironment)
        let firstResult = first.wait()
        let elapsed = Date().timeIntervalSince(started)
        #expect(firstResult.status == 0, "stderr:\n\(firstResult.stderr)")
        // Either the second apply is refused because the first holds the lock, or it waited
        // for it: never both running at once.
        if second.status == 0 {
            #expect(elapsed >= 5.5, "both applies succeeded in \(elapsed) s: they overlapped")
        } else {
            #expect(second.stderr.lowercased().contains("lock"), "\(second.stderr)")
        }
    }

    /// `devenv/main.tf`: an S3 backend on the local server (path-style, lock file, no AWS
    /// account checks) followed by `resources`.
    private func writeConfiguration(in scratch: URL, server: LocalAWSServer, _ resources: String) throws {
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("devenv"), withIntermediateDirectories: true)
        try (server.terraformS3Backend() + resources).write(to: scratch.appendingPathComponent("devenv/main.tf"), atomically: true, encoding: .utf8)
    }

    /// Runs a small python program with the server's endpoint as its argument.
    private func python(_ program: String, server: LocalAWSServer) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", program, server.endpoint.absoluteString]
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
