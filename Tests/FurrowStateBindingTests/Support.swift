import Foundation
import FurrowTestSupport
import Testing

enum Paths {
    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// Starts the real binary; AWS settings of the test's own environment are cleared too, so
/// only the backend a test selects is reached.
func startFurrow(_ arguments: [String], environment: [String: String] = [:], directory: URL) throws -> FurrowProcess {
    try FurrowProcess(arguments, directory: directory, environment: environment, clearing: ["FURROW_", "AWS_"])
}

func runFurrow(_ arguments: [String], environment: [String: String] = [:], directory: URL) throws -> FurrowRunResult {
    try startFurrow(arguments, environment: environment, directory: directory).wait()
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
