import Foundation
import FurrowLibrary
import FurrowProcess
import FurrowRuntime

/// SIGINT and SIGTERM during `furrow run` and `furrow -c`: the first one interrupts the run
/// (every fiber raises `interrupted`, children get SIGINT, `catch` handlers and lease blocks
/// unwind); a second one, or the grace running out, kills the children's process groups and
/// ends the process. Either way the exit code is 128 + the signal (130, 143).
final class GracefulStop: @unchecked Sendable {
    static let shared = GracefulStop()
    private let lock = NSLock()
    private var received: Int32 = 0

    /// 128 + the first stop signal, once one has arrived.
    var exitCode: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received == 0 ? nil : 128 + received
    }

    /// Configuration `jobs.stop_grace` (seconds; `FURROW_JOBS_STOP_GRACE`), 20 by default:
    /// well inside ECS's default `stopTimeout` and Kubernetes' default grace period of 30 s.
    static func grace(_ configuration: Configuration) -> Int {
        switch configuration.section("jobs")["stop_grace"] {
        case .int(let seconds)?: max(0, seconds)
        case .string(let text)?: Int(text).map { max(0, $0) } ?? 20
        default: 20
        }
    }

    /// Watches SIGINT and SIGTERM for `interpreter`; `grace` (seconds) bounds the clean stop.
    func install(_ interpreter: Interpreter, grace: Int) {
        SignalWatcher.watch([SIGINT, SIGTERM]) { signal in
            self.stop(interpreter, signal: signal, grace: grace)
        }
    }

    private func stop(_ interpreter: Interpreter, signal: Int32, grace: Int) {
        lock.lock()
        let first = received == 0
        if first { received = signal }
        lock.unlock()
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        guard first else {
            note("\(name) again: killing the running programs and exiting")
            force(interpreter)
            return
        }
        note("\(name): stopping (children get SIGINT; a second signal, or \(grace)s from now, kills them)")
        interpreter.interrupt(reason: "interrupted by \(name)")
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(grace)) {
            self.note("the stop took longer than \(grace)s: killing the running programs and exiting")
            self.force(interpreter)
        }
    }

    /// Stops `catch` handlers too, kills every child's process group, and exits shortly after
    /// if the run has still not ended (leases a block still holds then run out by their ttl).
    private func force(_ interpreter: Interpreter) {
        interpreter.interrupt(reason: "interrupted", force: true)
        ChildProcessRunner.signalEveryGroup(SIGKILL)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { terminate(self.exitCode ?? 1) }
    }

    private func note(_ message: String) {
        FileHandle.standardError.write("furrow: \(message)\n".data(using: .utf8)!)
    }
}
