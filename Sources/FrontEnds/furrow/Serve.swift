import Foundation
import FurrowHTTP
import FurrowLibrary
import FurrowProcess
import FurrowRuntime

/// `furrow serve FILE|std/NAME [--port N] [--host H] [--dry-run] [--log-format json]`: runs
/// the script once (it declares routes with `serve.route`), then answers HTTP(S) requests with
/// its handlers, each on a handler thread of its own fiber, until SIGTERM or SIGINT drains it.
func serve(_ arguments: [String]) -> Int32 {
    var options = RunOptions()
    options.color = stderrIsTTY && !noColor
    var path: String?
    var port: Int?
    var host: String?
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        func value() -> String {
            guard i + 1 < arguments.count else { fail("\(a) needs a value") }
            i += 1
            return arguments[i]
        }
        switch a {
        case "--port":
            guard let n = Int(value()), (0...65535).contains(n) else { fail("--port takes a number 0–65535") }
            port = n
        case "--host": host = value()
        case "--dry-run": options.dryRun = true
        case "--log-format":
            let format = value()
            guard ["json", "logfmt"].contains(format) else { fail("--log-format takes json or logfmt") }
            options.logJSON = format == "json"
        case "--help", "-h":
            print("usage: furrow serve FILE|std/NAME [--port N] [--host H] [--dry-run] [--log-format json]\n(see docs/serve.md)")
            return ExitCode.ok
        default:
            guard path == nil, !a.hasPrefix("-") else { fail("serve: unexpected argument '\(a)'\n\(usage)") }
            path = a
        }
        i += 1
    }
    guard let path else { fail("serve needs a script: furrow serve FILE or furrow serve std/NAME\n\(usage)") }
    let configuration = loadConfiguration()
    var settings: ServeConfiguration
    do {
        settings = try ServeConfiguration(configuration)
    } catch {
        fail(error.message)
    }
    if let port { settings.server.port = port }
    if let host { settings.server.host = host }
    let config = settings
    if config.server.tls == nil, !config.isLoopback, !config.plaintext {
        fail("refusing to serve plaintext HTTP on \(config.server.host): configure [serve] cert, key and client_ca, or set serve.plaintext = true")
    }

    let interpreter = Library.makeInterpreter(options: options, configuration: configuration)
    do {
        try interpreter.run(try interpreter.compile(readSource(path)))
    } catch {
        return report(error)
    }
    let routes = ServeRoutes.of(interpreter)
    guard !routes.handlers.isEmpty else { fail("\(path) declares no routes (serve.route(\"GET\", \"/path\", fn(req) { ... }))", code: ExitCode.failure) }

    let log = interpreter.log
    let serverLog: ServerLog = { level, message, fields in log.write(level: level, message: message, fields: fields.map { ($0, Value.string($1)) }) }
    let pool = WorkerPool<Fiber>(threads: config.handlers, queueLimit: config.queue) { interpreter.fiber.spawn() }
    let handlers = routes.handlers
    let clients = config.clients
    let service = HTTPService(router: routes.router, access: config.routes, log: serverLog) { request, route, parameters in
        let handler = handlers[route.index]
        let result: Result<HTTPServerResponse, HTTPService.HandlerFailure>
        do {
            result = try await pool.run { fiber in
                ServeBinding.run(handler: handler, request: request, parameters: parameters, clients: clients, fiber: fiber)
            }
        } catch {
            return .error(503, "too many requests waiting; try again", requestID: request.id, headers: [("retry-after", "1")])
        }
        return try result.get()
    }
    let server = HTTPServer(settings: config.server, log: serverLog) { request in await service.respond(request) }
    service.draining = { server.isDraining }

    // SIGTERM and SIGINT drain the server; nothing else in the process handles them meanwhile.
    // Through `SignalWatcher`, which holds its handlers for the process's life: a signal
    // source held by a local was released after its last use in an optimised build, and the
    // release binary then ignored both signals.
    let finished = DispatchSemaphore(value: 0)
    final class Once: @unchecked Sendable {
        let lock = NSLock()
        var done = false
        /// True the first time only.
        func first() -> Bool { lock.withLock { defer { done = true }; return !done } }
    }
    let drainOnce = Once()
    SignalWatcher.watch([SIGTERM, SIGINT]) { signal in
        guard drainOnce.first() else { return }
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        log.write(level: "info", message: "draining", fields: [("signal", .string(name)), ("grace_seconds", .float(config.grace))])
        Task.detached {
            let cutOff = await server.drain(grace: config.grace)
            pool.stop()
            log.write(level: cutOff == 0 ? "info" : "warn", message: "stopped", fields: [("requests_cut_off", .int(cutOff))])
            finished.signal()
        }
    }

    let boundPort: Int
    do {
        boundPort = try server.start()
    } catch {
        fail("cannot listen on \(config.server.host):\(config.server.port): \(error)", code: ExitCode.failure)
    }
    var fields: [(String, Value)] = [
        ("host", .string(config.server.host)), ("port", .int(boundPort)), ("routes", .int(handlers.count)), ("handlers", .int(config.handlers)),
    ]
    if let tls = config.server.tls {
        fields.append(("tls", .string("mutual")))
        fields.append(("client_ca", .string(tls.clientCA)))
        log.write(level: "info", message: "listening on https://\(config.server.host):\(boundPort) (clients must present a certificate from the client CA)", fields: fields)
    } else {
        fields.append(("tls", .string("off")))
        let note = config.isLoopback ? "no TLS configured: plaintext on loopback only" : "plaintext on \(config.server.host), as serve.plaintext allows"
        log.write(level: "warn", message: "listening on http://\(config.server.host):\(boundPort) (\(note))", fields: fields)
    }
    finished.wait()
    return ExitCode.ok
}
