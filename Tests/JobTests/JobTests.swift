import Foundation
import FurrowAWS
import FurrowJSON
import FurrowTestSupport
import Testing

/// The jobs end to end, as cron runs them: real `furrow` processes, the real terraform on
/// the devenv configuration, the embedded SQLite state table and local DNS zone, in a
/// scratch directory per test. Environments named `broken-*` fail to apply and `slow-*`
/// take 15 s (conventions of examples/devenv).
final class JobWorld {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-R", JobWorld.root.appendingPathComponent("examples/devenv").path, directory.appendingPathComponent("devenv").path]
        try copy.run()
        copy.waitUntilExit()
        try Data().write(to: directory.appendingPathComponent("terraform.rc"))
        try """
            [terraform]
            dir = "devenv"

            [dns]
            zone = "dev.example.com"

            [jobs]
            table = "DeveloperEnvironments"
            repos = ["tyk", "tyk-analytics", "tyk-pump"]
            domain = "dev.example.com"
            noprocess = "\(directory.path)/noprocess"
            extra_vars = { base = "base-test", infra = "infra-test" }
            """.write(to: directory.appendingPathComponent("furrow.toml"), atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Extra environment for every run (a local AWS server, configuration overrides).
    var environment: [String: String] = [:]

    var runEnvironment: [String: String] {
        ["TF_CLI_CONFIG_FILE": directory.appendingPathComponent("terraform.rc").path].merging(environment) { _, new in new }
    }

    /// A process for runs a test starts, kills or reads itself.
    func process(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = FurrowProcess.binary
        process.arguments = arguments
        process.environment = FurrowProcess.environment(runEnvironment)
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        return process
    }

    @discardableResult
    func run(_ arguments: String...) throws -> FurrowRunResult { try run(arguments) }

    func run(_ arguments: [String]) throws -> FurrowRunResult {
        try FurrowProcess.run(arguments, directory: directory, environment: runEnvironment)
    }

    /// The value of a Furrow expression, as JSON text.
    func query(_ expression: String) throws -> String {
        let r = try run(["-c", "print(json.encode(\(expression)))"])
        #expect(r.status == 0, "query failed: \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func state(_ name: String) throws -> String {
        try query("(state.table(\"DeveloperEnvironments\").get(\"\(name)\") ?? {}).state ?? \"absent\"").replacingOccurrences(of: "\"", with: "")
    }

    func field(_ name: String, _ field: String) throws -> String {
        try query("(state.table(\"DeveloperEnvironments\").get(\"\(name)\") ?? {})[\"\(field)\"]").replacingOccurrences(of: "\"", with: "")
    }

    func newbuild(_ name: String, repo: String = "tyk", sha: String = "sha-1") throws {
        let r = try run("run", "std/newbuild", "--repo", repo, "--ref", "refs/heads/\(name)", "--sha", sha)
        #expect(r.status == 0, "newbuild failed: \(r.stderr)")
    }

    /// Table rows and zone records, to compare before and after a run that must change nothing.
    func snapshot() throws -> String {
        try query("[state.table(\"DeveloperEnvironments\").scan() | sort_by .name, dns.zone(\"dev.example.com\").records() | sort_by .name]")
    }

    func waitFor(_ timeout: TimeInterval = 30, _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        Issue.record("condition not reached in \(timeout) s")
    }
}

@Suite(.serialized) struct JobTests {
    @Test func fullCycleOnTheEmbeddedDefaults() throws {
        let world = try JobWorld()
        try world.newbuild("feat-a", repo: "tyk", sha: "aaa111")
        try world.newbuild("release-3.1.0", repo: "tyk-pump", sha: "bbb222")
        #expect(try world.state("feat-a") == "new")
        #expect(try world.field("release-310", "tyk-pump") == "bbb222")
        #expect(try world.field("release-310", "tyk") == "master")

        let sow = try world.run("run", "std/sow", "--parallel", "2")
        #expect(sow.status == 0, "sow: \(sow.stdout)\n\(sow.stderr)")
        #expect(sow.stdout.contains("deployed"))
        #expect(try world.state("feat-a") == "deployed")
        #expect(try world.state("release-310") == "deployed")

        let dns = try world.run("run", "std/chitragupta")
        #expect(dns.status == 0, "chitragupta: \(dns.stdout)\n\(dns.stderr)")
        let records = try world.query("dns.zone(\"dev.example.com\").records() | where .type == \"A\" | map .name | sorted")
        #expect(records.contains("tyk.feat-a"), "records: \(records)")
        #expect(records.contains("tyk-analytics.release-310"))

        try world.run("run", "std/newbuild", "--delete", "feat-a")
        #expect(try world.state("feat-a") == "deleted")
        let reapWithoutYes = try world.run("run", "std/reap")
        #expect(reapWithoutYes.status == 0)
        #expect(reapWithoutYes.stdout.contains("--yes"))
        #expect(try world.state("feat-a") == "deleted", "reap without --yes changes nothing")

        let reap = try world.run("run", "std/reap", "--yes")
        #expect(reap.status == 0, "reap: \(reap.stdout)\n\(reap.stderr)")
        #expect(try world.state("feat-a") == "absent")
        #expect(try world.query("tf.workspaces(\"devenv\")").contains("feat-a") == false)
        let after = try world.query("dns.zone(\"dev.example.com\").records() | map .name")
        #expect(!after.contains("feat-a"), "reaped environment's records are gone: \(after)")
        #expect(after.contains("tyk.release-310"))
    }

    @Test func oneFailedApplyDoesNotStopTheOthersAndIsRetriedAfterBackoff() throws {
        let world = try JobWorld()
        try world.newbuild("feat-ok")
        try world.newbuild("broken-one")
        let sow = try world.run("run", "std/sow")
        #expect(sow.status == 1, "a failed environment makes the run fail")
        #expect(try world.state("feat-ok") == "deployed")
        #expect(try world.state("broken-one") == "failed")
        #expect(try world.field("broken-one", "attempts") == "1")
        #expect(try world.field("broken-one", "error").contains("asked to fail"))
        // not yet due: the next run leaves it alone
        let again = try world.run("run", "std/sow")
        #expect(again.status == 0)
        #expect(try world.field("broken-one", "attempts") == "1")
        // once its retry time has passed it is tried again
        try world.run("-c", "state.table(\"DeveloperEnvironments\").update(\"broken-one\", {retry_at: now() - 1m})")
        let retry = try world.run("run", "std/sow")
        #expect(retry.status == 1)
        #expect(try world.field("broken-one", "attempts") == "2")
    }

    @Test func aBuildDuringAnApplyIsNotOverwritten() throws {
        let world = try JobWorld()
        try world.newbuild("slow-a", sha: "first")
        let sow = world.process(["run", "std/sow"])
        sow.standardOutput = FileHandle.nullDevice
        sow.standardError = FileHandle.nullDevice
        try sow.run()
        try world.waitFor { try world.state("slow-a") == "deploying" }
        try world.newbuild("slow-a", sha: "second")
        sow.waitUntilExit()
        #expect(try world.state("slow-a") == "new", "the newer build is left for the next run")
        #expect(try world.field("slow-a", "tyk") == "second")
        let next = try world.run("run", "std/sow")
        #expect(next.status == 0)
        #expect(try world.state("slow-a") == "deployed")
        #expect(try world.query("state.table(\"DeveloperEnvironments\").get(\"slow-a\").applied.tyk") == "\"second\"")
    }

    @Test func aKilledSowIsRecoveredByTheNextRun() throws {
        let world = try JobWorld()
        try world.newbuild("slow-k")
        try world.newbuild("feat-k")
        let sow = world.process(["run", "std/sow", "--claim-ttl", "2s"])
        sow.standardOutput = FileHandle.nullDevice
        sow.standardError = FileHandle.nullDevice
        try sow.run()
        try world.waitFor { try world.state("slow-k") == "deploying" }
        kill(sow.processIdentifier, SIGKILL)
        sow.waitUntilExit()
        sleep(3)
        try world.waitFor(60) {
            let r = try world.run("run", "std/sow", "--claim-ttl", "2s")
            return r.status == 0
        }
        #expect(try world.state("slow-k") == "deployed")
        #expect(try world.state("feat-k") == "deployed")
    }

    @Test func twoSowsStartedTogetherApplyEachEnvironmentOnce() throws {
        let world = try JobWorld()
        for name in ["feat-p", "feat-q", "feat-r"] { try world.newbuild(name) }
        let first = world.process(["run", "std/sow"]), second = world.process(["run", "std/sow"])
        let out1 = Pipe(), out2 = Pipe()
        first.standardOutput = out1
        second.standardOutput = out2
        first.standardError = FileHandle.nullDevice
        second.standardError = FileHandle.nullDevice
        try first.run()
        try second.run()
        let text = String(decoding: out1.fileHandleForReading.readDataToEndOfFile() + out2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        first.waitUntilExit()
        second.waitUntilExit()
        let deployed = text.components(separatedBy: "deployed").count - 1
        #expect(deployed == 3, "each environment applied exactly once:\n\(text)")
        for name in ["feat-p", "feat-q", "feat-r"] { #expect(try world.state(name) == "deployed") }
    }

    @Test func noprocessSuspendsSowAndReap() throws {
        let world = try JobWorld()
        try world.newbuild("feat-n")
        try Data().write(to: world.directory.appendingPathComponent("noprocess"))
        for job in ["std/sow", "std/reap"] {
            let r = try world.run("run", job, "--yes")
            #expect(r.status == 0)
            #expect(r.stdout.contains("suspended"))
        }
        #expect(try world.state("feat-n") == "new")
    }

    @Test func reapRefusesMoreThanItsLimit() throws {
        let world = try JobWorld()
        for name in ["old-1", "old-2", "old-3"] {
            try world.newbuild(name)
            try world.run("run", "std/newbuild", "--delete", name)
        }
        let r = try world.run("run", "std/reap", "--yes", "--limit", "2")
        #expect(r.status == 1)
        #expect(r.stdout.contains("more than --limit 2"))
        #expect(try world.state("old-1") == "deleted")
    }

    @Test func chitraguptaNeverDeletesRecordsItDoesNotOwn() throws {
        let world = try JobWorld()
        try world.run("-c", "dns.zone(\"dev.example.com\").upsert(\"legacy.feat-x\", \"A\", [\"192.0.2.1\"], ttl: 300)")
        try world.newbuild("feat-x")
        try world.run("run", "std/sow")
        let r = try world.run("run", "std/chitragupta")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        try world.run("run", "std/newbuild", "--delete", "feat-x")
        try world.run("run", "std/reap", "--yes")
        try world.run("run", "std/chitragupta")
        let names = try world.query("dns.zone(\"dev.example.com\").records() | map .name")
        #expect(names.contains("legacy.feat-x"), "a record chitragupta does not own stays: \(names)")
        #expect(!names.contains("\"tyk.feat-x\""))
    }

    @Test func dryRunOfEveryJobChangesNothing() throws {
        let world = try JobWorld()
        try world.newbuild("feat-d")
        try world.newbuild("feat-e")
        try world.run("run", "std/sow", "--only", "feat-e")
        try world.run("run", "std/newbuild", "--delete", "feat-e")
        let before = try world.snapshot()
        for arguments in [["run", "std/sow", "--dry-run"], ["run", "std/chitragupta", "--dry-run"],
                          ["run", "std/reap", "--dry-run", "--yes"],
                          ["run", "std/newbuild", "--dry-run", "--repo", "tyk", "--ref", "refs/heads/feat-f", "--sha", "x"]] {
            let r = try world.run(arguments)
            #expect(r.status == 0, "\(arguments): \(r.stdout)\n\(r.stderr)")
        }
        #expect(try world.snapshot() == before)
    }

    @Test func newbuildTakesBranchImagesFromECR() throws {
        let server = try LocalAWSServer()
        defer { server.stop() }
        let configuration = try AWSConfiguration.resolve(
            region: LocalAWSServer.region, endpoint: server.endpoint,
            credentials: AWSCredentials(accessKeyId: LocalAWSServer.accessKeyId, secretAccessKey: LocalAWSServer.secretAccessKey))
        let ecr = ECRClient(configuration: configuration)
        for repo in ["tyk", "tyk-analytics", "tyk-pump"] { _ = try ecr.createRepository(name: repo) }
        _ = try ecr.putImage(repository: "tyk-analytics", tag: "feat-img", manifest: LocalAWSServer.imageManifest)

        let world = try JobWorld()
        world.environment = server.clientEnvironment.merging([
            "FURROW_JOBS_IMAGE_LOOKUP": "ecr", "FURROW_AWS_ENDPOINT": server.endpoint.absoluteString,
        ]) { _, new in new }
        try world.newbuild("feat-img", repo: "tyk", sha: "c0ffee")
        #expect(try world.field("feat-img", "tyk") == "c0ffee", "the triggering repo gets the sha")
        #expect(try world.field("feat-img", "tyk-analytics") == "feat-img", "a repo with the branch's image gets its tag")
        #expect(try world.field("feat-img", "tyk-pump") == "master", "a repo without it gets master")

        // a later report upgrades a repo from master to a branch image that now exists
        _ = try ecr.putImage(repository: "tyk-pump", tag: "feat-img", manifest: LocalAWSServer.imageManifest)
        try world.newbuild("feat-img", repo: "tyk", sha: "c0ffee2")
        #expect(try world.field("feat-img", "tyk-pump") == "feat-img")
        // and never takes a repo's own build back to its branch tag or master
        try world.newbuild("feat-img", repo: "tyk-analytics", sha: "a11a11")
        #expect(try world.field("feat-img", "tyk") == "c0ffee2")
        #expect(try world.field("feat-img", "tyk-analytics") == "a11a11")
        #expect(try world.field("feat-img", "tyk-pump") == "feat-img")
    }

    @Test func aBuildOfOneRepositoryKeepsTheBuildsOfTheOthers() throws {
        let world = try JobWorld()
        try world.newbuild("feat-login", repo: "tyk-pump", sha: "abc999")
        try world.newbuild("feat-login", repo: "tyk-analytics", sha: "def888")
        #expect(try world.field("feat-login", "tyk-pump") == "abc999", "the first build is kept")
        #expect(try world.field("feat-login", "tyk-analytics") == "def888")
        #expect(try world.field("feat-login", "tyk") == "master")
        #expect(try world.field("feat-login", "version") == "2")
    }

    @Test func newbuildTakesWhatBuildPipelinesSend() throws {
        let world = try JobWorld()
        // GitHub Actions: github.repository is owner/name
        let r = try world.run("run", "std/newbuild", "--repo", "TykTechnologies/Tyk", "--ref", "refs/heads/feat-gh", "--sha", "9a9a")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "feat-gh: tyk at 9a9a; state new\n")
        #expect(try world.field("feat-gh", "tyk") == "9a9a")
        // a pull request's merge ref gets an environment of its own
        try world.run("run", "std/newbuild", "--repo", "tyk", "--ref", "refs/pull/42/merge", "--sha", "4242")
        #expect(try world.field("pr-42", "tyk") == "4242")
        // a bare branch name (github.ref_name) is a branch
        try world.run("run", "std/newbuild", "--repo", "tyk", "--ref", "Feat-Bare", "--sha", "b4b4")
        #expect(try world.state("feat-bare") == "new")
    }

    @Test func newbuildArgumentErrorsAreUsageErrors() throws {
        let world = try JobWorld()
        let cases: [([String], String)] = [
            (["--repo", "tyk", "--ref", "refs/heads/feat-u"], "newbuild needs --repo, --ref and --sha"),
            (["--repo", "Org/nope", "--ref", "refs/heads/feat-u", "--sha", "1"], "unknown repo 'Org/nope' (configured: tyk, tyk-analytics, tyk-pump)"),
            (["--repo", "tyk", "--ref", "refs/tags/v1.2.3", "--sha", "1"], "refs/tags/v1.2.3 is a tag"),
            (["--repo", "tyk", "--ref", "refs/remotes/origin/x", "--sha", "1"], "neither a branch"),
            (["--repo", "tyk", "--ref", "refs/heads/feat_under", "--sha", "1"], "is not a DNS label"),
        ]
        for (arguments, message) in cases {
            let r = try world.run(["run", "std/newbuild"] + arguments)
            #expect(r.status == 2, "\(arguments): status \(r.status)\n\(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 2, "a message and a usage line:\n\(r.stderr)")
            #expect(lines.first?.hasPrefix("furrow: ") == true && r.stderr.contains(message), "\(arguments):\n\(r.stderr)")
            #expect(lines.last?.hasPrefix("usage: furrow run std/newbuild [--repo STRING]") == true, "\(r.stderr)")
        }
        #expect(try world.query("state.table(\"DeveloperEnvironments\").scan() | count") == "0", "nothing was recorded")
    }

    @Test func argumentErrorsOfEveryJobAreUsageErrors() throws {
        let world = try JobWorld()
        for arguments in [["std/sow", "--parallel", "0"], ["std/reap", "--limit", "0"], ["std/chitragupta", "--max-deletes", "-1"]] {
            let r = try world.run(["run"] + arguments)
            #expect(r.status == 2, "\(arguments): \(r.status)\n\(r.stderr)")
            #expect(r.stderr.hasPrefix("furrow: --") && r.stderr.contains("\nusage: furrow run \(arguments[0]) "), "\(arguments): \(r.stderr)")
            #expect(!r.stderr.contains("called at"), "no call stack through the job: \(r.stderr)")
        }
    }

    @Test func theBuildsModuleGivesResultsAndErrorKinds() throws {
        let world = try JobWorld()
        let r = try world.run(["-c", """
            import "std/builds" as builds
            let t = state.table(config.jobs.table)
            print(builds.environment_name("refs/heads/release-3.1.0"), builds.environment_name("refs/pull/7/head"))
            let first = builds.record(t, "Org/tyk-pump", "refs/heads/feat-m", "p1")
            print(first.environment, first.version, first.state, first.repos)
            print(builds.record(t, "tyk", "refs/heads/feat-m", "t1").repos)
            print(builds.mark_deleted(t, "feat-m"), builds.mark_deleted(t, "feat-m"))
            for call in [() => builds.mark_deleted(t, "nope"), () => builds.record(t, "x", "refs/heads/a", "1"),
                         () => builds.record(t, "tyk", "refs/tags/v1", "1"), () => builds.environment_name("")] {
              try { call() } catch err { print(err.kind) }
            }
            """])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
            release-310 pr-7
            feat-m 1 new {tyk: "master", "tyk-analytics": "master", "tyk-pump": "p1"}
            {tyk: "t1", "tyk-analytics": "master", "tyk-pump": "p1"}
            {environment: "feat-m", state: "deleted"} {environment: "feat-m", state: "deleted"}
            lookup
            usage
            usage
            usage

            """, "\(r.stdout)")
    }

    @Test func jobsWriteReportsAndMetrics() throws {
        let world = try JobWorld()
        try world.newbuild("feat-m")
        try world.newbuild("broken-m")
        let report = world.directory.appendingPathComponent("sow.json").path
        let metrics = world.directory.appendingPathComponent("sow.prom").path
        let r = try world.run("run", "std/sow", "--report", report, "--metrics", metrics)
        #expect(r.status == 1)
        let json = try JSONValue.parse(String(contentsOfFile: report, encoding: .utf8))
        #expect(json["job"] == "sow")
        #expect(json["failed"] == 1)
        #expect(json["environments"]?.arrayValue?.count == 2)
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(text.contains("furrow_job_environments{job=\"sow\",result=\"deployed\"} 1"))
        #expect(text.contains("furrow_job_environments{job=\"sow\",result=\"failed\"} 1"))
        #expect(text.contains("furrow_environments{state=\"failed\"} 1"))
        #expect(!r.stderr.isEmpty && r.stderr.split(separator: "\n").allSatisfy { $0.contains("job=sow") && $0.contains("run=") },
            "every log line names the job and the run")
    }

    @Test func everyJobWritesOneJSONDocumentUnderJSON() throws {
        let world = try JobWorld()
        try world.newbuild("feat-j")
        try world.newbuild("broken-j")
        try world.newbuild("feat-gone")
        try world.run("run", "std/sow", "--only", "feat-gone")
        try world.run("run", "std/newbuild", "--delete", "feat-gone")
        let runs: [([String], String)] = [
            (["run", "std/sow", "--json"], "sow"), (["run", "std/chitragupta", "--json"], "chitragupta"),
            (["run", "std/reap", "--json"], "reap"), (["run", "std/reap", "--json", "--yes"], "reap"),
            (["run", "std/newbuild", "--json", "--repo", "tyk", "--ref", "refs/heads/feat-k", "--sha", "1"], "newbuild"),
            (["run", "std/newbuild", "--json", "--delete", "feat-k"], "newbuild"),
            (["run", "std/newbuild", "--json", "--show", "feat-j"], "newbuild"),
            (["run", "std/sow", "--json", "--dry-run"], "sow"),
        ]
        for (arguments, job) in runs {
            let r = try world.run(arguments)
            #expect(r.status < 2, "\(arguments): \(r.stderr)")
            let document: JSONValue
            do { document = try JSONValue.parse(r.stdout) } catch {
                Issue.record("\(arguments): standard output is not one JSON document (\(error)):\n\(r.stdout)")
                continue
            }
            #expect(document["job"]?.stringValue == job, "\(arguments)")
            for field in ["run", "started", "finished", "environments", "totals", "failed"] {
                #expect(document[field] != nil, "\(arguments): no \(field) in \(r.stdout)")
            }
            #expect(r.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("time=") }, "only logs on standard error: \(r.stderr)")
        }
        let chitragupta = try JSONValue.parse(try world.run("run", "std/chitragupta", "--json").stdout)
        #expect(chitragupta["zone"] != nil, "chitragupta's report holds the zone plan")

        // as an operator pipes it
        let pipe = Process()
        pipe.executableURL = URL(fileURLWithPath: "/bin/sh")
        pipe.arguments = ["-c", "'\(FurrowProcess.binary.path)' run std/sow --json 2>/dev/null | python3 -c 'import json,sys; json.load(sys.stdin)'"]
        pipe.environment = FurrowProcess.environment(world.runEnvironment)
        pipe.currentDirectoryURL = world.directory
        try pipe.run()
        pipe.waitUntilExit()
        #expect(pipe.terminationStatus == 0)
    }

    @Test func chitraguptaThatLeavesTheZoneStillWritesOneDocument() throws {
        let world = try JobWorld()
        try world.run("-c", "state.table(\"DeveloperEnvironments\").put({name: \"ghost\", state: \"deployed\", version: 1})")
        let r = try world.run("run", "std/chitragupta", "--json")
        #expect(r.status == 1)
        let document = try JSONValue.parse(r.stdout)
        #expect(document["error"]?.stringValue?.contains("the zone is left as it is") == true, "\(r.stdout)")
        #expect(document["failed"] == 1)
    }

    @Test func chitraguptaTimesEachEnvironmentOnItsOwn() throws {
        let world = try JobWorld()
        for name in ["feat-t1", "feat-t2", "feat-t3"] { try world.newbuild(name) }
        try world.run("run", "std/sow")
        let report = world.directory.appendingPathComponent("chitragupta.json").path
        let r = try world.run("run", "std/chitragupta", "--report", report)
        #expect(r.status == 0, "\(r.stderr)")
        let document = try JSONValue.parse(String(contentsOfFile: report, encoding: .utf8))
        let durations = try #require(document["environments"]?.arrayValue).compactMap { $0["duration"]?.stringValue }
        #expect(durations.count == 3)
        // disjoint intervals of one run add up to no more than the run; cumulative ones do not
        let started = try #require(document["started"]), finished = try #require(document["finished"])
        let run = "time.parse(\(finished.encoded())) - time.parse(\(started.encoded()))"
        let sum = durations.map { "duration(\"\($0)\")" }.joined(separator: " + ")
        #expect(try world.query("\(sum) <= \(run)") == "true", "durations \(durations) add up to more than the run")
    }

    @Test func aSummaryGivesTerraformsReasonAndTheLogLineTheError() throws {
        let world = try JobWorld()
        try world.newbuild("broken-r")
        let r = try world.run("run", "std/sow")
        #expect(r.status == 1)
        #expect(r.stdout.contains("Resource precondition failed: environment broken-r was asked to fail"), "\(r.stdout)")
        let logLine = r.stderr.split(separator: "\n").first { $0.contains("msg=\"apply failed\"") }
        #expect(logLine?.contains("error=") == true && logLine?.contains("asked to fail") == true, "\(r.stderr)")
    }

    @Test func aWrongTerraformDirStopsTheJobBeforeAnyRowIsTouched() throws {
        let world = try JobWorld()
        try world.newbuild("feat-w")
        let before = try world.snapshot()
        world.environment = ["FURROW_TERRAFORM_DIR": "no-such-dir"]
        for job in ["std/sow", "std/chitragupta", "std/reap"] {
            let r = try world.run("run", job, "--yes")
            #expect(r.status == 2, "\(job): \(r.status)\n\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("terraform.dir 'no-such-dir': no such directory"), "\(job): \(r.stderr)")
            #expect(!r.stderr.contains(" in run"), "no call stack: \(r.stderr)")
        }
        #expect(try world.snapshot() == before)
        #expect(try world.state("feat-w") == "new")
    }

    @Test func aTerraformErrorIsNamedAfterTheStepThatFailed() throws {
        let world = try JobWorld()
        let r = try world.run(["-c", "try { tf.workspace(\"devenv\", \"gone\").plan() } catch err {\n  print(err.data.reason)\n  print(err.message)\n}"])
        #expect(r.stdout.hasPrefix("workspace_not_found\nterraform plan failed in "), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("workspace gone does not exist"))
    }
}
