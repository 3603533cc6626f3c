import Foundation
import FurrowRuntime
import Testing

/// The error kinds are a closed set: every kind the sources raise is an `ErrorKind`, and
/// the language reference lists every one.
@Suite struct ErrorKindTests {
    private func files(under folder: String, ending suffix: String) -> [URL] {
        let base = Paths.root.appendingPathComponent(folder)
        let names = FileManager.default.enumerator(atPath: base.path)?.compactMap { $0 as? String } ?? []
        return names.filter { $0.hasSuffix(suffix) }.map { base.appendingPathComponent($0) }
    }

    @Test func everyKindTheSourcesRaiseIsDeclared() throws {
        let declared = Set(ErrorKind.allCases.map(\.rawValue))
        let literal = try NSRegularExpression(pattern: #"kind: "([a-z_]+)""#)
        var used: [String: String] = [:]
        for file in files(under: "Sources", ending: ".swift") + files(under: "stdlib", ending: ".furrow")
        where file.lastPathComponent != "StandardLibrary.swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in literal.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                used[String(text[Range(match.range(at: 1), in: text)!]), default: file.lastPathComponent] = file.lastPathComponent
            }
        }
        #expect(used.count >= 10)
        let undeclared = used.filter { !declared.contains($0.key) }
        #expect(undeclared.isEmpty, "kinds raised but not in ErrorKind: \(undeclared)")
    }

    @Test func theReferenceListsEveryKind() throws {
        let reference = try String(contentsOf: Paths.root.appendingPathComponent("docs/language.md"), encoding: .utf8)
        let missing = ErrorKind.allCases.filter { !reference.contains("| `\($0.rawValue)` |") }
        #expect(missing.isEmpty, "docs/language.md does not list: \(missing.map(\.rawValue))")
    }
}
