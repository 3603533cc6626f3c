import Foundation
import Testing
import FurrowLibrary
import FurrowRuntime

/// An interpreter is freed once nothing holds it: `furrow serve`, the REPL and the tests make
/// many, and each one kept alive would keep its builtins, modules and values.
@Suite struct InterpreterLifetimeTests {
    /// Makes an interpreter, runs `source` in it and returns a weak reference to it, so that
    /// nothing but the interpreter's own references can keep it alive after the call.
    static func runAndLetGo(_ source: String) throws -> () -> Interpreter? {
        let configuration = (try? Configuration.load(environment: ["FURROW_CONFIG": "/nonexistent/furrow.toml"])) ?? Configuration(value: .map([:]))
        let interpreter = Library.makeInterpreter(options: RunOptions(), configuration: configuration)
        _ = try interpreter.makeSession().evaluate(source)
        weak var weakInterpreter = interpreter
        return { weakInterpreter }
    }

    @Test(arguments: [
        "1 + 1",
        "fn f(x) { return x * 2 }\nlet xs = [1, 2, 3] | map f\nprint(len(xs))",
        "var n = 0\nlet add = () => { n += 1 }\nadd()",
        "try { fail(\"boom\") } catch e { e.kind }",
        // The worker threads hold fibers, which keep the interpreter alive: parallel returns
        // only once every thread has let go of its fiber.
        "let xs = parallel([1, 2, 3, 4, 5, 6, 7, 8], limit: 4, x => x * 2)\nlen(xs)",
        "let xs = parallel([1, 2, 3, 4], limit: 4, x => fail(\"boom ${x}\"))\nxs[0].kind",
        "try { parallel([1, 2, 3, 4], limit: 4, fail_fast: true, x => fail(\"boom\")) } catch e { e.kind }",
    ])
    func anInterpreterIsFreedWhenNothingHoldsIt(_ source: String) throws {
        let interpreter = try Self.runAndLetGo(source)
        #expect(interpreter() == nil)
    }
}
