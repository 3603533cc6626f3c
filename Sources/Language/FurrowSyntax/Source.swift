/// One source text (a file, a `-c` string, a REPL line) with its name, kept as UTF-8 bytes.
///
/// Locations are byte offsets into `bytes`; they become line and column only when a
/// diagnostic is printed, so the hot paths never compute them.
public final class SourceFile: @unchecked Sendable {
    public let name: String
    public let text: String
    public let bytes: [UInt8]
    private var lineStartsCache: [Int]?

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        self.bytes = Array(text.utf8)
    }

    private var lineStarts: [Int] {
        if let cached = lineStartsCache { return cached }
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        lineStartsCache = starts
        return starts
    }

    /// 1-based line of a byte offset; unlike the column, it costs no scan of the line.
    public func line(of offset: Int) -> Int {
        let starts = lineStarts
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }

    /// 1-based line and column (in characters) of a byte offset.
    public func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
        let lo = line(of: offset) - 1
        let start = lineStarts[lo]
        let end = min(max(offset, start), bytes.count)
        let column = String(decoding: bytes[start..<end], as: UTF8.self).count + 1
        return (lo + 1, column)
    }

    /// The text of a 1-based line, without its newline.
    public func line(_ number: Int) -> String {
        let starts = lineStarts
        guard number >= 1, number <= starts.count else { return "" }
        let start = starts[number - 1]
        var end = number < starts.count ? starts[number] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    public func slice(_ span: Span) -> String {
        let lo = max(0, min(span.start, bytes.count)), hi = max(lo, min(span.end, bytes.count))
        return String(decoding: bytes[lo..<hi], as: UTF8.self)
    }
}

/// A half-open byte range in one source file.
public struct Span: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    public static let none = Span(0, 0)
    public func to(_ other: Span) -> Span { Span(start, max(end, other.end)) }
}

/// A place in a source file, for errors and stack traces.
public struct SourceLocation: Sendable {
    public let file: SourceFile
    public let span: Span
    public init(file: SourceFile, span: Span) { self.file = file; self.span = span }

    public var lineAndColumn: (line: Int, column: Int) { file.lineAndColumn(of: span.start) }

    /// `file:line:col`
    public var description: String {
        let (line, column) = lineAndColumn
        return "\(file.name):\(line):\(column)"
    }
}
