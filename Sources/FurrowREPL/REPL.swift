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
            keys.running { evaluate(line) }
            buffer = ""
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

    func evaluate(_ source: String) {
        do {
            if let value = try session.evaluate(source), !value.isNull {
                StandardOutput.write(Format.display(value, color: color) + "\n")
            }
        } catch let list as DiagnosticList {
            StandardOutput.flush()
            FileHandle.standardError.write((list.rendered(color: color) + "\n").data(using: .utf8)!)
        } catch let error as FurrowError {
            StandardOutput.flush()
            if error.exitCode != nil { return }
            // After the terminal's own "^C" echo, the report starts on a line of its own.
            let start = error.kind == "interrupted" ? "\n" : ""
            FileHandle.standardError.write((start + error.rendered(color: color) + "\n").data(using: .utf8)!)
        } catch {
            FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
        }
        StandardOutput.flush()
    }

    /// Meta-commands; returns false to leave.
    func command(_ line: String) -> Bool {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        switch parts[0] {
        case ":quit", ":q", ":exit":
            return false
        case ":help", ":h":
            if parts.count > 1 {
                let name = parts[1].trimmingCharacters(in: .whitespaces)
                print(interpreter.docs[name] ?? "no help for '\(name)' (try :help with no argument)")
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
            let path = parts[1].trimmingCharacters(in: .whitespaces)
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
        Type Furrow statements; an expression's value is shown. Unfinished input continues on
        the next line. Tab completes names and members (os.<TAB>).
          :help [name]   help on a builtin (:help len, :help os.exec)
          :load FILE     run a file in this session
          :reset         forget all definitions
          :quit          leave (also Ctrl-D)
        """

    /// Candidates for completing `text` (the word under the cursor, possibly `a.b`).
    public func completions(for text: String) -> [String] {
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
        rl_attempted_completion_function = { text, _, _ in
            let word = text.map { String(cString: $0) } ?? ""
            Completion.matches = Completion.repl?.completions(for: word) ?? []
            rl_attempted_completion_over = 1
            guard !Completion.matches.isEmpty else { return nil }
            return rl_completion_matches(text) { _, state in
                let index = Int(state)
                guard index < Completion.matches.count else { return nil }
                return strdup(Completion.matches[index])
            }
        }
    }
}
