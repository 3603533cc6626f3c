import Foundation
import FurrowTestSupport
import Testing

/// `furrow serve std/intake` over mutual TLS, with `curl` as the client.
@Suite(.serialized) struct IntakeTests {
    @Test func allowedClientReportsABuildAndOthersAreRefused() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try Server("std/intake", directory: directory, configuration: tlsConfiguration(pki))
        defer { _ = server.stop() }

        let report = try Curl.tls(pki, client: "ci-tyk", "POST", server.url + "/newbuild",
                                  json: #"{"repo": "TykTechnologies/tyk", "ref": "refs/heads/release-3.1.0", "sha": "1a2b3c"}"#)
        #expect(report.status == 200, "\(report.body) \(report.stderr)")
        #expect(report.json?["environment"] as? String == "release-310")
        #expect(report.json?["version"] as? Int == 1)
        #expect((report.json?["repos"] as? [String: Any])?["tyk-analytics"] as? String == "master")

        // The row is in the table: read it back through the service and through newbuild.
        let row = try Curl.tls(pki, client: "ci-tyk-analytics", "GET", server.url + "/environments/release-310")
        #expect(row.status == 200)
        #expect(row.json?["tyk"] as? String == "1a2b3c")
        #expect(row.json?["state"] as? String == "new")
        let shown = try FurrowProcess.run(["run", "std/newbuild", "--show", "release-310"], directory: directory, clearing: ["FURROW_", "AWS_"])
        #expect(shown.stdout.contains("tyk: \"1a2b3c\""), "\(shown.stdout)\(shown.stderr)")

        // A later report of another repository changes only that repository's version.
        let other = try Curl.tls(pki, client: "ci-tyk-analytics", "POST", server.url + "/newbuild",
                                 json: #"{"repo": "tyk-analytics", "ref": "refs/heads/release-3.1.0", "sha": "9f9f"}"#)
        #expect(other.status == 200, "\(other.body)")
        #expect(other.json?["version"] as? Int == 2)
        #expect((other.json?["repos"] as? [String: Any])?["tyk"] as? String == "1a2b3c")

        // ci-tyk-analytics (identified by its SAN) may not report tyk.
        let refused = try Curl.tls(pki, client: "ci-tyk-analytics", "POST", server.url + "/newbuild",
                                   json: #"{"repo": "tyk", "ref": "refs/heads/release-3.1.0", "sha": "evil"}"#)
        #expect(refused.status == 403)
        #expect((refused.json?["error"] as? String)?.contains("may not report builds of 'tyk'") == true, "\(refused.body)")
        let after = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/environments/release-310")
        #expect(after.json?["tyk"] as? String == "1a2b3c")

        // Deleting marks the row; the listing filters by state.
        let deleted = try Curl.tls(pki, client: "ci-tyk", "DELETE", server.url + "/environments/release-310")
        #expect(deleted.status == 200)
        #expect(deleted.json?["state"] as? String == "deleted")
        let listed = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/environments?state=deleted")
        #expect(listed.body.contains("release-310"))
        let missing = try Curl.tls(pki, client: "ci-tyk", "DELETE", server.url + "/environments/nope")
        #expect(missing.status == 404)
        #expect(missing.json?["error"] as? String == "nope: no such environment")
    }

    @Test func handshakeFailsWithoutAValidClientCertificate() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try Server("std/intake", directory: directory, configuration: tlsConfiguration(pki))
        let body = #"{"repo": "tyk", "ref": "refs/heads/feat-x", "sha": "1"}"#
        for client in [nil, "ci-old", "ci-stranger"] as [String?] {
            let attempt = try Curl.tls(pki, client: client, "POST", server.url + "/newbuild", json: body)
            #expect(attempt.status == 0 && attempt.exit != 0, "\(client ?? "no certificate"): \(attempt.status) \(attempt.body)")
        }
        // A plaintext request to the TLS port gets no HTTP answer either.
        let plain = try Curl(["http://127.0.0.1:\(server.port)/healthz"])
        #expect(plain.status == 0 || plain.status == 400)
        let healthy = try Curl.tls(pki, client: "ci-tyk", "GET", server.url + "/healthz")
        #expect(healthy.status == 200)
        let result = server.stop()
        #expect(result.status == 0)
        #expect(result.stderr.contains("TLS handshake failed"), "\(result.stderr)")
        #expect(!result.stderr.contains("feat-x"))
    }

    @Test func badRequestsGetTheirStatusAndAJSONMessage() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try Server("std/intake", directory: directory, configuration: tlsConfiguration(pki))
        defer { _ = server.stop() }
        let cases: [(String, String, String?, [String], Int, String)] = [
            ("POST", "/newbuild", #"{"repo": "tyk", "ref": "#, [], 400, "malformed JSON"),
            ("POST", "/newbuild", #"{"repo": "tyk", "ref": "refs/heads/x"}"#, [], 400, "missing field 'sha'"),
            ("POST", "/newbuild", #"["not", "an", "object"]"#, [], 400, "must be a JSON object"),
            ("POST", "/newbuild", #"{"repo": "tyk", "ref": "refs/heads/", "sha": "1"}"#, [], 400, "cannot name an environment"),
            ("POST", "/newbuild", #"{"repo": "nope", "ref": "refs/heads/x", "sha": "1"}"#, [], 403, "may not report builds of 'nope'"),
            ("GET", "/no/such/route", nil, [], 404, "no route for /no/such/route"),
            ("GET", "/newbuild", nil, [], 405, "GET is not allowed on /newbuild (allowed: POST)"),
            ("POST", "/newbuild", "{\"pad\": \"" + String(repeating: "x", count: 5000) + "\"}", [], 413, "over the limit of 4096 bytes"),
            ("GET", "/environments/nothing-here", nil, [], 404, "no such environment 'nothing-here'"),
        ]
        for (method, path, body, extra, status, message) in cases {
            let answer = try Curl.tls(pki, client: "ci-tyk", method, server.url + path, json: body, extra: extra)
            #expect(answer.status == status, "\(method) \(path): \(answer.status) \(answer.body)")
            #expect((answer.json?["error"] as? String)?.contains(message) == true, "\(method) \(path): \(answer.body)")
            #expect(answer.json?["request_id"] is String)
        }
        // Slow clients: a head that never ends, a body that never comes.
        for (bytes, message) in [("POST /newbuild HTTP/1.1\r\nHost: x\r\n", "request header timeout"),
                                 ("POST /newbuild HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"repo\"", "request body timeout")] {
            let raw = try slowClient(pki, port: server.port, send: bytes)
            #expect(raw.contains("408"), "\(raw)")
            #expect(raw.contains(message), "\(raw)")
        }
    }

    /// Sends `bytes` over mutual TLS as ci-tyk, then waits for whatever the server answers.
    func slowClient(_ pki: PKI, port: Int, send bytes: String) throws -> String {
        let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            s = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[4]))), server_hostname="127.0.0.1")
            s.sendall(sys.argv[5].encode())
            s.settimeout(15)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            print(data.decode())
            """
        let result = try runTool("python3", ["-c", script, pki.path("ca.pem"), pki.path("ci-tyk.pem"), pki.path("ci-tyk.key"), String(port), bytes], timeout: 30)
        return result.stdout + result.stderr
    }

    @Test func boundedLoadLosesNoBuild() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try Server("std/intake", directory: directory, configuration: tlsConfiguration(pki))
        let load = try runTool("python3", [
            Paths.root.appendingPathComponent("bench/intake/load.py").path, "--url", server.url, "--ca", pki.path("ca.pem"),
            "--client", "tyk=\(pki.path("ci-tyk.pem")),\(pki.path("ci-tyk.key"))",
            "--client", "tyk-analytics=\(pki.path("ci-tyk-analytics.pem")),\(pki.path("ci-tyk-analytics.key"))",
            "--client", "tyk-pump=\(pki.path("ci-tyk-pump.pem")),\(pki.path("ci-tyk-pump.key"))",
            "--workers", "6", "--requests", "120",
        ], timeout: 120)
        #expect(load.status == 0, "\(load.stdout)\(load.stderr)")
        #expect(load.stdout.contains("requests 120 answered 120 failed 0"), "\(load.stdout)")
        let result = server.stop()
        #expect(result.status == 0)
    }
}
