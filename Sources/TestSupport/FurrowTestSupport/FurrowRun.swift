import Foundation

/// What a run of the `furrow` binary printed and how it ended.
public struct FurrowRunResult: Sendable {
    public let stdout: String
    public let stderr: String
    public let status: Int32
    /// Ended by a signal (a crash), not by exit.
    public var crashed = false
    public var timedOut = false

    /// Standard output as lines, without the empty one after the final newline.
    public var lines: [String] {
        var lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// A started `furrow` process: the one way every test target runs the real binary.
///
/// It inherits the test's environment less inherited `FURROW_*` settings (and any other
/// prefixes asked for), with `NO_COLOR=1` and then the given overrides, so a test sees only
/// the configuration it sets.
public final class FurrowProcess: @unchecked Sendable {
    private let process = Process()
    private let out = Pipe(), err = Pipe()
    private var outData = Data()
    private let reading = DispatchGroup()

    /// `FURROW_TEST_BINARY` when set (scripts/test runs some suites again on the release
    /// binary), else the binary SwiftPM built beside the tests, else the repository's debug build.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FURROW_TEST_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("furrow")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return GoldenScript.repositoryRoot.appendingPathComponent(".build/debug/furrow")
    }

    /// The environment a run gets: see the type's comment.
    public static func environment(_ overrides: [String: String], clearing prefixes: [String] = ["FURROW_"]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in env.keys where prefixes.contains(where: { name.hasPrefix($0) }) { env[name] = nil }
        env["NO_COLOR"] = "1"
        env.merge(overrides) { _, new in new }
        return env
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    public init(
        _ arguments: [String], directory: URL, environment: [String: String] = [:], clearing prefixes: [String] = ["FURROW_"],
        input: String? = nil
    ) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        process.environment = Self.environment(environment, clearing: prefixes)
        process.currentDirectoryURL = directory
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        reading.enter()
        DispatchQueue.global().async { [self] in
            outData = out.fileHandleForReading.readDataToEndOfFile()
            reading.leave()
        }
    }

    /// Waits for the end; past `timeout` seconds the process is killed and the result says so.
    public func wait(timeout: TimeInterval? = nil) -> FurrowRunResult {
        var timedOut = false
        if let timeout {
            let deadline = ContinuousClock.now + .seconds(timeout)
            while process.isRunning, ContinuousClock.now < deadline { usleep(5000) }
            if process.isRunning {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
            }
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        reading.wait()
        process.waitUntilExit()
        return FurrowRunResult(
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
            status: process.terminationStatus, crashed: !timedOut && process.terminationReason == .uncaughtSignal,
            timedOut: timedOut)
    }

    public static func run(
        _ arguments: [String], directory: URL, environment: [String: String] = [:], clearing prefixes: [String] = ["FURROW_"],
        input: String? = nil, timeout: TimeInterval? = nil
    ) throws -> FurrowRunResult {
        try FurrowProcess(arguments, directory: directory, environment: environment, clearing: prefixes, input: input)
            .wait(timeout: timeout)
    }
}

/// The expectations a golden script states in comments: `# expect: LINE` (standard output,
/// in order), `# expect error: TEXT` (standard error contains it), `# expect exit: N`, and
/// `# args: ...` (command-line arguments after the file).
public struct ScriptExpectations: Sendable {
    public var lines: [String] = []
    public var errors: [String] = []
    public var exit: Int32?
    public var arguments: [String] = []

    public init(source: String) {
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let hash = line.range(of: "# expect") ?? line.range(of: "# args:") else { continue }
            let comment = line[hash.lowerBound...]
            if comment.hasPrefix("# expect: ") { lines.append(String(comment.dropFirst("# expect: ".count))) }
            else if comment == "# expect:" { lines.append("") }
            else if comment.hasPrefix("# expect error: ") { errors.append(String(comment.dropFirst("# expect error: ".count))) }
            else if comment.hasPrefix("# expect exit: ") { exit = Int32(comment.dropFirst("# expect exit: ".count).trimmingCharacters(in: .whitespaces)) }
            else if comment.hasPrefix("# args: ") { arguments = comment.dropFirst("# args: ".count).split(separator: " ").map(String.init) }
        }
    }

    /// The status a run must end with: as stated, else 1 when an error is expected, else 0.
    public var expectedExit: Int32 { exit ?? (errors.isEmpty ? 0 : 1) }
}
