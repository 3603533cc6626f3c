import Foundation
import FurrowHTTP
import FurrowJSON
import FurrowRuntime

/// `http.get/post/put/delete/request`: JSON in and out, timeouts, retries with backoff for
/// idempotent methods, TLS with an optional CA and client certificate. A failure raises kind
/// `connect`, `timeout` or `tls`; a status ≥ 400 raises kind `http` with the response in
/// `err.data`. In plan mode only GET and HEAD are sent.
struct HTTPBuiltins: BuiltinModule {
    static let options = ["json", "body", "headers", "query", "timeout", "retries", "ca", "cert", "key"]

    func install(into interpreter: Interpreter) {
        func method(_ name: String, _ verb: String, effect: Effect = .mutates, doc: String) -> Value {
            builtin("http.\(name)", ["url"] + Self.options, required: 1, effect: effect, doc: doc) { b, args throws(FurrowError) in
                try Self.send(verb, b[0]!, Array(b.dropFirst()), args.fiber)
            }
        }
        let tail = "headers: {}, query: {}, timeout: 30s, retries: 2, ca: path, cert: path, key: path) → {status, headers, body, json}"
        let members: FurrowMap = [
            "get": method("get", "GET", effect: .reads, doc: "http.get(url, \(tail)\nSends a GET; retried with backoff on connection failures, timeouts and 429/502/503/504."),
            "post": method("post", "POST", doc: "http.post(url, json: value, body: text, \(tail)\nSends a POST (never retried). Planned, not sent, under --dry-run."),
            "put": method("put", "PUT", doc: "http.put(url, json: value, body: text, \(tail)\nSends a PUT. Planned, not sent, under --dry-run."),
            "delete": method("delete", "DELETE", doc: "http.delete(url, \(tail)\nSends a DELETE. Planned, not sent, under --dry-run."),
            "request": builtin("http.request", ["method", "url"] + Self.options, required: 2, effect: .mutates, doc: "http.request(method, url, json:, body:, \(tail)\nSends any method; GET, HEAD, PUT, DELETE and OPTIONS are retried.") { b, args throws(FurrowError) in
                try Self.send(try b[0]!.string("http.request's method").uppercased(), b[1]!, Array(b.dropFirst(2)), args.fiber)
            },
        ]
        interpreter.register("http", .host(Namespace("http", doc: "http: an HTTP(S) client (JSON, retries, mutual TLS)", members: members)))
    }

    static func send(_ verb: String, _ urlValue: Value, _ o: [Value?], _ fiber: Fiber) throws(FurrowError) -> Value {
        func given(_ i: Int) -> Value? { o[i].flatMap { $0.isNull ? nil : $0 } }
        var url = try urlValue.string("the url")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw FurrowError.value("the url must start with http:// or https://, got '\(HTTPFetcher.redactedURL(url))'") }
        if let query = given(3) {
            var parts: [String] = []
            for (name, value) in try query.map("query") { parts.append("\(Self.escape(name))=\(Self.escape(Format.str(value)))") }
            if !parts.isEmpty { url += (url.contains("?") ? "&" : "?") + parts.joined(separator: "&") }
        }
        var request = FetchRequest(method: verb, url: url)
        if let headers = given(2) {
            for (name, value) in try headers.map("headers") {
                // A header may be a sensitive value (a token from the secrets); it is sent in clear, shown nowhere.
                if case .host(let redacted as RedactedValue) = value {
                    request.headers.append((name, Format.str(try redacted.reveal())))
                } else {
                    request.headers.append((name, Format.str(value)))
                }
            }
        }
        if let json = given(0) {
            guard given(1) == nil else { throw FurrowError.type("http.\(verb.lowercased()) takes json: or body:, not both") }
            request.body = Array(try Format.toJSON(json).encoded().utf8)
            if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) { request.headers.append(("content-type", "application/json")) }
        } else if let body = given(1) {
            request.body = Array(try body.string("body").utf8)
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "accept" }) { request.headers.append(("accept", "application/json, */*")) }
        if let timeout = given(4) {
            switch timeout {
            case .duration(let nanos) where nanos > 0: request.timeout = Double(nanos) / 1e9
            case .int(let n) where n > 0: request.timeout = Double(n)
            default: throw FurrowError.value("timeout must be a positive duration like 10s")
            }
        }
        request.retries = request.isIdempotent ? 2 : 0
        if let retries = given(5) {
            let n = try retries.int("retries")
            guard (0...10).contains(n) else { throw FurrowError.value("retries must be 0…10, got \(n)") }
            request.retries = n
        }
        request.tls = FetchRequest.TLSFiles(
            ca: try given(6)?.string("ca"), certificate: try given(7)?.string("cert"), key: try given(8)?.string("key")
        )
        if request.tls.certificate != nil, request.tls.key == nil { throw FurrowError.value("cert: needs key: (the client certificate's private key)") }
        let shown = HTTPFetcher.redactedURL(request.url)
        let plan: FurrowMap = ["method": .string(verb), "url": .string(shown), "body_bytes": .int(request.body?.count ?? 0)]
        if verb == "GET" || verb == "HEAD" { return try perform(request, shown: shown) }
        return try fiber.interpreter.mutation(fiber, "\(verb) \(shown)", plan) { () throws(FurrowError) in try perform(request, shown: shown) }
    }

    static func perform(_ request: FetchRequest, shown: String) throws(FurrowError) -> Value {
        let response: FetchResponse
        do {
            response = try HTTPFetcher.shared.fetch(request)
        } catch {
            throw FurrowError(error.description, kind: error.kind)
        }
        var headers: FurrowMap = [:]
        for (name, value) in response.headers { headers[name] = .string(value) }
        let text = String(decoding: response.body, as: UTF8.self)
        var json: Value = .null
        let contentType = response.headers.first(where: { $0.name == "content-type" })?.value ?? ""
        if contentType.contains("json"), let decoded = try? JSONValue.parse(bytes: response.body) { json = Format.fromJSON(decoded) }
        let value: FurrowMap = ["status": .int(response.status), "headers": .map(headers), "body": .string(text), "json": json]
        if response.status >= 400 {
            let detail = json.isNull ? String(text.prefix(200)) : (try? Format.toJSON(json).encoded()).map { String($0.prefix(200)) } ?? ""
            throw FurrowError("\(request.method) \(shown): \(response.status)\(detail.isEmpty ? "" : " \(detail)")", kind: "http", data: .map(value))
        }
        return .map(value)
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
