import FurrowSyntax

/// Every kind of error Furrow itself raises (`err.kind`; docs/language.md lists them with
/// these meanings). Scripts may raise kinds of their own with `fail(..., kind:)`.
public enum ErrorKind: String, CaseIterable, Sendable {
    /// `fail()` without a kind, and errors with no better kind.
    case error
    /// A value of the wrong type for an operation or argument.
    case type
    /// A value of the right type that is not acceptable (an empty argv, a bad name).
    case value
    /// An index or slice outside a list or string.
    case index
    /// Division by zero and other impossible arithmetic.
    case arithmetic
    /// An integer result that does not fit in 64 bits.
    case overflow
    /// Calls nested deeper than the limit; a lazy list on more lazy stages than its limit.
    case recursion
    case assert
    /// A parallel task that wrote shared state, or a failed task under `fail_fast`.
    case parallel
    /// A module that cannot be found, read, compiled, or imports itself.
    case `import`
    /// A file that cannot be read or written.
    case io
    case json
    case hcl
    /// A program run by `os.exec` that could not start or failed under `check: true`.
    case exec
    case timeout
    /// `confirm()` with no terminal and no `--yes`.
    case confirm
    /// A configuration value (furrow.toml, FURROW_*) that is missing or wrong.
    case config
    /// A script called with arguments it refuses: exit 2 with its usage line, no stack.
    case usage
    /// Ctrl-C, SIGINT or SIGTERM, raised at the next safe point (`Interpreter.interrupt`).
    case interrupted
    /// A terraform command that failed; `data` names the directory, workspace and command.
    case terraform
    /// An environment or stack layout that cannot be used.
    case environment
    /// The state store: a conditional write that found something else, a bad item, an
    /// item over the size limit, a missing table, a lease held by another owner or lost,
    /// a store that failed.
    case conflict, invalid
    case tooLarge = "too_large"
    case noSuchTable = "no_such_table"
    case locked
    case leaseLost = "lease_lost"
    case storage
    /// A DNS zone or lookup that failed; a sync refused by `max_deletes`; desired records
    /// that contradict each other.
    case dns
    case dnsLimit = "dns_limit"
    case dnsConflict = "dns_conflict"
    /// An AWS request that failed.
    case aws
    /// An HTTP request (`http.*`): no connection, no answer in time, a failed TLS handshake,
    /// an answer with status 400 or more (`data` holds the response).
    case connect, tls, http
    /// Something asked for by name that does not exist (`builds.mark_deleted` of an unknown
    /// environment).
    case lookup
}

extension FurrowError {
    public convenience init(_ message: String, kind: ErrorKind, at location: SourceLocation? = nil, data: Value = .null) {
        self.init(message, kind: kind.rawValue, at: location, data: data)
    }
}
