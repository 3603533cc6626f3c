import FurrowSyntax

/// An error raised while a script runs. It carries a kind (`error`, `type`, `conflict`,
/// `io`...), where it happened, and the Furrow call stack it unwound through; locations
/// become line and column only when printed.
public final class FurrowError: Error, @unchecked Sendable {
    public let message: String
    public let kind: String
    public var location: SourceLocation?
    /// Innermost first: the function names and call sites the error passed through.
    public var trace: [(function: String, location: SourceLocation?)] = []
    public let data: Value
    /// Set by `exit(code)`: not an error, ends the script; `catch` does not catch it.
    public let exitCode: Int32?

    public init(_ message: String, kind: String = "error", at location: SourceLocation? = nil, data: Value = .null) {
        self.message = message
        self.kind = kind
        self.location = location
        self.data = data
        self.exitCode = nil
    }

    init(exitCode: Int32) {
        self.message = "exit(\(exitCode))"
        self.kind = "exit"
        self.exitCode = exitCode
        self.data = .null
    }

    public static func type(_ message: String) -> FurrowError { FurrowError(message, kind: "type") }
    public static func value(_ message: String) -> FurrowError { FurrowError(message, kind: "value") }

    /// Adds a location if the error has none yet (errors from builtins get their call site).
    @discardableResult
    public func locate(_ location: SourceLocation) -> FurrowError {
        if self.location == nil { self.location = location }
        return self
    }

    public var asValue: ErrorValue {
        ErrorValue(message: message, kind: kind, location: location?.description, data: data)
    }

    /// The message, the source line with a caret under the span, and the call stack.
    public func rendered(color: Bool = false) -> String {
        var out: String
        if let location {
            out = Diagnostic.render(kind: kind == "error" ? "error" : "\(kind) error", message: message, location: location, color: color)
        } else {
            out = "error: \(message)"
        }
        var index = 0
        while index < trace.count {
            let entry = trace[index]
            let site = entry.location?.description
            var repeats = 1
            while index + repeats < trace.count, trace[index + repeats].function == entry.function,
                trace[index + repeats].location?.description == site
            {
                repeats += 1
            }
            out += entry.function == "import" ? "\n  imported at \(site ?? "?")" : "\n  in \(entry.function)"
            if entry.function != "import", let site { out += " called at \(site)" }
            if repeats > 1 { out += "\n  ... the same call \(repeats - 1) more time\(repeats == 2 ? "" : "s")" }
            index += repeats
        }
        return out
    }
}
