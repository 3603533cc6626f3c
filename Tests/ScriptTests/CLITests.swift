import Foundation
import Testing

/// Bad input and command-line behaviour of the real `furrow` binary: every case must end with
/// a clear message and the documented exit code (0 ok, 1 failed, 2 usage, 65 syntax), never a crash.
@Suite struct CLITests {
    /// A scratch directory holding one script; returns the directory and the script's name.
    func scratch(bytes contents: [UInt8], name: String = "script.furrow") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(contents).write(to: dir.appendingPathComponent(name))
        return dir
    }

    func scratch(_ text: String, name: String = "script.furrow") throws -> URL {
        try scratch(bytes: Array(text.utf8), name: name)
    }

    /// The process ended on its own with an exit code (not a signal) and printed no internal error.
    func expectNoCrash(_ r: RunResult) {
        #expect(!r.stderr.contains("internal error"), "internal error:\n\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"), "crash:\n\(r.stderr)")
        #expect(r.status < 128, "killed by a signal? status \(r.status)")
    }

    // MARK: bad source

    @Test func unterminatedStringIsASyntaxError() throws {
        let dir = try scratch("let a = 1\nprint(\"abc\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        #expect(r.stderr.contains("script.furrow:2:7: error: unterminated string"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func unterminatedInterpolationIsASyntaxError() throws {
        let dir = try scratch("let name = 1\nprint(\"a ${name\")\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        #expect(r.stderr.contains("script.furrow:2:"), "\(r.stderr)")
        expectNoCrash(r)
    }

    @Test func severalSyntaxErrorsAreAllReportedWithCarets() throws {
        let dir = try scratch("let = 5\nvar ok = 1\nprint(1 2)\nfn f( { }\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        for location in ["script.furrow:1:5:", "script.furrow:3:9:", "script.furrow:4:7:"] {
            #expect(r.stderr.contains(location), "missing \(location) in:\n\(r.stderr)")
        }
        let carets = r.stderr.split(separator: "\n").filter { $0.hasSuffix("^") || $0.contains("^ ") || $0.contains("^^") }
        #expect(carets.count >= 3, "expected a caret line per error:\n\(r.stderr)")
    }

    @Test(arguments: [("[", "]"), ("(", ")"), ("{a: ", "}")])
    func tenThousandNestedBracketsGiveAClearError(open: String, close: String) throws {
        let source = "let x = " + String(repeating: open, count: 10_000) + "1" + String(repeating: close, count: 10_000) + "\n"
        let dir = try scratch(source)
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65, "status \(r.status)")
        #expect(r.stderr.contains("nesting is too deep"), "\(r.stderr.prefix(300))")
        #expect(r.stderr.contains("script.furrow:1:"))
        expectNoCrash(r)
    }

    @Test func unclosedNestedBracketsGiveAClearError() throws {
        let dir = try scratch("let x = " + String(repeating: "[", count: 10_000) + "\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        expectNoCrash(r)
    }

    @Test func runawayRecursionIsAFurrowError() throws {
        let dir = try scratch("fn down(n) { return down(n + 1) }\ndown(0)\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("recursion is too deep"), "\(r.stderr.prefix(500))")
        expectNoCrash(r)
    }

    @Test func runawayRecursionInsideParallelIsAFurrowError() throws {
        let dir = try scratch("fn down(n) { return down(n + 1) }\nlet r = parallel([1, 2], x => down(x))\nprint(type(r[0]), r[0].kind)\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 0, "\(r.stderr.prefix(500))")
        #expect(r.stdout == "error recursion\n")
    }

    @Test func hugeIntegerLiteralIsASyntaxError() throws {
        let dir = try scratch("let n = " + String(repeating: "9", count: 400) + "\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        #expect(r.stderr.contains("script.furrow:1:9: error: integer literal is too large"), "\(r.stderr.prefix(300))")
    }

    @Test func invalidUTF8IsASyntaxErrorWithAPosition() throws {
        let dir = try scratch(bytes: Array("print(1)\nlet s = \"a".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8))
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 65)
        #expect(r.stderr.contains("script.furrow:2"), "\(r.stderr)")
        #expect(r.stderr.contains("invalid UTF-8"), "\(r.stderr)")
        #expect(r.stdout.isEmpty, "nothing may run")
    }

    @Test func emptyFileRunsAndDoesNothing() throws {
        let dir = try scratch("")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
    }

    // MARK: command line

    @Test func missingFileFails() throws {
        let r = try runFurrow(["run", "no-such-script.furrow"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot read 'no-such-script.furrow'"), "\(r.stderr)")
    }

    @Test func missingFileGivenDirectlyFails() throws {
        let r = try runFurrow(["no-such-script.furrow"])
        #expect(r.status == 1)
    }

    @Test(arguments: ["frobnicate", "--frobnicate"])
    func unknownCommandOrFlagIsAUsageError(_ word: String) throws {
        let r = try runFurrow([word])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown command '\(word)'"), "\(r.stderr)")
        #expect(r.stderr.contains("usage:"))
    }

    @Test func runWithoutAScriptIsAUsageError() throws {
        let r = try runFurrow(["run"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("run needs a script"))
    }

    @Test func wrongParameterTypeIsAUsageError() throws {
        let dir = try scratch("param limit = 10 \"how many\"\nprint(limit)\n")
        let r = try runFurrow(["run", "script.furrow", "--limit", "ten"], directory: dir)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--limit: 'ten' is not a valid int"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func scriptHelpListsItsParameters() throws {
        let dir = try scratch("""
            param max_age = 14d "reap environments idle longer than this"
            param limit = 10    "never reap more than this many"
            param owner = "ada" "who to notify"
            print("ran")

            """)
        let r = try runFurrow(["run", "script.furrow", "--help"], directory: dir)
        #expect(r.status == 0)
        #expect(!r.stdout.contains("ran"), "--help must not run the script")
        #expect(r.stdout.contains("usage: furrow run script.furrow"))
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for (option, type, doc, def) in [
            ("--max-age", "DURATION", "reap environments idle longer than this", "(default: 14d)"),
            ("--limit", "INT", "never reap more than this many", "(default: 10)"),
            ("--owner", "STRING", "who to notify", "(default: \"ada\")"),
        ] {
            let line = lines.first { $0.contains(option) }
            #expect(line != nil, "no line for \(option):\n\(r.stdout)")
            if let line {
                #expect(line.contains(type) && line.contains(doc) && line.contains(def), "\(line)")
            }
        }
        #expect(r.stdout.contains("--dry-run"))
        #expect(r.stdout.contains("--yes"))
    }

    @Test func checkReportsOkFiles() throws {
        let dir = try scratch("let x = 1\nprint(x)\n", name: "good.furrow")
        let r = try runFurrow(["check", "good.furrow"], directory: dir)
        #expect(r.status == 0)
        #expect(r.stdout == "good.furrow: ok\n")
    }

    @Test func checkDoesNotRunTheScript() throws {
        let dir = try scratch("os.write(\"ran.txt\", \"x\")\nprint(\"ran\")\n", name: "good.furrow")
        let r = try runFurrow(["check", "good.furrow"], directory: dir)
        #expect(r.status == 0)
        #expect(!r.stdout.contains("ran\n"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("ran.txt").path))
    }

    @Test func checkReportsBrokenFilesAndStillChecksTheRest() throws {
        let dir = try scratch("let x = 1\n", name: "good.furrow")
        try "print(undefined_thing)\n".write(to: dir.appendingPathComponent("bad.furrow"), atomically: true, encoding: .utf8)
        try "let = \n".write(to: dir.appendingPathComponent("syntax.furrow"), atomically: true, encoding: .utf8)
        let r = try runFurrow(["check", "bad.furrow", "syntax.furrow", "good.furrow"], directory: dir)
        #expect(r.status == 65)
        #expect(r.stderr.contains("bad.furrow:1:7: error: undefined name 'undefined_thing'"), "\(r.stderr)")
        #expect(r.stderr.contains("syntax.furrow:1:5"), "\(r.stderr)")
        #expect(r.stdout.contains("good.furrow: ok"))
        #expect(!r.stdout.contains("bad.furrow: ok"))
    }

    @Test func checkWithoutFilesIsAUsageError() throws {
        let r = try runFurrow(["check"])
        #expect(r.status == 2)
    }

    @Test func dashCRunsCodeAndEchoesTheLastValue() throws {
        let r = try runFurrow(["-c", "let x = 20\nprint(\"x is\", x)\nx * 2 + 2"])
        #expect(r.status == 0)
        #expect(r.stdout == "x is 20\n42\n")
    }

    @Test func dashCReportsErrors() throws {
        let r = try runFurrow(["-c", "1 + \"a\""])
        #expect(r.status == 1)
        #expect(r.stderr.contains("unsupported operand types for +: int and string"))
        let s = try runFurrow(["-c", "let = 1"])
        #expect(s.status == 65)
    }

    @Test func dashCWithoutCodeIsAUsageError() throws {
        let r = try runFurrow(["-c"])
        #expect(r.status == 2)
    }

    @Test func scriptFromStandardInput() throws {
        let r = try runFurrow([], input: "let xs = [1, 2, 3]\nprint(xs | sum)\nprint(\"done\")\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "6\ndone\n")
    }

    @Test func scriptFromStandardInputWithAnError() throws {
        let r = try runFurrow([], input: "print(\"before\")\nfail(\"broken\")\n")
        #expect(r.status == 1)
        #expect(r.stdout == "before\n")
        #expect(r.stderr.contains("<stdin>:2:1"), "\(r.stderr)")
        #expect(r.stderr.contains("broken"))
    }

    @Test func exitCodeBecomesTheStatus() throws {
        let r = try runFurrow(["-c", "print(\"a\")\nexit(3)\nprint(\"b\")"])
        #expect(r.status == 3)
        #expect(r.stdout == "a\n")
        let dir = try scratch("exit(3)\n")
        #expect(try runFurrow(["run", "script.furrow"], directory: dir).status == 3)
    }

    @Test func versionIsPrinted() throws {
        let r = try runFurrow(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("furrow "))
        let version = r.stdout.dropFirst("furrow ".count).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3, "not a semantic version: \(version)")
    }

    @Test func usageHelp() throws {
        let r = try runFurrow(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("furrow run FILE"))
        #expect(r.stdout.contains("furrow check FILE"))
    }

    @Test func scriptsRunDirectlyWithoutTheRunCommand() throws {
        let dir = try scratch("param n = 1 \"n\"\nprint(n * 2)\n")
        let r = try runFurrow(["script.furrow", "--n", "21"], directory: dir)
        #expect(r.status == 0)
        #expect(r.stdout == "42\n")
    }

    @Test func confirmWithoutYesFailsInANonInteractiveRun() throws {
        let dir = try scratch("print(\"asking\")\nconfirm(\"destroy 12 environments?\")\nprint(\"destroyed\")\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 1)
        #expect(r.stdout == "asking\n")
        #expect(r.stderr.contains("confirmation needed: destroy 12 environments?"))
        let yes = try runFurrow(["run", "script.furrow", "--yes"], directory: dir)
        #expect(yes.status == 0)
        #expect(yes.stdout == "asking\ndestroyed\n")
    }

    @Test func suspendedFollowsTheNoprocessFile() throws {
        let dir = try scratch("print(suspended())\n")
        let marker = dir.appendingPathComponent("noprocess").path
        let env = ["FURROW_JOBS_NOPROCESS": marker]
        #expect(try runFurrow(["run", "script.furrow"], environment: env, directory: dir).stdout == "false\n")
        FileManager.default.createFile(atPath: marker, contents: Data())
        let r = try runFurrow(["run", "script.furrow"], environment: env, directory: dir)
        #expect(r.stdout == "true\n", "\(r.stderr)")
    }

    @Test func noColourWhenStandardErrorIsNotATerminal() throws {
        let dir = try scratch("log.warn(\"careful\")\nfail(\"broken\")\n")
        let r = try runFurrow(["run", "script.furrow"], environment: ["NO_COLOR": ""], directory: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("broken"))
        #expect(!r.stderr.contains("\u{1B}["), "escape codes on a pipe:\n\(r.stderr.debugDescription)")
    }

    @Test func invalidUTF8OnStandardInputIsASyntaxError() throws {
        let process = Process()
        process.executableURL = Paths.furrow
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data([0x70, 0x72, 0x69, 0x6E, 0x74, 0x28, 0x31, 0x29, 0x0A, 0xC3, 0x28, 0x0A]))
        try input.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 65)
        #expect(stderr.contains("<stdin>:2"), "\(stderr)")
        #expect(stderr.contains("invalid UTF-8"))
    }

    @Test func dashCShowsAListOfMapsAsATableAndAMapAsLines() throws {
        let table = try runFurrow(["-c", "[{name: \"a\", size: 1}, {name: \"feat-long\", size: 22}, {size: 3}]"])
        #expect(table.stdout == """
            name       size
            ─────────  ────
            a          1
            feat-long  22
                       3

            """, "\(table.stdout)")
        let map = try runFurrow(["-c", "{name: \"feat-x\", stacks: [\"base\"], ttl: 60}"])
        #expect(map.stdout == "name:   feat-x\nstacks: [\"base\"]\nttl:    60\n", "\(map.stdout)")
    }

    @Test func outputFromParallelTasksKeepsLinesWhole() throws {
        let r = try runFurrow(["-c", "parallel(range(300), limit: 16, x => print(\"line\", x, \"x\" * 200))\nlet logged = parallel(range(300), limit: 16, x => log.info(\"msg\", n: x))"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 300)
        #expect(lines.allSatisfy { $0.hasPrefix("line ") && $0.hasSuffix(String(repeating: "x", count: 200)) && $0.split(separator: " ").count == 3 })
        #expect(Set(lines.map { $0.split(separator: " ")[1] }).count == 300)
        let logs = r.stderr.split(separator: "\n")
        #expect(logs.count == 300)
        #expect(logs.allSatisfy { $0.hasPrefix("time=") && $0.contains(" msg=msg n=") })
    }

    // MARK: -c takes the options of run

    @Test func dashCTakesTheOptionsOfRunInEitherOrder() throws {
        for arguments in [["-c", "os.write(\"x\", \"y\")\nprint(dry_run(), os.exists(\"x\"))", "--dry-run"],
                          ["--dry-run", "-c", "os.write(\"x\", \"y\")\nprint(dry_run(), os.exists(\"x\"))"]] {
            let dir = try scratch("")
            let r = try runFurrow(arguments, directory: dir)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            #expect(r.stdout == "true false\n", "\(arguments): \(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path), "\(arguments) wrote the file")
        }
        let json = try runFurrow(["-c", "print({a: 1})", "--json", "--log-format", "json"])
        #expect(json.stdout == "{\"a\":1}\n", "\(json.stdout)\n\(json.stderr)")
    }

    @Test func dashCGivesItsExtraWordsToArgs() throws {
        let r = try runFurrow(["-c", "print(args)", "a", "b", "--yes", "--", "--raw"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "[\"a\", \"b\", \"--raw\"]\n")
    }

    @Test func dashCRefusesWhatItDoesNotKnow() throws {
        for arguments in [["-c", "print(1)", "--dry-rn"], ["--dry-run", "-c"], ["-c", "1", "-c", "2"], ["--json", "--bogus", "-c", "1"],
                          ["-c", "1", "--log-format", "xml"]] {
            let r = try runFurrow(arguments)
            #expect(r.status == 2, "\(arguments): status \(r.status)\n\(r.stderr)")
            #expect(r.stdout.isEmpty, "\(arguments) ran: \(r.stdout)")
            #expect(r.stderr.hasPrefix("furrow: "), "\(arguments): \(r.stderr)")
        }
    }

    @Test func aUsageErrorIsOneLineAndExitCodeTwo() throws {
        let dir = try scratch("param name = \"\" \"who\"\nfn check() { fail(\"needs --name\", kind: \"usage\") }\nif name == \"\" { check() }\n")
        let r = try runFurrow(["run", "script.furrow"], directory: dir)
        #expect(r.status == 2)
        #expect(r.stderr == "furrow: needs --name\nusage: furrow run script.furrow [--name STRING] [--dry-run] [--json] ... (--help lists them)\n", "\(r.stderr)")
        let code = try runFurrow(["-c", "fail(\"bad words\", kind: \"usage\")"])
        #expect(code.status == 2)
        #expect(code.stderr == "furrow: bad words\n", "\(code.stderr)")
    }
}
