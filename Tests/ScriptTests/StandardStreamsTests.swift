import Foundation
import Testing

/// The real binary with standard streams that are full, closed, directories or devices, and
/// under a memory limit: each case ends with an exit code and a message, never a crash or hang.
@Suite struct StandardStreamsTests {
    struct ShellResult {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `command` under `sh`, with `$FURROW` the binary and a scratch directory holding
    /// `script` as `script.furrow` as the working directory.
    func shell(_ command: String, script: String = "") throws -> ShellResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-streams-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try script.write(to: dir.appendingPathComponent("script.furrow"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FURROW_") }
        environment["FURROW"] = Paths.furrow.path
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ShellResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    @Test func aFailedWriteToStandardOutputFailsTheRun() throws {
        let r = try shell("\"$FURROW\" run script.furrow > /dev/full", script: "print(1)\n")
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("furrow: cannot write standard output: no space left on device"), "\(r.stderr)")
    }

    @Test func loggingToAFullOrClosedStandardErrorDoesNotStopTheScript() throws {
        let full = try shell("\"$FURROW\" run script.furrow 2> /dev/full", script: "log.info(\"x\", n: 1)\nprint(\"after\")\n")
        #expect(full.status == 0)
        #expect(full.stdout == "after\n")
        let closed = try shell("\"$FURROW\" run script.furrow 2>&-", script: "log.warn(\"x\")\nprint(\"after\")\n")
        #expect(closed.status == 0)
        #expect(closed.stdout == "after\n")
    }

    @Test func closedStandardInputIsAnError() throws {
        let r = try shell("\"$FURROW\" <&-")
        #expect(r.status == 1)
        #expect(r.stderr.contains("furrow: cannot read the script from standard input: bad file descriptor"), "\(r.stderr)")
    }

    @Test func standardInputFromADirectoryIsAnError() throws {
        let r = try shell("\"$FURROW\" < .")
        #expect(r.status == 1)
        #expect(r.stderr.contains("furrow: cannot read the script from standard input: is a directory"), "\(r.stderr)")
    }

    @Test func scriptsRunFromDevStdinAndDirectoriesAreNamed() throws {
        let piped = try shell("echo 'print(6 * 7)' | \"$FURROW\" run /dev/stdin")
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "42\n")
        let directory = try shell("\"$FURROW\" run .")
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("furrow: cannot read '.': is a directory"), "\(directory.stderr)")
    }

    /// Under a 4 GB address-space limit not all of 16 threads with 256 MB stacks can be
    /// made: parallel runs its tasks on the threads it got (or reports that it got none)
    /// instead of waiting forever for the ones that never started.
    @Test(.timeLimit(.minutes(1))) func parallelWithoutThreadsEndsInsteadOfHanging() throws {
        let script = "let r = parallel(range(16), x => {\n  sleep(300ms)\n  return x * 2\n}, limit: 16)\nprint(len(r), r[15])\n"
        let r = try shell("ulimit -v 4000000; \"$FURROW\" run script.furrow", script: script)
        #expect(r.status == 0 || r.status == 1, "status \(r.status): \(r.stderr)")
        if r.status == 0 { #expect(r.stdout == "16 30\n") } else { #expect(r.stderr.contains("parallel could not start a thread"), "\(r.stderr)") }
    }
}
