import Foundation
import FurrowTestSupport
import Testing

let handlers = """
    serve.route("GET", "/echo/{word}", fn(req) {
      return {word: req.params.word, query: req.query, client: req.client, method: req.method, auth: req.headers.authorization}
    })
    serve.route("POST", "/echo/{word}", req => {json: req.json, body: req.body})
    serve.route("GET", "/boom", fn(req) { fail("the password is hunter2", kind: "oops") })
    serve.route("GET", "/slow", fn(req) {
      sleep(1500ms)
      return {slept: true}
    })
    serve.route("GET", "/created", req => serve.response(201, json: {ok: true}, headers: {"x-note": "hi"}))
    serve.route("GET", "/admin", req => {admin: true})
    """

/// The server mechanism with a script of its own: request values, responses, errors,
/// access by identity, metrics, draining.
@Suite(.serialized) struct ServerTests {
    func start(_ pki: PKI?, directory: URL, extra: String = "") throws -> Server {
        try handlers.write(to: directory.appendingPathComponent("app.furrow"), atomically: true, encoding: .utf8)
        let configuration = pki.map { tlsConfiguration($0, extra: extra) } ?? "[state]\npath = \"state.db\"\n"
        return try Server("app.furrow", directory: directory, configuration: configuration)
    }

    @Test func requestValuesResponsesAndErrors() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try start(pki, directory: directory, extra: "[serve.routes]\n\"GET /admin\" = [\"ci-tyk-pump\"]")
        let echo = try Curl.tls(pki, client: "ci-tyk-analytics", "GET", server.url + "/echo/h%C3%A9llo?x=1&y=a+b", extra: ["-H", "Authorization: Bearer s3cret-token"])
        #expect(echo.status == 200, "\(echo.body)")
        #expect(echo.json?["word"] as? String == "héllo")
        #expect(echo.json?["query"] as? [String: String] == ["x": "1", "y": "a b"])
        let client = echo.json?["client"] as? [String: Any]
        #expect(client?["cn"] as? String == "ci-tyk-analytics")
        #expect(client?["names"] as? [String] == ["ci-tyk-analytics", "ci-tyk-analytics.ci.example"])
        #expect(client?["repos"] as? [String] == ["tyk-analytics"])
        #expect((client?["subject"] as? String)?.contains("CN=ci-tyk-analytics") == true)
        #expect(echo.json?["auth"] as? String == "<sensitive>")

        let posted = try Curl.tls(pki, client: "ci-tyk", "POST", server.url + "/echo/x", json: #"{"a": [1, 2]}"#)
        #expect(posted.json?["json"] as? [String: [Int]] == ["a": [1, 2]])
        let created = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/created", extra: ["-i"])
        #expect(created.status == 201)
        #expect(created.body.lowercased().contains("x-note: hi"))

        let boom = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/boom")
        #expect(boom.status == 500)
        let requestID = try #require(boom.json?["request_id"] as? String)
        #expect(!boom.body.contains("hunter2") && !boom.body.contains("oops"), "\(boom.body)")

        let forbidden = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/admin")
        #expect(forbidden.status == 403)
        let allowed = try Curl.tls(pki, client: "ci-tyk-pump", "GET", server.url + "/admin")
        #expect(allowed.status == 200)

        let metrics = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/metrics")
        #expect(metrics.body.contains(#"furrow_http_requests_total{method="GET",route="/echo/{word}",status="200"} 1"#), "\(metrics.body)")
        #expect(metrics.body.contains(#"furrow_http_requests_total{method="GET",route="/boom",status="500"} 1"#))
        #expect(metrics.body.contains("furrow_http_request_duration_seconds_bucket"))

        let result = server.stop()
        #expect(result.status == 0)
        // The uncaught error is logged with its request id and stack, the bearer token nowhere.
        let line = result.stderr.split(separator: "\n").first { $0.contains("handler failed") } ?? ""
        #expect(line.contains("request_id=\(requestID)"), "\(result.stderr)")
        #expect(line.contains("hunter2") && line.contains("app.furrow:5"), "\(line)")
        #expect(!result.stderr.contains("s3cret-token"))
        #expect(result.stderr.contains("client=ci-tyk-analytics") && result.stderr.contains("status=200"))
    }

    @Test func sigtermDrainsRequestsInFlight() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try start(pki, directory: directory)
        final class Results: @unchecked Sendable {
            var answers: [Curl?] = Array(repeating: nil, count: 6)
            let lock = NSLock()
        }
        let results = Results()
        let group = DispatchGroup()
        for i in 0..<6 {
            group.enter()
            // Threads of their own: the global queue would run only as many as there are cores.
            Thread {
                let answer = try? Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/slow")
                results.lock.withLock { results.answers[i] = answer }
                group.leave()
            }.start()
        }
        usleep(700_000)  // the handlers are sleeping now
        kill(server.process.processIdentifier, SIGTERM)
        usleep(200_000)
        #expect(!LocalAWSServer.accepts(port: server.port), "still accepting after SIGTERM")
        #expect(group.wait(timeout: .now() + 30) == .success)
        for answer in results.answers {
            #expect(answer?.status == 200, "\(answer?.body ?? "no answer") \(answer?.stderr ?? "") \(answer?.exit ?? -1)")
            #expect(answer?.json?["slept"] as? Bool == true)
        }
        let result = server.process.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("msg=draining") && result.stderr.contains("requests_cut_off=0"))
    }

    @Test func withoutTLSItListensOnLoopbackOnlyAndSaysSo() throws {
        let directory = try Paths.scratchDirectory()
        let server = try start(nil, directory: directory)
        let echo = try Curl(["http://127.0.0.1:\(server.port)/echo/plain"])
        #expect(echo.status == 200)
        #expect(echo.json?["client"] is NSNull)
        let result = server.stop()
        #expect(result.status == 0)
        #expect(result.stderr.contains("plaintext on loopback only"), "\(result.stderr)")

        let refused = try FurrowProcess.run(["serve", "app.furrow", "--host", "0.0.0.0", "--port", "1"], directory: directory, clearing: ["FURROW_", "AWS_"], timeout: 30)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("refusing to serve plaintext HTTP on 0.0.0.0"), "\(refused.stderr)")
    }
}
