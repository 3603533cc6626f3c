import Foundation
import Testing

/// Golden script tests: every `Tests/Scripts/**/*.furrow` file (and every ```furrow block in
/// `docs/*.md`) runs through the real `furrow` binary; its `# expect:` comments say what
/// standard output must be, `# expect error:` what standard error must contain, and
/// `# expect exit:` the exit code.
struct GoldenScript: CustomTestStringConvertible, Sendable {
    let name: String
    let source: String
    var testDescription: String { name }

    struct Expectations {
        var lines: [String] = []
        var errors: [String] = []
        var exit: Int32?
        var arguments: [String] = []
    }

    var expectations: Expectations {
        var e = Expectations()
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let hash = line.range(of: "# expect") ?? line.range(of: "# args:") else { continue }
            let comment = line[hash.lowerBound...]
            if comment.hasPrefix("# expect: ") { e.lines.append(String(comment.dropFirst("# expect: ".count))) }
            else if comment == "# expect:" { e.lines.append("") }
            else if comment.hasPrefix("# expect error: ") { e.errors.append(String(comment.dropFirst("# expect error: ".count))) }
            else if comment.hasPrefix("# expect exit: ") { e.exit = Int32(comment.dropFirst("# expect exit: ".count).trimmingCharacters(in: .whitespaces)) }
            else if comment.hasPrefix("# args: ") { e.arguments = comment.dropFirst("# args: ".count).split(separator: " ").map(String.init) }
        }
        return e
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

struct RunResult {
    let stdout: String
    let stderr: String
    let status: Int32
    /// Ended by a signal (a crash), not by exit.
    var crashed = false
    var timedOut = false
}

/// Runs the real binary with a scratch working directory and no configuration.
func runFurrow(
    _ arguments: [String], input: String? = nil, environment: [String: String] = [:], directory: URL? = nil,
    timeout: TimeInterval? = nil
) throws -> RunResult {
    let process = Process()
    process.executableURL = Paths.furrow
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    env.removeValue(forKey: "FURROW_CONFIG")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let scratch = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("furrow-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    process.currentDirectoryURL = scratch
    let out = Pipe(), err = Pipe(), inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(input.data(using: .utf8)!) }
    try inPipe.fileHandleForWriting.close()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    var timedOut = false
    if let timeout {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(5000) }
        if process.isRunning {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
        }
    }
    errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return RunResult(
        stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
        status: process.terminationStatus, crashed: !timedOut && process.terminationReason == .uncaughtSignal,
        timedOut: timedOut)
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
    let expectedExit = e.exit ?? (e.errors.isEmpty ? 0 : 1)
    #expect(result.status == expectedExit, "exit status \(result.status), expected \(expectedExit); stderr:\n\(result.stderr)")
    var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    #expect(lines == e.lines, "standard output differs:\n--- got\n\(result.stdout)--- expected\n\(e.lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
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
