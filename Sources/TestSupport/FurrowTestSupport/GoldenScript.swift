import Foundation

/// A golden script: a file of `Tests/Scripts/**` (or a ```furrow block of the README and
/// docs) whose comments state what a run of the real binary must print (`ScriptExpectations`).
/// Every test target runs golden scripts through this one runner.
public struct GoldenScript: Sendable, CustomStringConvertible {
    /// `Tests/Scripts/dns/records.furrow`, or `docs/language.md example 3`.
    public let name: String
    public let source: String
    /// The file, for scripts run in place (so relative imports resolve).
    public let file: URL?

    public var description: String { name }
    public var expectations: ScriptExpectations { ScriptExpectations(source: source) }

    /// The repository: the nearest directory above this file that holds Package.swift.
    public static let repositoryRoot: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { return directory }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// The golden scripts under `Tests/Scripts` (or one folder of it), sorted; `lib/`
    /// folders hold modules the scripts import, not scripts.
    public static func scripts(in folder: String? = nil) -> [GoldenScript] {
        let base = repositoryRoot.appendingPathComponent("Tests/Scripts")
        let top = folder.map { base.appendingPathComponent($0) } ?? base
        let files = FileManager.default.enumerator(atPath: top.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".furrow") && !$0.split(separator: "/").contains("lib") }.sorted().map { relative in
            let url = top.appendingPathComponent(relative)
            let name = "Tests/Scripts/" + (folder.map { $0 + "/" } ?? "") + relative
            return GoldenScript(name: name, source: (try? String(contentsOf: url, encoding: .utf8)) ?? "", file: url)
        }
    }

    /// The ```furrow blocks of the README and of `docs/*.md`, so documented examples cannot rot.
    public static func documentedExamples() -> [GoldenScript] {
        let docs = repositoryRoot.appendingPathComponent("docs")
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
                    out.append(GoldenScript(name: "docs/\(file) example \(count)", source: block!.joined(separator: "\n"), file: nil))
                    block = nil
                    continue
                }
                block?.append(String(line))
            }
        }
        return out
    }

    /// A new scratch working directory for one run: `envs/` (a copy of examples/envs, links
    /// kept) and `tfrc`, an empty terraform CLI configuration.
    public static func makeScratch() throws -> URL {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-R", repositoryRoot.appendingPathComponent("examples/envs").path, scratch.appendingPathComponent("envs").path]
        try copy.run()
        copy.waitUntilExit()
        guard copy.terminationStatus == 0,
            FileManager.default.createFile(atPath: scratch.appendingPathComponent("tfrc").path, contents: Data())
        else {
            throw GoldenScriptError(message: "cannot prepare the scratch directory \(scratch.path)")
        }
        return scratch
    }

    /// Runs the script with `furrow run` in a new scratch directory (see `makeScratch`),
    /// with the environment variables given (inherited ones starting with `clearing` are
    /// dropped), and says what differs from its expectations: empty when it passes.
    public func run(environment: [String: String] = [:], clearing prefixes: [String] = ["FURROW_"]) throws -> [String] {
        let scratch = try Self.makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path: String
        if let file {
            path = file.path
        } else {
            let written = scratch.appendingPathComponent("example.furrow")
            try source.write(to: written, atomically: true, encoding: .utf8)
            path = written.path
        }
        let e = expectations
        let overrides = ["TF_CLI_CONFIG_FILE": scratch.appendingPathComponent("tfrc").path].merging(environment) { _, new in new }
        let result = try FurrowProcess.run(["run", path] + e.arguments, directory: scratch, environment: overrides, clearing: prefixes)
        var mismatches: [String] = []
        if result.status != e.expectedExit {
            mismatches.append("exit status \(result.status), expected \(e.expectedExit); stderr:\n\(result.stderr)")
        }
        if result.lines != e.lines {
            mismatches.append("standard output differs:\n--- got\n\(result.stdout)--- expected\n\(e.lines.joined(separator: "\n"))\nstderr:\n\(result.stderr)")
        }
        for message in e.errors where !result.stderr.contains(message) {
            mismatches.append("standard error lacks '\(message)':\n\(result.stderr)")
        }
        return mismatches
    }
}

public struct GoldenScriptError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
