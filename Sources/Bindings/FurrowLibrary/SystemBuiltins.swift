import Foundation
import FurrowProcess
import FurrowJSON
import FurrowRuntime

/// `json`, `os`, `math`, `time`, `log`, `confirm`, `suspended`.
struct SystemBuiltins: BuiltinModule {
    /// Path of the noprocess switch (configuration `jobs.noprocess`); nil: never suspended.
    let noprocessPath: String?

    func install(into interpreter: Interpreter) {
        interpreter.register("json", .host(Namespace("json", doc: "json.encode(value, pretty: false), json.decode(text)", members: [
            "encode": builtin("json.encode", ["value", "pretty"], required: 1, doc: "json.encode(value, pretty: false) → string") { b, _ throws(FurrowError) in
                let j = try Format.toJSON(b[0]!)
                return .string((b[1]?.isTruthy ?? false) ? j.prettyEncoded() : j.encoded())
            },
            "decode": builtin("json.decode", ["text"], doc: "json.decode(text) → value\nIntegers stay ints; objects keep their key order.") { b, _ throws(FurrowError) in
                let text = try b[0]!.string("json.decode()'s text")
                do throws(JSONSyntaxError) {
                    return Format.fromJSON(try JSONValue.parse(text))
                } catch {
                    throw FurrowError("invalid JSON: \(error.description)", kind: "json")
                }
            },
        ])))
        installOS(interpreter)
        interpreter.register("math", .host(Namespace("math", doc: "math.sqrt floor ceil round abs min max pow, math.pi", members: [
            "sqrt": builtin("math.sqrt", ["x"], doc: "math.sqrt(x) → float") { b, _ throws(FurrowError) in .float((try b[0]!.number("x")).squareRoot()) },
            "floor": builtin("math.floor", ["x"], doc: "math.floor(x) → int") { b, _ throws(FurrowError) in
                if case .int = b[0]! { return b[0]! }
                return try toInt((try b[0]!.number("x")).rounded(.down))
            },
            "ceil": builtin("math.ceil", ["x"], doc: "math.ceil(x) → int") { b, _ throws(FurrowError) in
                if case .int = b[0]! { return b[0]! }
                return try toInt((try b[0]!.number("x")).rounded(.up))
            },
            "round": builtin("math.round", ["x", "digits"], required: 1, doc: "math.round(x, digits = 0)\nRounds half away from zero; an int without digits.") { b, _ throws(FurrowError) in
                // An int is already whole: through a float it would lose digits above 2^53.
                if case .int = b[0]!, b[1] == nil { return b[0]! }
                let x = try b[0]!.number("x")
                if let d = b[1] {
                    let p = pow(10.0, Double(min(max(try d.int("digits"), -300), 300)))
                    let r = (x * p).rounded() / p
                    return .float(r.isFinite ? r : x)
                }
                return try toInt(x.rounded())
            },
            "abs": builtin("math.abs", ["x"], doc: "math.abs(x)") { b, _ throws(FurrowError) in
                switch b[0]! {
                case .int(let i):
                    guard i != Int.min else { throw FurrowError("integer overflow in math.abs", kind: "overflow") }
                    return .int(abs(i))
                case .duration(let d):
                    guard d != Int64.min else { throw FurrowError("duration overflow in math.abs", kind: "overflow") }
                    return .duration(abs(d))
                default: return .float(abs(try b[0]!.number("x")))
                }
            },
            "min": .function(NativeFunction("math.min", doc: "math.min(a, b, ...) or math.min(list)") { (args: Arguments) throws(FurrowError) -> Value in try extreme(args, -1) }),
            "max": .function(NativeFunction("math.max", doc: "math.max(a, b, ...) or math.max(list)") { (args: Arguments) throws(FurrowError) -> Value in try extreme(args, 1) }),
            "pow": builtin("math.pow", ["x", "y"], doc: "math.pow(x, y)\nAn int for int arguments with a non-negative exponent.") { b, _ throws(FurrowError) in
                if case .int(var base) = b[0]!, case .int(var exp) = b[1]!, exp >= 0 {
                    var result = 1
                    while exp > 0 {
                        if exp & 1 == 1 {
                            let (r, o) = result.multipliedReportingOverflow(by: base)
                            if o { throw FurrowError("integer overflow in math.pow", kind: "overflow") }
                            result = r
                        }
                        exp >>= 1
                        if exp > 0 {
                            let (sq, o) = base.multipliedReportingOverflow(by: base)
                            if o { throw FurrowError("integer overflow in math.pow", kind: "overflow") }
                            base = sq
                        }
                    }
                    return .int(result)
                }
                return .float(pow(try b[0]!.number("x"), try b[1]!.number("y")))
            },
            "pi": .float(Double.pi),
        ])))
        interpreter.register("time", .host(Namespace("time", doc: "time.parse(text), time.unix(seconds), time.format(t)", members: [
            "parse": builtin("time.parse", ["text"], doc: "time.parse(text) → time\nISO-8601 / RFC 3339 (2026-11-22T10:00:00Z, offsets, or a date); a time is returned as it is.") { b, _ throws(FurrowError) in
                if case .time = b[0]! { return b[0]! }
                let s = try b[0]!.string("time.parse()'s text")
                guard let t = TimeFormat.parse(s) else {
                    throw FurrowError.value("time.parse(): '\(s)' is not an ISO-8601 time from 1677-09-22 to 2262-04-11")
                }
                return .time(t)
            },
            "unix": builtin("time.unix", ["seconds"], doc: "time.unix(seconds) → time") { b, _ throws(FurrowError) in
                let seconds = try b[0]!.number("seconds")
                guard let t = nanoseconds(seconds), seconds > -1e10, seconds < 1e11 else {
                    throw FurrowError.value("time.unix(): \(seconds) is out of range")
                }
                return .time(t)
            },
            "format": builtin("time.format", ["t"], doc: "time.format(t) → string\nISO-8601 UTC text of a time (2026-11-22T10:00:00Z).") { b, _ throws(FurrowError) in
                guard case .time(let t) = b[0]! else { throw FurrowError.type("time.format() needs a time, got \(b[0]!.typeName)") }
                return .string(TimeFormat.iso(t))
            },
            "seconds": builtin("time.seconds", ["t"], doc: "time.seconds(t) → float\nSeconds since 1970 for a time, or the length of a duration.") { b, _ throws(FurrowError) in
                switch b[0]! {
                case .time(let t), .duration(let t): return .float(Double(t) / 1e9)
                case let v: throw FurrowError.type("time.seconds() needs a time or duration, got \(v.typeName)")
                }
            },
        ])))
        installLog(interpreter)
        interpreter.register("confirm", builtin("confirm", ["question"], doc: "confirm(question) → bool\nAsks on the terminal; with --yes answers yes; a non-interactive run without --yes fails.") { b, args throws(FurrowError) in
            let question = try b[0]!.string("confirm()'s question")
            let interpreter = args.fiber.interpreter
            if interpreter.options.assumeYes { return .bool(true) }
            guard interpreter.options.interactive else {
                throw FurrowError("confirmation needed: \(question) (run with --yes to answer yes non-interactively)", kind: "confirm")
            }
            StandardOutput.flush()
            StandardError.write("\(question) [y/N] ")
            guard let answer = readLine() else { return .bool(false) }
            return .bool(["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased()))
        })
        let noprocess = noprocessPath
        interpreter.register("suspended", builtin("suspended", [], doc: "suspended() → bool\nTrue while the noprocess file (configuration jobs.noprocess) exists: sow and reap then do nothing.") { _, _ throws(FurrowError) in
            .bool(noprocess.map { FileManager.default.fileExists(atPath: $0) } ?? false)
        })
    }

    func installLog(_ interpreter: Interpreter) {
        var members: FurrowMap = [:]
        for level in ["debug", "info", "warn", "error"] {
            members[level] = .function(NativeFunction("log.\(level)", doc: "log.\(level)(message, field: value, ...)\nA structured line on standard error (logfmt, or JSON with --log-format json).") { (args: Arguments) throws(FurrowError) -> Value in
                guard args.positionalCount >= 1 else { throw FurrowError.type("log.\(level)() needs a message") }
                var fields: [(String, Value)] = []
                for i in 0..<args.count {
                    if let label = args.labels?[i] ?? nil { fields.append((label, args[i])) }
                }
                var message = Format.str(args.positional(0))
                for i in 1..<args.positionalCount { message += " " + Format.str(args.positional(i)) }
                StandardOutput.flush()
                args.fiber.interpreter.log.write(level: level, message: message, fields: fields)
                return .null
            })
        }
        members["context"] = .function(NativeFunction("log.context", doc: "log.context(field: value, ...)\nAdds fields to every later log line (job, run id).") { (args: Arguments) throws(FurrowError) -> Value in
            for i in 0..<args.count {
                guard let label = args.labels?[i] ?? nil else { throw FurrowError.type("log.context() takes named fields only") }
                args.fiber.interpreter.log.context.removeAll { $0.0 == label }
                args.fiber.interpreter.log.context.append((label, args[i]))
            }
            return .null
        })
        interpreter.register("log", .host(Namespace("log", doc: "log.debug/info/warn/error(message, field: value...), log.context(...)", members: members)))
    }

    func installOS(_ interpreter: Interpreter) {
        interpreter.register("os", .host(Namespace("os", doc: "os.env os.exec os.read os.write os.exists os.glob os.remove", members: [
            "env": builtin("os.env", ["name", "default"], required: 1, doc: "os.env(name, default = null) → string or default") { b, _ throws(FurrowError) in
                let name = try b[0]!.string("os.env()'s name")
                if let v = ProcessInfo.processInfo.environment[name] { return .string(v) }
                return b[1] ?? .null
            },
            "exec": builtin("os.exec", ["argv", "env", "cwd", "timeout", "input", "check"], required: 1, effect: .mutates, doc: "os.exec([\"cmd\", \"arg\"], env: {}, cwd: null, timeout: null, input: null, check: false) → {code, stdout, stderr}\nRuns a program from an argv list (never a shell). In plan mode nothing runs. check: true fails on a non-zero exit.") { b, args throws(FurrowError) in
                let argv = try b[0]!.strings("os.exec()'s argv")
                guard !argv.isEmpty else { throw FurrowError.value("os.exec() needs a program name") }
                var environment: [String: String] = [:]
                if let envValue = b[1], !envValue.isNull {
                    for (k, v) in try envValue.map("os.exec()'s env") { environment[k] = Format.str(v) }
                }
                let cwd = try b[2].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.string("cwd") }
                var timeout: Int64?
                if case .duration(let d)? = b[3] { timeout = d }
                let input = try b[4].flatMap { v throws(FurrowError) in v.isNull ? nil : try v.string("input") }
                let check = b[5]?.isTruthy ?? false
                let fiber = args.fiber
                return try fiber.interpreter.mutation(fiber, "run \(argv.joined(separator: " "))", ["argv": b[0]!]) { () throws(FurrowError) -> Value in
                    let result = try ProcessRunner.run(argv, environment: environment, cwd: cwd, timeout: timeout, input: input, fiber: fiber)
                    if check, result.code != 0 {
                        throw FurrowError("\(argv[0]) exited with code \(result.code): \(result.stderr.suffix(500))", kind: "exec", data: .map(result.value))
                    }
                    return .map(result.value)
                }
            },
            "read": builtin("os.read", ["path"], doc: "os.read(path) → string") { b, _ throws(FurrowError) in
                let path = try b[0]!.string("os.read()'s path")
                let data: [UInt8]
                switch FileContents.read(path) {
                case .success(let bytes): data = bytes
                case .failure(let error): throw FurrowError("cannot read '\(path)': \(error)", kind: "io")
                }
                guard let s = String(validating: data, as: UTF8.self) else { throw FurrowError("'\(path)' is not UTF-8 text", kind: "io") }
                return .string(s)
            },
            "write": builtin("os.write", ["path", "text"], effect: .mutates, doc: "os.write(path, text)\nWrites a file atomically (planned in dry-run).") { b, args throws(FurrowError) in
                let path = try b[0]!.string("os.write()'s path"), text = try b[1]!.string("os.write()'s text")
                return try args.fiber.interpreter.mutation(args.fiber, "write \(path)", ["path": .string(path), "bytes": .int(text.utf8.count)]) { () throws(FurrowError) -> Value in
                    do {
                        try text.write(toFile: path, atomically: true, encoding: .utf8)
                    } catch {
                        throw FurrowError("cannot write '\(path)': \(error.localizedDescription)", kind: "io")
                    }
                    return .null
                }
            },
            "exists": builtin("os.exists", ["path"], doc: "os.exists(path) → bool") { b, _ throws(FurrowError) in
                .bool(FileManager.default.fileExists(atPath: try b[0]!.string("os.exists()'s path")))
            },
            "glob": builtin("os.glob", ["pattern"], doc: "os.glob(pattern) → list\nPaths matching a shell pattern, sorted.") { b, _ throws(FurrowError) in
                let pattern = try b[0]!.string("os.glob()'s pattern")
                var g = glob_t()
                defer { globfree(&g) }
                guard Foundation.glob(pattern, 0, nil, &g) == 0 else { return .list([]) }
                var out: [Value] = []
                for i in 0..<Int(g.gl_pathc) { if let p = g.gl_pathv[i] { out.append(.string(String(cString: p))) } }
                return .list(out)
            },
            "remove": builtin("os.remove", ["path"], effect: .mutates, doc: "os.remove(path)\nRemoves a file or an empty directory (planned in dry-run).") { b, args throws(FurrowError) in
                let path = try b[0]!.string("os.remove()'s path")
                return try args.fiber.interpreter.mutation(args.fiber, "remove \(path)", ["path": .string(path)]) { () throws(FurrowError) -> Value in
                    guard Foundation.remove(path) == 0 else {
                        throw FurrowError("cannot remove '\(path)': \(String(cString: strerror(errno)))", kind: "io")
                    }
                    return .null
                }
            },
        ])))
    }
}

func toInt(_ d: Double) throws(FurrowError) -> Value {
    guard d.isFinite, abs(d) < 9.2e18 else { throw FurrowError.value("\(d) does not fit in an int") }
    return .int(Int(d))
}

func extreme(_ args: Arguments, _ sign: Int) throws(FurrowError) -> Value {
    var items: [Value] = []
    if args.count == 1, let l = try args[0].asList() { items = l } else { for i in 0..<args.count { items.append(args[i]) } }
    guard var best = items.first else { throw FurrowError.value("min/max of nothing") }
    for x in items.dropFirst() where try Operations.compare(x, best) * sign > 0 { best = x }
    return best
}

/// `os.exec`'s side of the child-process runner: argv and environment from Furrow values,
/// the fiber's interrupt as the stop request, the outcome as `{code, stdout, stderr}`.
enum ProcessRunner {
    struct Result {
        let code: Int
        let stdout: String
        let stderr: String
        var value: FurrowMap { ["code": .int(code), "stdout": .string(stdout), "stderr": .string(stderr)] }
    }

    static let runner = ChildProcessRunner()

    static func run(_ argv: [String], environment: [String: String], cwd: String?, timeout: Int64?, input: String?, fiber: Fiber) throws(FurrowError) -> Result {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        guard let executable = ChildProcessRunner.resolveExecutable(argv[0], path: env["PATH"]) else {
            if argv[0].utf8.contains(0) { throw FurrowError.value("cannot run os.exec(): argument 0 contains a NUL byte, which a program's arguments cannot carry") }
            throw FurrowError("cannot run '\(argv[0])': \(argv[0].contains("/") ? "no such executable file" : "not found on PATH")", kind: "exec")
        }
        let request = ChildProcessRequest(
            executable: executable, arguments: Array(argv.dropFirst()), environment: env, directory: cwd,
            input: input.map { Array($0.utf8) }, timeout: timeout.map { .nanoseconds($0) })
        let outcome: ProcessOutcome
        do {
            outcome = try runner.run(request, stop: {
                switch fiber.pendingInterrupt {
                case .none: return .none
                case .interrupt: return .interrupt
                case .force: return .kill
                }
            })
        } catch {
            throw FurrowError.value("cannot run os.exec(): \(error.message)")
        }
        if outcome.interrupted { try fiber.checkInterrupt() }
        if outcome.timedOut, let timeout {
            throw FurrowError("'\(argv[0])' did not finish within \(Format.display(.duration(timeout))) and was stopped", kind: "timeout")
        }
        let code: Int
        switch outcome.termination {
        case .exited(let status): code = Int(status)
        case .signaled(let signal): code = 128 + Int(signal)
        }
        return Result(code: code, stdout: String(decoding: outcome.stdout, as: UTF8.self), stderr: String(decoding: outcome.stderr, as: UTF8.self))
    }
}
