import Foundation
import FurrowJSON

/// Structured logs on standard error: logfmt for people, JSON lines with `--log-format json`.
public final class StructuredLog: @unchecked Sendable {
    let json: Bool
    let color: Bool
    private let lock = NSLock()
    /// Fields added to every line (job, run id), set by scripts with `log.context(...)`.
    public var context: [(String, Value)] = []

    init(json: Bool, color: Bool) {
        self.json = json
        self.color = color
    }

    /// The fields every line has; a script's field of the same name is written as
    /// `field.NAME`, so it can neither replace nor repeat them.
    static let reservedFields: Set<String> = ["time", "level", "msg"]

    public func write(level: String, message: String, fields: [(String, Value)]) {
        let all = (context + fields).map { StructuredLog.reservedFields.contains($0.0) ? ("field." + $0.0, $0.1) : $0 }
        var line: String
        if json {
            var object: [(String, JSONValue)] = [
                ("time", .string(TimeFormat.iso(TimeFormat.now()))), ("level", .string(level)), ("msg", .string(message)),
            ]
            for (k, v) in all { object.append((k, (try? Format.toJSON(v)) ?? .string(Format.repr(v)))) }
            var ordered = JSONValue.object([:]).objectValue!
            for (k, v) in object { ordered[k] = v }
            line = JSONValue.object(ordered).encoded()
        } else {
            let levelText = color ? StructuredLog.colored(level) : level
            line = "time=\(TimeFormat.iso(TimeFormat.now())) level=\(levelText) msg=\(StructuredLog.logfmt(message))"
            for (k, v) in all { line += " \(k)=\(StructuredLog.logfmt(Format.str(v)))" }
        }
        line += "\n"
        lock.lock()
        StandardError.write(line)
        lock.unlock()
    }

    static func colored(_ level: String) -> String {
        switch level {
        case "error": return "\u{1B}[31merror\u{1B}[0m"
        case "warn": return "\u{1B}[33mwarn\u{1B}[0m"
        case "debug": return "\u{1B}[2mdebug\u{1B}[0m"
        default: return "\u{1B}[32m\(level)\u{1B}[0m"
        }
    }

    static func logfmt(_ s: String) -> String {
        if !s.isEmpty, !s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" || $0 == "\\" }) { return s }
        return Format.quote(s)
    }
}

/// Builtins that need the runtime's internals: `parallel`, `fail`, `assert`, `exit`, `dry_run`.
enum Core {
    static func install(into interpreter: Interpreter) {
        interpreter.register("fail", .function(NativeFunction("fail", doc: "fail(message, kind: \"error\", data: null)\nRaises an error; `catch err` sees err.message, err.kind, err.data.", parameters: ["message", "kind", "data"]) { (args: Arguments) throws(FurrowError) -> Value in
            let b = try args.bind("fail", ["message", "kind", "data"], required: 1)
            // fail(err) in a catch re-raises the caught error as it was.
            if case .error(let caught) = b[0]! {
                throw FurrowError(caught.message, kind: b[1]?.stringValue ?? caught.kind, data: b[2] ?? caught.data)
            }
            var kind = "error"
            if case .string(let k)? = b[1] { kind = k }
            throw FurrowError(Format.str(b[0]!), kind: kind, data: b[2] ?? .null)
        }))
        interpreter.register("assert", .function(NativeFunction("assert", doc: "assert(condition, message = \"assertion failed\")\nFails when the condition is false or null.", parameters: ["condition", "message"]) { (args: Arguments) throws(FurrowError) -> Value in
            let b = try args.bind("assert", ["condition", "message"], required: 1)
            if !b[0]!.isTruthy {
                throw FurrowError(b[1].map(Format.str) ?? "assertion failed", kind: "assert")
            }
            return .null
        }))
        interpreter.register("exit", .function(NativeFunction("exit", doc: "exit(code = 0)\nEnds the script with this exit code.", parameters: ["code"]) { (args: Arguments) throws(FurrowError) -> Value in
            let b = try args.bind("exit", ["code"], required: 0)
            var code: Int32 = 0
            if let v = b[0] {
                guard case .int(let i) = v, i >= 0, i < 256 else { throw FurrowError.type("exit() takes an int from 0 to 255") }
                code = Int32(i)
            }
            throw FurrowError(exitCode: code)
        }))
        interpreter.register("error", .function(NativeFunction("error", doc: "error(message, kind: \"error\")\nAn error value (not raised): what a failed parallel slot holds.", parameters: ["message", "kind"]) { (args: Arguments) throws(FurrowError) -> Value in
            let b = try args.bind("error", ["message", "kind"], required: 1)
            return .error(ErrorValue(message: Format.str(b[0]!), kind: b[1]?.stringValue ?? "error", location: nil))
        }))
        interpreter.register("dry_run", .function(NativeFunction("dry_run", doc: "dry_run() → bool, or dry_run(true) { ... }\nWithout arguments: whether mutating builtins only plan. With true and a block: runs the block in plan mode. Under --dry-run plan mode cannot be left.", parameters: ["enabled", "body"]) { (args: Arguments) throws(FurrowError) -> Value in
            let f = args.fiber
            if args.count == 0 { return .bool(f.dryRun) }
            let b = try args.bind("dry_run", ["enabled", "body"], required: 2)
            guard case .function(let body) = b[1]! else { throw FurrowError.type("dry_run(flag) needs a block") }
            return try f.planning(b[0]!.isTruthy) { () throws(FurrowError) -> Value in try f.call(body, []) }
        }))
        interpreter.register("parallel", .function(NativeFunction("parallel", doc: "parallel(items, fn, limit: 4, fail_fast: false) → list\nRuns fn(item) on up to `limit` threads; results in input order. A failed item gives an error value in its slot and the others go on; with fail_fast the first error stops the rest and is raised.", parameters: ["items", "fn", "limit", "fail_fast"]) { (args: Arguments) throws(FurrowError) -> Value in
            try parallel(args)
        }))
    }

    /// Named `limit:` may come before the function (`parallel(envs, limit: 4, apply_one)`).
    static func parallel(_ args: Arguments) throws(FurrowError) -> Value {
        var items: Value?
        var function: Callable?
        var limit = 4
        var failFast = false
        for i in 0..<args.count {
            let label = args.labels?[i] ?? nil
            switch label {
            case nil:
                if items == nil { items = args[i] }
                else if case .function(let fn) = args[i], function == nil { function = fn }
                else { throw FurrowError.type("parallel(items, fn, limit:) got an extra argument") }
            case "items": items = args[i]
            case "fn":
                guard case .function(let fn) = args[i] else { throw FurrowError.type("parallel's fn must be a function") }
                function = fn
            case "limit":
                guard case .int(let n) = args[i], n >= 1 else { throw FurrowError.value("parallel's limit must be an int ≥ 1") }
                limit = n
            case "fail_fast": failFast = args[i].isTruthy
            default: throw FurrowError.type("parallel() has no parameter named '\(label!)'")
            }
        }
        guard let items, let function else { throw FurrowError.type("parallel needs items and a function: parallel(items, limit: 4, fn)") }
        let list = try Operations.iterate(items, args.fiber)
        if list.isEmpty { return .list([]) }
        let parent = args.fiber
        final class Shared: @unchecked Sendable {
            var results: [Value]
            var next = 0
            var stop = false
            var firstError: FurrowError?
            let lock = NSLock()
            init(_ n: Int) { results = Array(repeating: .null, count: n) }
        }
        let shared = Shared(list.count)
        let workers = min(limit, list.count)
        let stopOnFailure = failFast
        let worker = { (fiber: Fiber) in
            while true {
                shared.lock.lock()
                if shared.stop || shared.next >= list.count {
                    shared.lock.unlock()
                    return
                }
                let index = shared.next
                shared.next += 1
                shared.lock.unlock()
                let result: Value
                do throws(FurrowError) {
                    result = try fiber.call(function, [list[index]])
                } catch {
                    result = .error(error.asValue)
                    shared.lock.lock()
                    if shared.firstError == nil { shared.firstError = error }
                    if stopOnFailure || error.exitCode != nil || error.kind == "parallel" || error.kind == "interrupted" { shared.stop = true }
                    shared.lock.unlock()
                }
                shared.lock.lock()
                shared.results[index] = result
                shared.lock.unlock()
            }
        }
        // Threads beyond the process-wide bound are not started: with none to spare (a
        // parallel inside parallel tasks) this call's tasks run one by one on this thread.
        let permits = ParallelThreads.acquire(workers)
        var started = 0
        var failure: Int32 = 0
        let group = DispatchGroup()
        for _ in 0..<permits {
            let fiber = parent.spawn()
            group.enter()
            // The fiber keeps the interpreter alive: the thread lets go of it before the
            // caller is woken, so that nothing of this call outlives it.
            let status = NativeThread.start(stackSize: 1 << 28, { worker(fiber) }, then: {
                ParallelThreads.release(1)
                group.leave()
            })
            if status != 0 {
                group.leave()
                failure = status
                break
            }
            started += 1
        }
        ParallelThreads.release(permits - started)
        if started == 0 && permits > 0 {
            throw FurrowError("parallel could not start a thread: \(String(cString: strerror(failure)))", kind: "parallel")
        }
        if started == 0 { worker(parent.spawn()) }
        group.wait()
        if let error = shared.firstError, failFast || error.exitCode != nil || error.kind == "parallel" || error.kind == "interrupted" { throw error }
        try parent.checkInterrupt()
        return .list(shared.results)
    }
}

/// The bound on `parallel` threads alive at once in the process, whatever the nesting.
enum ParallelThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var running = 0

    /// Takes up to `wanted` of the threads still free; returns how many it took.
    static func acquire(_ wanted: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let granted = max(0, min(wanted, Limits.parallelThreads - running))
        running += granted
        return granted
    }

    static func release(_ count: Int) {
        lock.lock()
        running -= count
        lock.unlock()
    }
}

/// A POSIX thread, so that a thread that cannot be made (no memory for its stack) is an
/// error to report rather than a task that never runs.
enum NativeThread {
    private final class Body {
        var run: (() -> Void)?
        let finished: () -> Void
        init(_ run: @escaping () -> Void, _ finished: @escaping () -> Void) { self.run = run; self.finished = finished }
    }

    /// Starts `body` on a detached thread, then runs `finished` there once `body` and
    /// everything it captured have been released (so a caller that waits for `finished`
    /// knows the thread holds none of it any more); returns 0 or the error number of
    /// pthread_create, when neither runs.
    static func start(stackSize: Int, _ body: @escaping () -> Void, then finished: @escaping () -> Void) -> Int32 {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Body(body, finished)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run!()
            body.run = nil
            body.finished()
            return nil
        }, context)
        if status != 0 { Unmanaged<Body>.fromOpaque(context).release() }
        return status
    }
}
