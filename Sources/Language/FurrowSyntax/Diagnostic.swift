/// A syntax or static error found before anything runs.
public struct Diagnostic: Error, Sendable {
    public let message: String
    public let location: SourceLocation
    /// Other places that explain the error (where a bracket that is never closed was opened).
    public let notes: [Note]

    /// A `note:` that follows the error, with its own location and caret.
    public struct Note: Sendable {
        public let message: String
        public let location: SourceLocation
        public init(_ message: String, at location: SourceLocation) {
            self.message = message
            self.location = location
        }
    }

    public init(_ message: String, at location: SourceLocation, notes: [Note] = []) {
        self.message = message
        self.location = location
        self.notes = notes
    }

    /// `file:line:col: error: message`, the source line, and a caret under the span; then each note so.
    public func rendered(color: Bool = false) -> String {
        ([Diagnostic.render(kind: "error", message: message, location: location, color: color)]
            + notes.map { Diagnostic.render(kind: Diagnostic.noteLabel, message: $0.message, location: $0.location, color: color) })
            .joined(separator: "\n")
    }

    /// The label of a note under an error ("the '(' opened at 2:9 is never closed").
    static let noteLabel = "note"

    public static func render(kind: String, message: String, location: SourceLocation, color: Bool) -> String {
        let (line, fullColumn) = location.lineAndColumn
        var text = location.file.line(line)
        var column = fullColumn
        if text.count > 120 {
            // show at most 120 characters around the caret
            let start = max(0, min(column - 60, text.count - 120))
            text = (start > 0 ? "…" : "") + String(text.dropFirst(start).prefix(120)) + "…"
            column = column - start + (start > 0 ? 1 : 0)
        }
        let endOffset = min(location.span.end, location.file.bytes.count)
        let (endLine, endColumn) = location.file.lineAndColumn(of: max(endOffset, location.span.start))
        let width = min(endLine == line ? max(1, endColumn - fullColumn) : max(1, text.count - column + 1), max(1, text.count - column + 1))
        let bold = color ? "\u{1B}[1m" : "", red = color ? "\u{1B}[31m" : "", reset = color ? "\u{1B}[0m" : ""
        let gutter = String(line)
        let pad = String(repeating: " ", count: gutter.count)
        var caretLine = ""
        for (i, ch) in text.enumerated() where i < column - 1 { caretLine.append(ch == "\t" ? "\t" : " ") }
        caretLine += String(repeating: "^", count: width)
        return """
            \(bold)\(location.description): \(red)\(kind):\(reset)\(bold) \(message)\(reset)
            \(pad) |
            \(gutter) | \(text)
            \(pad) | \(red)\(caretLine)\(reset)
            """
    }
}

/// All diagnostics of one source, reported together.
public struct DiagnosticList: Error, Sendable {
    public let diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// Errors shown in full: past the first few, more carets help no one, and a broken
    /// generated file could otherwise print megabytes. The rest are counted.
    public static let shownErrors = 20

    public func rendered(color: Bool = false) -> String {
        var text = diagnostics.prefix(DiagnosticList.shownErrors).map { $0.rendered(color: color) }.joined(separator: "\n")
        let hidden = diagnostics.count - DiagnosticList.shownErrors
        if hidden > 0 { text += "\n… and \(hidden) more error\(hidden == 1 ? "" : "s")" }
        return text
    }
}
