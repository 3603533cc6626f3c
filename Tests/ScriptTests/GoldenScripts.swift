import Foundation
import FurrowTestSupport
import Testing

/// Golden script tests: every `Tests/Scripts/**/*.furrow` file (and every ```furrow block of
/// the README and `docs/*.md`) runs through the real `furrow` binary with the local stores
/// (SQLite state, the embedded DNS zone); `# expect:` comments say what standard output must
/// be, `# expect error:` what standard error must contain, `# expect exit:` the exit code.
@Suite struct GoldenScriptTests {
    @Test(arguments: GoldenScript.scripts())
    func script(_ script: GoldenScript) throws {
        let mismatches = try script.run()
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test(arguments: GoldenScript.documentedExamples())
    func documentedExample(_ script: GoldenScript) throws {
        let mismatches = try script.run()
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func everyScriptFileIsFound() {
        #expect(GoldenScript.scripts().count >= 100)
        #expect(GoldenScript.scripts(in: "environments").count >= 7)
        #expect(GoldenScript.documentedExamples().count >= 20)
    }
}

enum Paths {
    static let root = GoldenScript.repositoryRoot

    static var furrow: URL { FurrowProcess.binary }
}

typealias RunResult = FurrowRunResult

/// Runs the real binary in `directory` (a new scratch directory when nil) with no configuration.
func runFurrow(
    _ arguments: [String], input: String? = nil, environment: [String: String] = [:], directory: URL? = nil,
    timeout: TimeInterval? = nil
) throws -> RunResult {
    let scratch = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("furrow-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    return try FurrowProcess.run(arguments, directory: scratch, environment: environment, input: input, timeout: timeout)
}
