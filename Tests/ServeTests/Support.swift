import Foundation
import FurrowTestSupport
import Testing

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

struct Tool: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

struct ToolError: Error, CustomStringConvertible {
    let description: String
}

/// Runs a program (bounded: killed after `timeout` seconds).
@discardableResult
func runTool(_ executable: String, _ arguments: [String], directory: URL? = nil, timeout: Double = 60) throws -> Tool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    final class Box: @unchecked Sendable { var out = Data(), err = Data() }
    let box = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { box.out = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { box.err = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let deadline = ContinuousClock.now + .seconds(timeout)
    while process.isRunning, ContinuousClock.now < deadline { usleep(5000) }
    if process.isRunning { process.terminate() }
    group.wait()
    process.waitUntilExit()
    return Tool(status: process.terminationStatus, stdout: String(decoding: box.out, as: UTF8.self), stderr: String(decoding: box.err, as: UTF8.self))
}

/// Certificates made by `openssl` for one test: a CA, a server certificate for 127.0.0.1,
/// clients `ci-tyk` and `ci-tyk-analytics`, an expired `ci-old`, and `ci-stranger` from
/// another CA.
struct PKI {
    let directory: URL

    init(in parent: URL) throws {
        directory = parent.appendingPathComponent("pki")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("db"), withIntermediateDirectories: true)
        try "".write(to: directory.appendingPathComponent("db/index.txt"), atomically: true, encoding: .utf8)
        try "01\n".write(to: directory.appendingPathComponent("db/serial"), atomically: true, encoding: .utf8)
        try """
            [ca]
            default_ca = test
            [test]
            dir = .
            database = db/index.txt
            serial = db/serial
            new_certs_dir = db
            default_md = sha256
            policy = anything
            copy_extensions = copy
            unique_subject = no
            [anything]
            commonName = supplied
            """.write(to: directory.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
        try makeCA("ca", "Furrow Test CA")
        try makeCA("other-ca", "Another CA")
        try issue("server", cn: "intake", san: "IP:127.0.0.1,DNS:localhost", ca: "ca")
        try issue("ci-tyk", cn: "ci-tyk", san: nil, ca: "ca")
        try issue("ci-tyk-analytics", cn: "ci-tyk-analytics", san: "DNS:ci-tyk-analytics.ci.example", ca: "ca")
        try issue("ci-tyk-pump", cn: "ci-tyk-pump", san: nil, ca: "ca")
        try issue("ci-old", cn: "ci-tyk", san: nil, ca: "ca", dates: ("20200101000000Z", "20200102000000Z"))
        try issue("ci-stranger", cn: "ci-tyk", san: nil, ca: "other-ca")
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func openssl(_ arguments: [String]) throws {
        let result = try runTool("openssl", arguments, directory: directory)
        guard result.status == 0 else { throw ToolError(description: "openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    private func makeCA(_ name: String, _ cn: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(name).key",
            "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(cn)",
        ])
    }

    private func issue(_ name: String, cn: String, san: String?, ca: String, dates: (String, String)? = nil) throws {
        var request = [
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr",
            "-subj", "/CN=\(cn)",
        ]
        if let san { request += ["-addext", "subjectAltName=\(san)"] }
        try openssl(request)
        var sign = ["ca", "-batch", "-config", "ca.cnf", "-cert", "\(ca).pem", "-keyfile", "\(ca).key", "-in", "\(name).csr", "-out", "\(name).pem", "-notext"]
        if let dates { sign += ["-startdate", dates.0, "-enddate", dates.1] } else { sign += ["-days", "2"] }
        try openssl(sign)
    }
}

/// A running `furrow serve` in a scratch directory with its own furrow.toml.
final class Server: @unchecked Sendable {
    let directory: URL
    let port: Int
    let process: FurrowProcess

    init(_ script: String, directory: URL, configuration: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.directory = directory
        try configuration.write(to: directory.appendingPathComponent("furrow.toml"), atomically: true, encoding: .utf8)
        port = try LocalAWSServer.freePort()
        process = try FurrowProcess(
            ["serve", script, "--port", String(port)] + arguments, directory: directory, environment: environment, clearing: ["FURROW_", "AWS_"]
        )
        let deadline = ContinuousClock.now + .seconds(30)
        while !LocalAWSServer.accepts(port: port) {
            guard ContinuousClock.now < deadline, kill(process.processIdentifier, 0) == 0 else {
                let result = process.wait(timeout: 5)
                throw ToolError(description: "furrow serve did not start: \(result.stderr)")
            }
            usleep(20_000)
        }
    }

    var url: String { "https://127.0.0.1:\(port)" }

    /// SIGTERM, then the run's result (bounded).
    func stop(timeout: Double = 30) -> FurrowRunResult {
        kill(process.processIdentifier, SIGTERM)
        return process.wait(timeout: timeout)
    }
}

/// One curl call: the HTTP status (0 when there was no response) and the body.
struct Curl {
    let status: Int
    let body: String
    let exit: Int32
    let stderr: String

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }

    init(_ arguments: [String], timeout: Double = 30) throws {
        let result = try runTool("curl", ["-sS", "--max-time", "20", "-w", "\n%{http_code}"] + arguments, timeout: timeout)
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = lines.popLast() ?? "0"
        status = Int(code) ?? 0
        body = lines.joined(separator: "\n")
        exit = result.status
        stderr = result.stderr
    }

    /// A request over mutual TLS as `client` (a PKI name), or without a client certificate.
    static func tls(_ pki: PKI, client: String?, _ method: String, _ url: String, json: String? = nil, extra: [String] = []) throws -> Curl {
        var arguments = ["--cacert", pki.path("ca.pem"), "-X", method]
        if let client { arguments += ["--cert", pki.path("\(client).pem"), "--key", pki.path("\(client).key")] }
        if let json { arguments += ["-H", "content-type: application/json", "--data-binary", json] }
        return try Curl(arguments + extra + [url])
    }
}

func tlsConfiguration(_ pki: PKI, extra: String = "") -> String {
    """
    [state]
    path = "state.db"
    [jobs]
    repos = ["tyk", "tyk-analytics", "tyk-pump"]
    [serve]
    cert = "\(pki.path("server.pem"))"
    key = "\(pki.path("server.key"))"
    client_ca = "\(pki.path("ca.pem"))"
    max_body = 4096
    header_timeout = 1
    body_timeout = 1
    grace = 15
    \(extra)
    [serve.clients]
    "ci-tyk" = ["tyk"]
    "ci-tyk-analytics.ci.example" = ["tyk-analytics"]
    "ci-tyk-pump" = ["tyk-pump"]
    """
}
