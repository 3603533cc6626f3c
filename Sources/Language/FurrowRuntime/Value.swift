import OrderedCollections
import Foundation


/// A Furrow value. Lists and maps are Swift collections, so they have value semantics
/// (copy on write) for free; the interpreter mutates them in place when it holds the only
/// reference (see `Compiler.Place` and `Compiler.modifier`).
public enum Value: @unchecked Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// Nanoseconds.
    case duration(Int64)
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    case time(Int64)
    case list(FurrowList)
    case map(FurrowMap)
    /// Half-open `lower..<upper`; `a..b` is stored as `a..<b+1`.
    case range(Int, Int)
    case function(Callable)
    case error(ErrorValue)
    case host(HostObject)
    /// A captured variable's shared cell; lives only in frame slots, never escapes to scripts.
    case cell(Cell)

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .duration: return "duration"
        case .time: return "time"
        case .list: return "list"
        case .map: return "map"
        case .range: return "range"
        case .function: return "function"
        case .error: return "error"
        case .host(let object): return object.typeName
        case .cell: return "cell"
        }
    }

    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        default: return true
        }
    }

    public var isNumber: Bool {
        switch self {
        case .int, .float: return true
        default: return false
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A variable shared between a function and the closures that capture it.
public final class Cell: @unchecked Sendable {
    public var value: Value
    /// The fiber whose frame made the cell: a parallel task may assign only its own cells.
    unowned(unsafe) let owner: Fiber?
    public init(_ value: Value) { self.value = value; self.owner = nil }
    init(_ value: Value, owner: Fiber) { self.value = value; self.owner = owner }
    /// Nested values are freed in a loop, not by recursion (see `ReleaseQueue`).
    deinit { if value.holdsValues { ReleaseQueue.release(&value) } }
}

/// An error as a Furrow value: what `catch err` binds and what a failed `parallel` slot holds.
public final class ErrorValue: @unchecked Sendable {
    public let message: String
    public let kind: String
    public let location: String?
    public private(set) var data: Value
    public init(message: String, kind: String, location: String?, data: Value = .null) {
        self.message = message; self.kind = kind; self.location = location; self.data = data
    }
    /// Nested values are freed in a loop, not by recursion (see `ReleaseQueue`).
    deinit { if data.holdsValues { ReleaseQueue.release(&data) } }

    var fields: FurrowMap {
        var m: FurrowMap = ["message": .string(message), "kind": .string(kind)]
        if let location { m["location"] = .string(location) }
        if !data.isNull { m["data"] = data }
        return m
    }
}

/// Something callable: a Furrow closure or a native builtin.
open class Callable: @unchecked Sendable {
    public let name: String
    public init(name: String) { self.name = name }
    /// Calls with the arguments that the caller pushed on `fiber`'s stack.
    open func call(_ fiber: Fiber, _ arguments: Arguments) throws(FurrowError) -> Value {
        fatalError("abstract")
    }
    open var parameterNames: [String] { [] }
}

/// An object provided by a builtin module (a table, a workspace, a zone...). Prints as a
/// map of its `fields`, and answers member access and method calls.
open class HostObject: @unchecked Sendable {
    public init() {}
    open var typeName: String { "object" }
    /// The fields shown when printed and encoded as JSON; also readable as `obj.field`.
    open var fields: FurrowMap { [:] }
    /// A property or bound method; nil means "no such member".
    open func member(_ name: String, fiber: Fiber) throws(FurrowError) -> Value? {
        fields[name]
    }
    /// Names offered by REPL completion.
    open var memberNames: [String] { Array(fields.keys) }
    /// One line for REPL echo and tables.
    open var summary: String { "<\(typeName)>" }
    /// The full REPL echo, when the summary and fields are not the right shape (a result
    /// that is itself a table); nil shows the summary and the fields.
    open func display(color: Bool) -> String? { nil }
    /// What JSON shows instead of the fields map (a redacted value shows a marker).
    open var jsonValue: Value? { nil }
}

extension Value {
    public static func == (lhs: Value, rhs: Value) -> Bool { lhs.equals(rhs) }

    /// Structural equality; ints and floats compare by numeric value.
    public func equals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.list, .list), (.map, .map): return Value.containersEqual(self, other)
        default: return shallowEquals(other)
        }
    }

    /// Equality of two lists or two maps, walking their items with a worklist of pairs
    /// instead of recursion: values nested millions of levels deep compare without
    /// exhausting the native stack. (The order pairs are compared in does not change the
    /// answer: comparing has no effects.)
    static func containersEqual(_ a: Value, _ b: Value) -> Bool {
        var pairs: [(Value, Value)] = [(a, b)]
        while let pair = pairs.popLast() {
            switch pair {
            case (.list(let l), .list(let r)):
                guard l.count == r.count else { return false }
                for i in l.indices {
                    switch (l[i], r[i]) {
                    case (.list, .list), (.map, .map): pairs.append((l[i], r[i]))
                    case (let p, let q): if !p.shallowEquals(q) { return false }
                    }
                }
            case (.map(let l), .map(let r)):
                guard l.count == r.count else { return false }
                for (k, v) in l {
                    guard let w = r[k] else { return false }
                    switch (v, w) {
                    case (.list, .list), (.map, .map): pairs.append((v, w))
                    default: if !v.shallowEquals(w) { return false }
                    }
                }
            case (let x, let y):
                if !x.shallowEquals(y) { return false }
            }
        }
        return true
    }

    /// Equality of everything but a list with a list or a map with a map (which
    /// `containersEqual` compares).
    private func shallowEquals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.int(let a), .float(let b)): return !b.isNaN && Operations.compareNumbers(a, b) == 0
        case (.float(let a), .int(let b)): return !a.isNaN && Operations.compareNumbers(b, a) == 0
        case (.string(let a), .string(let b)): return a == b
        case (.duration(let a), .duration(let b)): return a == b
        case (.time(let a), .time(let b)): return a == b
        case (.range(let a1, let a2), .range(let b1, let b2)): return a1 == b1 && a2 == b2
        case (.range(let lo, let hi), .list(let l)), (.list(let l), .range(let lo, let hi)):
            // Walks the range without building it: it may be far longer than the list.
            guard hi <= lo ? l.isEmpty : hi - lo == l.count else { return false }
            for (offset, item) in l.enumerated() where !item.equals(.int(lo + offset)) { return false }
            return true
        case (.function(let a), .function(let b)): return a === b
        case (.error(let a), .error(let b)): return a === b || (a.message == b.message && a.kind == b.kind)
        case (.host(let a), .host(let b)): return a === b
        default: return false
        }
    }


    /// Lists and ranges as a list; nil for other kinds. A range longer than
    /// `Limits.rangeListItems` is an error.
    public func asList() throws(FurrowError) -> [Value]? {
        switch self {
        case .list(let l): return l.array
        case .range(let lo, let hi): return try Operations.rangeItems(lo, hi)
        default: return nil
        }
    }
}

// MARK: times and durations

/// Seconds (or any double) scaled to nanoseconds, or nil when the result does not fit.
public func nanoseconds(_ value: Double, scale: Double = 1e9) -> Int64? {
    let n = (value * scale).rounded()
    guard n.isFinite, n > -9.2e18, n < 9.2e18 else { return nil }
    return Int64(n)
}

public enum TimeFormat {
    /// ISO-8601 UTC with milliseconds when they are not zero: `2026-11-22T10:00:00Z`, `...00.250Z`
    /// (nanoseconds when the time has them).
    public static func iso(_ nanos: Int64) -> String {
        var seconds = nanos / 1_000_000_000
        var fraction = nanos % 1_000_000_000
        if fraction < 0 { fraction += 1_000_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var second = seconds % 86_400
        if second < 0 { second += 86_400; days -= 1 }
        let (year, month, day) = civilDate(daysSinceEpoch: Int(days))
        // Written digit by digit: this runs for every time a store or a JSON text reads back.
        return String(unsafeUninitializedCapacity: 30) { out in
            var n = 0
            func put(_ value: Int, _ width: Int) {
                var value = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    out[n + k] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                }
                n += width
            }
            func put(_ byte: UInt8) {
                out[n] = byte
                n += 1
            }
            put(year, 4); put(UInt8(ascii: "-")); put(month, 2); put(UInt8(ascii: "-")); put(day, 2)
            put(UInt8(ascii: "T")); put(Int(second / 3600), 2); put(UInt8(ascii: ":")); put(Int(second / 60 % 60), 2)
            put(UInt8(ascii: ":")); put(Int(second % 60), 2)
            if fraction != 0 {
                put(UInt8(ascii: "."))
                if fraction % 1_000_000 == 0 { put(Int(fraction / 1_000_000), 3) } else { put(Int(fraction), 9) }
            }
            put(UInt8(ascii: "Z"))
            return n
        }
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (the inverse of `daysSinceEpoch`).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses ISO-8601 / RFC 3339 (`2026-11-22T10:00:00Z`, offsets `+02:00`, fractions, or a date alone).
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8(parse(utf8:))
    }

    private static func parse(utf8 s: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= s.count else { return nil }
            var n = 0
            for _ in 0..<digits {
                let c = s[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                n = n * 10 + Int(c - 0x30)
                i += 1
            }
            return n
        }
        func expect(_ c: Character) -> Bool {
            guard i < s.count, s[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        guard (1...12).contains(month), (1...daysInMonth(year, month)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0
        var nanos: Int64 = 0
        var offset = 0
        if i < s.count {
            guard s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == UInt8(ascii: " ") else { return nil }
            i += 1
            guard let h = number(2), expect(":"), let m = number(2) else { return nil }
            hour = h; minute = m
            if expect(":") {
                guard let sec = number(2) else { return nil }
                second = sec
                if expect(".") || expect(",") {
                    var scale: Int64 = 100_000_000
                    var any = false
                    while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                        nanos += Int64(s[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    if !any { return nil }
                }
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
            if expect("Z") || expect("z") {
            } else if i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
                let sign = s[i] == UInt8(ascii: "+") ? 1 : -1
                i += 1
                guard let oh = number(2) else { return nil }
                _ = expect(":")
                guard let om = number(2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            }
        }
        guard i == s.count else { return nil }
        let seconds = Int64(daysSinceEpoch(year, month, day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        // Times are Int64 nanoseconds: 1677-09-21 to 2262-04-11.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(nanos)
        return overflow || overflow2 ? nil : total
    }

    static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (exact integer
    /// arithmetic, so no year of four digits can overflow).
    static func daysSinceEpoch(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `1h30m`, `250ms`, `2d3h`, `1.5s`, `1m30.25s`, `0s`: whole units as in literals, a
    /// fraction of a second to at most three decimals of its unit.
    public static func duration(_ nanos: Int64) -> String {
        if nanos == 0 { return "0s" }
        var rest = nanos.magnitude
        var out = nanos < 0 ? "-" : ""
        func decimals(_ value: UInt64, _ unit: UInt64, _ name: String) -> String {
            let whole = value / unit
            let thousandths = (value % unit * 1000 + unit / 2) / unit
            if thousandths == 0 { return "\(whole)\(name)" }
            if thousandths == 1000 { return "\(whole + 1)\(name)" }
            var fraction = String(thousandths)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(whole).\(fraction)\(name)"
        }
        if rest < 1_000_000_000 {
            if rest >= 1_000_000 { return out + decimals(rest, 1_000_000, "ms") }
            if rest >= 1_000 { return out + decimals(rest, 1_000, "us") }
            return out + "\(rest)ns"
        }
        for (name, size) in [("d", UInt64(86_400_000_000_000)), ("h", 3_600_000_000_000), ("m", 60_000_000_000)] where rest >= size {
            out += "\(rest / size)\(name)"
            rest %= size
        }
        if rest > 0 { out += decimals(rest, 1_000_000_000, "s") }
        return out
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
