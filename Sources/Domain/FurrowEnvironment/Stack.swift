import Foundation
import FurrowHCL

/// One stack of an environment: a terraform configuration directory whose backend, variables
/// and secrets come from the environment through its links.
public struct Stack: Sendable {
    public let name: String
    public let environment: Environment

    public var path: String { environment.path + "/" + name }

    /// The parsed `*.tf` files of the stack directory (the `backend.tf` link left out).
    /// Only HCL files are read: variables declared in `*.tf.json` are not seen.
    public func terraformFiles() throws(EnvironmentError) -> [HCLBody] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EnvironmentError(.layout, "stack \(name) of environment \(environment.name): \(path) does not exist")
        }
        let entries = (try? fileManager.contentsOfDirectory(atPath: path)) ?? []
        guard entries.contains(where: { ($0.hasSuffix(".tf") && $0 != "backend.tf") || $0.hasSuffix(".tf.json") }) else {
            throw EnvironmentError(.layout, "stack \(name) of environment \(environment.name): \(path) has no terraform files (*.tf)")
        }
        let files = entries.filter { $0.hasSuffix(".tf") && $0 != "backend.tf" }.sorted()
        var bodies: [HCLBody] = []
        for file in files {
            let filePath = path + "/" + file
            guard let data = fileManager.contents(atPath: filePath) else { continue }
            do throws(HCLError) {
                bodies.append(try HCLFile.parse(String(decoding: data, as: UTF8.self), filename: filePath))
            } catch {
                throw EnvironmentError(.hcl, "invalid terraform: \(error.description)")
            }
        }
        return bodies
    }

    public func declaredVariables() throws(EnvironmentError) -> [TerraformVariable] {
        var variables: [TerraformVariable] = []
        for body in try terraformFiles() {
            do throws(HCLError) {
                variables += try TerraformHCL.variables(in: body)
            } catch {
                throw EnvironmentError(.hcl, "invalid terraform: \(error.description)")
            }
        }
        return variables
    }

    /// The backend block of `.variables/backend-<stack>.tf`.
    public func backend() throws(EnvironmentError) -> TerraformBackend {
        let file = environment.path + "/.variables/backend-\(name).tf"
        guard let data = FileManager.default.contents(atPath: file) else {
            throw EnvironmentError(.layout, "stack \(name) of environment \(environment.name) has no backend file \(file)")
        }
        let found: TerraformBackend?
        do throws(HCLError) {
            found = try TerraformHCL.backend(in: try HCLFile.parse(String(decoding: data, as: UTF8.self), filename: file))
        } catch {
            throw EnvironmentError(.hcl, "invalid backend: \(error.description)")
        }
        guard let backend = found else {
            throw EnvironmentError(.layout, "\(file) holds no terraform { backend \"...\" { } } block")
        }
        return backend
    }
}
