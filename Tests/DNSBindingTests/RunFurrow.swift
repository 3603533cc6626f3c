import Foundation
import Testing

/// A golden script of `Tests/Scripts/dns/`: its `# expect:` lines are standard output,
/// `# expect error:` text standard error must contain, `# expect exit:` the status, `# args:`
/// the arguments after the file (the same rules as the golden runner).
struct DNSScript: CustomTestStringConvertible, Sendable {
    let path: String
    var testDescription: String { (path as NSString).lastPathComponent }
    /// The file name as a DNS label, to name a hosted zone after the script.
    var slug: String { String(testDescription.dropLast(".furrow".count).map { $0 == "_" ? "-" : $0 }) }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/dns")

    static func all() -> [DNSScript] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".furrow") }.sorted().map { DNSScript(path: directory.appendingPathComponent($0).path) }
    }

    func check(environment: [String: String]) throws {
        let source = try String(contentsOfFile: path, encoding: .utf8)
        var lines: [String] = [], errors: [String] = [], exit: Int32?, arguments: [String] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let hash = line.range(of: "# expect") ?? line.range(of: "# args:") else { continue }
            let comment = line[hash.lowerBound...]
            if comment.hasPrefix("# expect: ") { lines.append(String(comment.dropFirst("# expect: ".count))) }
            else if comment == "# expect:" { lines.append("") }
            else if comment.hasPrefix("# expect error: ") { errors.append(String(comment.dropFirst("# expect error: ".count))) }
            else if comment.hasPrefix("# expect exit: ") { exit = Int32(comment.dropFirst("# expect exit: ".count).trimmingCharacters(in: .whitespaces)) }
            else if comment.hasPrefix("# args: ") { arguments = comment.dropFirst("# args: ".count).split(separator: " ").map(String.init) }
        }
        let result = try runFurrow(["run", path] + arguments, environment: environment)
        let expectedExit = exit ?? (errors.isEmpty ? 0 : 1)
        #expect(result.status == expectedExit, "exit status \(result.status), expected \(expectedExit); stderr:\n\(result.stderr)")
        var output = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if output.last == "" { output.removeLast() }
        #expect(output == lines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
        for message in errors {
            #expect(result.stderr.contains(message), "standard error lacks '\(message)':\n\(result.stderr)")
        }
    }
}

struct RunResult {
    let stdout: String
    let stderr: String
    let status: Int32
}

/// The `furrow` binary SwiftPM built beside the tests.
var furrowBinary: URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("furrow")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return DNSScript.directory.appendingPathComponent("../../../.build/debug/furrow").standardized
}

/// A started `furrow`; `wait()` collects its output.
final class RunningFurrow: @unchecked Sendable {
    let process: Process
    private let out: Pipe, err: Pipe

    init(arguments: [String], environment: [String: String]) throws {
        process = Process()
        process.executableURL = furrowBinary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env.removeValue(forKey: "FURROW_CONFIG")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        process.currentDirectoryURL = scratch
        out = Pipe()
        err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func wait() -> RunResult {
        nonisolated(unsafe) var outData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outData = self.out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RunResult(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                         status: process.terminationStatus)
    }
}

/// Runs the real binary in a scratch working directory with no configuration file.
func runFurrow(_ arguments: [String], environment: [String: String] = [:]) throws -> RunResult {
    try RunningFurrow(arguments: arguments, environment: environment).wait()
}

/// Runs `source` as a script file.
func runFurrowProgram(_ source: String, environment: [String: String]) throws -> RunResult {
    try startFurrowProgram(source, environment: environment).wait()
}

func startFurrowProgram(_ source: String, environment: [String: String]) throws -> RunningFurrow {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-\(UUID().uuidString).furrow")
    try source.write(to: file, atomically: true, encoding: .utf8)
    return try RunningFurrow(arguments: ["run", file.path], environment: environment)
}
