import Foundation
import FurrowRuntime

/// Configuration: `furrow.toml` (or `$FURROW_CONFIG`), overridden key by key with
/// `FURROW_<SECTION>_<KEY>` environment variables, over built-in defaults. No file at all
/// means the embedded defaults (SQLite state, local DNS zone, terraform on PATH).
public struct Configuration: Sendable {
    public private(set) var value: Value

    static let defaults: FurrowMap = [
        // no aws.region default: AWS_REGION, AWS_DEFAULT_REGION and the profile decide
        "aws": .map([:]),
        "state": .map(["store": .string("sqlite"), "path": .string(".furrow/state.db")]),
        "terraform": .map(["bin": .string("terraform"), "dir": .string("examples/devenv")]),
        "dns": .map(["provider": .string("local"), "zone": .string("dev.example.com")]),
        "jobs": .map([
            "table": .string("DeveloperEnvironments"), "repos": .list([.string("tyk"), .string("tyk-analytics"), .string("tyk-pump")]),
            "domain": .string("dev.example.com"), "ttl": .int(60), "noprocess": .string("/config/noprocess"),
        ]),
    ]

    public init(value: Value) { self.value = value }

    /// Loads from the working directory (or `$FURROW_CONFIG`) and the environment.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Configuration {
        var root = defaults
        let path = environment["FURROW_CONFIG"] ?? "furrow.toml"
        if let data = FileManager.default.contents(atPath: path) {
            guard let text = String(validating: data, as: UTF8.self) else {
                throw FurrowError("\(path) is not UTF-8 text", kind: "config")
            }
            let parsed = try TOML.parse(text, file: path)
            for (section, v) in parsed {
                if case .map(let table) = v, case .map(var existing)? = root[section] {
                    for (k, x) in table { existing[k] = x }
                    root[section] = .map(existing)
                } else {
                    root[section] = v
                }
            }
        } else if environment["FURROW_CONFIG"] != nil {
            throw FurrowError("configuration file \(path) (from FURROW_CONFIG) does not exist", kind: "config")
        }
        for (name, text) in environment where name.hasPrefix("FURROW_") && name != "FURROW_CONFIG" {
            let parts = name.dropFirst("FURROW_".count).lowercased().split(separator: "_", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            var table: FurrowMap = [:]
            if case .map(let m)? = root[parts[0]] { table = m }
            table[parts[1]] = TOML.scalar(fromEnvironment: text, like: table[parts[1]])
            root[parts[0]] = .map(table)
        }
        return Configuration(value: .map(root))
    }

    public func string(_ section: String, _ key: String) -> String? {
        guard case .map(let root) = value, case .map(let table)? = root[section], case .string(let s)? = table[key] else { return nil }
        return s
    }

    public func section(_ name: String) -> FurrowMap {
        guard case .map(let root) = value, case .map(let table)? = root[name] else { return [:] }
        return table
    }
}

/// The part of TOML that configuration files use: tables, dotted-free keys, strings, numbers,
/// booleans, arrays and inline tables, with errors naming file and line.
enum TOML {
    static func parse(_ text: String, file: String) throws -> FurrowMap {
        var root = FurrowMap()
        var current: String?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            func fail(_ message: String) -> FurrowError { FurrowError("\(file):\(index + 1): \(message)", kind: "config") }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else { throw fail("invalid table header '\(line)'") }
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { throw fail("empty table name") }
                current = name
                if root[name] == nil { root[name] = .map([:]) }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected 'key = value'") }
            var key = line[..<eq].trimmingCharacters(in: .whitespaces)
            if key.hasPrefix("\""), key.hasSuffix("\""), key.count >= 2 { key = String(key.dropFirst().dropLast()) }
            var scanner = Scanner(Array(line[line.index(after: eq)...]))
            let value: Value
            do { value = try scanner.value() } catch let message as ScanError { throw fail(message.text) }
            scanner.skipSpace()
            guard scanner.atEnd else { throw fail("unexpected text after the value of '\(key)'") }
            if let current {
                guard case .map(var table)? = root[current] else { throw fail("'\(current)' is not a table") }
                table[key] = value
                root[current] = .map(table)
            } else {
                root[key] = value
            }
        }
        return root
    }

    static func stripComment(_ line: String) -> String {
        var inString = false
        var out = ""
        for ch in line {
            if ch == "\"" { inString.toggle() }
            if ch == "#" && !inString { break }
            out.append(ch)
        }
        return out
    }

    /// An environment override keeps the type of the value it replaces.
    static func scalar(fromEnvironment text: String, like existing: Value?) -> Value {
        switch existing {
        case .int?: if let i = Int(text) { return .int(i) }
        case .bool?: if text == "true" || text == "false" { return .bool(text == "true") }
        case .list?: return .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        default: break
        }
        return .string(text)
    }

    struct ScanError: Error { let text: String }

    struct Scanner {
        let chars: [Character]
        var i = 0
        init(_ chars: [Character]) { self.chars = chars }
        var atEnd: Bool { i >= chars.count }
        mutating func skipSpace() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }

        mutating func value() throws -> Value {
            skipSpace()
            guard i < chars.count else { throw ScanError(text: "missing value") }
            switch chars[i] {
            case "\"":
                i += 1
                var s = ""
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count {
                        i += 1
                        switch chars[i] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        default: s.append(chars[i])
                        }
                    } else {
                        s.append(chars[i])
                    }
                    i += 1
                }
                guard i < chars.count else { throw ScanError(text: "unterminated string") }
                i += 1
                return .string(s)
            case "'":
                i += 1
                var s = ""
                while i < chars.count, chars[i] != "'" { s.append(chars[i]); i += 1 }
                guard i < chars.count else { throw ScanError(text: "unterminated string") }
                i += 1
                return .string(s)
            case "[":
                i += 1
                var items: [Value] = []
                while true {
                    skipSpace()
                    guard i < chars.count else { throw ScanError(text: "unterminated array") }
                    if chars[i] == "]" { i += 1; return .list(items) }
                    items.append(try value())
                    skipSpace()
                    if i < chars.count, chars[i] == "," { i += 1 }
                }
            case "{":
                i += 1
                var table = FurrowMap()
                while true {
                    skipSpace()
                    guard i < chars.count else { throw ScanError(text: "unterminated inline table") }
                    if chars[i] == "}" { i += 1; return .map(table) }
                    var key = ""
                    while i < chars.count, chars[i] != "=", chars[i] != " " { key.append(chars[i]); i += 1 }
                    skipSpace()
                    guard i < chars.count, chars[i] == "=" else { throw ScanError(text: "expected '=' in inline table") }
                    i += 1
                    table[key.trimmingCharacters(in: CharacterSet(charactersIn: "\""))] = try value()
                    skipSpace()
                    if i < chars.count, chars[i] == "," { i += 1 }
                }
            default:
                var word = ""
                while i < chars.count, !" \t,]}".contains(chars[i]) { word.append(chars[i]); i += 1 }
                if word == "true" { return .bool(true) }
                if word == "false" { return .bool(false) }
                let digits = word.replacingOccurrences(of: "_", with: "")
                if let n = Int(digits) { return .int(n) }
                if let d = Double(digits) { return .float(d) }
                throw ScanError(text: "invalid value '\(word)'")
            }
        }
    }
}
