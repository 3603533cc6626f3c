import Foundation
import FurrowHTTP
import FurrowJSON
import FurrowRuntime

/// The routes a script declared with `serve.route`, kept per interpreter.
public final class ServeRoutes: @unchecked Sendable {
    public private(set) var router = Router()
    public private(set) var handlers: [Value] = []
    private let lock = NSLock()

    func add(method: String, pattern: String, handler: Value) throws(FurrowError) {
        lock.lock()
        defer { lock.unlock() }
        do {
            try router.add(method: method, pattern: pattern, index: handlers.count)
        } catch {
            throw FurrowError(error.description, kind: "value")
        }
        handlers.append(handler)
    }

    public static func of(_ interpreter: Interpreter) -> ServeRoutes {
        if let routes = interpreter.extensions["serve"] as? ServeRoutes { return routes }
        let routes = ServeRoutes()
        interpreter.extensions["serve"] = routes
        return routes
    }
}

/// A handler's answer other than plain JSON 200: `serve.response(201, json: {...})`.
final class ResponseValue: HostObject, @unchecked Sendable {
    let response: HTTPServerResponse
    init(_ response: HTTPServerResponse) { self.response = response }
    override var typeName: String { "response" }
    override var summary: String { "<response \(response.status)>" }
    override var fields: FurrowMap {
        ["status": .int(response.status), "body": .string(String(decoding: response.body, as: UTF8.self))]
    }
}

/// The kind of error `serve.fail` raises: the server answers with its status and message.
let clientErrorKind = "request"

/// `serve.route`, `serve.response`, `serve.fail`, `serve.fields`: what a script run by
/// `furrow serve` declares its endpoints with. Without `furrow serve` the routes are only kept.
struct ServeBuiltins: BuiltinModule {
    func install(into interpreter: Interpreter) {
        let routes = ServeRoutes.of(interpreter)
        let members: FurrowMap = [
            "route": builtin("serve.route", ["method", "path", "handler"], doc: "serve.route(method, path, handler)\nDeclares an endpoint for `furrow serve`: path segments written {name} are parameters (req.params.name); handler(req) returns a map or list (JSON 200) or serve.response(...).") { b, _ throws(FurrowError) in
                let method = try b[0]!.string("serve.route's method").uppercased()
                guard ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method) else {
                    throw FurrowError.value("serve.route's method must be GET, POST, PUT, DELETE or PATCH, got '\(method)'")
                }
                guard case .function = b[2]! else { throw FurrowError.type("serve.route's handler must be a function, got \(b[2]!.typeName)") }
                let path = try b[1]!.string("serve.route's path")
                guard path != "/healthz", path != "/metrics" else { throw FurrowError.value("\(path) is served by furrow serve itself") }
                try routes.add(method: method, pattern: path, handler: b[2]!)
                return .null
            },
            "response": builtin("serve.response", ["status", "json", "body", "headers"], required: 1, doc: "serve.response(status, json: value, body: text, headers: {}) → response\nA handler's answer with its own status and headers; json is encoded, body is sent as text.") { b, _ throws(FurrowError) in
                let status = try b[0]!.int("serve.response's status")
                guard (100...599).contains(status) else { throw FurrowError.value("an HTTP status is 100–599, got \(status)") }
                var headers: [(name: String, value: String)] = []
                if let given = b[3], !given.isNull {
                    for (name, value) in try given.map("serve.response's headers") { headers.append((name, Format.str(value))) }
                }
                if let json = b[1], !json.isNull {
                    return .host(ResponseValue(.json(status, try Format.toJSON(json), headers: headers)))
                }
                var text = ""
                if let body = b[2], !body.isNull { text = try body.string("serve.response's body") }
                if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append(("content-type", "text/plain; charset=utf-8")) }
                return .host(ResponseValue(HTTPServerResponse(status: status, headers: headers, body: Array(text.utf8))))
            },
            "fail": builtin("serve.fail", ["status", "message"], doc: "serve.fail(status, message)\nEnds the handler: the client gets this 4xx status and {\"error\": message}.") { b, _ throws(FurrowError) in
                let status = try b[0]!.int("serve.fail's status")
                guard (400...499).contains(status) else { throw FurrowError.value("serve.fail takes a 4xx status, got \(status) (an uncaught error is a 500)") }
                throw FurrowError(try b[1]!.string("serve.fail's message"), kind: clientErrorKind, data: .map(["status": .int(status)]))
            },
            "fields": builtin("serve.fields", ["req", "names"], doc: "serve.fields(req, [\"repo\", \"sha\"]) → map\nThe named fields of the request's JSON object; a missing or non-string-like field is a 400.") { b, _ throws(FurrowError) in
                let request = try b[0]!.map("serve.fields' req")
                let names = try b[1]!.strings("serve.fields' names")
                guard case .map(let body)? = request["json"] else {
                    throw FurrowError("the request body must be a JSON object with \(names.joined(separator: ", "))", kind: clientErrorKind, data: .map(["status": .int(400)]))
                }
                var out: FurrowMap = [:]
                for name in names {
                    guard let value = body[name], !value.isNull, value.stringValue.map({ !$0.isEmpty }) ?? true else {
                        throw FurrowError("missing field '\(name)'", kind: clientErrorKind, data: .map(["status": .int(400)]))
                    }
                    out[name] = value
                }
                return .map(out)
            },
        ]
        interpreter.register("serve", .host(Namespace("serve", doc: "serve: endpoints for `furrow serve` (see docs/serve.md)", members: members)))
    }
}

/// `[serve]` in the configuration, read in this one place.
public struct ServeConfiguration: Sendable {
    public var server = HTTPServerSettings()
    /// Explicitly allow plaintext on an address other than loopback.
    public var plaintext = false
    /// Client name (a certificate's CN or one of its SANs) → repositories it may report.
    public var clients: [String: [String]] = [:]
    /// `METHOD /pattern` → client names allowed to call it.
    public var routes: [String: Set<String>] = [:]
    public var handlers = 8
    public var queue = 64
    public var grace = 20.0

    public init(_ configuration: Configuration) throws(FurrowError) {
        let section = configuration.section("serve")
        func fail(_ message: String) -> FurrowError { FurrowError("[serve] \(message)", kind: "config") }
        func seconds(_ key: String, _ fallback: Double) throws(FurrowError) -> Double {
            switch section[key] {
            case nil: return fallback
            case .int(let n)?: return Double(n)
            case .float(let d)?: return d
            case .string(let s)?:
                guard let nanos = DurationText.parse(s) else { throw fail("\(key) must be seconds or a duration like 30s, got '\(s)'") }
                return Double(nanos) / 1e9
            case let other?: throw fail("\(key) must be seconds, got \(other.typeName)")
            }
        }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(FurrowError) -> Int {
            guard let value = section[key] else { return fallback }
            guard case .int(let n) = value, range.contains(n) else { throw fail("\(key) must be an int in \(range.lowerBound)…\(range.upperBound)") }
            return n
        }
        func nameLists(_ key: String) throws(FurrowError) -> [String: [String]] {
            // Nested (`serve.clients` inside `serve`) or a table of its own named `serve.clients`.
            let table: FurrowMap
            if case .map(let nested)? = section[key] { table = nested } else { table = configuration.section("serve.\(key)") }
            var out: [String: [String]] = [:]
            for (name, value) in table {
                guard case .list(let items) = value, let strings = Optional(items.compactMap(\.stringValue)), strings.count == items.count else {
                    throw fail("\(key).\(name) must be a list of strings")
                }
                out[name] = strings
            }
            return out
        }
        server.port = try int("port", 8443, 0...65535)
        server.host = section["host"]?.stringValue ?? "127.0.0.1"
        server.maxBodyBytes = try int("max_body", 1 << 20, 1...(1 << 30))
        server.headerTimeout = try seconds("header_timeout", 10)
        server.bodyTimeout = try seconds("body_timeout", 30)
        grace = try seconds("grace", 20)
        handlers = try int("handlers", 8, 1...256)
        queue = try int("queue", 64, 1...100_000)
        plaintext = section["plaintext"]?.isTruthy ?? false
        let files = ["cert", "key", "client_ca"].map { section[$0]?.stringValue }
        if files.allSatisfy({ $0 != nil }) {
            server.tls = .init(certificate: files[0]!, key: files[1]!, clientCA: files[2]!)
        } else if files.contains(where: { $0 != nil }) {
            throw fail("TLS needs all of cert, key and client_ca")
        }
        clients = try nameLists("clients")
        routes = try nameLists("routes").mapValues { Set($0) }
    }

    public var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(server.host) || server.host.hasPrefix("127.") }
}

/// A request answered before its handler runs (malformed JSON).
public struct RejectedRequest: Error {
    public let response: HTTPServerResponse
}

/// Request and response conversion for `furrow serve`: HTTP messages ↔ Furrow values.
public enum ServeBinding {
    static let secretHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "x-api-key"]

    public static func requestValue(
        _ request: HTTPServerRequest, parameters: [(name: String, value: String)], clients: [String: [String]]
    ) -> Result<Value, RejectedRequest> {
        var headers: FurrowMap = [:]
        for (name, value) in request.headers {
            // Credentials reach a handler only as sensitive values: printing one shows a marker.
            headers[name] = secretHeaders.contains(name) ? .host(RedactedValue(.string(value))) : .string(value)
        }
        let text = String(decoding: request.body, as: UTF8.self)
        var json: Value = .null
        let contentType = request.headers.first(where: { $0.name == "content-type" })?.value.lowercased() ?? ""
        if !request.body.isEmpty, contentType.isEmpty || contentType.contains("json") {
            do {
                json = Format.fromJSON(try JSONValue.parse(bytes: request.body))
            } catch {
                return .failure(RejectedRequest(response: .error(400, "malformed JSON: \(error.description)", requestID: request.id)))
            }
        }
        var client: Value = .null
        if let identity = request.client {
            var repos: [String] = []
            for name in identity.names { for repo in clients[name] ?? [] where !repos.contains(repo) { repos.append(repo) } }
            client = .map([
                "subject": .string(identity.subject), "cn": identity.commonName.map(Value.string) ?? .null,
                "names": .list(identity.names.map(Value.string)), "repos": .list(repos.map(Value.string)),
            ])
        }
        var params: FurrowMap = [:]
        for (name, value) in parameters { params[name] = .string(value) }
        var query: FurrowMap = [:]
        for (name, value) in request.query { query[name] = .string(value) }
        return .success(.map([
            "id": .string(request.id), "method": .string(request.method), "path": .string(request.path), "params": .map(params),
            "query": .map(query), "headers": .map(headers), "body": .string(text), "json": json, "client": client,
        ]))
    }

    /// Calls a handler on `fiber` and turns its result or error into a response.
    public static func run(
        handler: Value, request: HTTPServerRequest, parameters: [(name: String, value: String)], clients: [String: [String]], fiber: Fiber
    ) -> Result<HTTPServerResponse, HTTPService.HandlerFailure> {
        let value: Value
        switch requestValue(request, parameters: parameters, clients: clients) {
        case .failure(let rejected): return .success(rejected.response)
        case .success(let v): value = v
        }
        do throws(FurrowError) {
            // A lazy sequence (a table scan through a pipeline) is read to the end here.
            let result = try Operations.materialize(try fiber.call(handler, [value]), fiber)
            switch result {
            case .host(let response as ResponseValue): return .success(response.response)
            case .null: return .success(HTTPServerResponse(status: 204))
            default: return .success(.json(200, try Format.toJSON(result)))
            }
        } catch {
            if error.kind == clientErrorKind, case .map(let data) = error.data, case .int(let status)? = data["status"] {
                return .success(.error(status, error.message, requestID: request.id))
            }
            return .failure(HTTPService.HandlerFailure(detail: error.rendered(color: false)))
        }
    }
}
