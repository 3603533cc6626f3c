import Foundation
import FurrowRuntime
import FurrowState
import FurrowStateDynamoDB
import TOMLKit

/// Configuration: `furrow.toml` (or `$FURROW_CONFIG`), overridden key by key with
/// `FURROW_<SECTION>_<KEY>` environment variables, over the defaults the sections declare.
/// No file at all means those defaults: SQLite state, a local DNS zone, terraform on PATH,
/// and nothing specific to one installation (repositories and paths come from the file).
public struct Configuration: Sendable {
    public private(set) var value: Value
    /// Problems that do not stop a run (unknown keys), to be shown once on standard error.
    public private(set) var warnings: [String] = []

    public init(value: Value) { self.value = value }

    /// Loads from the working directory (or `$FURROW_CONFIG`) and the environment.
    /// `sections` are the sections whose keys are known and typed.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        sections: [ConfigurationSection] = ConfigurationSection.known
    ) throws(FurrowError) -> Configuration {
        var root = FurrowMap()
        for section in sections {
            var table = FurrowMap()
            for key in section.keys { if let value = key.defaultValue { table[key.name] = value } }
            root[section.name] = .map(table)
        }
        var warnings: [String] = []
        let path = environment["FURROW_CONFIG"] ?? "furrow.toml"
        if let data = FileManager.default.contents(atPath: path) {
            guard let text = String(validating: data, as: UTF8.self) else {
                throw FurrowError("\(path) is not UTF-8 text", kind: "config")
            }
            let file = try TOMLDocument(text: text, file: path)
            for (sectionName, entry) in file.root {
                guard let section = sections.first(where: { $0.name == sectionName }) else {
                    if let near = nearest(sectionName, among: sections.map(\.name)) {
                        warnings.append("\(file.location(ofTable: sectionName)): unknown section [\(sectionName)] (did you mean [\(near)]?)")
                    }
                    root[sectionName] = entry  // a section of the scripts' own
                    continue
                }
                guard case .map(let table) = entry else {
                    throw FurrowError("\(file.location(ofKey: sectionName, in: nil)): \(sectionName) must be a table ([\(sectionName)])", kind: "config")
                }
                guard case .map(var merged)? = root[sectionName] else { continue }
                for (name, value) in table {
                    guard let key = section.keys.first(where: { $0.name == name }) else {
                        let near = nearest(name, among: section.keys.map(\.name)).map { " (did you mean \(sectionName).\($0)?)" } ?? ""
                        warnings.append("\(file.location(ofKey: name, in: sectionName)): unknown key \(sectionName).\(name)\(near)")
                        merged[name] = value
                        continue
                    }
                    guard key.type.accepts(value) else {
                        throw FurrowError("\(file.location(ofKey: name, in: sectionName)): \(sectionName).\(name) must be \(key.type.description), got \(value.typeName)", kind: "config")
                    }
                    merged[name] = key.type.normalized(value)
                }
                root[sectionName] = .map(merged)
            }
            // in the order of the file (TOMLKit gives a table's keys sorted)
            warnings.sort { Self.line(of: $0, in: path) < Self.line(of: $1, in: path) }
        } else if environment["FURROW_CONFIG"] != nil {
            throw FurrowError("configuration file \(path) (from FURROW_CONFIG) does not exist", kind: "config")
        }
        for (variable, text) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("FURROW_") && variable != "FURROW_CONFIG" {
            let parts = variable.dropFirst("FURROW_".count).lowercased().split(separator: "_", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let (sectionName, name) = (parts[0], parts[1])
            var table: FurrowMap = [:]
            if case .map(let m)? = root[sectionName] { table = m }
            if let section = sections.first(where: { $0.name == sectionName }) {
                if let key = section.keys.first(where: { $0.name == name }) {
                    table[name] = try key.type.parse(environment: text, variable: variable)
                } else {
                    let near = nearest(name, among: section.keys.map(\.name)).map { " (did you mean FURROW_\(sectionName.uppercased())_\($0.uppercased())?)" } ?? ""
                    warnings.append("\(variable): unknown key \(sectionName).\(name)\(near)")
                    table[name] = .string(text)
                }
            } else {
                table[name] = .string(text)
            }
            root[sectionName] = .map(table)
        }
        var configuration = Configuration(value: .map(root))
        configuration.warnings = warnings
        return configuration
    }

    /// The value of a key: what the file or the environment set, else the default its
    /// section declares (so no caller repeats a default).
    public func value(_ section: String, _ key: String) -> Value? {
        if let set = self.section(section)[key] { return set }
        return ConfigurationSection.known.first { $0.name == section }?.keys.first { $0.name == key }?.defaultValue
    }

    public func string(_ section: String, _ key: String) -> String? {
        guard case .string(let s)? = value(section, key) else { return nil }
        return s
    }

    /// A string key that has a default, so is never missing.
    public func setting(_ section: String, _ key: String) -> String { string(section, key) ?? "" }

    public func section(_ name: String) -> FurrowMap {
        guard case .map(let root) = value, case .map(let table)? = root[name] else { return [:] }
        return table
    }

    /// The line a `path:LINE: ...` message points at (0 when it names none).
    private static func line(of message: String, in path: String) -> Int {
        Int(message.dropFirst(path.count + 1).prefix { $0.isNumber }) ?? 0
    }

    /// The closest name within two edits, for did-you-mean.
    static func nearest(_ name: String, among names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(name, $0)) }.filter { $0.1 <= 2 && $0.1 < max(name.count, 2) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// The type a configuration key must have, checked when the file is read.
public enum ConfigurationType: Sendable {
    case string, int, float, bool, time
    /// A list of strings.
    case strings
    /// A table of values of any type (an inline table in the file).
    case table

    var description: String {
        switch self {
        case .string: return "a string"
        case .int: return "an integer"
        case .float: return "a number"
        case .bool: return "true or false"
        case .time: return "a date or time"
        case .strings: return "a list of strings"
        case .table: return "a table"
        }
    }

    func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (.string, .string), (.int, .int), (.float, .float), (.float, .int), (.bool, .bool), (.time, .time),
             (.time, .duration), (.table, .map):
            return true
        case (.strings, .list(let items)):
            return items.allSatisfy { if case .string = $0 { return true } else { return false } }
        default:
            return false
        }
    }

    /// An integer where a number is wanted is that number.
    func normalized(_ value: Value) -> Value {
        if case .float = self, case .int(let i) = value { return .float(Double(i)) }
        return value
    }

    /// The value of a `FURROW_<SECTION>_<KEY>` variable: text parsed as the key's type
    /// (a list comma-separated, a table as a TOML inline table).
    func parse(environment text: String, variable: String) throws(FurrowError) -> Value {
        func invalid() -> FurrowError {
            FurrowError("\(variable)='\(text)' is not \(description)", kind: "config")
        }
        switch self {
        case .string: return .string(text)
        case .int:
            guard let i = Int(text.replacingOccurrences(of: "_", with: "")) else { throw invalid() }
            return .int(i)
        case .float:
            guard let d = Double(text) else { throw invalid() }
            return .float(d)
        case .bool:
            guard text == "true" || text == "false" else { throw invalid() }
            return .bool(text == "true")
        case .strings:
            return .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        case .time, .table:
            let parsed = try? TOMLDocument(text: "value = \(text)", file: variable)
            guard let value = parsed?.root["value"], accepts(value) else { throw invalid() }
            return value
        }
    }
}

/// One key of a section: its type, default (nil: not set) and what it is for.
public struct ConfigurationKey: Sendable {
    public let name: String
    public let type: ConfigurationType
    public let defaultValue: Value?
    public let doc: String

    public init(_ name: String, _ type: ConfigurationType, default defaultValue: Value? = nil, doc: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// A `[section]` of furrow.toml whose keys Furrow knows. A module with settings of its own
/// declares its section beside its code (`extension ConfigurationSection { static let x }`)
/// and adds it to `known`; keys outside every known section are the scripts' own.
public struct ConfigurationSection: Sendable {
    public let name: String
    public let keys: [ConfigurationKey]

    public init(_ name: String, _ keys: [ConfigurationKey]) {
        var seen: Set<String> = []
        for key in keys { precondition(seen.insert(key.name).inserted, "\(name).\(key.name) is declared twice") }
        self.name = name
        self.keys = keys
    }

    /// Every section Furrow reads.
    public static let known: [ConfigurationSection] = [.aws, .state, .terraform, .dns, .jobs]

    public static let aws = ConfigurationSection("aws", [
        // no region default: AWS_REGION, AWS_DEFAULT_REGION and the profile decide
        ConfigurationKey("region", .string, doc: "the region every AWS client uses"),
        ConfigurationKey("endpoint", .string, doc: "one local AWS-compatible server for every AWS service"),
    ])

    public static let state = ConfigurationSection("state", [
        ConfigurationKey("store", .string, default: .string("sqlite"), doc: "the state table: sqlite or dynamodb"),
        ConfigurationKey("path", .string, default: .string(SQLiteStateStore.defaultPath), doc: "the SQLite file (the local DNS zone lives here too)"),
        ConfigurationKey("lease_table", .string, default: .string(DynamoDBStateStore.defaultLeaseTable), doc: "the DynamoDB table of leases"),
    ])

    public static let terraform = ConfigurationSection("terraform", [
        ConfigurationKey("bin", .string, default: .string("terraform"), doc: "the terraform executable: terraform, tofu, or a path"),
        ConfigurationKey("cli_config", .string, doc: "TF_CLI_CONFIG_FILE for every terraform run"),
        ConfigurationKey("dir", .string, doc: "the configuration the jobs apply, one workspace per environment"),
        ConfigurationKey("lock_timeout", .int, doc: "seconds terraform waits for a workspace's state lock (-lock-timeout); not set: terraform's default, fail at once"),
    ])

    public static let dns = ConfigurationSection("dns", [
        ConfigurationKey("provider", .string, default: .string("local"), doc: "local, route53 or rfc2136"),
        ConfigurationKey("zone", .string, default: .string("dev.example.com"), doc: "the zone the jobs manage"),
        ConfigurationKey("server", .string, doc: "host:port of the RFC 2136 server"),
        ConfigurationKey("tsig_key", .string, doc: "the TSIG key file for RFC 2136"),
        ConfigurationKey("wait", .bool, default: .bool(false), doc: "wait until a Route53 change is in sync"),
    ])

    public static let jobs = ConfigurationSection("jobs", [
        ConfigurationKey("table", .string, default: .string("DeveloperEnvironments"), doc: "the state table of developer environments"),
        ConfigurationKey("repos", .strings, default: .list([]), doc: "the component repositories, one attribute each"),
        ConfigurationKey("domain", .string, default: .string("dev.example.com"), doc: "chitragupta names <service>.<env>.<domain>"),
        ConfigurationKey("ttl", .int, default: .int(60), doc: "TTL of the DNS records the jobs write"),
        ConfigurationKey("discovery", .string, default: .string("outputs"), doc: "where chitragupta finds services: outputs or ecs"),
        ConfigurationKey("ecs_cluster", .string, default: .string("{env}"), doc: "the ECS cluster of an environment; {env} is its name"),
        ConfigurationKey("ecs_address", .string, default: .string("public"), doc: "which task address ECS discovery names: public or private"),
        ConfigurationKey("noprocess", .string, doc: "while this file exists, suspended() is true and sow and reap do nothing"),
        ConfigurationKey("extra_vars", .table, default: .map([:]), doc: "extra terraform variables for every environment"),
        ConfigurationKey("image_lookup", .string, default: .string("none"), doc: "how newbuild finds a branch's image: none or ecr"),
        ConfigurationKey("ecr_prefix", .string, default: .string(""), doc: "prefix of the ECR repository of each repo"),
        ConfigurationKey("stop_grace", .int, default: .int(20), doc: "seconds a run stopped by SIGINT or SIGTERM has to finish cleanly before its children are killed"),
    ])
}

/// A TOML 1.0 document (read by TOMLKit) as Furrow values, with what error messages and
/// warnings need to point at a line: TOML dates and times become Furrow times (a local
/// date-time is taken as UTC, a date alone is midnight UTC), a time of day alone a duration
/// since midnight.
struct TOMLDocument {
    let root: FurrowMap
    let file: String
    let lines: [Substring]

    init(text: String, file: String) throws(FurrowError) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // the parser reads a C string: a NUL would end the document early
        if let index = lines.firstIndex(where: { $0.contains("\0") }) {
            throw FurrowError("\(file):\(index + 1): a NUL character is not allowed in TOML", kind: "config")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw FurrowError("\(file):\(error.source.begin.line):\(error.source.begin.column): \(error.description)", kind: "config")
        } catch {
            throw FurrowError("\(file): \(error)", kind: "config")
        }
        do {
            root = try TOMLDocument.map(table)
        } catch {
            // the key's line, as far as a line-by-line look can tell
            var key = ""
            if case .string(let name) = error.data { key = name }
            let line = lines.firstIndex { $0.drop { $0 == " " || $0 == "\t" }.hasPrefix(key) && !key.isEmpty }
            throw FurrowError("\(file):\(line.map { "\($0 + 1):" } ?? "") \(key) = \(error.message)", kind: "config")
        }
    }

    static func map(_ table: TOMLTable) throws(FurrowError) -> FurrowMap {
        var out = FurrowMap()
        for key in table.keys {
            guard let value = table[key] else { continue }
            do {
                out[key] = try convert(value.tomlValue)
            } catch {
                // the innermost key names the line
                throw error.data.isNull ? FurrowError(error.message, kind: "config", data: .string(key)) : error
            }
        }
        return out
    }

    /// TOML allows years 0 to 9999; a Furrow time is nanoseconds since 1970 in 64 bits.
    static func outOfRange(_ what: String) -> FurrowError {
        FurrowError("the \(what) is outside the range of Furrow times (1677-09-21 to 2262-04-11)", kind: "config")
    }

    static func convert(_ value: TOMLValue) throws(FurrowError) -> Value {
        if let table = value.table { return .map(try map(table)) }
        if let array = value.array {
            var items: [Value] = []
            for item in array { items.append(try convert(item.tomlValue)) }
            return .list(items)
        }
        if let string = value.string { return .string(string) }
        if let bool = value.bool { return .bool(bool) }
        if let int = value.int { return .int(int) }
        if let double = value.double { return .float(double) }
        if let dateTime = value.dateTime {
            let offset = Int64(dateTime.offset?.offset ?? 0) * 60 * 1_000_000_000
            let (local, wrapped) = try nanoseconds(dateTime.date).addingReportingOverflow(timeOfDay(dateTime.time))
            let (utc, shifted) = local.subtractingReportingOverflow(offset)
            guard !wrapped, !shifted else { throw outOfRange("date and time") }
            return .time(utc)
        }
        if let date = value.date { return .time(try nanoseconds(date)) }
        if let time = value.time { return .duration(timeOfDay(time)) }
        return .null
    }

    private static func nanoseconds(_ date: TOMLDate) throws(FurrowError) -> Int64 {
        var parts = tm()
        parts.tm_year = Int32(date.year - 1900)
        parts.tm_mon = Int32(date.month - 1)
        parts.tm_mday = Int32(date.day)
        let (nanoseconds, overflow) = Int64(timegm(&parts)).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { throw outOfRange("date") }
        return nanoseconds
    }

    private static func timeOfDay(_ time: TOMLTime) -> Int64 {
        Int64((time.hour * 60 + time.minute) * 60 + time.second) * 1_000_000_000 + Int64(time.nanoSecond)
    }

    /// `file:line` of the header `[name]` (or of the first key of a dotted `name.x = ...`).
    func location(ofTable name: String) -> String {
        let line = lines.firstIndex { Self.stripped($0).hasPrefix("[\(name)]") || Self.stripped($0).hasPrefix("\(name).") }
        return line.map { "\(file):\($0 + 1)" } ?? file
    }

    /// `file:line` of `key = ...` in `[section]` (or written `section.key = ...`), as far as a
    /// line-by-line look can tell; the file alone when it cannot.
    func location(ofKey key: String, in section: String?) -> String {
        var current: String?
        for (index, raw) in lines.enumerated() {
            let line = Self.stripped(raw)
            if line.hasPrefix("[") {
                current = line.drop { $0 == "[" }.prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "")
            if current == section, name == key || name.hasPrefix(key + ".") { return "\(file):\(index + 1)" }
            if let section, current == nil, name == "\(section).\(key)" { return "\(file):\(index + 1)" }
        }
        return file
    }

    private static func stripped(_ line: Substring) -> String {
        line.trimmingCharacters(in: .whitespaces)
    }
}
