import Foundation
import Testing
import FurrowProcess

/// The child-process runner on real programs: large input and output, timeouts and stop
/// requests that reach the whole process group, and arguments C strings cannot carry.
@Suite struct ChildProcessTests {
    let runner = ChildProcessRunner()
    let environment = ProcessInfo.processInfo.environment

    func request(_ argv: [String], input: [UInt8]? = nil, timeout: Duration? = nil) -> ChildProcessRequest {
        ChildProcessRequest(executable: ChildProcessRunner.resolveExecutable(argv[0], path: environment["PATH"])!,
                            arguments: Array(argv.dropFirst()), environment: environment, input: input, timeout: timeout)
    }

    /// Whether a process with this id still exists (and is not a zombie of ours).
    static func alive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }

    @Test func inputLargerThanThePipeToAChildThatExitsEarly() throws {
        let outcome = try runner.run(request(["head", "-c", "1"], input: Array(repeating: UInt8(ascii: "x"), count: 4_000_000)))
        #expect(outcome.termination == .exited(0))
        #expect(outcome.stdout == [UInt8(ascii: "x")])
    }

    @Test func largeOutputIsReadWhole() throws {
        let outcome = try runner.run(request(["head", "-c", "20000000", "/dev/zero"]))
        #expect(outcome.termination == .exited(0))
        #expect(outcome.stdout.count == 20_000_000)
    }

    @Test func aTimeoutStopsTheGrandchildrenToo() throws {
        let started = Date()
        let outcome = try runner.run(request(["sh", "-c", "sleep 8 & echo $!; wait"], timeout: .milliseconds(300)))
        #expect(outcome.timedOut)
        #expect(Date().timeIntervalSince(started) < 5)
        let grandchild = try #require(pid_t(String(decoding: outcome.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Killed, it may stay a zombie for a moment until init reaps it.
        let deadline = ContinuousClock.now + .seconds(3)
        while Self.alive(grandchild), ContinuousClock.now < deadline { usleep(20_000) }
        #expect(!Self.alive(grandchild))
    }

    @Test func aChildThatIgnoresTheTimeoutSignalIsKilledAfterTheGrace() throws {
        var slow = request(["sh", "-c", "trap '' TERM INT; sleep 8"], timeout: .milliseconds(200))
        slow.interruptGrace = .milliseconds(300)
        let started = Date()
        let outcome = try runner.run(slow)
        #expect(outcome.termination == .signaled(SIGKILL))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func anInterruptRequestSendsSIGINTToTheGroup() throws {
        // The interrupt is sent once the shell has set its trap (it creates `ready` after),
        // and the grace before SIGKILL is long, so a loaded machine cannot turn the trap's
        // exit into a kill.
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-int-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: ready) }
        var interruptible = request(["sh", "-c", "trap 'echo got INT; exit 3' INT; : > \"$0\"; sleep 8 & wait", ready.path])
        interruptible.interruptGrace = .seconds(30)
        let started = Date()
        let outcome = try runner.run(interruptible, stop: {
            FileManager.default.fileExists(atPath: ready.path) ? .interrupt : .none
        })
        #expect(outcome.interrupted)
        #expect(outcome.termination == .exited(3))
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "got INT\n")
        // it ended with the trap, not with the end of the sleep
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test func aKillRequestKillsAtOnce() throws {
        let started = Date()
        let outcome = try runner.run(request(["sh", "-c", "trap '' INT; sleep 8"]), stop: {
            Date().timeIntervalSince(started) > 0.2 ? .kill : .none
        })
        #expect(outcome.termination == .signaled(SIGKILL))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func signalEveryGroupReachesRunsOfEveryRunner() throws {
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { ChildProcessRunner.signalEveryGroup(SIGKILL) }
        let outcome = try ChildProcessRunner().run(request(["sleep", "8"]))
        #expect(outcome.termination == .signaled(SIGKILL))
        #expect(outcome.interrupted)
    }

    @Test(arguments: [
        (["echo", "a\u{0}b"], [:], "argument 1 contains a NUL byte"),
        (["env"], ["A=B": "c"], "environment variable name 'A=B' contains '='"),
        (["env"], ["": "c"], "an environment variable name is empty"),
        (["env"], ["A": "b\u{0}c"], "environment variable 'A' contains a NUL byte"),
    ] as [([String], [String: String], String)])
    func stringsCStringsCannotCarryAreRefused(_ argv: [String], _ env: [String: String], _ message: String) {
        var bad = request(argv)
        bad.environment = env
        #expect {
            _ = try runner.run(bad)
        } throws: { error in
            (error as? SpawnFailure)?.message.hasPrefix(message) == true
        }
    }

    @Test func runsInTheGivenDirectory() throws {
        var inRoot = request(["pwd"])
        inRoot.directory = "/"
        #expect(try runner.run(inRoot).stdout == Array("/\n".utf8))
    }
}
