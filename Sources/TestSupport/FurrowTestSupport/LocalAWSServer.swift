import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local AWS-compatible server (moto, `python3 -m moto.server`) on a free 127.0.0.1 port, for tests of
/// DynamoDB, Route53, ECR, S3 (terraform's backend) and whatever else moto serves.
///
/// Starting blocks until the server answers; `stop()` (or deinit) terminates it and waits. The server also exits
/// by itself when the test process dies, so a crashed test run leaves nothing behind.
public final class LocalAWSServer: @unchecked Sendable {
    /// The dummy credentials the server accepts (it checks none unless asked to).
    public static let accessKeyId = "testing"
    public static let secretAccessKey = "testing"
    public static let region = "us-east-1"
    /// The smallest image manifest the server's ECR accepts, for pushing test images.
    public static let imageManifest = """
        {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
        "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,\
        "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}
        """

    public let port: Int
    /// `http://127.0.0.1:PORT`: one endpoint for every service.
    public let endpoint: URL

    /// A terraform `backend "s3"` block on this server, with its lockfile and without the
    /// checks a local server cannot answer; `settings` (bucket, key) go first, each on its line.
    public func terraformS3Backend(_ settings: [(String, String)] = []) -> String {
        let first = settings.map { "    \($0.0.padding(toLength: 27, withPad: " ", startingAt: 0)) = \"\($0.1)\"\n" }.joined()
        return """
            terraform {
              backend "s3" {
            \(first)    region                      = "us-east-1"
                endpoints                   = { s3 = "\(endpoint.absoluteString)" }
                use_path_style              = true
                use_lockfile                = true
                skip_credentials_validation = true
                skip_requesting_account_id  = true
                skip_metadata_api_check     = true
                skip_region_validation      = true
                skip_s3_checksum            = true
              }
            }

            """
    }
    /// The server's combined output, kept in a temporary file (moto logs every request).
    public let logPath: String
    private let process: Process
    private let lock = NSLock()

    public struct StartError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Environment variables that point AWS tools (terraform, the AWS CLI, Furrow) at this server.
    public var clientEnvironment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": Self.accessKeyId, "AWS_SECRET_ACCESS_KEY": Self.secretAccessKey,
            "AWS_REGION": Self.region, "AWS_DEFAULT_REGION": Self.region, "AWS_ENDPOINT_URL": endpoint.absoluteString,
        ]
    }

    /// Starts a server. `environment` adds variables for it, e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0` to make it check
    /// credentials. Throws when python3 or moto is missing or the server does not answer within `timeout` seconds.
    public init(environment: [String: String] = [:], timeout: Double = 30) throws {
        port = try Self.freePort()
        endpoint = URL(string: "http://127.0.0.1:\(port)")!
        logPath = NSTemporaryDirectory() + "furrow-moto-\(port)-\(UUID().uuidString.prefix(8)).log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
            let log = FileHandle(forWritingAtPath: logPath)
        else {
            throw StartError(message: "cannot create the local AWS server's log file \(logPath)")
        }

        // The child inherits the spawning thread's blocked signals (SIGTERM among them): unblock them first.
        // A watchdog thread ends the server when its parent (this process) is gone.
        // moto answers each request on its own thread and its DynamoDB reads, checks and writes an item
        // without a lock, so two conditional UpdateItems on one key could both win (6 of 300 six-way races
        // did). DynamoDB applies the writes to one item one at a time; the server does too by taking one
        // request at a time.
        let launcher = """
            import os, signal, sys, threading, time
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            parent = os.getppid()
            def watch():
                while os.getppid() == parent:
                    time.sleep(0.5)
                os._exit(0)
            threading.Thread(target=watch, daemon=True).start()
            os.environ.setdefault("MOTO_PORT", sys.argv[1])
            from werkzeug.serving import run_simple
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
            app = DomainDispatcherApplication(create_backend_app)
            app.debug = True
            one_at_a_time = threading.Lock()
            def serialized(environ, start_response):
                with one_at_a_time:
                    return list(app(environ, start_response))
            run_simple("127.0.0.1", int(sys.argv[1]), serialized, threaded=True)
            """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", launcher, String(port)]
        var env = ProcessInfo.processInfo.environment
        env.merge(clientEnvironment) { _, new in new }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw StartError(message: "cannot run python3 for the local AWS server: \(error)")
        }
        try log.close()

        let deadline = ContinuousClock.now + .seconds(timeout)
        while !Self.accepts(port: port) {
            if !process.isRunning {
                throw StartError(
                    message: "the local AWS server exited at start (status \(process.terminationStatus)); "
                        + "is moto installed (pip install 'moto[server]')? Its output:\n\(logTail())")
            }
            if ContinuousClock.now > deadline {
                let tail = logTail()
                stop()
                throw StartError(
                    message: "the local AWS server did not answer on \(endpoint) within \(Int(timeout)) s:\n\(tail)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    deinit { stop() }

    /// Terminates the server (SIGTERM, SIGKILL after 5 s) and waits for it to exit; safe to call more than once.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// The last lines the server wrote, for failure messages.
    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// A port the kernel just handed out on 127.0.0.1 (bound, read back, released).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(message: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw StartError(message: "bind(127.0.0.1:0) failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw StartError(message: "getsockname failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let connected = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return connected == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
