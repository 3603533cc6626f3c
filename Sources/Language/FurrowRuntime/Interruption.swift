import Foundation
import Synchronization

/// A request to stop running code, shared by every fiber of one interpreter and safe to make
/// from any thread (a signal watcher, a REPL, a fuzzer's deadline).
///
/// The request is level-triggered: once made, every fiber raises an `interrupted` error at
/// its next safe point (a loop's back-edge, a function call, `sleep`, a wait on a child
/// process), and again at the next one if a `catch` swallowed it, until `clear()`. Code in a
/// `catch` handler runs to its end at the first level, so cleanup (marking a row failed,
/// writing a summary) happens; `force` stops handlers too.
public final class Interruption: @unchecked Sendable {
    public enum Level: Int, Sendable, Comparable {
        case none = 0
        /// Stop at the next safe point outside `catch` handlers; children get SIGINT.
        case interrupt = 1
        /// Stop at the next safe point, handlers included; children are killed.
        case force = 2
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// The current level; the safe points read it with one relaxed load.
    let state = Atomic<Int>(0)
    private let condition = MonotonicCondition()
    private var reason = "interrupted"
    private var deadline: DispatchWorkItem?
    /// Deadlines fire from a queue of their own: the global queue runs as many blocks at once as
    /// there are cores, so code spinning on its threads could keep a deadline from ever firing.
    private static let deadlines = DispatchQueue(label: "furrow.interruption.deadlines")

    public init() {}

    public var level: Level { Level(rawValue: state.load(ordering: .relaxed)) ?? .none }

    /// Asks every fiber to stop; `reason` becomes the error's message ("interrupted by SIGTERM").
    /// A request never lowers the level.
    public func request(_ reason: String, force: Bool = false) {
        condition.lock()
        let wanted = force ? Level.force.rawValue : Level.interrupt.rawValue
        if state.load(ordering: .relaxed) < wanted {
            if state.load(ordering: .relaxed) == 0 { self.reason = reason }
            state.store(wanted, ordering: .releasing)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Requests an interrupt `nanoseconds` from now, unless `clear()` comes first.
    public func request(after nanoseconds: Int64, _ reason: String) {
        let item = DispatchWorkItem { [weak self] in self?.request(reason) }
        condition.lock()
        deadline?.cancel()
        deadline = item
        condition.unlock()
        Self.deadlines.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: max(0, nanoseconds))), execute: item)
    }

    /// Withdraws the request and any pending deadline (the REPL's next input starts clean).
    public func clear() {
        condition.lock()
        deadline?.cancel()
        deadline = nil
        state.store(0, ordering: .releasing)
        reason = "interrupted"
        condition.unlock()
    }

    /// The error a fiber raises for the current request.
    func error() -> FurrowError {
        condition.lock()
        defer { condition.unlock() }
        return FurrowError(reason, kind: "interrupted")
    }

    /// Waits up to `nanoseconds` or until a request at `level` or above; true if interrupted.
    func wait(nanoseconds: Int64, interruptedAt level: Level) -> Bool {
        let end = MonotonicCondition.deadline(after: nanoseconds)
        condition.lock()
        defer { condition.unlock() }
        while state.load(ordering: .relaxed) < level.rawValue {
            if !condition.wait(until: end) { return state.load(ordering: .relaxed) >= level.rawValue }
        }
        return true
    }
}

extension Fiber {
    /// The safe-point check: one relaxed atomic load when nothing is requested.
    @inline(__always)
    public func checkInterrupt() throws(FurrowError) {
        if interruption.state.load(ordering: .relaxed) != 0 { try interrupted() }
    }

    /// The level at which this fiber stops: inside a `catch` handler only a forced stop counts.
    public var stoppingLevel: Interruption.Level { handlerDepth > 0 ? .force : .interrupt }

    /// What the fiber should do about the current request (none, interrupt or force), for
    /// builtins that wait on something else (a child process): `.none` while a handler runs.
    public var pendingInterrupt: Interruption.Level {
        let level = interruption.level
        return level >= stoppingLevel ? level : .none
    }

    @inline(never)
    func interrupted() throws(FurrowError) {
        if interruption.level >= stoppingLevel { throw interruption.error() }
    }

    /// Sleeps for `nanoseconds` unless interrupted first (then raises `interrupted`).
    public func sleep(nanoseconds: Int64) throws(FurrowError) {
        try checkInterrupt()
        guard nanoseconds > 0 else { return }
        if interruption.wait(nanoseconds: nanoseconds, interruptedAt: stoppingLevel) { throw interruption.error() }
    }
}
