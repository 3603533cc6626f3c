import FurrowRuntime

/// Small helpers for writing builtins: typed argument access with clear errors.
extension Value {
    func string(_ what: String) throws(FurrowError) -> String {
        guard case .string(let s) = self else { throw FurrowError.type("\(what) must be a string, got \(typeName)") }
        return s
    }

    func int(_ what: String) throws(FurrowError) -> Int {
        guard case .int(let i) = self else { throw FurrowError.type("\(what) must be an int, got \(typeName)") }
        return i
    }

    func number(_ what: String) throws(FurrowError) -> Double {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        default: throw FurrowError.type("\(what) must be a number, got \(typeName)")
        }
    }

    func list(_ what: String) throws(FurrowError) -> [Value] {
        guard let l = try asList() else { throw FurrowError.type("\(what) must be a list, got \(typeName)") }
        return l
    }

    func map(_ what: String) throws(FurrowError) -> FurrowMap {
        guard case .map(let m) = self else { throw FurrowError.type("\(what) must be a map, got \(typeName)") }
        return m
    }

    func strings(_ what: String) throws(FurrowError) -> [String] {
        var out: [String] = []
        for v in try list(what) { out.append(try v.string("each item of \(what)")) }
        return out
    }
}

/// Builds a native function from a parameter list: arguments are bound by position or name,
/// and the body receives them in parameter order (nil for an omitted optional one).
func builtin(
    _ name: String, _ parameters: [String], required: Int? = nil, effect: Effect = .reads, doc: String,
    _ body: @escaping ([Value?], Arguments) throws(FurrowError) -> Value
) -> Value {
    let requiredCount = required ?? parameters.count
    let display = name
    return .function(NativeFunction(name, doc: doc, parameters: parameters, effect: effect) { (args: Arguments) throws(FurrowError) -> Value in
        var bound = try args.bind(display, parameters, required: requiredCount)
        // builtins see a lazy list (a query over a table scan) as the list it is
        for i in bound.indices {
            if case .host(let lazy as ValueSequence)? = bound[i] { bound[i] = .list(try lazy.items(args.fiber)) }
        }
        return try body(bound, args)
    })
}
