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
        _ = Sandbox.shared
        let file = SourceFile(name: "fuzz.furrow", text: text)
        var lexer = Lexer(file: file)
        _ = lexer.tokenize()
        for diagnostic in lexer.diagnostics { _ = diagnostic.rendered() }
        let interpreter = Sandbox.shared.makeInterpreter()
        let script: CompiledScript
        do {
            script = try interpreter.compile(file)
        } catch {
            _ = error.rendered(color: true)
            return
        }
        guard EvaluationBudget.allows(file) else { return }
        do {
            try interpreter.run(script)
        } catch {
            _ = error.rendered(color: true)
        }
    }
}

/// What keeps a fuzzed script from touching anything outside the process.
///
/// Plan mode (`--dry-run`) turns every mutating builtin (`os.exec`, `os.write`, `os.remove`,
/// state writes, terraform and DNS changes) into a plan value, and a script cannot leave it.
/// That is not enough on its own: the AWS, terraform, state, environment and DNS modules
/// read from servers, processes and databases even when planning. So only the modules that
/// need nothing outside the process are installed — the core builtins, `json`/`os`/`math`/
/// `time`/`log`, `hcl` and `config` — and the working directory is a fresh empty directory,
/// so the remaining readers (`os.read`, `os.glob`, `import "file"`) find nothing of ours.
final class Sandbox: @unchecked Sendable {
    static let shared = Sandbox()

    /// The builtin modules kept, by type name (`Library.modules` is the one public list).
    static let moduleNames: Set<String> = ["CoreBuiltins", "SystemBuiltins", "HCLBuiltins", "ConfigBuiltin"]

    let configuration: Configuration
    let options: RunOptions

    private init() {
        var template = Array((NSTemporaryDirectory() + "/furrow-fuzz-XXXXXX").utf8CString)
        guard let directory = mkdtemp(&template), chdir(directory) == 0 else {
            fatalError("cannot make and enter a scratch directory")
        }
        // The defaults, not a furrow.toml or FURROW_* variables of the shell that started us.
        do {
            configuration = try Configuration.load(environment: [:])
        } catch {
            fatalError("the default configuration does not load: \(error)")
        }
        var options = RunOptions()
        options.dryRun = true
        options.interactive = false
        self.options = options
        let found = Set(Library.modules(configuration: configuration).map { "\(type(of: $0))" })
        guard Self.moduleNames.isSubset(of: found) else {
            fatalError("builtin modules \(Self.moduleNames.subtracting(found).sorted()) no longer exist; update Sandbox.moduleNames")
        }
    }

    /// A fresh interpreter per input, so no input depends on what ran before it.
    func makeInterpreter() -> Interpreter {
        let modules = Library.modules(configuration: configuration).filter { Self.moduleNames.contains("\(type(of: $0))") }
        return Interpreter(options: options, modules: modules, standardLibrary: StandardLibrary.sources)
    }
}

/// Which inputs are evaluated. The evaluator cannot be stopped from outside yet, and a script
/// that loops or recurses forever (or over `range(10**18)`) is legitimate, so only scripts that
/// cannot repeat anything are run: no `while`, no `for`, no functions (which could recurse),
/// no lambdas, no ranges, no imports, and no builtins that wait or fan out — in
/// interpolations too. Everything else is still lexed, parsed and compiled.
enum EvaluationBudget {
    static let repeatingWords: Set<String> = ["sleep", "parallel", "retry", "range"]

    static func allows(_ file: SourceFile) -> Bool { allows(file, range: nil) }

    private static func allows(_ file: SourceFile, range: Span?) -> Bool {
        var lexer = Lexer(file: file, range: range)
        for token in lexer.tokenize() {
            switch token.kind {
            case .kwWhile, .kwFor, .kwFn, .arrow, .kwImport, .dotDot, .dotDotLess: return false
            case .identifier(let name) where repeatingWords.contains(name): return false
            case .string(let parts):
                for case .interpolation(let span) in parts where !allows(file, range: span) { return false }
            default: continue
            }
        }
        return true
    }
}
