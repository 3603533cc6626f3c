import Foundation
import Testing

/// docs/architecture.md describes the target graph as it is: its target tables list every
/// target of Package.swift with exactly its dependencies on our own targets.
@Suite struct ArchitectureTests {
    /// Target name → the names of our targets it depends on, from Package.swift.
    static func packageGraph() throws -> [String: Set<String>] {
        let text = try String(contentsOf: Paths.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let source = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: "\n")
        let characters = Array(source)
        /// The text from `start` to the bracket that closes the one just before it.
        func balanced(from start: Int, open: Character, close: Character) -> String {
            var depth = 1, index = start
            while index < characters.count, depth > 0 {
                if characters[index] == open { depth += 1 }
                if characters[index] == close { depth -= 1 }
                index += 1
            }
            return String(characters[start..<(index - 1)])
        }
        let quoted = try NSRegularExpression(pattern: #""([^"]+)""#)
        func strings(_ text: String) -> [String] {
            quoted.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) }
        }
        let product = try NSRegularExpression(pattern: #"\.product\([^)]*\)"#)
        var graph: [String: Set<String>] = [:]
        for kind in [".target(", ".executableTarget(", ".testTarget(", ".systemLibrary("] {
            var searchStart = source.startIndex
            while let found = source.range(of: kind, range: searchStart..<source.endIndex) {
                searchStart = found.upperBound
                let body = balanced(from: source.distance(from: source.startIndex, to: found.upperBound), open: "(", close: ")")
                guard let nameRange = body.range(of: #"name:\s*"[^"]+""#, options: .regularExpression) else { continue }
                let name = strings(String(body[nameRange]))[0]
                var dependencies: Set<String> = []
                if let list = body.range(of: #"dependencies:\s*\["#, options: .regularExpression) {
                    let bodyCharacters = Array(body)
                    var depth = 1, index = body.distance(from: body.startIndex, to: list.upperBound)
                    let start = index
                    while index < bodyCharacters.count, depth > 0 {
                        if bodyCharacters[index] == "[" { depth += 1 }
                        if bodyCharacters[index] == "]" { depth -= 1 }
                        index += 1
                    }
                    let inner = String(bodyCharacters[start..<(index - 1)])
                    let withoutProducts = product.stringByReplacingMatches(
                        in: inner, range: NSRange(inner.startIndex..., in: inner), withTemplate: "")
                    dependencies = Set(strings(withoutProducts))
                }
                graph[name] = dependencies
            }
        }
        return graph
    }

    /// Target name → dependencies, from the rows of the document's target tables
    /// in its "Targets" section (`| `A` | what | `C`, `D` |`, `—` for none).
    static func documentedGraph() throws -> [String: Set<String>] {
        let document = try String(contentsOf: Paths.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        guard let start = document.range(of: "\n## Targets\n"),
            let end = document.range(of: "\n## ", range: start.upperBound..<document.endIndex)
        else { throw ArchitectureError(message: "docs/architecture.md has no \"## Targets\" section") }
        let text = document[start.upperBound..<end.lowerBound]
        let names = try NSRegularExpression(pattern: "`([^`]+)`")
        func targets(_ cell: Substring) -> [String] {
            let cell = String(cell)
            return names.matches(in: cell, range: NSRange(cell.startIndex..., in: cell)).map { String(cell[Range($0.range(at: 1), in: cell)!]) }
        }
        var graph: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces)[...] }
            guard cells.count >= 4 else { continue }
            let named = targets(cells[1])
            // Several targets in one row share the dependency cell: in order when it is split by `;` or `, —`.
            let groups = cells[3].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            if named.count > 1, groups.count == named.count {
                for (name, group) in zip(named, groups) { graph[name] = Set(targets(group[...])) }
            } else if named.count == 2, cells[3].hasPrefix("—, ") {
                graph[named[0]] = []
                graph[named[1]] = Set(targets(cells[3].dropFirst(3)))
            } else {
                for name in named { graph[name] = Set(targets(cells[3])) }
            }
        }
        return graph
    }

    struct ArchitectureError: Error { let message: String }

    @Test func theDocumentedTargetGraphIsPackageSwifts() throws {
        let package = try Self.packageGraph()
        let documented = try Self.documentedGraph()
        #expect(package.count >= 30)
        let missing = Set(package.keys).subtracting(documented.keys).sorted()
        let extra = Set(documented.keys).subtracting(package.keys).sorted()
        #expect(missing.isEmpty, "targets of Package.swift not in docs/architecture.md: \(missing)")
        #expect(extra.isEmpty, "targets in docs/architecture.md not in Package.swift: \(extra)")
        for (name, dependencies) in package.sorted(by: { $0.key < $1.key }) {
            guard let written = documented[name] else { continue }
            #expect(written == dependencies, "\(name): Package.swift says \(dependencies.sorted()), docs/architecture.md says \(written.sorted())")
        }
    }

    /// Domain targets stay free of the interpreter, and only FurrowLibrary binds them.
    @Test func domainTargetsDoNotDependOnTheRuntime() throws {
        let package = try Self.packageGraph()
        func closure(_ name: String) -> Set<String> {
            var seen: Set<String> = [], stack = [name]
            while let next = stack.popLast() {
                for dependency in package[next] ?? [] where seen.insert(dependency).inserted { stack.append(dependency) }
            }
            return seen
        }
        for domain in ["FurrowTerraform", "FurrowEnvironment", "FurrowState", "FurrowStateDynamoDB", "FurrowDNS", "FurrowDNSRoute53",
                       "FurrowHCL", "FurrowAWS", "FurrowDNSWire", "FurrowJSON"] {
            #expect(!closure(domain).contains("FurrowRuntime"), "\(domain) depends on FurrowRuntime")
        }
    }
}
