import Foundation
import Testing
import FurrowTestSupport

/// Mutation fuzzing of the lexer, parser, compiler and evaluator through the real binary:
/// random byte-level and token-level changes to the golden scripts must only ever give an
/// error exit (1, 2, 65) or success, never a crash (a signal or exit 70). Seeded, so a
/// failure is reproducible; bounded in count and time.
@Suite struct FuzzTests {

    static let fragments: [[UInt8]] = ["(", ")", "[", "]", "{", "}", "\"", "'", "${", "\"\"\"", "|", ".", "=>", "fn", "let",
        "9223372036854775807", "1e308", "-", "\n", "\\", "..<", "?.", "??", "where .", "\u{FFFF}", "#", "0s", "[[[[", "}}}"].map { Array($0.utf8) }

    static func mutate(_ source: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = source
        for _ in 0..<(1 + rng.below(4)) {
            let at = rng.below(bytes.count + 1)
            switch rng.below(4) {
            case 0 where !bytes.isEmpty: bytes.remove(at: min(at, bytes.count - 1))
            case 1: bytes.insert(contentsOf: fragments[rng.below(fragments.count)], at: at)
            case 2 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: rng.next())
            default:
                let len = rng.below(40)
                let start = rng.below(bytes.count + 1)
                let piece = Array(bytes[start..<min(bytes.count, start + len)])
                bytes.insert(contentsOf: piece, at: at)
            }
        }
        return bytes
    }

    @Test func mutatedScriptsNeverCrashTheInterpreter() throws {
        let scripts = GoldenScript.scripts().filter { !$0.source.contains("os.exec") && !$0.source.contains("sleep") }
        var rng = SplitMix(seed: 0xF0_22_0F)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var crashes: [String] = []
        for round in 0..<240 {
            let original = scripts[rng.below(scripts.count)]
            let mutated = FuzzTests.mutate(Array(original.source.utf8), &rng)
            let file = directory.appendingPathComponent("case\(round).furrow")
            try Data(mutated).write(to: file)
            // every other case is only checked; the rest also run, under a time limit
            let arguments = round % 2 == 0 ? ["check", file.path] : ["run", file.path]
            let result = try runFurrow(arguments, directory: directory, timeout: 5)
            if result.timedOut { continue }
            if result.crashed || result.status == 70 || result.status > 128 {
                crashes.append("\(original.name) mutation \(round) (saved as \(file.lastPathComponent)): status \(result.status)\n\(result.stderr.suffix(600))")
                try Data(mutated).write(to: FileManager.default.temporaryDirectory.appendingPathComponent("furrow-crash-\(round).furrow"))
            }
        }
        #expect(crashes.isEmpty, "\(crashes.count) crash(es):\n\(crashes.joined(separator: "\n\n"))")
    }
}
