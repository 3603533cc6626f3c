import Foundation
import FurrowLibrary
import FurrowREPL
import FurrowRuntime
import FurrowSyntax

/// Exit codes (docs/cli.md, "Exit codes").
enum ExitCode {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let syntax: Int32 = 65
    static let `internal`: Int32 = 70
}

let version = "0.1.0"

let usage = """
    usage: furrow                      start the REPL (reads a script from standard input when it is not a terminal)
           furrow run FILE|std/NAME [--PARAM VALUE]... [--dry-run] [--yes] [--json] [--log-format json] [--help]
           furrow -c CODE [WORD]... [--dry-run] [--yes] [--json] [--log-format json]
                                       run code given on the command line (`args` holds the words)
           furrow check FILE...        parse and resolve scripts without running them
           furrow serve FILE|std/NAME [--port N] [--host H]   answer HTTP(S) requests with the script's handlers
           furrow --version
    """

func fail(_ message: String, code: Int32 = ExitCode.usage) -> Never {
    StandardOutput.flush()
    StandardError.write("furrow: \(message)\n")
    terminate(code)
}

/// Ends the process without running exit handlers: the HTTP client's threads may still be
/// inside the TLS library, whose exit-time cleanup would then crash under them.
func terminate(_ code: Int32) -> Never {
    StandardOutput.flush()
    let stdioFailed = fflush(nil) != 0  // every C stdio stream (print writes through stdout)
    let stdioError = errno
    // Output that could not be written (a full disk, a closed descriptor) fails the run:
    // what the script printed is lost, so it did not succeed.
    if let error = StandardOutput.writeError ?? (stdioFailed ? stdioError : nil) {
        StandardError.write("furrow: cannot write standard output: \(String(cString: strerror(error)).lowercased())\n")
        _exit(code == ExitCode.ok ? ExitCode.failure : code)
    }
    _exit(code)
}

/// What a run made (interpreter, compiled script, session), kept until the process ends:
/// the process exits without freeing the script's values, which would only cost time at the
/// end (freeing is safe at any depth, but a large heap is still freed value by value).
nonisolated(unsafe) var keptUntilExit: [Any] = []

let stderrIsTTY = isatty(2) == 1
let stdoutIsTTY = isatty(1) == 1
let noColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false

/// Reads a source file as UTF-8, reporting the position of the first invalid byte.
func readSource(_ path: String) -> SourceFile {
    if path.hasPrefix("std/") {
        guard let text = StandardLibrary.sources[path] else {
            fail("no standard library script '\(path)' (available: \(StandardLibrary.sources.keys.sorted().joined(separator: ", ")))")
        }
        return SourceFile(name: path, text: text)
    }
    switch FileContents.read(path) {
    case .success(let bytes): return decode(bytes, name: path)
    case .failure(let error): fail("cannot read '\(path)': \(error)", code: ExitCode.failure)
    }
}

func decode(_ bytes: [UInt8], name: String) -> SourceFile {
    if let text = String(validating: bytes, as: UTF8.self) { return SourceFile(name: name, text: text) }
    // find the first invalid byte for the message
    var offset = 0
    var line = 1
    while offset < bytes.count {
        let end = min(bytes.count, offset + 4)
        var valid = false
        for length in 1...max(1, end - offset) where String(validating: bytes[offset..<(offset + length)], as: UTF8.self) != nil {
            if bytes[offset] == 0x0A { line += 1 }
            offset += length
            valid = true
            break
        }
        if !valid { break }
    }
    fail("\(name):\(line): invalid UTF-8 at byte \(offset); Furrow sources must be UTF-8 text", code: ExitCode.syntax)
}

/// The configuration, its warnings (unknown keys) written once to standard error.
func loadConfiguration() -> Configuration {
    do {
        let configuration = try Configuration.load()
        for warning in configuration.warnings {
            FileHandle.standardError.write("furrow: warning: \(warning)\n".data(using: .utf8)!)
        }
        return configuration
    } catch {
        fail(error.message, code: ExitCode.usage)
    }
}

/// Reports an error that ended a script and gives the exit code. A `usage` error (a job's
/// arguments are wrong) or `config` error (furrow.toml names something that is not there) is
/// the invocation's fault, not the code's: one line, the `usageLine` when there is one, no
/// stack trace, exit code 2.
func report(_ error: Error, usageLine: String? = nil) -> Int32 {
    StandardOutput.flush()
    let color = stderrIsTTY && !noColor
    switch error {
    case let list as DiagnosticList:
        StandardError.write((list.rendered(color: color) + "\n"))
        return ExitCode.syntax
    case let e as FurrowError:
        if let code = e.exitCode { return code }
        if e.kind == "usage" || e.kind == "config" {
            var text = "furrow: \(e.message)\n"
            if e.kind == "usage", let usageLine { text += usageLine + "\n" }
            StandardError.write(text)
            return ExitCode.usage
        }
        StandardError.write(e.rendered(color: color) + "\n")
        return ExitCode.failure
    default:
        StandardError.write("furrow: internal error: \(error)\n")
        return ExitCode.internal
    }
}

/// Parses a command-line value with the type of the parameter's default.
func parseParameter(_ text: String, like defaultValue: Value, name: String) -> Value? {
    switch defaultValue {
    case .int: return Int(text.replacingOccurrences(of: "_", with: "")).map(Value.int)
    case .float: return Double(text).map(Value.float)
    case .bool:
        switch text.lowercased() {
        case "true", "yes", "1": return .bool(true)
        case "false", "no", "0": return .bool(false)
        default: return nil
        }
    case .duration:
        if text == "0" { return .duration(0) }
        return DurationText.parse(text).map(Value.duration)
    case .list: return .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
    case .null, .string: return .string(text)
    default: return .string(text)
    }
}

func typeDescription(_ v: Value) -> String {
    switch v {
    case .duration: return "duration (like 90s, 3d, 1h30m)"
    case .list: return "list (comma-separated)"
    case .null: return "string"
    default: return v.typeName
    }
}

func commandLineOptions() -> RunOptions {
    var options = RunOptions()
    options.color = stderrIsTTY && !noColor
    options.interactive = isatty(0) == 1
    return options
}

/// The options `run` and `-c` share. True when `arguments[i]` is one of them; `i` is then
/// on its last word (`--log-format json` takes two).
func parseRunOption(_ arguments: [String], _ i: inout Int, into options: inout RunOptions) -> Bool {
    let a = arguments[i]
    switch a {
    case "--dry-run": options.dryRun = true
    case "--yes", "-y": options.assumeYes = true
    case "--json": options.jsonOutput = true
    case "--log-format":
        guard i + 1 < arguments.count, ["json", "logfmt"].contains(arguments[i + 1]) else { fail("--log-format takes json or logfmt") }
        options.logJSON = arguments[i + 1] == "json"
        i += 1
    case _ where a.hasPrefix("--log-format="):
        let format = String(a.dropFirst("--log-format=".count))
        guard ["json", "logfmt"].contains(format) else { fail("--log-format takes json or logfmt") }
        options.logJSON = format == "json"
    default: return false
    }
    return true
}

func isRunOption(_ word: String) -> Bool {
    ["--dry-run", "--yes", "-y", "--json", "--log-format"].contains(word) || word.hasPrefix("--log-format=")
}

/// The usage line of a script, from its parameters, for usage errors.
func usageLine(_ path: String, _ parameters: [ScriptParameter]) -> String {
    let options = parameters.map { "[\($0.optionName) \(typeDescription($0.defaultValue).uppercased().split(separator: " ").first!)]" }
    return "usage: furrow run \(path) \((options + ["[--dry-run] [--json] ..."]).joined(separator: " ")) (--help lists them)"
}

func runScript(_ arguments: [String]) -> Int32 {
    var options = commandLineOptions()
    var path: String?
    var rest: [String] = []
    var wantsHelp = false
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a == "--" {
            rest.append(contentsOf: arguments[i...])
            break
        }
        if a == "--help" || a == "-h" {
            wantsHelp = true
        } else if !parseRunOption(arguments, &i, into: &options) {
            if path == nil, !a.hasPrefix("-") { path = a } else { rest.append(a) }
        }
        i += 1
    }
    guard let path else { fail("run needs a script: furrow run FILE or furrow run std/NAME\n\(usage)") }
    let file = readSource(path)
    let configuration = loadConfiguration()
    let interpreter = Library.makeInterpreter(options: options, configuration: configuration)
    keptUntilExit.append(interpreter)
    GracefulStop.shared.install(interpreter, grace: GracefulStop.grace(configuration))
    let script: CompiledScript
    do {
        script = try interpreter.compile(file)
    } catch {
        return report(error)
    }
    let parameters = script.parameters
    if wantsHelp {
        var text = "usage: furrow run \(path) [options]\n\noptions:\n"
        for p in parameters {
            let option = "  \(p.optionName) \(typeDescription(p.defaultValue).uppercased().split(separator: " ").first!)"
            text += option.padding(toLength: max(option.count + 2, 34), withPad: " ", startingAt: 0)
            text += (p.doc ?? "") + " (default: \(Format.repr(p.defaultValue)))\n"
        }
        text += "  --dry-run                       plan every change, make none\n"
        text += "  --yes                           answer confirmations with yes\n"
        text += "  --json                          print results as JSON\n"
        text += "  --log-format json               structured logs as JSON lines\n"
        print(text, terminator: "")
        return ExitCode.ok
    }
    var overrides: [String: Value] = [:]
    var scriptArguments: [String] = []
    var j = 0
    while j < rest.count {
        let a = rest[j]
        if a == "--" {
            scriptArguments.append(contentsOf: rest[(j + 1)...])
            break
        }
        guard a.hasPrefix("--") else { scriptArguments.append(a); j += 1; continue }
        var name = String(a.dropFirst(2))
        var value: String?
        if let eq = name.firstIndex(of: "=") {
            value = String(name[name.index(after: eq)...])
            name = String(name[..<eq])
        }
        let key = name.replacingOccurrences(of: "-", with: "_")
        guard let parameter = parameters.first(where: { $0.name == key }) else {
            let known = parameters.map(\.optionName).joined(separator: ", ")
            fail("\(path) has no parameter \(a.split(separator: "=").first!)\(known.isEmpty ? "" : " (parameters: \(known))")")
        }
        if value == nil {
            if case .bool = parameter.defaultValue, j + 1 >= rest.count || rest[j + 1].hasPrefix("--") {
                value = "true"
            } else {
                guard j + 1 < rest.count else { fail("\(parameter.optionName) needs a value") }
                value = rest[j + 1]
                j += 1
            }
        }
        guard let parsed = parseParameter(value!, like: parameter.defaultValue, name: key) else {
            fail("\(parameter.optionName): '\(value!)' is not a valid \(typeDescription(parameter.defaultValue))")
        }
        overrides[key] = parsed
        j += 1
    }
    // `args` is a builtin constant: compile again now that it is known.
    interpreter.parameterOverrides = overrides
    interpreter.options.scriptArguments = scriptArguments
    interpreter.register("args", .list(scriptArguments.map { .string($0) }))
    let runnable: CompiledScript
    do {
        runnable = try interpreter.compile(file)
    } catch {
        return report(error)
    }
    keptUntilExit.append(runnable)

    do {
        try interpreter.run(runnable)
        StandardOutput.flush()
        return GracefulStop.shared.exitCode ?? ExitCode.ok
    } catch {
        let code = report(error, usageLine: usageLine(path, parameters))
        return GracefulStop.shared.exitCode ?? code
    }
}

/// `furrow [OPTION]... -c CODE [WORD | OPTION]... [-- WORD...]`: the options of `run` in any
/// order around the code; the words become `args`. Anything else is a usage error.
func runCommandLine(_ arguments: [String]) -> Int32 {
    var options = commandLineOptions()
    var code: String?
    var words: [String] = []
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a == "--" {
            words.append(contentsOf: arguments[(i + 1)...])
            break
        }
        if a == "-c" {
            guard code == nil else { fail("-c is given twice") }
            guard i + 1 < arguments.count else { fail("-c needs code: furrow -c 'print(1 + 1)'") }
            code = arguments[i + 1]
            i += 2
            continue
        }
        if !parseRunOption(arguments, &i, into: &options) {
            guard !a.hasPrefix("-") || a == "-" else {
                fail("-c does not take \(a) (options: --dry-run --yes --json --log-format json|logfmt; words after -- go to args)")
            }
            guard code != nil else { fail("unknown command '\(a)'\n\(usage)") }
            words.append(a)
        }
        i += 1
    }
    guard let code else { fail("-c needs code: furrow -c 'print(1 + 1)'") }
    options.scriptArguments = words
    return runCode(code, name: "-c", options: options)
}

func runCode(_ code: String, name: String, options: RunOptions = commandLineOptions()) -> Int32 {
    let configuration = loadConfiguration()
    let interpreter = Library.makeInterpreter(options: options, configuration: configuration)
    keptUntilExit.append(interpreter)
    GracefulStop.shared.install(interpreter, grace: GracefulStop.grace(configuration))
    let session = interpreter.makeSession(name: name)
    keptUntilExit.append(session)
    do {
        if let value = try session.evaluate(code), name == "-c", !value.isNull {
            StandardOutput.write(Format.display(value, color: stdoutIsTTY && !noColor) + "\n")
        }
        StandardOutput.flush()
        return GracefulStop.shared.exitCode ?? ExitCode.ok
    } catch {
        let code = report(error)
        return GracefulStop.shared.exitCode ?? code
    }
}

func check(_ paths: [String]) -> Int32 {
    guard !paths.isEmpty else { fail("check needs at least one file") }
    let interpreter = Library.makeInterpreter(options: RunOptions(), configuration: loadConfiguration())
    var worst = ExitCode.ok
    for path in paths {
        do {
            _ = try interpreter.compile(readSource(path))
            print("\(path): ok")
        } catch {
            worst = max(worst, report(error))
        }
    }
    return worst
}

func main() -> Int32 {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let first = arguments.first else {
        if isatty(0) == 1 {
            var options = RunOptions()
            options.color = stdoutIsTTY && !noColor
            options.interactive = true
            let interpreter = Library.makeInterpreter(options: options, configuration: loadConfiguration())
            return REPL(interpreter: interpreter).run()
        }
        let data: [UInt8]
        switch FileContents.read(descriptor: 0) {
        case .success(let bytes): data = bytes
        case .failure(let error): fail("cannot read the script from standard input: \(error)", code: ExitCode.failure)
        }
        let file = decode(data, name: "<stdin>")
        return runCode(file.text, name: "<stdin>")
    }
    switch first {
    case "--version", "version":
        print("furrow \(version)")
        return ExitCode.ok
    case "--help", "-h", "help":
        print(usage)
        return ExitCode.ok
    case "run":
        return runScript(Array(arguments.dropFirst()))
    case _ where first == "-c" || (isRunOption(first) && arguments.contains("-c")):
        return runCommandLine(arguments)
    case _ where isRunOption(first):
        return runScript(arguments)
    case "check":
        return check(Array(arguments.dropFirst()))
    case "serve":
        return serve(Array(arguments.dropFirst()))
    default:
        if first.hasSuffix(".furrow") || first.hasPrefix("std/") { return runScript(arguments) }
        fail("unknown command '\(first)'\n\(usage)")
    }
}


let status = Interpreter.onLargeStack { main() }
terminate(status)
