import Foundation
import Testing
import FurrowLibrary
import FurrowRuntime

/// The runtime's cancellation: an interrupt requested from another thread stops running code
/// at its next safe point with an `interrupted` error, in every fiber.
@Suite struct InterruptionTests {
    static func interpreter() -> Interpreter {
        Library.makeInterpreter(options: RunOptions(), configuration: (try? Configuration.load(environment: ["FURROW_CONFIG": "/nonexistent/furrow.toml"])) ?? Configuration(value: .map([:])))
    }

    /// The interrupts come from a queue of their own: on the global queue, which runs only as many
    /// blocks as there are cores, they waited behind the tests' own loops (which run on its
    /// threads) and the suite hung on a two-core machine.
    static let interrupter = DispatchQueue(label: "furrow.tests.interrupter")

    /// Runs `source` in a session, interrupting it `after` seconds later from another thread;
    /// returns the error and how long the run took.
    static func interrupted(_ source: String, in session: Session, after: Double = 0.2, force: Bool = false) -> (FurrowError?, Double) {
        let interpreter = session.interpreter
        interrupter.asyncAfter(deadline: .now() + after) { interpreter.interrupt(reason: "interrupted by the test", force: force) }
        let start = Date()
        var caught: FurrowError?
        do { _ = try session.evaluate(source) } catch let error as FurrowError { caught = error } catch {}
        let elapsed = Date().timeIntervalSince(start)
        interpreter.clearInterrupt()
        return (caught, elapsed)
    }

    @Test(arguments: [
        "var n = 0\nwhile true { n += 1 }",
        "var n = 0\nfor i in range(1000000000000) { n += i }",
        "fn calls(n) { if n > 0 { calls(n - 1)\ncalls(n - 1) } }\ncalls(60)",
        "sleep(60s)",
        "parallel(range(8), limit: 8, fn(i) { sleep(60s) })",
        "parallel(range(4), limit: 4, fn(i) { var n = 0\nwhile true { n += 1 } })",
        "os.exec([\"sh\", \"-c\", \"sleep 60\"])",
    ])
    func anInterruptStopsRunningCode(_ source: String) throws {
        let session = Self.interpreter().makeSession()
        let (error, elapsed) = Self.interrupted(source, in: session)
        let raised = try #require(error)
        #expect(raised.kind == "interrupted")
        #expect(raised.message == "interrupted by the test")
        #expect(raised.location != nil)
        #expect(elapsed < 10)
    }

    @Test func variablesSurviveAndTheNextInputRuns() throws {
        let session = Self.interpreter().makeSession()
        _ = try session.evaluate("var kept = 41")
        let (error, _) = Self.interrupted("while true { kept += 0 }", in: session)
        #expect(error?.kind == "interrupted")
        #expect(try session.evaluate("kept + 1")! == .int(42))
    }

    @Test func aCatchHandlerFinishesAndTheInterruptIsRaisedAgainAfterIt() throws {
        let session = Self.interpreter().makeSession()
        _ = try session.evaluate("var cleaned = false\nfn cleanup() { sleep(300ms)\ncleaned = true }")
        let (error, _) = Self.interrupted("try { sleep(60s) } catch e { cleanup() }\nwhile true { }", in: session)
        #expect(error?.kind == "interrupted")
        #expect(try session.evaluate("cleaned")! == .bool(true))
    }

    @Test func aForcedInterruptStopsACatchHandler() throws {
        let session = Self.interpreter().makeSession()
        let (error, elapsed) = Self.interrupted("try { sleep(60s) } catch e { sleep(60s) }", in: session, force: true)
        #expect(error?.kind == "interrupted")
        #expect(elapsed < 10)
    }

    @Test func aDeadlineInterruptsAndClearCancelsIt() throws {
        let interpreter = Self.interpreter()
        let session = interpreter.makeSession()
        interpreter.interruption.request(after: 100_000_000, "the time limit ran out")
        var caught: FurrowError?
        do { _ = try session.evaluate("while true { }") } catch let error as FurrowError { caught = error }
        #expect(caught?.message == "the time limit ran out")
        interpreter.clearInterrupt()
        interpreter.interruption.request(after: 100_000_000, "too late")
        interpreter.clearInterrupt()
        #expect(try session.evaluate("sleep(300ms)\n1")! == .int(1))
    }
}
