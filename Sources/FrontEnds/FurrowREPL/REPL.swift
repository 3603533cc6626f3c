import CReadline
import Foundation
import FurrowLibrary
import FurrowProcess
import FurrowRuntime
import FurrowSyntax

/// The interactive front end: GNU readline for editing, history and completion; the same
/// interpreter as `furrow run` underneath. Errors never end the session.
public final class REPL {
    let interpreter: Interpreter
    var session: Session
    let historyPath: String
    let color: Bool

    public init(interpreter: Interpreter) {
        self.interpreter = interpreter
        self.session = interpreter.makeSession()
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        self.historyPath = ProcessInfo.processInfo.environment["FURROW_HISTORY"] ?? "\(home)/.furrow_history"
        self.color = interpreter.options.color
    }

    /// Runs until `:quit` or end of input; returns the exit code. Ctrl-C never ends it: at a
    /// prompt it discards the line, while an input runs it interrupts that input.
    public func run() -> Int32 {
        Completion.install(self)
        // A timestamp line (`#` and the time) before each entry lets a multi-line entry
        // come back as one.
        history_comment_char = CChar(UInt8(ascii: "#"))
        history_write_timestamps = 1
        history_multiline_entries = 1
        read_history(historyPath)
        print("Furrow \(FurrowVersion.current) — :help for help, :quit to leave")
        let keys = Keyboard(interpreter: interpreter)
        var buffer = ""
        while true {
            StandardOutput.flush()
            let prompt = buffer.isEmpty ? "furrow> " : "   ...> "
            var line: String
            switch keys.readLine(prompt) {
            case .endOfInput:
                print("")
                StandardOutput.flush()
                return 0
            case .interrupted:
                buffer = ""
                continue
            case .line(let text):
                line = text
            }
            if buffer.isEmpty, line.trimmingCharacters(in: .whitespaces).hasPrefix(":") {
                remember(line)
                let go = keys.running { command(line.trimmingCharacters(in: .whitespaces)) }
                if !go { break }
                continue
            }
            buffer += buffer.isEmpty ? line : "\n" + line
            if buffer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { buffer = ""; continue }
            if Parser.isIncomplete(SourceFile(name: "<repl>", text: buffer)) { continue }
            remember(buffer)
            line = buffer
            let exitCode = keys.running { evaluate(line) }
            buffer = ""
            if let exitCode {
                print("exit(\(exitCode)): leaving the REPL with status \(exitCode)")
                StandardOutput.flush()
                return exitCode
            }
        }
        StandardOutput.flush()
        return 0
    }

    /// Adds to history unless the input mentions a secret.
    func remember(_ entry: String) {
        let lower = entry.lowercased()
        if ["secret", "password", "token", "api_key", "aws_secret"].contains(where: { lower.contains($0) }) { return }
        add_history(entry)
        if FileManager.default.fileExists(atPath: historyPath) {
            append_history(1, historyPath)
        } else {
            write_history(historyPath)
        }
        history_truncate_file(historyPath, 5000)
    }

    /// Runs one input and echoes its value, which `_` then holds; returns the status an
    /// `exit(n)` asked for.
    func evaluate(_ source: String) -> Int32? {
        do {
            if let value = try session.evaluate(source), !value.isNull {
                StandardOutput.write(REPL.echo(value, color: color) + "\n")
                session.define("_", value)
            }
        } catch let list as DiagnosticList {
            StandardOutput.flush()
            FileHandle.standardError.write((list.rendered(color: color) + "\n").data(using: .utf8)!)
        } catch let error as FurrowError {
            StandardOutput.flush()
            if let code = error.exitCode { return code }
            // After the terminal's own "^C" echo, the report starts on a line of its own.
            let start = error.kind == "interrupted" ? "\n" : ""
            FileHandle.standardError.write((start + error.rendered(color: color) + "\n").data(using: .utf8)!)
        } catch {
            FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
        }
        StandardOutput.flush()
        return nil
    }

    /// A string of several lines shows as those lines; everything else as `Format.display`.
    static func echo(_ value: Value, color: Bool) -> String {
        if case .string(let text) = value, text.contains("\n") { return text.hasSuffix("\n") ? String(text.dropLast()) : text }
        return Format.display(value, color: color)
    }

    /// Meta-commands; returns false to leave.
    func command(_ line: String) -> Bool {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        switch parts[0] {
        case ":quit", ":q", ":exit":
            return false
        case ":help", ":h":
            if parts.count > 1 {
                print(help(parts[1].trimmingCharacters(in: .whitespaces)))
            } else {
                print(REPL.helpText)
                let names = interpreter.builtins.keys.sorted()
                print("builtins: " + names.joined(separator: " "))
            }
        case ":reset":
            session = interpreter.makeSession()
            print("session reset")
        case ":load":
            guard parts.count > 1 else { print(":load needs a file"); return true }
            let path = REPL.unquoted(parts[1].trimmingCharacters(in: .whitespaces))
            guard let data = FileManager.default.contents(atPath: path), let text = String(validating: data, as: UTF8.self) else {
                FileHandle.standardError.write("cannot read '\(path)'\n".data(using: .utf8)!)
                return true
            }
            do {
                _ = try session.evaluate(text, name: path)
            } catch let list as DiagnosticList {
                FileHandle.standardError.write((list.rendered(color: color) + "\n").data(using: .utf8)!)
            } catch let error as FurrowError {
                FileHandle.standardError.write((error.rendered(color: color) + "\n").data(using: .utf8)!)
            } catch {}
            StandardOutput.flush()
        default:
            print("unknown command \(parts[0]) (:help, :quit, :load FILE, :reset)")
        }
        return true
    }

    static let helpText = """
        Type Furrow statements; an expression's value is shown and kept in `_`. Unfinished
        input continues on the next line. Tab completes names, members (os.<TAB>), query
        stages after `|`, and file paths in strings and after :load.
          :help [name]   help on a builtin, a query stage or a method
                         (:help len, :help os.exec, :help where, :help t.scan)
          :load FILE     run a file in this session (the path may be quoted)
          :reset         forget all definitions
          :quit          leave (also Ctrl-D); exit(n) leaves with status n
        """

    /// `"path"` or `'path'` as `path`.
    static func unquoted(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    /// What `:help name` says: a builtin, a query stage, or a method of a value of the
    /// session (`t.scan` for a table `t`); otherwise the nearest names that have help.
    func help(_ name: String) -> String {
        // `sum`, `join`, `count`... are builtins and stages both
        let found = [interpreter.docs[name], REPL.stageHelp[name]].compactMap { $0 }
        if !found.isEmpty { return found.joined(separator: "\n") }
        if let dot = name.lastIndex(of: ".") {
            let base = String(name[..<dot]), member = String(name[name.index(after: dot)...])
            if let value = session.value(of: base) ?? interpreter.builtins[base], case .host(let object) = value {
                if let found = try? object.member(member, fiber: interpreter.fiber) {
                    if case .function(let fn as NativeFunction) = found, !fn.doc.isEmpty { return fn.doc }
                    return "\(name) is a field of \(object.typeName): \(Format.repr(found))"
                }
                return "\(object.typeName) has no member '\(member)'" + DidYouMean.hint(member, among: object.memberNames, prefix: base + ".")
                    + "; its members: " + object.memberNames.sorted().joined(separator: " ")
            }
        }
        let known = Array(interpreter.docs.keys) + Array(REPL.stageHelp.keys)
        return "no help for '\(name)'" + DidYouMean.hint(name, among: known) + " (try :help with no argument)"
    }

    /// `:help` for the query stages (see the stage table in docs/language.md).
    static let stageHelp: [String: String] = [
        "where": "xs | where e → list\nThe items for which the item expression e is true (.field reads a field of the item, it is the item).",
        "reject": "xs | reject e → list\nThe items for which e is not true.",
        "select": "xs | select f1, f2, name: e → list of maps\nMaps with just those keys; missing fields are null.",
        "map": "xs | map e → list\nThe values of e for each item.",
        "flat_map": "xs | flat_map e → list\nThe lists that e gives, concatenated.",
        "each": "xs | each e → list\nEvaluates e for each item (side effects); passes the items on unchanged.",
        "sort_by": "xs | sort_by [e] [desc|asc] → list\nA stable sort by the key e (the items themselves without one).",
        "group_by": "xs | group_by e → map\nA map from the key's text form to the list of its items.",
        "count_by": "xs | count_by e → map\nA map from the key's text form to how many items have it.",
        "uniq_by": "xs | uniq_by e → list\nThe first item of each distinct key.",
        "take": "xs | take n → list\nThe first n items; over a table scan it reads no further.",
        "skip": "xs | skip n → list\nAll but the first n items.",
        "first": "xs | first [e] → item or null\nThe first (matching) item.",
        "last": "xs | last [e] → item or null\nThe last (matching) item.",
        "count": "xs | count [e] → int\nHow many (matching) items.",
        "sum": "xs | sum [e] → number\nThe sum of the items (or of e); 0 for no items.",
        "min": "xs | min [e] → item or null\nThe item with the smallest key.",
        "max": "xs | max [e] → item or null\nThe item with the largest key.",
        "any": "xs | any e → bool\nWhether e is true for some item.",
        "all": "xs | all e → bool\nWhether e is true for every item.",
        "join": "xs | join [separator] → string\nThe items' text forms joined (\"\" by default).",
    ]

    /// What the word under the cursor is, from the line before it.
    enum CompletionContext: Equatable {
        case code, stage
        /// A file path, of which `typed` stands before the word (readline's word stops at `/`).
        case path(typed: String)
    }

    static func context(before prefix: String) -> CompletionContext {
        let trimmed = prefix.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix(":load") {
            var typed = trimmed.dropFirst(":load".count).drop(while: { $0 == " " })
            if typed.first == "\"" || typed.first == "'" { typed = typed.dropFirst() }
            return .path(typed: String(typed))
        }
        var quote: Character?
        var quoted = ""
        var escaped = false
        for ch in prefix {
            if escaped { escaped = false; quoted.append(ch); continue }
            if ch == "\\", quote == "\"" { escaped = true; continue }
            if let open = quote {
                if ch == open { quote = nil } else { quoted.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
                quoted = ""
            }
        }
        if quote != nil { return .path(typed: quoted) }
        return trimmed.hasSuffix("|") ? .stage : .code
    }

    /// Candidates for completing `text` (the word under the cursor, possibly `a.b`);
    /// `prefix` is the line before the word.
    public func completions(for text: String, after prefix: String = "") -> [String] {
        switch REPL.context(before: prefix) {
        case .path(let typed):
            // candidates replace only the word: drop what stands before it
            let cut = typed.count
            return REPL.paths(completing: typed + text).map { String($0.dropFirst(cut)) }
        case .stage: return queryStageNames.filter { $0.hasPrefix(text) }.sorted()
        case .code: break
        }
        if let dot = text.lastIndex(of: ".") {
            let base = String(text[..<dot])
            let prefix = String(text[text.index(after: dot)...])
            guard let value = session.value(of: base) ?? interpreter.builtins[base] else { return [] }
            var members: [String] = []
            switch value {
            case .host(let h): members = h.memberNames
            case .map(let m): members = Array(m.keys)
            default: break
            }
            return members.filter { $0.hasPrefix(prefix) }.sorted().map { "\(base).\($0)" }
        }
        let names = Set(interpreter.builtins.keys).union(session.globalNames).union(reservedWords)
        return names.filter { $0.hasPrefix(text) }.sorted()
    }

    /// Files and directories (with a trailing `/`) whose path starts with `text`.
    static func paths(completing text: String) -> [String] {
        let slash = text.lastIndex(of: "/")
        let directory = slash.map { String(text[...$0]) } ?? ""
        let namePrefix = slash.map { String(text[text.index(after: $0)...]) } ?? text
        let expanded = directory.hasPrefix("~/") ? NSHomeDirectory() + directory.dropFirst() : directory
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: expanded.isEmpty ? "." : expanded)) ?? []
        return listed.filter { $0.hasPrefix(namePrefix) && ($0.hasPrefix(".") == namePrefix.hasPrefix(".")) }.sorted().map { name in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: (expanded.isEmpty ? "" : expanded) + name, isDirectory: &isDirectory)
            return directory + name + (isDirectory.boolValue ? "/" : "")
        }
    }
}

public enum FurrowVersion {
    public static let current = "0.1.0"
}

/// The terminal side of Ctrl-C. SIGINT arrives through `SignalWatcher`; at a prompt it wakes
/// the line editor (readline's callback interface, polled with a wake-up pipe), which drops
/// the line; while an input runs it interrupts the interpreter, and a second Ctrl-C within
/// two seconds forces the stop (children killed, `catch` handlers stopped too).
final class Keyboard: @unchecked Sendable {
    enum Event { case line(String), endOfInput, interrupted }

    let interpreter: Interpreter
    private let lock = NSLock()
    private var inputRunning = false
    private var lastInterrupt: Date?
    private let wake: (read: Int32, write: Int32)

    init(interpreter: Interpreter) {
        self.interpreter = interpreter
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC); _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wake = (fds[0], fds[1])
        rl_catch_signals = 0
        SignalWatcher.watch([SIGINT]) { [weak self] _ in self?.interrupt() }
    }

    private func interrupt() {
        lock.lock()
        defer { lock.unlock() }
        guard inputRunning else {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
            return
        }
        let again = lastInterrupt.map { Date().timeIntervalSince($0) < 2 } ?? false
        lastInterrupt = Date()
        interpreter.interrupt(reason: "interrupted (Ctrl-C)", force: again)
    }

    /// Runs one input with Ctrl-C interrupting it; the interrupt is withdrawn afterwards.
    @discardableResult
    func running<T>(_ body: () -> T) -> T {
        lock.lock()
        inputRunning = true
        lastInterrupt = nil
        lock.unlock()
        defer {
            lock.lock()
            inputRunning = false
            interpreter.clearInterrupt()
            lock.unlock()
        }
        return body()
    }

    nonisolated(unsafe) private static var received: Event?

    /// Reads one line with readline; Ctrl-C gives `.interrupted` and a fresh prompt.
    func readLine(_ prompt: String) -> Event {
        var drain = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &drain, drain.count) > 0 {}
        Keyboard.received = nil
        rl_callback_handler_install(prompt) { raw in
            if let raw {
                Keyboard.received = .line(String(cString: raw))
                free(raw)
            } else {
                Keyboard.received = .endOfInput
            }
            // Leave the terminal as it was while the input runs.
            rl_callback_handler_remove()
        }
        while true {
            var descriptors = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                rl_callback_handler_remove()
                return .endOfInput
            }
            if descriptors[1].revents != 0 {
                while read(wake.read, &drain, drain.count) > 0 {}
                rl_free_line_state()
                rl_callback_sigcleanup()
                rl_callback_handler_remove()
                StandardOutput.write("^C\n")
                StandardOutput.flush()
                return .interrupted
            }
            if descriptors[0].revents != 0 {
                rl_callback_read_char()
                if let event = Keyboard.received { return event }
            }
        }
    }
}

/// The bridge from readline's C completion callbacks to the REPL.
enum Completion {
    nonisolated(unsafe) static weak var repl: REPL?
    nonisolated(unsafe) static var matches: [String] = []

    static func install(_ repl: REPL) {
        Completion.repl = repl
        rl_readline_name = UnsafePointer(strdup("furrow"))
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n\"'()[]{},|+-*/=<>!"))
        // not quote characters to readline: it would put the opening quote after a completed word
        rl_basic_quote_characters = UnsafePointer(strdup(""))
        rl_attempted_completion_function = { text, start, _ in
            let word = text.map { String(cString: $0) } ?? ""
            let line = rl_line_buffer.map { Array(String(cString: $0).utf8) } ?? []
            let prefix = String(decoding: line.prefix(Int(max(0, start))), as: UTF8.self)
            Completion.matches = Completion.repl?.completions(for: word, after: prefix) ?? []
            rl_attempted_completion_over = 1
            // a path goes on (a directory) or ends at a quote the user types: no space after it
            if case .path = REPL.context(before: prefix) {
                rl_completion_suppress_append = 1
                rl_completion_suppress_quote = 1
            }
            guard !Completion.matches.isEmpty else { return nil }
            return rl_completion_matches(text) { _, state in
                let index = Int(state)
                guard index < Completion.matches.count else { return nil }
                return strdup(Completion.matches[index])
            }
        }
    }
}
