import Foundation
import FurrowTestSupport
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
        let e = ScriptExpectations(source: try String(contentsOfFile: path, encoding: .utf8))
        let result = try runFurrow(["run", path] + e.arguments, environment: environment)
        #expect(result.status == e.expectedExit, "exit status \(result.status), expected \(e.expectedExit); stderr:\n\(result.stderr)")
        #expect(result.lines == e.lines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(e.lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
        for message in e.errors {
            #expect(result.stderr.contains(message), "standard error lacks '\(message)':\n\(result.stderr)")
        }
    }
}

typealias RunResult = FurrowRunResult

/// Starts the real binary in a scratch working directory with no configuration file.
func startFurrow(_ arguments: [String], environment: [String: String]) throws -> FurrowProcess {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    return try FurrowProcess(arguments, directory: scratch, environment: environment)
}

func runFurrow(_ arguments: [String], environment: [String: String] = [:]) throws -> RunResult {
    try startFurrow(arguments, environment: environment).wait()
}

/// Runs `source` as a script file.
func runFurrowProgram(_ source: String, environment: [String: String]) throws -> RunResult {
    try startFurrowProgram(source, environment: environment).wait()
}

func startFurrowProgram(_ source: String, environment: [String: String]) throws -> FurrowProcess {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-dns-\(UUID().uuidString).furrow")
    try source.write(to: file, atomically: true, encoding: .utf8)
    return try startFurrow(["run", file.path], environment: environment)
}
