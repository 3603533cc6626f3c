import Foundation
import FurrowRuntime

/// The one place every front end (REPL, `furrow run`, `-c`, tests) gets its builtins from.
public enum Library {
    /// Every builtin module, in installation order.
    public static func modules(configuration: Configuration) -> [BuiltinModule] {
        let terraform = TerraformBuiltins.makeTerraform(configuration)
        return [
            CoreBuiltins(),
            SystemBuiltins(noprocessPath: configuration.string("jobs", "noprocess")),
            HCLBuiltins(),
            AWSBuiltins(configuration: configuration),
            TerraformBuiltins(terraform: terraform), EnvironmentBuiltins(terraform: terraform),
            StateBuiltins(configuration: configuration),
            DNSBuiltins(configuration: configuration),
            ConfigBuiltin(configuration: configuration),
            ServeBuiltins(), HTTPBuiltins(),
        ]
    }

    /// An interpreter with all builtins and the embedded standard library.
    public static func makeInterpreter(options: RunOptions, configuration: Configuration) -> Interpreter {
        Interpreter(options: options, modules: modules(configuration: configuration), standardLibrary: StandardLibrary.sources)
    }
}

/// `config`: the configuration as a map (`config.jobs.table`).
struct ConfigBuiltin: BuiltinModule {
    let configuration: Configuration
    func install(into interpreter: Interpreter) {
        interpreter.register("config", configuration.value, doc: "config\nThe configuration (furrow.toml, FURROW_* variables, defaults) as a map: config.jobs.table.")
        interpreter.register("args", .list(interpreter.options.scriptArguments.map { .string($0) }), doc: "args\nCommand-line arguments that are not parameters.")
    }
}
