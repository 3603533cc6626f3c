import Foundation
import FurrowTestSupport
import Testing

extension GoldenScript {
    /// The file name as a DNS label, to name a hosted zone after the script.
    var zoneLabel: String {
        String(((name as NSString).lastPathComponent as NSString).deletingPathExtension.map { $0 == "_" ? "-" : $0 })
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
