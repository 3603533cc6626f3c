import OrderedCollections
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FurrowJSON

/// How values print: `str` for `print` and interpolation, `repr` for REPL echo and inside
/// containers, tables for lists of maps, and JSON.
public enum Format {
    public static func str(_ v: Value) -> String {
        switch v {
        case .string(let s): return s
        default: return repr(v)
        }
    }

    public static func repr(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d): return formatFloat(d)
        case .string(let s): return quote(s)
        case .duration(let d): return TimeFormat.duration(d)
        case .time(let t): return TimeFormat.iso(t)
        case .list(let l): return "[" + l.map(repr).joined(separator: ", ") + "]"
        case .map(let m):
            if m.isEmpty { return "{}" }
            return "{" + m.map { "\(key($0.key)): \(repr($0.value))" }.joined(separator: ", ") + "}"
        case .range(let lo, let hi): return "\(lo)..<\(hi)"
        case .function(let f): return "<fn \(f.name)>"
        case .error(let e): return "<error \(e.kind): \(e.message)>"
        case .host(let h): return h.summary
        case .cell(let c): return repr(c.value)
        }
    }

    static func key(_ k: String) -> String {
        guard let first = k.unicodeScalars.first, first == "_" || first.properties.isAlphabetic,
            k.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) })
        else { return quote(k) }
        return k
    }

    public static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int64(d)) + ".0" }
        return String(d)
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "$": out += "$"
            default:
                if ch.value < 0x20 { out += "\\u{\(String(ch.value, radix: 16))}" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }

    /// REPL display: lists of maps as aligned tables, maps as `key: value` lines.
    public static func display(_ v: Value, color: Bool = false) -> String {
        switch v {
        case .list(let rows) where !rows.isEmpty && rows.allSatisfy({ if case .map = $0 { return true }; if case .host = $0 { return true }; return false }):
            return table(rows.map(rowFields), color: color)
        case .map(let m) where !m.isEmpty:
            return keyValueLines(m, color: color)
        case .host(let h):
            if let text = h.display(color: color) { return text }
            let fields = h.fields
            if fields.isEmpty { return h.summary }
            return h.summary + "\n" + keyValueLines(fields, color: color)
        default:
            return repr(v)
        }
    }

    static func rowFields(_ v: Value) -> FurrowMap {
        switch v {
        case .map(let m): return m
        case .host(let h): return h.fields
        default: return [:]
        }
    }

    static func keyValueLines(_ m: FurrowMap, color: Bool) -> String {
        let width = m.keys.map(\.count).max() ?? 0
        let dim = color ? "\u{1B}[2m" : "", reset = color ? "\u{1B}[0m" : ""
        return m.map { k, v in
            dim + k + ":" + reset + String(repeating: " ", count: width - k.count + 1) + cell(v)
        }.joined(separator: "\n")
    }

    static func cell(_ v: Value) -> String {
        switch v {
        case .string(let s): return s.replacingOccurrences(of: "\n", with: "\\n")
        default: return repr(v)
        }
    }

    /// The width tables may fill: the terminal's columns when standard output is a
    /// terminal, else nil (no limit: output for files and other programs is never cut).
    public static let outputWidth: Int? = {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }()

    /// Column widths that fit `limit` characters (with two spaces between columns): the
    /// widest columns are narrowed first, never below their header or 8 characters.
    static func fitted(_ widths: [Int], headers: [Int], limit: Int?) -> [Int] {
        guard let limit else { return widths }
        let gaps = 2 * max(0, widths.count - 1)
        if widths.reduce(gaps, +) <= limit { return widths }
        let floors = zip(widths, headers).map { min($0, max($1, 8)) }
        func total(_ cap: Int) -> Int { zip(widths, floors).reduce(gaps) { $0 + max($1.1, min($1.0, cap)) } }
        // the largest cap that fits; when even the floors do not fit, the floors
        var low = 0, high = widths.max() ?? 0
        while low < high {
            let mid = (low + high + 1) / 2
            if total(mid) <= limit { low = mid } else { high = mid - 1 }
        }
        return zip(widths, floors).map { max($1, min($0, low)) }
    }

    /// Columns are the union of the rows' keys, in first-seen order. Cells are cut (with
    /// `…`) only as far as `width` needs.
    public static func table(_ rows: [FurrowMap], color: Bool = false, width: Int? = outputWidth) -> String {
        var columns = OrderedSet<String>()
        for row in rows { for k in row.keys { columns.append(k) } }
        let cells = rows.map { row in columns.map { row[$0].map(cell) ?? "" } }
        var widths = columns.map(\.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        widths = fitted(widths, headers: columns.map(\.count), limit: width)
        func pad(_ s: String, _ w: Int) -> String {
            let clipped = s.count > w ? String(s.prefix(w - 1)) + "…" : s
            return clipped + String(repeating: " ", count: max(0, w - clipped.count))
        }
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        var lines = [bold + zip(columns, widths).map { pad($0, $1) }.joined(separator: "  ").trimmingTrailing() + reset]
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        for row in cells { lines.append(zip(row, widths).map { pad($0, $1) }.joined(separator: "  ").trimmingTrailing()) }
        return lines.joined(separator: "\n")
    }

    // MARK: JSON

    /// The JSON form of a value; functions cannot be encoded. Redacted values stay redacted.
    public static func toJSON(_ v: Value) throws(FurrowError) -> JSONValue {
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int64(i))
        case .float(let d):
            guard d.isFinite else { throw FurrowError.value("\(formatFloat(d)) has no JSON form") }
            return .double(d)
        case .string(let s): return .string(s)
        case .duration(let d): return .string(TimeFormat.duration(d))
        case .time(let t): return .string(TimeFormat.iso(t))
        case .list(let l):
            var out: [JSONValue] = []
            out.reserveCapacity(l.count)
            for x in l { out.append(try toJSON(x)) }
            return .array(out)
        case .range(let lo, let hi): return .array((lo..<max(lo, hi)).map { .int(Int64($0)) })
        case .map(let m):
            var out = OrderedDictionary<String, JSONValue>()
            for (k, x) in m { out[k] = try toJSON(x) }
            return .object(out)
        case .error(let e): return try toJSON(.map(e.fields))
        case .host(let h): return try toJSON(h.jsonValue ?? .map(h.fields))
        case .function(let f): throw FurrowError.type("a function (\(f.name)) cannot be encoded as JSON")
        case .cell(let c): return try toJSON(c.value)
        }
    }

    public static func fromJSON(_ j: JSONValue) -> Value {
        switch j {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int(i))
        case .double(let d): return .float(d)
        case .string(let s): return .string(s)
        case .array(let a): return .list(a.map(fromJSON))
        case .object(let o):
            var m = FurrowMap(minimumCapacity: o.count)
            for (k, v) in o { m[k] = fromJSON(v) }
            return .map(m)
        }
    }
}

extension String {
    func trimmingTrailing() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
