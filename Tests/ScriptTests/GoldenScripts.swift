import Foundation
import FurrowTestSupport
import Testing

/// Golden script tests: every `Tests/Scripts/**/*.furrow` file (and every ```furrow block in
/// `docs/*.md`) runs through the real `furrow` binary; its `# expect:` comments say what
/// standard output must be, `# expect error:` what standard error must contain, and
/// `# expect exit:` the exit code.
struct GoldenScript: CustomTestStringConvertible, Sendable {
    let name: String
    let source: String
    var testDescription: String { name }

    var expectations: ScriptExpectations { ScriptExpectations(source: source) }
}

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var furrow: URL { FurrowProcess.binary }

    static func scripts() -> [GoldenScript] {
        let base = root.appendingPathComponent("Tests/Scripts")
        let files = FileManager.default.enumerator(atPath: base.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".furrow") && !$0.contains("/lib/") } ?? []
        return files.sorted().map { GoldenScript(name: "Tests/Scripts/" + $0, source: (try? String(contentsOf: base.appendingPathComponent($0), encoding: .utf8)) ?? "") }
    }

    /// ```furrow blocks of the README and the docs, so documented examples cannot rot.
    static func docExamples() -> [GoldenScript] {
        let docs = root.appendingPathComponent("docs")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []).filter { $0.hasSuffix(".md") }.sorted()
        var out: [GoldenScript] = []
        for file in ["../README.md"] + files {
            let text = (try? String(contentsOf: docs.appendingPathComponent(file), encoding: .utf8)) ?? ""
            var block: [String]?
            var count = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if block == nil, line.trimmingCharacters(in: .whitespaces) == "```furrow" { block = []; continue }
                if block != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                    count += 1
                    out.append(GoldenScript(name: "docs/\(file) example \(count)", source: block!.joined(separator: "\n")))
                    block = nil
                    continue
                }
                block?.append(String(line))
            }
        }
        return out
    }
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

func check(_ script: GoldenScript) throws {
    let e = script.expectations
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString).furrow")
    // Scripts under Tests/Scripts run in place so relative imports resolve.
    let path: String
    if script.name.hasPrefix("Tests/") {
        path = Paths.root.appendingPathComponent(script.name).path
    } else {
        try script.source.write(to: file, atomically: true, encoding: .utf8)
        path = file.path
    }
    defer { try? FileManager.default.removeItem(at: file) }
    let result = try runFurrow(["run", path] + e.arguments)
    let expectedExit = e.expectedExit
    #expect(result.status == expectedExit, "exit status \(result.status), expected \(expectedExit); stderr:\n\(result.stderr)")
    #expect(result.lines == e.lines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(e.lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
    for message in e.errors {
        #expect(result.stderr.contains(message), "standard error lacks '\(message)':\n\(result.stderr)")
    }
}

@Suite struct GoldenScriptTests {
    @Test(arguments: Paths.scripts())
    func script(_ script: GoldenScript) throws { try check(script) }

    @Test(arguments: Paths.docExamples())
    func documentedExample(_ script: GoldenScript) throws { try check(script) }

    @Test func everyScriptFileIsFound() {
        #expect(Paths.scripts().count >= 2)
    }
}
