import FurrowHCL
import FurrowJSON
import FurrowRuntime

/// `hcl.decode`: terraform's HCL files (tfvars, backend blocks, variables) as plain data.
struct HCLBuiltins: BuiltinModule {
    func install(into interpreter: Interpreter) {
        interpreter.register("hcl", .host(Namespace("hcl", doc: "hcl.decode(text, filename: \"<input>\")", members: [
            "decode": builtin("hcl.decode", ["text", "filename"], required: 1, doc: "hcl.decode(text, filename: \"<input>\") → map\nDecodes HCL (terraform.tfvars, backend blocks, variables.tf) in the shape of terraform's JSON syntax: attributes become keys, blocks nest under their type and labels, expressions that are not literal become \"${...}\" strings.") { b, _ throws(FurrowError) in
                let text = try b[0]!.string("hcl.decode()'s text")
                let filename = try b[1].map { v throws(FurrowError) in try v.string("filename") } ?? "<input>"
                do throws(HCLError) {
                    return Format.fromJSON(try HCLFile.parse(text, filename: filename).jsonValue())
                } catch {
                    throw FurrowError("invalid HCL: \(error.description)", kind: .hcl)
                }
            },
        ])))
    }
}
