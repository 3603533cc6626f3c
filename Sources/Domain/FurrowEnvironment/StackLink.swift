import Foundation

/// The three links every stack directory holds, and where each must point.
public enum StackLink: CaseIterable, Sendable {
    case secrets, backend, tfvars

    public var name: String {
        switch self {
        case .secrets: return ".secrets"
        case .backend: return "backend.tf"
        case .tfvars: return "terraform.tfvars"
        }
    }

    public func target(for stack: String) -> String {
        switch self {
        case .secrets: return "../.secrets"
        case .backend: return "../.variables/backend-\(stack).tf"
        case .tfvars: return "../.variables/terraform.tfvars"
        }
    }

    /// What is at the link's place in a stack directory.
    public enum Found: Equatable, Sendable {
        case missing
        case correct
        case elsewhere(String)
        /// Points where it should, but the target does not exist.
        case broken
        /// A chain of links that never ends in a file.
        case loop
        case regularFile
        case directory
    }

    public func inspect(in stackPath: String, stack: String) -> Found {
        let path = stackPath + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
            var resolved = stat()
            if stat(path, &resolved) != 0 {
                if errno == ELOOP { return .loop }
                return destination == target(for: stack) ? .broken : .elsewhere(destination)
            }
            return destination == target(for: stack) ? .correct : .elsewhere(destination)
        case S_IFDIR: return .directory
        default: return .regularFile
        }
    }
}
