/// Routes of the form `/environments/{name}`: literal segments and `{param}` segments that
/// match one path segment each.
public struct Router: Sendable {
    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        let segments: [Segment]
        /// Index into the caller's list of handlers.
        public let index: Int
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public enum Match: Sendable {
        case found(Route, parameters: [(name: String, value: String)])
        /// The path exists with other methods.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public enum RouteError: Error, CustomStringConvertible {
        case invalidPattern(String, reason: String)
        case duplicate(method: String, pattern: String)
        public var description: String {
            switch self {
            case .invalidPattern(let p, let reason): return "invalid route '\(p)': \(reason)"
            case .duplicate(let m, let p): return "route \(m) \(p) is declared twice"
            }
        }
    }

    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(method: String, pattern: String, index: Int) throws(RouteError) {
        guard pattern.hasPrefix("/") else { throw .invalidPattern(pattern, reason: "a route starts with /") }
        var segments: [Segment] = []
        var names: Set<String> = []
        for part in pattern.split(separator: "/", omittingEmptySubsequences: true) {
            if part.hasPrefix("{") {
                guard part.hasSuffix("}"), part.count > 2 else { throw .invalidPattern(pattern, reason: "a parameter is written {name}") }
                let name = String(part.dropFirst().dropLast())
                guard names.insert(name).inserted else { throw .invalidPattern(pattern, reason: "parameter {\(name)} appears twice") }
                segments.append(.parameter(name))
            } else {
                guard !part.contains("{"), !part.contains("}") else { throw .invalidPattern(pattern, reason: "braces only around a whole segment") }
                segments.append(.literal(String(part)))
            }
        }
        let method = method.uppercased()
        // `/a/{x}` and `/a/{y}` match the same paths.
        func shape(_ s: [Segment]) -> [String?] { s.map { if case .literal(let text) = $0 { text } else { nil } } }
        if routes.contains(where: { $0.method == method && shape($0.segments) == shape(segments) }) {
            throw .duplicate(method: method, pattern: pattern)
        }
        routes.append(Route(method: method, pattern: pattern, segments: segments, index: index))
    }

    /// Literal segments win over parameters: `/environments/all` before `/environments/{name}`.
    public func match(method: String, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var best: (route: Route, parameters: [(name: String, value: String)], literals: Int)?
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            var parameters: [(name: String, value: String)] = []
            var literals = 0
            var matched = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let text):
                    if text != part { matched = false } else { literals += 1 }
                case .parameter(let name): parameters.append((name, part))
                }
                if !matched { break }
            }
            guard matched else { continue }
            // HEAD is served by a GET route.
            guard route.method == method || (method == "HEAD" && route.method == "GET") else {
                allowed.append(route.method)
                continue
            }
            if best == nil || literals > best!.literals { best = (route, parameters, literals) }
        }
        if let best { return .found(best.route, parameters: best.parameters) }
        if !allowed.isEmpty { return .methodNotAllowed(allowed: Array(Set(allowed)).sorted()) }
        return .notFound
    }
}
