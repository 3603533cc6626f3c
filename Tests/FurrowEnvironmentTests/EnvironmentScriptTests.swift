import Foundation
import Testing

/// Scripts under `Scripts/` run through the real `furrow` binary in a scratch directory
/// holding a copy of `examples/envs` (as `envs/`) and an empty terraform CLI configuration;
/// their `# expect:` lines say what standard output must be, `# expect error:` what
/// standard error must contain, `# args:` extra command-line arguments.
struct TreeScript: CustomTestStringConvertible, Sendable {
    let name: String
    let source: String
    var testDescription: String { name }

    static func all() -> [TreeScript] {
        let folder = Paths.root.appendingPathComponent("Tests/FurrowEnvironmentTests/Scripts")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".furrow") }.sorted()
        return files.map { TreeScript(name: $0, source: (try? String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)) ?? "") }
    }

    var expectedLines: [String] { comments("# expect: ", bare: "# expect:") }
    var expectedErrors: [String] { comments("# expect error: ") }
    var expectedExit: Int32? { comments("# expect exit: ").first.flatMap { Int32($0) } }
    var arguments: [String] { comments("# args: ").flatMap { $0.split(separator: " ").map(String.init) } }

    private func comments(_ prefix: String, bare: String? = nil) -> [String] {
        var out: [String] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let hash = line.range(of: "# ") else { continue }
            let comment = line[hash.lowerBound...]
            if comment.hasPrefix(prefix) { out.append(String(comment.dropFirst(prefix.count))) }
            else if let bare, comment == bare { out.append("") }
        }
        return out
    }
}

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var furrow: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("furrow")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/furrow")
    }
}

struct RunResult {
    let stdout: String
    let stderr: String
    let status: Int32
}

/// A scratch directory with `envs/` (a copy of examples/envs, symlinks kept) and `tfrc`,
/// an empty terraform CLI configuration.
func makeScratch() throws -> URL {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-env-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    let copy = Process()
    copy.executableURL = URL(fileURLWithPath: "/bin/cp")
    copy.arguments = ["-R", Paths.root.appendingPathComponent("examples/envs").path, scratch.appendingPathComponent("envs").path]
    try copy.run()
    copy.waitUntilExit()
    #expect(copy.terminationStatus == 0)
    #expect(FileManager.default.createFile(atPath: scratch.appendingPathComponent("tfrc").path, contents: Data()))
    return scratch
}

/// Runs the real binary in `directory` with no Furrow configuration.
func runFurrow(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> RunResult {
    let process = Process()
    process.executableURL = Paths.furrow
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    env["TF_CLI_CONFIG_FILE"] = directory.appendingPathComponent("tfrc").path
    env.removeValue(forKey: "FURROW_CONFIG")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    nonisolated(unsafe) var outData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return RunResult(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self), status: process.terminationStatus)
}

func check(_ script: TreeScript, environment: [String: String] = [:], prepare: (URL) throws -> Void = { _ in }) throws {
    let scratch = try makeScratch()
    defer { try? FileManager.default.removeItem(at: scratch) }
    try prepare(scratch)
    let file = scratch.appendingPathComponent("script.furrow")
    try script.source.write(to: file, atomically: true, encoding: .utf8)
    let result = try runFurrow(["run", file.path] + script.arguments, in: scratch, environment: environment)
    let expectedExit = script.expectedExit ?? (script.expectedErrors.isEmpty ? 0 : 1)
    #expect(result.status == expectedExit, "exit status \(result.status), expected \(expectedExit); stderr:\n\(result.stderr)")
    var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    #expect(lines == script.expectedLines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(script.expectedLines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
    for message in script.expectedErrors {
        #expect(result.stderr.contains(message), "standard error lacks '\(message)':\n\(result.stderr)")
    }
}

@Suite struct EnvironmentScriptTests {
    @Test(arguments: TreeScript.all())
    func script(_ script: TreeScript) throws { try check(script) }

    @Test func everyScriptIsFound() {
        #expect(TreeScript.all().count >= 5)
    }
}
