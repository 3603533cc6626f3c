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
        case .int(let i): return String(i)  // interpolated counters: no buffer for the general form
        default: return repr(v)
        }
    }

    public static func repr(_ v: Value) -> String {
        var out = ""
        repr(v, into: &out, depth: 0)
        return out
    }

    /// Appends to one buffer (nested lists cost linear time), showing containers nested
    /// deeper than `Limits.valueNesting` as `[…]` and `{…}`.
    static func repr(_ v: Value, into out: inout String, depth: Int) {
        switch v {
        case .list(let l):
            if depth >= Limits.valueNesting { out += "[…]"; return }
            out += "["
            for (i, x) in l.enumerated() {
                if i > 0 { out += ", " }
                repr(x, into: &out, depth: depth + 1)
            }
            out += "]"
        case .map(let m):
            if m.isEmpty { out += "{}"; return }
            if depth >= Limits.valueNesting { out += "{…}"; return }
            out += "{"
            var first = true
            for (k, x) in m {
                if !first { out += ", " }
                first = false
                out += key(k) + ": "
                repr(x, into: &out, depth: depth + 1)
            }
            out += "}"
        case .cell(let c): repr(c.value, into: &out, depth: depth)
        default: out += scalarRepr(v)
        }
    }

    static func scalarRepr(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d): return formatFloat(d)
        case .string(let s): return quote(s)
        case .duration(let d): return TimeFormat.duration(d)
        case .time(let t): return TimeFormat.iso(t)
        case .range(let lo, let hi): return "\(lo)..<\(hi)"
        case .function(let f): return "<fn \(f.name)>"
        case .error(let e): return "<error \(e.kind): \(e.message)>"
        case .host(let h): return h.summary
        case .list, .map, .cell: return repr(v)
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
        let width = m.keys.map(displayWidth).max() ?? 0
        let dim = color ? "\u{1B}[2m" : "", reset = color ? "\u{1B}[0m" : ""
        return m.map { k, v in
            dim + k + ":" + reset + String(repeating: " ", count: width - displayWidth(k) + 1) + cell(v)
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

    /// Columns are the union of the rows' keys, in first-seen order. A null field and a
    /// missing one read the same (`.field` is null for both), so both show as a blank cell.
    /// Widths count display columns (a wide character takes two); cells are cut (with `…`)
    /// only as far as `width` needs.
    public static func table(_ rows: [FurrowMap], color: Bool = false, width: Int? = outputWidth) -> String {
        var columns = OrderedSet<String>()
        for row in rows { for k in row.keys { columns.append(k) } }
        let cells = rows.map { row in columns.map { name in row[name].flatMap { $0.isNull ? nil : cell($0) } ?? "" } }
        var widths = columns.map(displayWidth)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], displayWidth(c)) } }
        widths = fitted(widths, headers: columns.map(displayWidth), limit: width)
        func pad(_ s: String, _ w: Int) -> String {
            var clipped = s
            if displayWidth(s) > w {
                clipped = ""
                var used = 0
                for ch in s {
                    let width = displayWidth(ch)
                    if used + width > w - 1 { break }
                    clipped.append(ch)
                    used += width
                }
                clipped += "…"
            }
            return clipped + String(repeating: " ", count: max(0, w - displayWidth(clipped)))
        }
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        var lines = [bold + zip(columns, widths).map { pad($0, $1) }.joined(separator: "  ").trimmingTrailing() + reset]
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        for row in cells { lines.append(zip(row, widths).map { pad($0, $1) }.joined(separator: "  ").trimmingTrailing()) }
        return lines.joined(separator: "\n")
    }

    /// Terminal columns of a text: East Asian wide and fullwidth characters and emoji take
    /// two, combining marks (part of the character before them) and controls none.
    public static func displayWidth(_ s: String) -> Int {
        var width = 0
        for ch in s { width += displayWidth(ch) }
        return width
    }

    static func displayWidth(_ ch: Character) -> Int {
        guard let first = ch.unicodeScalars.first else { return 0 }
        if first.isASCII { return first.value < 0x20 || first.value == 0x7F ? 0 : 1 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        if first.properties.isEmojiPresentation || ch.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        return wideRanges.contains { $0.contains(first.value) } ? 2 : 1
    }

    /// The East Asian Wide (W) and Fullwidth (F) blocks of Unicode's EastAsianWidth.txt.
    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
        0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x16FE0...0x18CFF, 0x1B000...0x1B2FF, 0x1F200...0x1F2FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    // MARK: JSON

    /// The JSON form of a value; functions cannot be encoded. Redacted values stay redacted.
    public static func toJSON(_ v: Value) throws(FurrowError) -> JSONValue {
        try toJSON(v, depth: 0)
    }

    static func toJSON(_ v: Value, depth: Int) throws(FurrowError) -> JSONValue {
        if depth > Limits.valueNesting {
            throw FurrowError.value("the value is nested more than \(Limits.valueNesting) levels deep, too deep to encode as JSON")
        }
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
            for x in l { out.append(try toJSON(x, depth: depth + 1)) }
            return .array(out)
        case .range(let lo, let hi):
            try Operations.checkListable(lo, hi)
            return .array((lo..<max(lo, hi)).map { .int(Int64($0)) })
        case .map(let m):
            var out = OrderedDictionary<String, JSONValue>()
            for (k, x) in m { out[k] = try toJSON(x, depth: depth + 1) }
            return .object(out)
        case .error(let e): return try toJSON(.map(e.fields), depth: depth)
        case .host(let h): return try toJSON(h.jsonValue ?? .map(h.fields), depth: depth)
        case .function(let f): throw FurrowError.type("a function (\(f.name)) cannot be encoded as JSON")
        case .cell(let c): return try toJSON(c.value, depth: depth)
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
