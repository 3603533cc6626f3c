import Foundation
import FurrowTestSupport
import Testing

/// A plain Python `http.server` on 127.0.0.1: files from a directory, and every request line
/// it answered in its log.
final class PythonPeer {
    let port: Int
    let process = Process()
    let log: URL

    init(serving directory: URL) throws {
        port = try LocalAWSServer.freePort()
        log = directory.appendingPathComponent("peer.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory.path, String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while !LocalAWSServer.accepts(port: port) {
            guard ContinuousClock.now < deadline, process.isRunning else { throw ToolError(description: "python3 -m http.server did not start") }
            usleep(20_000)
        }
    }

    var requests: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGKILL: the child may have inherited a mask that blocks SIGTERM.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// The `http` builtins against a plain Python peer and against `furrow serve` over mutual TLS.
@Suite(.serialized) struct ClientTests {
    func furrow(_ code: String, directory: URL, dryRun: Bool = false) throws -> FurrowRunResult {
        try code.write(to: directory.appendingPathComponent("client.furrow"), atomically: true, encoding: .utf8)
        return try FurrowProcess.run(["run", "client.furrow"] + (dryRun ? ["--dry-run"] : []), directory: directory, clearing: ["FURROW_", "AWS_"], timeout: 60)
    }

    @Test func againstAPlainPythonServer() throws {
        let directory = try Paths.scratchDirectory()
        try #"{"name": "feat-x", "ok": true}"#.write(to: directory.appendingPathComponent("data.json"), atomically: true, encoding: .utf8)
        let peer = try PythonPeer(serving: directory)
        defer { peer.stop() }
        let base = "http://127.0.0.1:\(peer.port)"
        let closed = try LocalAWSServer.freePort()
        let result = try furrow("""
            let r = http.get("\(base)/data.json", headers: {"x-trace": "1"}, query: {v: "a b"})
            print(r.status, r.json.name, r.json.ok, r.headers["content-type"])
            try { http.get("\(base)/missing.json", retries: 0) } catch err { print(err.kind, err.data.status, "404" in err.message) }
            try { http.post("\(base)/data.json", json: {a: 1}) } catch err { print(err.kind, err.data.status) }
            try { http.get("http://127.0.0.1:\(closed)/", retries: 1) } catch err { print(err.kind) }
            """, directory: directory)
        #expect(result.lines == ["200 feat-x true application/json", "http 404 true", "http 501", "connect"], "\(result.stdout)\(result.stderr)")
        #expect(peer.requests.contains("GET /data.json?v=a%20b"), "\(peer.requests)")
        #expect(peer.requests.contains("POST /data.json"))

        // Under --dry-run a POST is planned, not sent; a GET is sent.
        let before = peer.requests.components(separatedBy: "POST").count
        let planned = try furrow("""
            let p = http.post("\(base)/data.json?token=abc", json: {a: 1}, headers: {authorization: "Bearer abc"})
            print(p.dry_run, p.action)
            print(http.get("\(base)/data.json").status)
            """, directory: directory, dryRun: true)
        #expect(planned.lines == ["true POST \(base)/data.json?…", "200"], "\(planned.stdout)\(planned.stderr)")
        #expect(peer.requests.components(separatedBy: "POST").count == before)
        #expect(!planned.stderr.contains("abc"))
    }

    @Test func timeoutIsItsOwnKind() throws {
        let directory = try Paths.scratchDirectory()
        let port = try LocalAWSServer.freePort()
        // Accepts and never answers.
        let silent = Process()
        silent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        silent.arguments = ["python3", "-c", "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',\(port)))\ns.listen()\nc=s.accept()\ntime.sleep(30)"]
        try silent.run()
        defer { kill(silent.processIdentifier, SIGKILL); silent.waitUntilExit() }
        while !LocalAWSServer.accepts(port: port) { usleep(20_000) }
        let result = try furrow("""
            try { http.get("http://127.0.0.1:\(port)/", timeout: 1s, retries: 0) } catch err { print(err.kind) }
            """, directory: directory)
        #expect(result.lines == ["timeout"], "\(result.stdout)\(result.stderr)")
    }

    @Test func againstFurrowServeWithMutualTLS() throws {
        let directory = try Paths.scratchDirectory()
        let pki = try PKI(in: directory)
        let server = try Server("std/intake", directory: directory, configuration: tlsConfiguration(pki))
        defer { _ = server.stop() }
        let tls = #"ca: "\#(pki.path("ca.pem"))", cert: "\#(pki.path("ci-tyk.pem"))", key: "\#(pki.path("ci-tyk.key"))""#
        let result = try furrow("""
            let r = http.post("\(server.url)/newbuild", json: {repo: "tyk", ref: "refs/heads/feat-y", sha: "abc"}, \(tls))
            print(r.status, r.json.environment, r.json.version)
            print(http.get("\(server.url)/environments/feat-y", \(tls)).json.tyk)
            try { http.post("\(server.url)/newbuild", json: {repo: "tyk-pump", ref: "refs/heads/feat-y", sha: "x"}, \(tls)) } catch err { print(err.kind, err.data.status, err.data.json.error) }
            try { http.get("\(server.url)/healthz", ca: "\(pki.path("ca.pem"))", retries: 0) } catch err { print(err.kind) }
            """, directory: directory)
        #expect(result.lines == [
            "200 feat-y 1", "abc", "http 403 client ci-tyk may not report builds of 'tyk-pump'", "tls",
        ], "\(result.stdout)\(result.stderr)")
    }
}
