import Foundation
import FurrowTestSupport

typealias RunResult = FurrowRunResult

/// A scratch directory with `envs/` (a copy of examples/envs) and `tfrc`, an empty terraform
/// CLI configuration: the one golden scripts run in.
func makeScratch() throws -> URL { try GoldenScript.makeScratch() }

/// Runs the real binary in `directory` with no Furrow configuration and its empty terraform
/// CLI configuration.
func runFurrow(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> RunResult {
    let overrides = ["TF_CLI_CONFIG_FILE": directory.appendingPathComponent("tfrc").path].merging(environment) { _, new in new }
    return try FurrowProcess.run(arguments, directory: directory, environment: overrides)
}
