import Foundation
import FurrowTestSupport
import Testing

/// A golden script of `Tests/Scripts/state/`: its `# expect:` lines are standard output, `# expect error:`
/// what standard error contains, `# expect exit:` the exit status (as in ScriptTests).
struct StateScript: CustomTestStringConvertible, Sendable {
    let path: URL
    var testDescription: String { "Tests/Scripts/state/" + path.lastPathComponent }

    struct Expectations {
        var lines: [String] = []
        var errors: [String] = []
        var exit: Int32?
    }

    var expectations: Expectations {
        var e = Expectations()
        let source = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let hash = line.range(of: "# expect") else { continue }
            let comment = line[hash.lowerBound...]
            if comment.hasPrefix("# expect: ") {
                e.lines.append(String(comment.dropFirst("# expect: ".count)))
            } else if comment == "# expect:" {
                e.lines.append("")
            } else if comment.hasPrefix("# expect error: ") {
                e.errors.append(String(comment.dropFirst("# expect error: ".count)))
            } else if comment.hasPrefix("# expect exit: ") {
                e.exit = Int32(comment.dropFirst("# expect exit: ".count).trimmingCharacters(in: .whitespaces))
            }
        }
        return e
    }

    static var all: [StateScript] {
        let directory = Paths.root.appendingPathComponent("Tests/Scripts/state")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".furrow") }.sorted().map { StateScript(path: directory.appendingPathComponent($0)) }
    }
}

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var furrow: URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("furrow")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/furrow")
    }

    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

struct RunResult {
    let stdout: String
    let stderr: String
    let status: Int32

    var lines: [String] {
        var lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// A started `furrow` process; `wait()` collects its output.
final class FurrowProcess: @unchecked Sendable {
    private let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private var outData = Data()
    private let group = DispatchGroup()

    init(_ arguments: [String], environment: [String: String], directory: URL) throws {
        process.executableURL = Paths.furrow
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env.removeValue(forKey: "FURROW_CONFIG")
        for name in env.keys where name.hasPrefix("FURROW_") || name.hasPrefix("AWS_") { env[name] = nil }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.currentDirectoryURL = directory
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        group.enter()
        DispatchQueue.global().async { [self] in
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
    }

    func wait() -> RunResult {
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RunResult(
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
            status: process.terminationStatus)
    }
}

func runFurrow(_ arguments: [String], environment: [String: String] = [:], directory: URL) throws -> RunResult {
    try FurrowProcess(arguments, environment: environment, directory: directory).wait()
}

/// The two stores every script runs against, as the environment that selects them.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, dynamodb
    var testDescription: String { rawValue }

    func environment() throws -> [String: String] {
        switch self {
        case .sqlite: return [:]
        case .dynamodb: return try SharedAWSServer.environment()
        }
    }
}

/// One local AWS server for the whole test run (it starts in a few seconds; tests use distinct table names).
enum SharedAWSServer {
    nonisolated(unsafe) private static var server: LocalAWSServer?
    nonisolated(unsafe) private static var failure: String?
    private static let lock = NSLock()

    static func environment() throws -> [String: String] {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw LocalAWSServer.StartError(message: failure) }
        if server == nil {
            do {
                server = try LocalAWSServer()
            } catch {
                failure = "the local AWS server did not start: \(error)"
                throw error
            }
        }
        return dynamoDBEnvironment(endpoint: server!.endpoint.absoluteString)
    }

    static func dynamoDBEnvironment(endpoint: String) -> [String: String] {
        [
            "FURROW_STATE_STORE": "dynamodb", "FURROW_AWS_ENDPOINT": endpoint, "FURROW_AWS_REGION": LocalAWSServer.region,
            "AWS_ACCESS_KEY_ID": LocalAWSServer.accessKeyId, "AWS_SECRET_ACCESS_KEY": LocalAWSServer.secretAccessKey,
        ]
    }
}
