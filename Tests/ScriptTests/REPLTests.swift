import Foundation
import FurrowSyntax
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real `furrow` REPL driven through a pseudo-terminal, as a person would use it: GNU readline
/// sees a terminal, so prompts, completion and history behave as they do interactively. Every read
/// has a deadline, so a hung REPL fails the test instead of hanging the run.
final class TerminalSession {
    let process = Process()
    let master: Int32
    let home: URL
    var historyFile: URL { home.appendingPathComponent("history") }
    /// Everything the REPL wrote, with carriage returns removed.
    private(set) var screen = ""
    /// Where the next `expect` starts looking.
    private var mark: String.Index

    struct Timeout: Error, CustomStringConvertible {
        let waitingFor: String
        let screen: String
        var description: String { "timed out waiting for \(waitingFor.debugDescription); the terminal shows:\n\(screen)" }
    }

    /// Starts the REPL with HOME and FURROW_HISTORY in a fresh directory; `prepare` may put files there.
    init(environment: [String: String?] = [:], prepare: (URL) throws -> Void = { _ in }) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-repl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try prepare(home)
        master = try TerminalSession.openMaster()
        let slave = open(try TerminalSession.slavePath(master), O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw POSIXError(.ENOTTY) }
        let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.executableURL = Paths.furrow
        process.arguments = []
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home.path
        env["FURROW_HISTORY"] = home.appendingPathComponent("history").path
        env["NO_COLOR"] = "1"
        env["TERM"] = "dumb"
        env["COLUMNS"] = "160"
        env["LINES"] = "50"
        env["INPUTRC"] = "/dev/null"
        env.removeValue(forKey: "FURROW_CONFIG")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = home
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        screen = ""
        mark = screen.startIndex
        _ = try expect("furrow> ")
    }

    /// Linux pseudo-terminal ioctls (from <asm-generic/ioctls.h>; Swift does not import the macros).
    static let unlockRequest: UInt = 0x4004_5431  // TIOCSPTLCK
    static let numberRequest: UInt = 0x8004_5430  // TIOCGPTN

    /// Opens a new pseudo-terminal master through /dev/ptmx and unlocks its slave.
    static func openMaster() throws -> Int32 {
        let fd = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOTTY) }
        var unlock: Int32 = 0
        guard ioctl(fd, unlockRequest, &unlock) == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOTTY)
        }
        return fd
    }

    /// The /dev/pts path of a master's slave side.
    static func slavePath(_ master: Int32) throws -> String {
        var number: UInt32 = 0
        guard ioctl(master, numberRequest, &number) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOTTY) }
        return "/dev/pts/\(number)"
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        close(master)
        try? FileManager.default.removeItem(at: home)
    }

    /// Ctrl-C: what the terminal driver does for it, SIGINT to the REPL (the pseudo-terminal
    /// is not the REPL's controlling terminal, so typing the character would not signal it).
    func pressCtrlC() {
        kill(process.processIdentifier, SIGINT)
    }

    /// Types text as keystrokes (use "\r" for Enter, "\t" for Tab, "\u{15}" to clear the line).
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            written += n
        }
    }

    /// Reads until the screen, after the previous match, contains `text`; returns what came
    /// before it (since the previous match) and moves past it.
    @discardableResult
    func expect(_ text: String, timeout: TimeInterval = 10) throws -> String {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            if let range = screen[mark...].range(of: text) {
                let before = String(screen[mark..<range.lowerBound])
                mark = range.upperBound
                return before
            }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { throw Timeout(waitingFor: text, screen: screen) }
            _ = readSome(milliseconds: Int32(max(1, min(left, .milliseconds(200)) / .milliseconds(1))))
        }
    }

    /// Waits for the REPL to exit; returns its status.
    func waitForExit(timeout: TimeInterval = 10) throws -> Int32 {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning {
            _ = readSome(milliseconds: 50)
            if ContinuousClock.now > deadline { throw Timeout(waitingFor: "the REPL to exit", screen: screen) }
        }
        _ = readSome(milliseconds: 50)
        return process.terminationStatus
    }

    /// Reads what is available within the time limit; false when nothing came.
    private func readSome(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(master, &buffer, buffer.count)
        guard n > 0 else { return false }
        let offset = screen.distance(from: screen.startIndex, to: mark)
        screen += String(decoding: buffer[0..<n], as: UTF8.self).replacingOccurrences(of: "\r", with: "")
        mark = screen.index(screen.startIndex, offsetBy: offset)
        return true
    }
}

@Suite(.serialized) struct REPLTests {
    @Test func unfinishedBlockContinuesOnTheNextLine() throws {
        let t = try TerminalSession()
        t.type("fn double(x) {\r")
        try t.expect("   ...> ")
        t.type("  return x * 2\r")
        try t.expect("   ...> ")
        t.type("}\r")
        try t.expect("furrow> ")
        t.type("double(21)\r")
        try t.expect("double(21)\n")
        #expect(try t.expect("furrow> ") == "42\n")
    }

    @Test func historyFileIsCreated() throws {
        let t = try TerminalSession()
        t.type("1 + 1\r")
        try t.expect("furrow> ")
        t.type(":quit\r")
        _ = try t.waitForExit()
        #expect(FileManager.default.fileExists(atPath: t.historyFile.path))
    }

    @Test func expressionEchoesItsValue() throws {
        let t = try TerminalSession()
        t.type("1 + 2\r")
        try t.expect("1 + 2\n")
        #expect(try t.expect("furrow> ") == "3\n")
        t.type("\"a\" + \"b\"\r")
        try t.expect("\n")
        #expect(try t.expect("furrow> ") == "\"ab\"\n", "strings echo in their source form")
    }

    @Test func statementsDoNotEchoButDefinitionsPersist() throws {
        let t = try TerminalSession()
        t.type("let x = 20\r")
        try t.expect("let x = 20\n")
        #expect(try t.expect("furrow> ") == "")
        t.type("fn twice(n) { return n * 2 }\r")
        try t.expect("\n")
        try t.expect("furrow> ")
        t.type("twice(x) + 2\r")
        try t.expect("\n")
        #expect(try t.expect("furrow> ") == "42\n")
    }

    @Test func listOfMapsPrintsAsAnAlignedTable() throws {
        let t = try TerminalSession()
        t.type("[{name: \"a\", size: 1}, {name: \"feat-long\", size: 22}]\r")
        try t.expect("}]\n")
        let output = try t.expect("furrow> ")
        let lines = output.split(separator: "\n").map { String($0) }
        #expect(lines.count == 4, "\(output)")
        guard lines.count == 4 else { return }
        #expect(lines[0].hasPrefix("name"))
        #expect(lines[0].contains("size"))
        #expect(lines[2].hasPrefix("a "))
        #expect(lines[3].hasPrefix("feat-long"))
        // the second column starts at the same place on every line
        let column = lines[0].range(of: "size")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[2].range(of: "1")?.lowerBound.utf16Offset(in: lines[2]) == column, "\(output)")
        #expect(lines[3].range(of: "22")?.lowerBound.utf16Offset(in: lines[3]) == column, "\(output)")
    }

    @Test func mapPrintsAsKeyValueLines() throws {
        let t = try TerminalSession()
        t.type("{name: \"feat-x\", ttl: 60}\r")
        try t.expect("60}\n")
        let output = try t.expect("furrow> ")
        let lines = output.split(separator: "\n").map { String($0) }
        #expect(lines.count == 2, "\(output)")
        #expect(lines.first?.hasPrefix("name:") == true && lines.first?.hasSuffix("feat-x") == true, "\(output)")
        #expect(lines.last?.hasPrefix("ttl:") == true && lines.last?.hasSuffix("60") == true, "\(output)")
    }

    @Test func unfinishedInputContinuesOnTheNextLine() throws {
        let t = try TerminalSession()
        t.type("[1,\r")
        try t.expect("   ...> ")
        t.type("2,\r")
        try t.expect("   ...> ")
        t.type("3] | sum\r")
        try t.expect("sum\n")
        #expect(try t.expect("furrow> ") == "6\n")
    }

    @Test func tabCompletesAGlobal() throws {
        let t = try TerminalSession()
        t.type("let environment_name = \"feat-x\"\r")
        try t.expect("furrow> ")
        t.type("environment_\t")
        try t.expect("environment_name")
        t.type("\r")
        #expect(try t.expect("furrow> ").contains("feat-x"))
        t.type("uppe\t")
        try t.expect("upper")
        t.type("(\"abc\")\r")
        #expect(try t.expect("furrow> ").contains("ABC"))
    }

    @Test func tabCompletesAMember() throws {
        let t = try TerminalSession()
        t.type("os.exe\t")
        try t.expect("os.exec")
        t.type("\u{15}")
        t.type("math.sq\t")
        try t.expect("math.sqrt")
        t.type("(16)\r")
        #expect(try t.expect("furrow> ").contains("4.0"))
    }

    @Test func tabTwiceListsAmbiguousMembers() throws {
        let t = try TerminalSession()
        t.type("os.ex\t\t")
        let listing = try t.expect("furrow> ")
        #expect(listing.contains("os.exec") && listing.contains("os.exists"), "\(listing)")
        t.type("\u{15}1\r")
        try t.expect("1\nfurrow> ")
    }

    @Test func anErrorDoesNotEndTheSession() throws {
        let t = try TerminalSession()
        t.type("undefined_thing + 1\r")
        let error = try t.expect("furrow> ")
        #expect(error.contains("undefined name 'undefined_thing'"), "\(error)")
        #expect(!error.contains("\u{1B}[3"), "colour despite NO_COLOR: \(error.debugDescription)")
        t.type("fail(\"boom\")\r")
        #expect(try t.expect("furrow> ").contains("boom"))
        t.type("40 + 2\r")
        try t.expect("40 + 2\n")
        #expect(try t.expect("furrow> ") == "42\n")
        #expect(t.process.isRunning)
    }

    @Test func helpOnABuiltin() throws {
        let t = try TerminalSession()
        t.type(":help len\r")
        try t.expect(":help len\n")
        let help = try t.expect("furrow> ")
        #expect(help.contains("len(x) → int"), "\(help)")
        t.type(":help os.exec\r")
        try t.expect("\n")
        #expect(try t.expect("furrow> ").contains("argv"))
        t.type(":help\r")
        try t.expect("\n")
        #expect(try t.expect("furrow> ").contains(":quit"))
    }

    @Test func quitEndsTheSession() throws {
        let t = try TerminalSession()
        t.type(":quit\r")
        #expect(try t.waitForExit() == 0)
    }

    @Test func endOfInputEndsTheSession() throws {
        let t = try TerminalSession()
        t.type("\u{04}")
        #expect(try t.waitForExit() == 0)
    }

    @Test func historyIsWrittenWithoutSecrets() throws {
        // The history file exists already, as it does after the first session.
        let t = try TerminalSession { home in
            FileManager.default.createFile(atPath: home.appendingPathComponent("history").path, contents: Data())
        }
        t.type("let region = \"eu-central-1\"\r")
        try t.expect("furrow> ")
        t.type("let password = \"hunter2\"\r")
        try t.expect("furrow> ")
        t.type("let api_token = \"abc123\"\r")
        try t.expect("furrow> ")
        t.type("len(region)\r")
        try t.expect("furrow> ")
        t.type(":quit\r")
        #expect(try t.waitForExit() == 0)
        let history = try String(contentsOf: t.historyFile, encoding: .utf8)
        #expect(history.contains("let region = \"eu-central-1\""), "\(history)")
        #expect(history.contains("len(region)"), "\(history)")
        #expect(!history.contains("hunter2"), "a password reached the history file:\n\(history)")
        #expect(!history.contains("abc123"), "a token reached the history file:\n\(history)")
    }

    @Test func historyIsReadBackInTheNextSession() throws {
        let first = try TerminalSession { home in
            FileManager.default.createFile(atPath: home.appendingPathComponent("history").path, contents: Data())
        }
        first.type("21 * 2\r")
        try first.expect("42\n")
        first.type(":quit\r")
        _ = try first.waitForExit()
        let saved = try String(contentsOf: first.historyFile, encoding: .utf8)
        let second = try TerminalSession { home in
            try saved.write(to: home.appendingPathComponent("history"), atomically: true, encoding: .utf8)
        }
        second.type("\u{10}")  // Ctrl-P recalls the previous line: ":quit"
        try second.expect(":quit")
        second.type("\u{10}")
        try second.expect("21 * 2")
        second.type("\r")
        try second.expect("42\n")
    }
}

@Suite(.serialized) struct REPLCommandTests {
    @Test func loadRunsAFileInTheSession() throws {
        let t = try TerminalSession { home in
            try "let greeting = \"hello\"\nfn greet(who) { return \"${greeting}, ${who}\" }\nprint(\"loaded\")\n"
                .write(to: home.appendingPathComponent("defs.furrow"), atomically: true, encoding: .utf8)
        }
        t.type(":load defs.furrow\r")
        try t.expect(":load defs.furrow\n")
        #expect(try t.expect("furrow> ") == "loaded\n")
        t.type("greet(\"ada\")\r")
        try t.expect("greet(\"ada\")\n")
        #expect(try t.expect("furrow> ") == "\"hello, ada\"\n")
    }

    @Test func loadOfAMissingFileKeepsTheSession() throws {
        let t = try TerminalSession()
        t.type(":load nowhere.furrow\r")
        #expect(try t.expect("furrow> ").contains("cannot read 'nowhere.furrow'"))
        t.type("1\r")
        try t.expect("1\n1\nfurrow> ")
    }

    @Test func resetForgetsDefinitions() throws {
        let t = try TerminalSession()
        t.type("let kept = 1\r")
        try t.expect("furrow> ")
        t.type(":reset\r")
        #expect(try t.expect("furrow> ").contains("session reset"))
        t.type("kept\r")
        #expect(try t.expect("furrow> ").contains("undefined name 'kept'"))
    }

    @Test func unknownCommandIsExplained() throws {
        let t = try TerminalSession()
        t.type(":frobnicate\r")
        #expect(try t.expect("furrow> ").contains("unknown command :frobnicate"))
        #expect(t.process.isRunning)
    }

    @Test func errorsAreColouredOnATerminalWithoutNoColor() throws {
        let t = try TerminalSession(environment: ["NO_COLOR": nil])
        t.type("undefined_thing\r")
        let error = try t.expect("furrow> ")
        #expect(error.contains("undefined name"))
        #expect(error.contains("\u{1B}["), "no colour on a terminal: \(error.debugDescription)")
    }
}

@Suite(.serialized) struct REPLConvenienceTests {
    @Test func underscoreHoldsTheLastEchoedResult() throws {
        let t = try TerminalSession()
        t.type("21 * 2\r")
        try t.expect("42\nfurrow> ")
        t.type("_ + 1\r")
        try t.expect("_ + 1\n")
        #expect(try t.expect("furrow> ") == "43\n")
        t.type("let unrelated = 5\r")
        try t.expect("furrow> ")
        t.type("_\r")
        try t.expect("_\n")
        #expect(try t.expect("furrow> ") == "43\n", "a statement echoes nothing and leaves _ alone")
    }

    @Test func aMultiLineEntryIsOneHistoryEntryAfterARestart() throws {
        let first = try TerminalSession()
        first.type("fn bump(x) {\r")
        try first.expect("   ...> ")
        first.type("  return x + 1\r")
        try first.expect("   ...> ")
        first.type("}\r")
        try first.expect("furrow> ")
        first.type(":quit\r")
        _ = try first.waitForExit()
        let saved = try String(contentsOf: first.historyFile, encoding: .utf8)
        #expect(saved.contains("fn bump(x) {\n  return x + 1\n}"), "\(saved)")
        let second = try TerminalSession { home in
            try saved.write(to: home.appendingPathComponent("history"), atomically: true, encoding: .utf8)
        }
        second.type("\u{10}\u{10}")  // Ctrl-P twice: past ":quit" to the function, whole
        try second.expect("fn bump(x) {^J  return x + 1^J}")  // readline shows a newline as ^J
        second.type("\r")
        try second.expect("furrow> ")
        second.type("bump(41)\r")
        try second.expect("bump(41)\n")
        #expect(try second.expect("furrow> ") == "42\n", "the recalled entry ran as one input")
    }

    @Test func tabCompletesAQueryStageAfterAPipe() throws {
        let t = try TerminalSession()
        t.type("[3, 1, 2] | sort_\t")
        try t.expect("sort_by")
        t.type(" it | fir\t")
        try t.expect("first")
        t.type("\r")
        #expect(try t.expect("furrow> ").hasSuffix("1\n"))
    }

    @Test func tabCompletesFilePathsInStringsAndAfterLoad() throws {
        let t = try TerminalSession { home in
            try FileManager.default.createDirectory(at: home.appendingPathComponent("run-books"), withIntermediateDirectories: true)
            try "let loaded = 7\n".write(to: home.appendingPathComponent("run-books/nightly-reap.furrow"), atomically: true, encoding: .utf8)
        }
        t.type("os.read(\"run\t")
        try t.expect("run-books/")
        t.type("nig\t")
        try t.expect("nightly-reap.furrow")
        t.type("\") | len\r")
        #expect(try t.expect("furrow> ").hasSuffix("15\n"))
        t.type(":load \"run-b\t")
        try t.expect("run-books/")
        t.type("n\t")
        try t.expect("nightly-reap.furrow")
        t.type("\"\r")
        try t.expect("furrow> ")
        t.type("loaded\r")
        try t.expect("loaded\n")
        #expect(try t.expect("furrow> ") == "7\n", "the quoted path was loaded")
    }

    @Test func helpExplainsStagesAndMethods() throws {
        let t = try TerminalSession()
        t.type(":help where\r")
        try t.expect(":help where\n")
        #expect(try t.expect("furrow> ").contains("xs | where e"))
        t.type("let t = state.table(\"ReplHelp\")\r")
        try t.expect("furrow> ")
        t.type(":help t.scan\r")
        try t.expect(":help t.scan\n")
        #expect(try t.expect("furrow> ").contains("table.scan(page_size"))
        t.type(":help t.sacn\r")
        try t.expect("\n")
        #expect(try t.expect("furrow> ").contains("did you mean 't.scan'?"))
        t.type(":help lenn\r")
        try t.expect("\n")
        let bogus = try t.expect("furrow> ")
        #expect(bogus.contains("no help for 'lenn'") && bogus.contains("did you mean 'len'?"), "\(bogus)")
    }

    @Test func everyQueryStageHasHelp() throws {
        let t = try TerminalSession()
        for stage in queryStageNames.sorted() {
            t.type(":help \(stage)\r")
            try t.expect(":help \(stage)\n")
            let help = try t.expect("furrow> ")
            #expect(help.contains("| \(stage)"), "\(stage): \(help)")
        }
    }

    @Test func aMultiLineStringEchoesAsItsLines() throws {
        let t = try TerminalSession()
        t.type("\"first\\nsecond\"\r")
        try t.expect("second\"\n")
        #expect(try t.expect("furrow> ") == "first\nsecond\n")
        t.type("\"one line\"\r")
        try t.expect("line\"\n")
        #expect(try t.expect("furrow> ") == "\"one line\"\n")
    }

    @Test func exitLeavesTheREPLWithItsStatusAndSaysSo() throws {
        let t = try TerminalSession()
        t.type("exit(3)\r")
        try t.expect("exit(3)\n")
        try t.expect("leaving the REPL with status 3")
        #expect(try t.waitForExit() == 3)
    }
}

/// Ctrl-C as a person presses it, through the terminal: it interrupts the running input at
/// its next safe point and keeps the session; at a prompt it drops the line.
@Suite(.serialized) struct REPLInterruptTests {
    /// Types `input`, waits until it runs, presses Ctrl-C, and expects the interrupted report
    /// and a fresh prompt within a bounded time.
    func interrupt(_ t: TerminalSession, _ input: String) throws {
        t.type(input + "\r")
        try t.expect(input)
        usleep(500_000)
        t.pressCtrlC()
        try t.expect("interrupted error: interrupted (Ctrl-C)", timeout: 5)
        try t.expect("furrow> ")
    }

    @Test(arguments: [
        "sleep(60s)",
        "while true { counter += 1 }",
        "parallel(range(6), limit: 6, fn(i) { sleep(60s) })",
        "os.exec([\"sh\", \"-c\", \"sleep 60\"])",
    ])
    func ctrlCInterruptsARunningInputAndKeepsTheSession(_ input: String) throws {
        let t = try TerminalSession()
        t.type("var counter = 41\r")
        try t.expect("furrow> ")
        try interrupt(t, input)
        t.type("counter >= 41\r")
        try t.expect("true")
        t.type("sleep(10ms)\r1 + 1\r")
        try t.expect("2")
        t.type(":quit\r")
        #expect(try t.waitForExit() == 0)
    }

    @Test func aSecondCtrlCForcesAStopThatIgnoresTheFirst() throws {
        let t = try TerminalSession()
        t.type("try { sleep(60s) } catch e { sleep(60s) }\r")
        try t.expect("sleep(60s) }")
        usleep(500_000)
        t.pressCtrlC()
        usleep(300_000)
        t.pressCtrlC()
        try t.expect("interrupted error", timeout: 5)
        try t.expect("furrow> ")
    }

    @Test func ctrlCAtThePromptDiscardsTheLine() throws {
        let t = try TerminalSession()
        t.type("var kept = 1\r")
        try t.expect("furrow> ")
        t.type("kept = 99")
        try t.expect("kept = 99")
        t.pressCtrlC()
        try t.expect("^C\nfurrow> ")
        t.type("kept\r")
        try t.expect("1\n")
        t.type(":quit\r")
        #expect(try t.waitForExit() == 0)
    }

    @Test func ctrlCAtAContinuationDiscardsTheWholeInput() throws {
        let t = try TerminalSession()
        t.type("fn half() {\r")
        try t.expect("...> ")
        t.pressCtrlC()
        try t.expect("^C\nfurrow> ")
        t.type("half\r")
        try t.expect("undefined name 'half'")
        t.type("2 * 21\r")
        try t.expect("42")
    }
}
