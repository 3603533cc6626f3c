import Foundation
import FurrowJSON

/// What the server does with a complete request: `/healthz` and `/metrics`, routing (404,
/// 405), access by client identity (403), the route's handler, a 500 for a handler that
/// failed, and one log line and one metric per request.
public final class HTTPService: @unchecked Sendable {
    /// Runs a route's handler. Throwing `HandlerFailure` gives a 500 whose detail is logged.
    public typealias Handle = @Sendable (HTTPServerRequest, Router.Route, [(name: String, value: String)]) async throws -> HTTPServerResponse

    /// A handler's uncaught error: `detail` (message and stack) is logged, never sent.
    public struct HandlerFailure: Error {
        public let detail: String
        public init(detail: String) { self.detail = detail }
    }

    public let router: Router
    /// Route key (`POST /newbuild`) → client names allowed to call it; routes not listed are
    /// open to every verified client.
    public let access: [String: Set<String>]
    public let metrics = ServerMetrics()
    let handle: Handle
    let log: ServerLog
    /// Set when draining: `/healthz` answers 503 so load balancers stop sending.
    public var draining: @Sendable () -> Bool = { false }

    public init(router: Router, access: [String: Set<String>], log: @escaping ServerLog, handle: @escaping Handle) {
        self.router = router
        self.access = access
        self.log = log
        self.handle = handle
    }

    public func respond(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        var routeLabel = "unmatched"
        var failureDetail: String?
        let response: HTTPServerResponse
        switch (request.method, request.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            routeLabel = "/healthz"
            response = draining() ? .json(503, ["status": "draining"]) : .json(200, ["status": "ok"])
        case ("GET", "/metrics"):
            routeLabel = "/metrics"
            response = HTTPServerResponse(status: 200, headers: [("content-type", "text/plain; version=0.0.4")], body: Array(metrics.text().utf8))
        default:
            switch router.match(method: request.method, path: request.path) {
            case .notFound:
                response = .error(404, "no route for \(request.path)", requestID: request.id)
            case .methodNotAllowed(let allowed):
                response = .error(
                    405, "\(request.method) is not allowed on \(request.path) (allowed: \(allowed.joined(separator: ", ")))",
                    requestID: request.id, headers: [("allow", allowed.joined(separator: ", "))]
                )
            case .found(let route, let parameters):
                routeLabel = route.pattern
                if let allowed = access["\(route.method) \(route.pattern)"], !(request.client?.names.contains(where: allowed.contains) ?? false) {
                    response = .error(403, "client \(request.client?.commonName ?? "without a certificate") may not call \(route.method) \(route.pattern)", requestID: request.id)
                } else {
                    do {
                        response = try await handle(request, route, parameters)
                    } catch let failure as HandlerFailure {
                        failureDetail = failure.detail
                        response = .error(500, "internal error (request id \(request.id))", requestID: request.id)
                    } catch {
                        failureDetail = "\(error)"
                        response = .error(500, "internal error (request id \(request.id))", requestID: request.id)
                    }
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(method: request.method, route: routeLabel, status: response.status, seconds: seconds)
        var fields: [(String, String)] = [
            ("request_id", request.id), ("method", request.method), ("path", request.path), ("route", routeLabel),
            ("client", request.client?.commonName ?? request.client?.alternativeNames.first ?? "-"),
            ("status", String(response.status)), ("duration_ms", String(format: "%.1f", seconds * 1000)),
        ]
        if let failureDetail {
            fields.append(("error", failureDetail))
            log("error", "handler failed", fields)
        } else {
            log("info", "request", fields)
        }
        return response
    }
}
