import Foundation
import FurrowLibrary
import FurrowRuntime
import FurrowSyntax

/// libFuzzer entry point over the whole language pipeline, through the same public API the
/// `furrow` front end uses: bytes → SourceFile → lexer → parser → compiler → evaluator.
/// Every outcome a script can have (a syntax error, a Furrow error, success) is normal; a
/// trap, a stack overflow, a timeout or running out of memory is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLanguage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    // The front end refuses invalid UTF-8 before anything else sees the text.
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    // As in `furrow`: deep (but bounded) nesting in the compiler and evaluator needs the
    // large stack, and a crash there is only a finding if it also happens with it.
    Interpreter.onLargeStack { LanguageInput(text: text).fuzz() }
    StandardOutput.flush()
    return 0
}

struct LanguageInput {
    let text: String

    func fuzz() {
        let file = SourceFile(name: "fuzz.furrow", text: text)
        var lexer = Lexer(file: file)
        _ = lexer.tokenize()
        for diagnostic in lexer.diagnostics { _ = diagnostic.rendered() }
        let interpreter = Sandbox.shared.interpreter
        interpreter.log.context = []
        let script: CompiledScript
        do {
            script = try interpreter.compile(file)
        } catch {
            _ = error.rendered(color: true)
            return
        }
        EvaluationBudget.run(script, on: interpreter)
    }
}

/// What keeps a fuzzed script from touching anything outside the process.
///
/// Plan mode (`--dry-run`) turns every mutating builtin (`os.exec`, `os.write`, `os.remove`,
/// state writes, terraform and DNS changes) into a plan value, and a script cannot leave it.
/// That is not enough on its own: the AWS, terraform, state, environment and DNS modules
/// read from servers, processes and databases even when planning. So only the modules that
/// need nothing outside the process are installed — the core builtins, `json`/`os`/`math`/
/// `time`/`log`, `hcl` and `config`. scripts/fuzz starts the fuzzer in an empty scratch
/// directory, so the remaining readers (`os.read`, `os.glob`, `import "file"`) find nothing
/// of ours. (The working directory is left alone here: libFuzzer resolves its corpus and
/// artifact paths against it while running.)
final class Sandbox: @unchecked Sendable {
    static let shared = Sandbox()

    /// The builtin modules kept, by type name (`Library.modules` is the one public list).
    static let moduleNames: Set<String> = ["CoreBuiltins", "SystemBuiltins", "HCLBuiltins", "ConfigBuiltin"]

    /// One interpreter for every input, as the REPL keeps one for all its inputs: an
    /// interpreter is never freed (it and its main fiber refer to each other), so one per
    /// input would grow by about 100 KB each. Each input is compiled into a module of its
    /// own; what an interpreter keeps between scripts is the imported modules (loaded once
    /// per process, as in `furrow`) and the `log.context` fields, which are reset per input.
    let interpreter: Interpreter

    private init() {
        // The defaults, not a furrow.toml or FURROW_* variables of the shell that started us.
        let configuration: Configuration
        do {
            configuration = try Configuration.load(environment: [:])
        } catch {
            fatalError("the default configuration does not load: \(error)")
        }
        var options = RunOptions()
        options.dryRun = true
        options.interactive = false
        let all = Library.modules(configuration: configuration)
        let found = Set(all.map { "\(type(of: $0))" })
        guard Self.moduleNames.isSubset(of: found) else {
            fatalError("builtin modules \(Self.moduleNames.subtracting(found).sorted()) no longer exist; update Sandbox.moduleNames")
        }
        let modules = all.filter { Self.moduleNames.contains("\(type(of: $0))") }
        interpreter = Interpreter(options: options, modules: modules, standardLibrary: StandardLibrary.sources)
    }
}

/// How long a script may run. A script that loops or recurses forever is legitimate, so
/// evaluation is interrupted after 150 ms (an `interrupted` error, a normal outcome) and
/// stopped by force, `catch` handlers included, after 300 ms. libFuzzer's own `-timeout`
/// (10 s in scripts/fuzz) is far above both: when it fires, the interpreter did not honour a
/// stop request — a native loop without a safe point — and that is a finding.
enum EvaluationBudget {
    static func run(_ script: CompiledScript, on interpreter: Interpreter) {
        let deadline = Deadline(interpreter)
        deadline.schedule(after: .milliseconds(150), force: false)
        deadline.schedule(after: .milliseconds(300), force: true)
        defer { deadline.disarm() }
        do {
            try interpreter.run(script)
        } catch {
            _ = error.rendered(color: true)
        }
    }
}

/// Interrupts one run of the shared interpreter, and never a later one: once `disarm()`
/// returns, a late timer does nothing, so no input starts out interrupted by its predecessor.
final class Deadline: @unchecked Sendable {
    private let interpreter: Interpreter
    private let lock = NSLock()
    private var armed = true

    init(_ interpreter: Interpreter) { self.interpreter = interpreter }

    func schedule(after delay: DispatchTimeInterval, force: Bool) {
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
            lock.lock()
            defer { lock.unlock() }
            if armed { interpreter.interrupt(reason: "the fuzzing budget is spent", force: force) }
        }
    }

    func disarm() {
        lock.lock()
        defer { lock.unlock() }
        armed = false
        interpreter.clearInterrupt()
    }
}
