import Foundation
import FurrowJSON
import FurrowRuntime

/// The core builtins (docs/builtins.md): values, strings, collections, time, printing.
struct CoreBuiltins: BuiltinModule {
    func install(into interpreter: Interpreter) {
        interpreter.register("print", .function(NativeFunction("print", doc: "print(values...)\nWrites the values, separated by spaces, and a newline to standard output. With --json every value that is not a string is written as JSON.") { (args: Arguments) throws(FurrowError) -> Value in
            let json = args.fiber.interpreter.options.jsonOutput
            var parts: [String] = []
            for i in 0..<args.count {
                let v = try Operations.materialize(args[i], args.fiber)
                if json, v.stringValue == nil { parts.append(try Format.toJSON(v).encoded()) } else { parts.append(Format.str(v)) }
            }
            StandardOutput.write(parts.joined(separator: " ") + "\n")
            return .null
        }))
        interpreter.register("json_output", .function(NativeFunction("json_output", doc: "json_output() → bool\nWhether the script runs with --json: then a job writes one JSON document on standard output instead of text.") { (args: Arguments) throws(FurrowError) -> Value in
            if args.count != 0 { _ = try args.bind("json_output", [], required: 0) }
            return .bool(args.fiber.interpreter.options.jsonOutput)
        }))
        interpreter.register("table", builtin("table", ["rows"], doc: "table(rows) → string\nA list of maps as text with aligned columns (as the REPL shows it).") { b, args throws(FurrowError) in
            .string(Format.display(try Operations.materialize(b[0]!, args.fiber)))
        })
        // len is hot in loops: it reads its argument directly instead of binding a list.
        interpreter.register("len", .function(NativeFunction("len", doc: "len(x) → int\nItems in a list, map or range; characters in a string.", parameters: ["x"]) { (args: Arguments) throws(FurrowError) -> Value in
            if args.count != 1 || args.labels != nil { _ = try args.bind("len", ["x"], required: 1) }
            switch try Operations.materialize(args[0], args.fiber) {
            case .list(let l): return .int(l.count)
            case .map(let m): return .int(m.count)
            case .string(let s): return .int(s.count)
            case .range(let lo, let hi):
                let (n, overflow) = hi.subtractingReportingOverflow(lo)
                if overflow { throw FurrowError("the range is too long to count", kind: .overflow) }
                return .int(max(0, n))
            case let v: throw FurrowError.type("len() needs a list, map, string or range, got \(v.typeName)")
            }
        }))
        interpreter.register("type", builtin("type", ["x"], doc: "type(x) → string\nThe type name: null, bool, int, float, string, duration, time, list, map, range, function, error, or a host type.") { b, _ throws(FurrowError) in
            .string(b[0]!.typeName)
        })
        interpreter.register("str", builtin("str", ["x"], doc: "str(x) → string\nThe text form of a value (as print shows it).") { b, _ throws(FurrowError) in
            .string(Format.str(b[0]!))
        })
        interpreter.register("repr", builtin("repr", ["x"], doc: "repr(x) → string\nThe source-like form of a value (strings quoted).") { b, _ throws(FurrowError) in
            .string(Format.repr(b[0]!))
        })
        interpreter.register("int", builtin("int", ["x"], doc: "int(x) → int\nConverts a float (truncating), a numeric string or a bool.") { b, _ throws(FurrowError) in
            switch b[0]! {
            case .int(let i): return .int(i)
            case .float(let d):
                guard d.isFinite, abs(d) < 9.2e18 else { throw FurrowError.value("int(): \(d) is out of range") }
                return .int(Int(d))
            case .bool(let x): return .int(x ? 1 : 0)
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
                guard let i = Int(t) else { throw FurrowError.value("int(): '\(s)' is not an integer") }
                return .int(i)
            case .duration(let d): return .int(Int(d / 1_000_000_000))
            case let v: throw FurrowError.type("int() cannot convert \(v.typeName)")
            }
        })
        interpreter.register("float", builtin("float", ["x"], doc: "float(x) → float\nConverts an int or a numeric string.") { b, _ throws(FurrowError) in
            switch b[0]! {
            case .int(let i): return .float(Double(i))
            case .float(let d): return .float(d)
            case .string(let s):
                guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else { throw FurrowError.value("float(): '\(s)' is not a number") }
                return .float(d)
            case .duration(let d): return .float(Double(d) / 1e9)
            case let v: throw FurrowError.type("float() cannot convert \(v.typeName)")
            }
        })
        interpreter.register("keys", builtin("keys", ["m"], doc: "keys(m) → list\nThe keys of a map, in order.") { b, _ throws(FurrowError) in
            .list(try b[0]!.map("keys()'s argument").keys.map { .string($0) })
        })
        interpreter.register("values", builtin("values", ["m"], doc: "values(m) → list\nThe values of a map, in order.") { b, _ throws(FurrowError) in
            .list(Array(try b[0]!.map("values()'s argument").values))
        })
        interpreter.register("range", builtin("range", ["a", "b"], required: 1, doc: "range(n) or range(a, b) → range\nHalf-open integer ranges, as in Python: range(3) is 0, 1, 2.") { b, _ throws(FurrowError) in
            if let hi = b[1] { return try Operations.range(try b[0]!.int("range start"), try hi.int("range end")) }
            return try Operations.range(0, try b[0]!.int("range end"))
        })
        interpreter.register("now", builtin("now", [], doc: "now() → time\nThe current UTC time.") { _, _ throws(FurrowError) in
            .time(TimeFormat.now())
        })
        interpreter.register("sleep", builtin("sleep", ["d"], doc: "sleep(duration)\nPauses this thread (sleep(2s), sleep(250ms)); an interrupt ends it early.") { b, args throws(FurrowError) in
            let nanos: Int64
            switch b[0]! {
            case .duration(let d): nanos = d
            case .int(let i): nanos = Int64(min(max(i, 0), 1 << 32)) * 1_000_000_000
            case .float(let d): nanos = nanoseconds(min(max(d, 0), 4e9)) ?? 0
            case let v: throw FurrowError.type("sleep() needs a duration, got \(v.typeName)")
            }
            try args.fiber.sleep(nanoseconds: nanos)
            return .null
        })
        interpreter.register("sorted", builtin("sorted", ["xs", "key", "desc"], required: 1, doc: "sorted(xs, key: fn, desc: false) → list\nA sorted copy; stable.") { b, args throws(FurrowError) in
            let items = try Operations.iterate(b[0]!, args.fiber)
            var keyFunction: Callable?
            if let key = b[1], !key.isNull {
                guard case .function(let fn) = key else { throw FurrowError.type("sorted()'s key must be a function, got \(key.typeName)") }
                keyFunction = fn
            }
            var keyed: [(Value, Value)] = []
            for item in items {
                if let keyFunction {
                    keyed.append((try args.fiber.call(keyFunction, [item]), item))
                } else {
                    keyed.append((item, item))
                }
            }
            return .list(try sortKeyed(keyed, descending: b[2]?.isTruthy ?? false))
        })
        interpreter.register("reversed", builtin("reversed", ["xs"], doc: "reversed(xs) → list or string\nThe items (or characters) in reverse order.") { b, args throws(FurrowError) in
            if case .string(let s) = b[0]! { return .string(String(s.reversed())) }
            return .list(try Operations.iterate(b[0]!, args.fiber).reversed())
        })
        interpreter.register("split", builtin("split", ["s", "separator", "limit"], required: 1, doc: "split(s, separator = whitespace, limit: -1) → list\nSplits a string; without a separator splits on runs of whitespace.") { b, _ throws(FurrowError) in
            let s = try b[0]!.string("split()'s string")
            // At most `limit` splits; a negative limit (the default) splits everywhere.
            var limit = -1
            if let limitValue = b[2], !limitValue.isNull { limit = try limitValue.int("split()'s limit") }
            guard let sepValue = b[1], !sepValue.isNull else {
                let maxSplits = limit < 0 ? Int.max : limit
                var parts = s.split(maxSplits: maxSplits, whereSeparator: { $0.isWhitespace }).map(String.init)
                // The rest after the last split keeps its text but not the leading whitespace.
                if limit >= 0, parts.count == maxSplits + 1 {
                    parts[maxSplits] = String(parts[maxSplits].drop(while: { $0.isWhitespace }))
                    if parts[maxSplits].isEmpty { parts.removeLast() }
                }
                return .list(parts.map { .string($0) })
            }
            let sep = try sepValue.string("split()'s separator")
            guard !sep.isEmpty else { throw FurrowError.value("split() separator must not be empty") }
            var parts = TextSearch.split(s, sep)
            if limit >= 0, parts.count - 1 > limit {
                parts = Array(parts[0..<limit]) + [parts[limit...].joined(separator: sep)]
            }
            return .list(parts.map { .string($0) })
        })
        interpreter.register("join", builtin("join", ["xs", "separator"], required: 1, doc: "join(xs, separator = \"\") → string\nJoins the text forms of the items.") { b, args throws(FurrowError) in
            let items = try Operations.iterate(b[0]!, args.fiber)
            let sep = try b[1].map { v throws(FurrowError) in try v.string("join()'s separator") } ?? ""
            return .string(items.map(Format.str).joined(separator: sep))
        })
        interpreter.register("replace", builtin("replace", ["s", "old", "new"], doc: "replace(s, old, new) → string\nReplaces every occurrence of old.") { b, _ throws(FurrowError) in
            let s = try b[0]!.string("replace()'s string"), old = try b[1]!.string("replace()'s old text")
            guard !old.isEmpty else { throw FurrowError.value("replace() old text must not be empty") }
            return .string(TextSearch.replace(s, old, try b[2]!.string("replace()'s new text")))
        })
        interpreter.register("trim", builtin("trim", ["s"], doc: "trim(s) → string\nRemoves leading and trailing whitespace.") { b, _ throws(FurrowError) in
            .string(try b[0]!.string("trim()'s argument").trimmingCharacters(in: .whitespacesAndNewlines))
        })
        interpreter.register("lower", builtin("lower", ["s"], doc: "lower(s) → string") { b, _ throws(FurrowError) in
            .string(try b[0]!.string("lower()'s argument").lowercased())
        })
        interpreter.register("upper", builtin("upper", ["s"], doc: "upper(s) → string") { b, _ throws(FurrowError) in
            .string(try b[0]!.string("upper()'s argument").uppercased())
        })
        interpreter.register("starts_with", builtin("starts_with", ["s", "prefix"], doc: "starts_with(s, prefix) → bool") { b, _ throws(FurrowError) in
            .bool(try b[0]!.string("starts_with()'s string").hasPrefix(try b[1]!.string("the prefix")))
        })
        interpreter.register("ends_with", builtin("ends_with", ["s", "suffix"], doc: "ends_with(s, suffix) → bool") { b, _ throws(FurrowError) in
            .bool(try b[0]!.string("ends_with()'s string").hasSuffix(try b[1]!.string("the suffix")))
        })
        interpreter.register("matches", builtin("matches", ["s", "pattern"], doc: "matches(s, pattern) → list or null\nThe first regular-expression match: [whole, group1, ...], or null.") { b, _ throws(FurrowError) in
            let regex = try Regex.compile(try b[1]!.string("the pattern"))
            guard let groups = try regex.firstMatch(try b[0]!.string("matches()'s string")) else { return .null }
            return .list(groups)
        })
        interpreter.register("format", .function(NativeFunction("format", doc: "format(template, values...) → string\nprintf-style: %s %d %f %5.2f %-10s %x %%.") { (args: Arguments) throws(FurrowError) -> Value in
            guard args.count >= 1 else { throw FurrowError.type("format() needs a template") }
            var values: [Value] = []
            for i in 1..<args.count { values.append(args[i]) }
            return .string(try Printf.format(try args[0].string("format()'s template"), values))
        }))
        interpreter.register("contains", builtin("contains", ["container", "item"], doc: "contains(container, item) → bool\nThe same as `item in container`.") { b, _ throws(FurrowError) in
            .bool(try Operations.contains(b[0]!, b[1]!))
        })
        interpreter.register("get", builtin("get", ["m", "key", "default"], required: 2, doc: "get(m, key, default = null)\nA map value by key with a default.") { b, _ throws(FurrowError) in
            let m = try b[0]!.map("get()'s map")
            return m[try b[1]!.string("get()'s key")] ?? b[2] ?? .null
        })
        interpreter.register("sum", builtin("sum", ["xs"], doc: "sum(xs) → number") { b, args throws(FurrowError) in
            let items = try Operations.iterate(b[0]!, args.fiber)
            guard var total = items.first else { return .int(0) }
            for x in items.dropFirst() { total = try Operations.binary(.add, total, x) }
            return total
        })
        interpreter.register("enumerate", builtin("enumerate", ["xs"], doc: "enumerate(xs) → list of [index, item]") { b, args throws(FurrowError) in
            .list(try Operations.iterate(b[0]!, args.fiber).enumerated().map { .list([.int($0.offset), $0.element]) })
        })
        interpreter.register("zip", builtin("zip", ["a", "b"], doc: "zip(a, b) → list of [a_item, b_item]") { b, args throws(FurrowError) in
            let x = try Operations.iterate(b[0]!, args.fiber), y = try Operations.iterate(b[1]!, args.fiber)
            return .list(zip(x, y).map { .list([$0, $1]) })
        })
        interpreter.register("duration", builtin("duration", ["x"], doc: "duration(x) → duration\nFrom seconds (a number) or text like \"1h30m\".") { b, _ throws(FurrowError) in
            switch b[0]! {
            case .duration(let d): return .duration(d)
            case .int(let i):
                let (n, overflow) = Int64(i).multipliedReportingOverflow(by: 1_000_000_000)
                if overflow { throw FurrowError.value("duration(): \(i) seconds is out of range") }
                return .duration(n)
            case .float(let d):
                guard let n = nanoseconds(d) else { throw FurrowError.value("duration(): \(d) seconds is out of range") }
                return .duration(n)
            case .string(let s):
                guard let d = DurationText.parse(s) else { throw FurrowError.value("'\(s)' is not a duration (like 90s, 1h30m, 7d)") }
                return .duration(d)
            case let v: throw FurrowError.type("duration() cannot convert \(v.typeName)")
            }
        })
    }

    func sortKeyed(_ keyed: [(Value, Value)], descending: Bool) throws(FurrowError) -> [Value] {
        var failure: FurrowError?
        let sorted = keyed.enumerated().sorted { (a, b) -> Bool in
            let c: Int
            do throws(FurrowError) { c = try Operations.compare(a.element.0, b.element.0, "sort") } catch {
                failure = failure ?? error
                return false
            }
            if c == 0 { return a.offset < b.offset }
            return descending ? c > 0 : c < 0
        }
        if let failure { throw failure }
        return sorted.map { $0.element.1 }
    }
}

/// Standard output, buffered, flushed at exit and before anything is read from the terminal.
public enum StandardOutput {
    nonisolated(unsafe) static var buffer: [UInt8] = []
    static let lock = NSLock()
    /// The error number of the first write that failed; what followed was dropped.
    nonisolated(unsafe) public private(set) static var writeError: Int32?

    public static func write(_ s: String) {
        lock.lock()
        buffer.append(contentsOf: s.utf8)
        let full = buffer.count > 1 << 16
        lock.unlock()
        if full { flush() }
    }

    public static func flush() {
        lock.lock()
        defer { lock.unlock() }
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, writeError == nil {
                let n = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { writeError = n < 0 ? errno : EIO; break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Substring search over UTF-8 bytes: splitting and replacing without bridging to
/// Foundation's string types, which dominated string-heavy scripts. Matching whole UTF-8
/// sequences of valid strings never splits a character's bytes.
enum TextSearch {
    /// Byte offsets of the non-overlapping occurrences of `needle` in `haystack`.
    static func occurrences(_ haystack: [UInt8], _ needle: [UInt8]) -> [Int] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        let first = needle[0]
        let last = haystack.count - needle.count
        var i = 0
        haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count, h[i + j] == n[j] { j += 1 }
                        if j == n.count {
                            found.append(i)
                            i += n.count
                            continue
                        }
                    }
                    i += 1
                }
            }
        }
        return found
    }

    static func split(_ s: String, _ separator: String) -> [String] {
        let bytes = Array(s.utf8)
        let sep = Array(separator.utf8)
        var parts: [String] = []
        var start = 0
        for offset in occurrences(bytes, sep) {
            parts.append(String(decoding: bytes[start..<offset], as: UTF8.self))
            start = offset + sep.count
        }
        parts.append(String(decoding: bytes[start...], as: UTF8.self))
        return parts
    }

    static func replace(_ s: String, _ old: String, _ new: String) -> String {
        let bytes = Array(s.utf8)
        let hits = occurrences(bytes, Array(old.utf8))
        if hits.isEmpty { return s }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + hits.count * max(0, new.utf8.count - old.utf8.count))
        var start = 0
        let replacement = Array(new.utf8)
        for offset in hits {
            out.append(contentsOf: bytes[start..<offset])
            out.append(contentsOf: replacement)
            start = offset + old.utf8.count
        }
        out.append(contentsOf: bytes[start...])
        return String(decoding: out, as: UTF8.self)
    }
}

/// Durations written as text, as in the language: `90s`, `1h30m`, `250ms`, `7d`, `2w`.
public enum DurationText {
    public static func parse(_ text: String) -> Int64? {
        let units: [String: Double] = ["ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9, "d": 86400e9, "w": 604800e9]
        var total = 0.0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard !number.isEmpty, let n = Double(number), let u = units[unit] else { return false }
            total += n * u
            number = ""; unit = ""; sawAny = true
            return true
        }
        for ch in text.trimmingCharacters(in: .whitespaces) {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        if !number.isEmpty || !unit.isEmpty { guard flush() else { return nil } }
        guard sawAny, total.magnitude < 9.2e18 else { return nil }
        return Int64(total.rounded())
    }
}

/// printf-style formatting over Furrow values.
enum Printf {
    static func format(_ template: String, _ values: [Value]) throws(FurrowError) -> String {
        var out = ""
        var index = 0
        var chars = Array(template)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { out.append(c); continue }
            var spec = ""
            while let n = chars.first, "-+ 0#.123456789".contains(n) { spec.append(n); chars.removeFirst() }
            guard let conversion = chars.popFirst() else { throw FurrowError.value("format(): the template ends inside a '%' directive") }
            for number in spec.split(whereSeparator: { !$0.isNumber }) where number.count > 3 {
                throw FurrowError.value("format(): width or precision \(number) is too large (at most 999)")
            }
            if conversion == "%" { out.append("%"); continue }
            guard index < values.count else { throw FurrowError.value("format(): not enough values for the template") }
            let v = values[index]
            index += 1
            switch conversion {
            case "s", "v": out += pad(Format.str(v), spec)
            case "q": out += pad(Format.repr(v), spec)
            case "d", "i":
                let n: Int
                switch v {
                case .int(let i): n = i
                case .float(let d):
                    guard d.isFinite, d.magnitude < 9.2e18 else { throw FurrowError.value("format(): %d of \(Format.formatFloat(d)), which does not fit in an int") }
                    n = Int(d)
                default: throw FurrowError.type("format(): %d needs a number, got \(v.typeName)")
                }
                out += String(format: "%\(spec)ld", n)
            case "f", "e", "g":
                let d: Double
                switch v {
                case .int(let i): d = Double(i)
                case .float(let x): d = x
                default: throw FurrowError.type("format(): %\(conversion) needs a number, got \(v.typeName)")
                }
                out += String(format: "%\(spec)\(conversion)", d)
            case "x", "X", "o":
                guard case .int(let i) = v else { throw FurrowError.type("format(): %\(conversion) needs an int") }
                out += String(format: "%\(spec)l\(conversion)", i)
            default:
                throw FurrowError.value("format(): unknown directive '%\(conversion)'")
            }
        }
        if index < values.count { throw FurrowError.value("format(): \(values.count - index) value(s) left over") }
        return out
    }

    static func pad(_ s: String, _ spec: String) -> String {
        let left = spec.hasPrefix("-")
        let widthText = spec.drop(while: { $0 == "-" || $0 == "0" }).prefix(while: { $0.isNumber })
        var text = s
        if let dot = spec.firstIndex(of: "."), let precision = Int(spec[spec.index(after: dot)...]) {
            text = String(text.prefix(precision))
        }
        guard let width = Int(widthText), width > text.count else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return left ? text + padding : padding + text
    }
}
