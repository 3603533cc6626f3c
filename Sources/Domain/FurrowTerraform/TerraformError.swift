/// A terraform operation that failed, with where it failed and terraform's own last words.
///
/// Descriptions name the directory, workspace and command (with secret-bearing
/// arguments redacted) and end with the tail of terraform's error output, so an
/// operator can act without opening the log; `logFile` has the whole run.
public struct TerraformError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The terraform (or tofu) executable was not found or could not be started.
        case executableNotFound
        /// The directory does not exist or holds no `*.tf` / `*.tf.json` files.
        case notAConfiguration
        /// The workspace does not exist (terraform would otherwise create it silently).
        case workspaceNotFound
        /// `delete` of a workspace that still has resources, without `force`.
        case workspaceNotEmpty
        /// `delete` of the `default` workspace, which always exists.
        case defaultWorkspace
        /// A workspace name terraform cannot use.
        case invalidWorkspaceName
        /// `apply(plan)` with a plan of another directory or workspace, or one already used.
        case invalidPlan
        /// Another run holds the state lock.
        case stateLocked
        /// The run outlived its timeout and was interrupted.
        case timedOut
        /// The run was stopped by `Terraform.interruptAll()`.
        case interrupted
        /// The terraform process was killed by a signal.
        case killed
        /// Terraform ran and reported an error (syntax, variable type, provider...).
        case commandFailed
        /// Terraform succeeded but printed something Furrow could not decode.
        case unreadableOutput
    }

    public let kind: Kind
    /// Absolute path of the terraform configuration directory.
    public let directory: String
    /// The workspace, or nil for directory-wide commands (init, workspace list).
    public let workspace: String?
    /// The terraform command line, secrets redacted, e.g. `terraform plan -input=false ...`.
    public let command: String
    /// Terraform's exit code, when it exited on its own.
    public let exitCode: Int32?
    /// The last lines of terraform's error output.
    public let stderrTail: String
    /// What went wrong, in one sentence.
    public let message: String
    /// The per-run log file, when the run got that far.
    public let logFile: String?

    public init(kind: Kind, directory: String, workspace: String?, command: String, exitCode: Int32? = nil,
                stderrTail: String = "", message: String, logFile: String? = nil) {
        self.kind = kind
        self.directory = directory
        self.workspace = workspace
        self.command = command
        self.exitCode = exitCode
        self.stderrTail = stderrTail
        self.message = message
        self.logFile = logFile
    }

    public var description: String {
        var text = "\(command) failed in \(directory)"
        if let workspace { text += " (workspace \(workspace))" }
        text += ": \(message)"
        if !stderrTail.isEmpty { text += "\n" + stderrTail }
        if let logFile { text += "\n(log: \(logFile))" }
        return text
    }
}
