import Foundation
import FurrowProcess
import FurrowJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How Furrow runs terraform: which executable, where its logs and plans go, and the
/// environment and limits of every run.
public struct TerraformSettings: Sendable {
    /// `terraform`, `tofu`, or a path; a bare name is looked up on the PATH of the run's environment.
    public var executable: String
    /// Furrow's working directory: run logs go to `<furrowDirectory>/logs`, saved plans
    /// to `<furrowDirectory>/plans`, generated variable files to `<furrowDirectory>/tmp`.
    /// A relative path is taken from the current directory when `Terraform` is created.
    public var furrowDirectory: String
    /// Variables added to (or replacing) the inherited environment of every run.
    public var environment: [String: String]
    /// When set, every run gets `TF_CLI_CONFIG_FILE` pointing here; when nil the
    /// inherited value (if any) is left alone.
    public var cliConfigFile: String?
    /// Default limit on one terraform run; nil means no limit.
    public var timeout: Duration?
    /// How long an interrupted run (timeout or `interruptAll`) may take to stop
    /// cleanly — terraform then saves state and releases its lock — before it is killed.
    public var interruptGrace: Duration
    /// Passed as `-lock-timeout` to commands that take the state lock; nil keeps terraform's default (fail at once).
    public var lockTimeout: Duration?

    public init(
        executable: String = "terraform",
        furrowDirectory: String = ".furrow",
        environment: [String: String] = [:],
        cliConfigFile: String? = nil,
        timeout: Duration? = nil,
        interruptGrace: Duration = .seconds(30),
        lockTimeout: Duration? = nil
    ) {
        self.executable = executable
        self.furrowDirectory = furrowDirectory
        self.environment = environment
        self.cliConfigFile = cliConfigFile
        self.timeout = timeout
        self.interruptGrace = interruptGrace
        self.lockTimeout = lockTimeout
    }
}

/// One finished terraform run.
public struct TerraformRun: Sendable {
    /// The command line as shown in logs and errors (secrets redacted, `-chdir` left out).
    public let command: String
    public let directory: String
    public let workspace: String?
    public let exitCode: Int32
    public let stdout: String
    public let stderr: String
    /// The per-run log file (stdout of commands that print secret values is not logged).
    public let logFile: String
    public let duration: Duration
}

/// The entry point of Furrow's terraform support: runs a real `terraform` (or `tofu`)
/// executable on configuration directories and their workspaces.
///
/// Thread-safe: workspaces of one directory may be planned and applied from many
/// threads at once. Each run selects its workspace with `TF_WORKSPACE` (never
/// `terraform workspace select`), and `terraform init` runs at most once per directory
/// per `Terraform` instance, however many threads ask for it.
public final class Terraform: @unchecked Sendable {
    public let settings: TerraformSettings
    /// Asked while a run waits (the interpreter's interrupt): SIGINT to terraform's process
    /// group, so it saves its state and releases its lock, or SIGKILL when the stop is forced.
    /// Set once, before the first run.
    public var stopRequest: @Sendable () -> StopRequest = { .none }
    /// Absolute form of `settings.furrowDirectory`.
    public let furrowDirectory: String

    private let processes = ChildProcessRunner()
    private let lock = NSLock()
    /// One entry per directory: its init gate, and the workspaces known to exist there.
    private var directories: [String: DirectoryState] = [:]

    public init(_ settings: TerraformSettings = TerraformSettings()) {
        self.settings = settings
        self.furrowDirectory = Terraform.absolutePath(settings.furrowDirectory)
    }

    /// A workspace of the configuration in `directory` (not created by this call).
    public func workspace(_ directory: String, _ name: String) -> TerraformWorkspace {
        TerraformWorkspace(terraform: self, directory: Terraform.absolutePath(directory), name: name)
    }

    /// Names of the workspaces of the configuration in `directory`, as terraform lists them.
    public func workspaces(_ directory: String) throws(TerraformError) -> [String] {
        let directory = Terraform.absolutePath(directory)
        try ensureInitialized(directory)
        let run = try execute(directory: directory, workspace: nil, ["workspace", "list", "-no-color"])
        let names = Terraform.parseWorkspaceList(run.stdout)
        state(of: directory).replaceKnownWorkspaces(names)
        return names
    }

    /// Runs `terraform init` in `directory`, now, whether or not it ran before.
    /// Directories whose backend needs settings at init time (a partial S3 backend block)
    /// must be initialised this way before any workspace of theirs is used.
    ///
    /// `backendConfig` becomes `-backend-config=key=value` arguments (values are redacted
    /// in logs and errors); `reconfigure` (default: whenever a backend config is given)
    /// adds `-reconfigure`, so a changed backend is taken as-is instead of prompting for
    /// a state migration. Later implicit inits of this directory are skipped.
    @discardableResult
    public func initialize(_ directory: String, backendConfig: [String: String] = [:],
                           reconfigure: Bool? = nil) throws(TerraformError) -> TerraformRun {
        let directory = Terraform.absolutePath(directory)
        try checkConfiguration(directory, workspace: nil, command: "init")
        let gate = state(of: directory)
        gate.initLock.lock()
        defer { gate.initLock.unlock() }
        let run = try runInit(directory, backendConfig: backendConfig, reconfigure: reconfigure ?? !backendConfig.isEmpty)
        gate.initialized = true
        // The backend may have changed: forget which workspaces it has.
        gate.replaceKnownWorkspaces([])
        return run
    }

    /// The version terraform reports, e.g. `1.11.4`.
    public func version() throws(TerraformError) -> String {
        let directory = Terraform.absolutePath(".")
        let run = try execute(directory: directory, workspace: nil, ["version", "-json"], chdir: false)
        guard let version = (try? JSONValue.parse(run.stdout))?["terraform_version"]?.stringValue else {
            throw TerraformError(kind: .unreadableOutput, directory: directory, workspace: nil, command: run.command,
                                 message: "`version -json` printed no terraform_version", logFile: run.logFile)
        }
        return version
    }

    /// Interrupts every terraform run of this instance that is still going, e.g. when
    /// the user presses Ctrl-C: SIGINT to each run's process group, so terraform stops
    /// cleanly, saves state and releases its lock. Each interrupted call then fails with
    /// `.interrupted` once its terraform has exited.
    public func interruptAll() {
        processes.signalAll(SIGINT)
    }

    // MARK: - Internals shared with TerraformWorkspace

    /// What one `Terraform` knows of a directory: whether it was initialised (guarded by
    /// `initLock`, held for the whole of an init) and which workspaces exist (guarded by
    /// its own lock; a cache that only saves `workspace list` runs).
    final class DirectoryState: @unchecked Sendable {
        let initLock = NSLock()
        var initialized = false
        private let lock = NSLock()
        private var knownWorkspaces: Set<String> = ["default"]

        func isKnown(_ workspace: String) -> Bool {
            lock.lock(); defer { lock.unlock() }
            return knownWorkspaces.contains(workspace)
        }
        func remember(_ workspace: String) {
            lock.lock(); defer { lock.unlock() }
            knownWorkspaces.insert(workspace)
        }
        func forget(_ workspace: String) {
            lock.lock(); defer { lock.unlock() }
            knownWorkspaces.remove(workspace)
        }
        func replaceKnownWorkspaces(_ names: [String]) {
            lock.lock(); defer { lock.unlock() }
            knownWorkspaces = Set(names).union(["default"])
        }
    }

    func state(of directory: String) -> DirectoryState {
        lock.lock()
        defer { lock.unlock() }
        if let existing = directories[directory] { return existing }
        let created = DirectoryState()
        directories[directory] = created
        return created
    }

    /// Runs `terraform init` unless it already ran for `directory` in this instance.
    /// Concurrent callers wait for the one init in progress.
    func ensureInitialized(_ directory: String, workspace: String? = nil) throws(TerraformError) {
        let gate = state(of: directory)
        gate.initLock.lock()
        defer { gate.initLock.unlock() }
        if gate.initialized { return }
        try checkConfiguration(directory, workspace: workspace, command: "init")
        try runInit(directory, backendConfig: [:], reconfigure: false, for: workspace)
        gate.initialized = true
    }

    @discardableResult
    private func runInit(_ directory: String, backendConfig: [String: String], reconfigure: Bool,
                         for workspace: String? = nil) throws(TerraformError) -> TerraformRun {
        var arguments = ["init", "-input=false", "-no-color"]
        if reconfigure { arguments.append("-reconfigure") }
        for key in backendConfig.keys.sorted() {
            arguments.append("-backend-config=\(key)=\(backendConfig[key]!)")
        }
        // Init runs with TF_WORKSPACE=default (a missing workspace would be created);
        // errors still name the workspace the init was for.
        return try execute(directory: directory, workspace: workspace, arguments, workspaceOverride: "default")
    }

    /// Fails unless `directory` exists and holds terraform configuration files.
    public func checkConfiguration(_ directory: String, workspace: String? = nil, command: String = "init") throws(TerraformError) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let hasConfiguration = files.contains { $0.hasSuffix(".tf") || $0.hasSuffix(".tf.json") }
        guard exists, isDirectory.boolValue, hasConfiguration else {
            let reason = !exists ? "no such directory"
                : !isDirectory.boolValue ? "not a directory"
                : "no terraform configuration files (*.tf, *.tf.json) in it"
            throw TerraformError(kind: .notAConfiguration, directory: directory, workspace: workspace,
                                 command: "\(settings.executable) \(command)", message: reason)
        }
    }

    /// Runs terraform once in `directory` with `TF_WORKSPACE` set to `workspace` (or to
    /// `default` for directory-wide commands, so a stale selection never matters), logs
    /// the run, and turns every failure into a `TerraformError`.
    ///
    /// `workspaceOverride` is the `TF_WORKSPACE` value when it differs from the
    /// workspace reported in errors (`workspace new` must run with the new name).
    @discardableResult
    func execute(
        directory: String,
        workspace: String?,
        _ arguments: [String],
        workspaceOverride: String? = nil,
        logStdout: Bool = true,
        timeout: Duration? = nil,
        acceptedExitCodes: Set<Int32> = [0],
        chdir: Bool = true
    ) throws(TerraformError) -> TerraformRun {
        let shownCommand = ([settings.executable] + arguments.map(Terraform.redacted)).joined(separator: " ")
        func failure(_ kind: TerraformError.Kind, _ message: String, exitCode: Int32? = nil,
                     stderr: String = "", logFile: String? = nil) -> TerraformError {
            TerraformError(kind: kind, directory: directory, workspace: workspace, command: shownCommand,
                           exitCode: exitCode, stderrTail: Terraform.tail(of: stderr), message: message,
                           logFile: logFile)
        }

        let environment = runEnvironment(workspace: workspaceOverride ?? workspace ?? "default")
        guard let executable = Terraform.resolveExecutable(settings.executable, path: environment["PATH"]) else {
            throw failure(.executableNotFound,
                          "executable '\(settings.executable)' not found (PATH=\(environment["PATH"] ?? ""))")
        }

        let log: RunLog
        do {
            log = try RunLog(directory: furrowDirectory + "/logs", workspace: workspace, command: arguments.first ?? "terraform")
        } catch {
            throw failure(.commandFailed, "cannot write a run log: \(error.message)")
        }
        log.header(command: shownCommand, directory: directory, workspace: workspace)

        let fullArguments = (chdir ? ["-chdir=\(directory)"] : []) + arguments
        let outcome: ProcessOutcome
        do {
            let request = ChildProcessRequest(
                executable: executable, arguments: fullArguments, environment: environment,
                timeout: timeout ?? settings.timeout, timeoutSignal: SIGINT, interruptGrace: settings.interruptGrace)
            outcome = try processes.run(request, stop: stopRequest) { channel, bytes in
                if channel == .stderr || logStdout { log.write(bytes) }
            }
        } catch {
            log.footer("could not start: \(error.message)")
            throw failure(.executableNotFound, error.message, logFile: log.path)
        }
        if !logStdout { log.write(Array("[stdout not logged: \(outcome.stdout.count) bytes, may hold secret values]\n".utf8)[...]) }

        let stdout = String(decoding: outcome.stdout, as: UTF8.self)
        let stderr = String(decoding: outcome.stderr, as: UTF8.self)
        let seconds = Double(outcome.duration.components.seconds)
            + Double(outcome.duration.components.attoseconds) / 1e18
        switch outcome.termination {
        case .exited(let code):
            log.footer("exit code \(code) after \(String(format: "%.2f", seconds))s\(outcome.timedOut ? " (timed out)" : "")")
            if outcome.timedOut {
                throw failure(.timedOut, "timed out after \(timeout ?? settings.timeout ?? .zero) and was interrupted",
                              exitCode: code, stderr: stderr, logFile: log.path)
            }
            if outcome.interrupted {
                throw failure(.interrupted, "interrupted (exit code \(code))", exitCode: code, stderr: stderr,
                              logFile: log.path)
            }
            guard acceptedExitCodes.contains(code) else {
                let locked = stderr.contains("Error acquiring the state lock")
                throw failure(locked ? .stateLocked : .commandFailed,
                              locked ? "the state is locked by another run (exit code \(code))" : "exit code \(code)",
                              exitCode: code, stderr: stderr, logFile: log.path)
            }
            return TerraformRun(command: shownCommand, directory: directory, workspace: workspace, exitCode: code,
                                stdout: stdout, stderr: stderr, logFile: log.path, duration: outcome.duration)
        case .signaled(let signal):
            log.footer("killed by signal \(signal) after \(String(format: "%.2f", seconds))s")
            if outcome.timedOut {
                throw failure(.timedOut, "timed out after \(timeout ?? settings.timeout ?? .zero); killed by signal \(signal)",
                              stderr: stderr, logFile: log.path)
            }
            throw failure(outcome.interrupted ? .interrupted : .killed, "terraform was killed by signal \(signal)",
                          stderr: stderr, logFile: log.path)
        }
    }

    private func runEnvironment(workspace: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in settings.environment { environment[key] = value }
        environment["TF_IN_AUTOMATION"] = "1"
        environment["TF_INPUT"] = "0"
        environment["CHECKPOINT_DISABLE"] = "1"
        environment["TF_WORKSPACE"] = workspace
        if let cliConfigFile = settings.cliConfigFile { environment["TF_CLI_CONFIG_FILE"] = cliConfigFile }
        return environment
    }

    // MARK: - Helpers

    /// `path` made absolute against the current directory, without `.`/`..` or a trailing slash.
    static func absolutePath(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func resolveExecutable(_ name: String, path: String?) -> String? {
        ChildProcessRunner.resolveExecutable(name, path: path)
    }

    /// An argument as shown in logs and errors: backend settings may carry credentials.
    static func redacted(_ argument: String) -> String {
        let prefix = "-backend-config="
        guard argument.hasPrefix(prefix) else { return argument }
        let setting = argument.dropFirst(prefix.count)
        guard let equals = setting.firstIndex(of: "=") else { return argument }  // a file path
        return prefix + setting[..<equals] + "=(redacted)"
    }

    /// The last lines of terraform's error output that say something.
    static func tail(of stderr: String, lines: Int = 20, characters: Int = 3000) -> String {
        var kept = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = kept.last, last.trimmingCharacters(in: .whitespaces).isEmpty { kept.removeLast() }
        var text = kept.suffix(lines).joined(separator: "\n")
        if text.count > characters { text = "…" + text.suffix(characters) }
        return text
    }

    /// Workspace names from `terraform workspace list` (`* ` marks the selected one;
    /// notes terraform adds are not indented).
    static func parseWorkspaceList(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("* ") || line.hasPrefix("  ") else { return nil }
            let name = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            return name.isEmpty ? nil : name
        }
    }
}
