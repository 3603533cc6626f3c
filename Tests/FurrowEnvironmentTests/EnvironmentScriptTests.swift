import Foundation
import FurrowTestSupport
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

    var expectations: ScriptExpectations { ScriptExpectations(source: source) }
}

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

}

typealias RunResult = FurrowRunResult

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

/// Runs the real binary in `directory` with no Furrow configuration and its empty terraform
/// CLI configuration.
func runFurrow(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> RunResult {
    let overrides = ["TF_CLI_CONFIG_FILE": directory.appendingPathComponent("tfrc").path].merging(environment) { _, new in new }
    return try FurrowProcess.run(arguments, directory: directory, environment: overrides)
}

func check(_ script: TreeScript, environment: [String: String] = [:], prepare: (URL) throws -> Void = { _ in }) throws {
    let scratch = try makeScratch()
    defer { try? FileManager.default.removeItem(at: scratch) }
    try prepare(scratch)
    let file = scratch.appendingPathComponent("script.furrow")
    try script.source.write(to: file, atomically: true, encoding: .utf8)
    let e = script.expectations
    let result = try runFurrow(["run", file.path] + e.arguments, in: scratch, environment: environment)
    #expect(result.status == e.expectedExit, "exit status \(result.status), expected \(e.expectedExit); stderr:\n\(result.stderr)")
    #expect(result.lines == e.lines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(e.lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
    for message in e.errors {
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
