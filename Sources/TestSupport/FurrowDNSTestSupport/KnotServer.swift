#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import FurrowDNSWire

/// A real Knot DNS server for tests: one zone, one TSIG key (hmac-sha256) allowed to update and
/// transfer it, listening on 127.0.0.1 at a free port, run in the foreground as a child process
/// from a temporary directory. Starting throws when `knotd` is missing or does not come up.
public final class KnotServer: @unchecked Sendable {
    public let zone: DNSName
    public let port: UInt16
    public let key: TSIGKey
    /// The key's secret in base64, for `dig -y` and `nsupdate -y` in interop checks.
    public let secretBase64: String
    public let directory: URL
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    public var address: DNSServerAddress { DNSServerAddress(host: "127.0.0.1", port: port) }
    /// `hmac-sha256:<name>:<secret>`, the `-y` argument of dig and nsupdate.
    public var digKeyArgument: String { "hmac-sha256:\(key.name.textWithoutTrailingDot):\(secretBase64)" }

    /// Starts the server. `records` are zone-file lines (relative to the zone) added after the
    /// SOA, NS and `ns A 127.0.0.1` records every zone gets.
    public init(zone: String = "test.furrow.", keyName: String = "furrow-test.", records: [String] = []) throws {
        guard let knotd = Self.findExecutable("knotd") else {
            throw KnotServerError("knotd not found on PATH or in /usr/sbin (install the Debian package 'knot')")
        }
        self.zone = try DNSName(zone)
        var secret = [UInt8](repeating: 0, count: 32)
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }
        secretBase64 = Data(secret).base64EncodedString()
        key = TSIGKey(name: try DNSName(keyName), algorithm: .hmacSHA256, secret: secret)
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-knot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let zoneText = self.zone.description
        let config = """
        server:
            rundir: "\(directory.path)"
            listen: 127.0.0.1@\(port)
            udp-workers: 1
            tcp-workers: 1
            background-workers: 1
        log:
          - target: stderr
            any: info
        database:
            storage: "\(directory.path)/db"
        key:
          - id: \(key.name.description)
            algorithm: hmac-sha256
            secret: \(secretBase64)
        acl:
          - id: furrow-update-transfer
            key: \(key.name.description)
            action: [update, transfer]
        template:
          - id: default
            storage: "\(directory.path)"
            file: "%s.zone"
            zonefile-sync: -1
            journal-content: none
        zone:
          - domain: \(zoneText)
            acl: furrow-update-transfer

        """
        let zoneFile = (["$ORIGIN \(zoneText)", "$TTL 300",
                         "@ SOA ns.\(zoneText) hostmaster.\(zoneText) 1 3600 600 86400 300",
                         "@ NS ns", "ns A 127.0.0.1"] + records).joined(separator: "\n") + "\n"
        try config.write(to: directory.appendingPathComponent("knot.conf"), atomically: true, encoding: .utf8)
        try zoneFile.write(to: directory.appendingPathComponent("\(zoneText)zone"), atomically: true, encoding: .utf8)
        let logURL = directory.appendingPathComponent("knotd.log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw KnotServerError("cannot create \(logURL.path)")
        }
        let log = try FileHandle(forWritingTo: logURL)
        process = Process()
        process.executableURL = URL(fileURLWithPath: knotd)
        process.arguments = ["-c", directory.appendingPathComponent("knot.conf").path]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try waitUntilAnswering(log: logURL)
    }

    deinit { stop() }

    /// Stops knotd and removes its directory. Safe to call more than once.
    /// What `dig +short` answers for `name` and `type`, the lines sorted. Five tries of five
    /// seconds: a loaded machine (the whole suite runs at once) can leave one UDP query
    /// unanswered, and a failed `dig` is an error, never an answer.
    public func dig(_ name: String, _ type: String) throws -> [String] {
        let run = try ExternalTool.run(["dig", "@127.0.0.1", "-p", String(port), "+short", "+norecurse", "+tries=5", "+time=5", name, type])
        guard run.status == 0 else { throw KnotServerError("dig \(name) \(type) failed (status \(run.status)): \(run.stdout)\(run.stderr)") }
        return run.stdout.split(separator: "\n").map(String.init).sorted()
    }

    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// What knotd has logged so far (for failure messages).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("knotd.log"), encoding: .utf8)) ?? ""
    }

    private func waitUntilAnswering(log: URL) throws {
        let client = DNSClient(server: address, timeout: 0.2, attempts: 1)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                stop()
                throw KnotServerError("knotd exited with status \(process.terminationStatus) while starting:\n\(text)")
            }
            if let answer = try? client.lookup(zone, .soa), !answer.isEmpty { return }
            usleep(50_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw KnotServerError("knotd did not answer on \(address) within 15 seconds:\n\(text)")
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        return candidates.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A port that is free on 127.0.0.1 for both TCP and UDP right now.
    public static func freePort() throws -> UInt16 {
        for _ in 0..<50 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(tcp) }
            guard let port = bind(tcp, port: 0) else { continue }
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            if bind(udp, port: port) != nil { return port }
        }
        throw KnotServerError("no free port found on 127.0.0.1")
    }

    private static func bind(_ fd: Int32, port: UInt16) -> UInt16? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                Glibc.bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        return bound ? UInt16(bigEndian: address.sin_port) : nil
    }
}

public struct KnotServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
