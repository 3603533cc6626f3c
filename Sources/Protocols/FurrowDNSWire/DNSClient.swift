#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where a DNS server listens.
public struct DNSServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16 = 53) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port` or `[v6]:port`.
    public init(_ text: String) throws(DNSWireError) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { self.init(host: host); return }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { throw .network(server: text, reason: "bad port") }
            self.init(host: host, port: port)
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let port = UInt16(parts[1]) else { throw .network(server: text, reason: "bad port '\(parts[1])'") }
            self.init(host: String(parts[0]), port: port)
        } else {
            self.init(host: text)
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The first `nameserver` of a resolv.conf file: the resolver `dns.lookup` uses when no
    /// server is named.
    public static func systemResolver(resolvConf path: String = "/etc/resolv.conf") throws(DNSWireError) -> DNSServerAddress {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .network(server: "system resolver", reason: "cannot read \(path)")
        }
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver" {
                // A scoped IPv6 address (fe80::1%eth0) keeps its scope for getaddrinfo.
                return DNSServerAddress(host: String(fields[1]))
            }
        }
        throw .network(server: "system resolver", reason: "no nameserver line in \(path)")
    }
}

/// A DNS client for one server: queries over UDP with retries and TCP fallback on truncation,
/// zone transfers and updates over TCP, every request TSIG-signed when a key is given.
public struct DNSClient: Sendable {
    public let server: DNSServerAddress
    public let key: TSIGKey?
    /// Seconds to wait for each answer (UDP attempt, TCP connect or read).
    public var timeout: Double
    /// UDP attempts before giving up.
    public var attempts: Int

    public init(server: DNSServerAddress, key: TSIGKey? = nil, timeout: Double = 2, attempts: Int = 3) {
        self.server = server
        self.key = key
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    /// Asks for the records of one name and type. NXDOMAIN and an empty answer both give an
    /// empty list; other failure codes throw. `recursive` asks a resolver to recurse (RD bit);
    /// authoritative servers answer from their zones either way.
    public func lookup(_ name: DNSName, _ type: DNSRecordType, recursive: Bool = false) throws(DNSWireError) -> [DNSResourceRecord] {
        let response = try exchange(.query(name, type, recursionDesired: recursive), context: "lookup of \(name) \(type)",
                                    acceptedCodes: [.noError, .nameError])
        return response.answers.filter { $0.name == name && ($0.type == type || type == .any || $0.type == .cname) }
    }

    /// Sends an UPDATE and returns the response once the server accepted it.
    @discardableResult
    public func update(_ update: DNSUpdate) throws(DNSWireError) -> DNSMessage {
        try exchange(update.message, context: "update of zone \(update.zone)", acceptedCodes: [.noError], forceTCP: true)
    }

    /// Sends a message and returns the verified response. UDP first unless `forceTCP`, and TCP
    /// again when the UDP answer was truncated. Response codes outside `acceptedCodes` throw.
    public func exchange(_ message: DNSMessage, context: String, acceptedCodes: Set<DNSResponseCode> = [.noError],
                         forceTCP: Bool = false) throws(DNSWireError) -> DNSMessage {
        var signer = key.map { TSIGSigner(key: $0) }
        // Each send is signed afresh: the TCP retry of a truncated answer is a new request.
        func signedRequest() throws(DNSWireError) -> [UInt8] {
            let bytes = try message.encoded()
            guard var active = signer else { return bytes }
            defer { signer = active }
            return try active.sign(bytes)
        }
        var request = try signedRequest()
        var (response, responseBytes): (DNSMessage, [UInt8])
        if !forceTCP && request.count <= 512 {
            (response, responseBytes) = try udpExchange(request, expecting: message)
            if response.isTruncated {
                request = try signedRequest()
                (response, responseBytes) = try tcpExchange(request, expecting: message)
            }
        } else {
            (response, responseBytes) = try tcpExchange(request, expecting: message)
        }
        if var active = signer {
            try active.verify(response: response, bytes: responseBytes, server: server.description, context: context)
        }
        guard acceptedCodes.contains(response.responseCode) else {
            throw .responseCode(response.responseCode, server: server.description, context: context)
        }
        return response
    }

    /// Transfers a whole zone over TCP (AXFR), verifying every message's TSIG chain.
    /// The records come in server order, SOA first, without the closing SOA.
    public func zoneTransfer(_ zone: DNSName) throws(DNSWireError) -> [DNSResourceRecord] {
        let context = "zone transfer of \(zone)"
        let query = DNSMessage.query(zone, .axfr)
        var signer = key.map { TSIGSigner(key: $0) }
        var request = try query.encoded()
        if var active = signer {
            request = try active.sign(request)
            signer = active
        }
        let connection = try TCPConnection(server: server, timeout: timeout)
        defer { connection.close() }
        try connection.send(framed(request))
        var records: [DNSResourceRecord] = []
        var soaCount = 0
        while soaCount < 2 {
            let bytes = try connection.receiveFramed()
            let response = try DNSMessage.decode(bytes)
            guard response.id == query.id else { throw .malformedMessage("zone transfer answer with a different ID") }
            if var active = signer {
                try active.verify(response: response, bytes: bytes, server: server.description, context: context)
                signer = active
            }
            guard response.responseCode == .noError else {
                throw .responseCode(response.responseCode, server: server.description, context: context)
            }
            for record in response.answers {
                if record.type == .soa {
                    soaCount += 1
                    if soaCount == 2 { break }
                }
                guard soaCount > 0 else { throw .malformedMessage("zone transfer of \(zone) does not start with its SOA") }
                records.append(record)
            }
            if response.answers.isEmpty && soaCount == 0 {
                throw .malformedMessage("zone transfer of \(zone) returned no records")
            }
        }
        return records
    }

    // MARK: Transports

    private func udpExchange(_ request: [UInt8], expecting query: DNSMessage) throws(DNSWireError) -> (DNSMessage, [UInt8]) {
        let address = try resolve(server, socketType: Int32(SOCK_DGRAM.rawValue))
        let fd = socket(Int32(address.family), Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw .network(server: server.description, reason: systemError()) }
        defer { Glibc.close(fd) }
        // A connected socket only receives datagrams from the server itself.
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            throw .network(server: server.description, reason: "UDP connect failed: \(systemError())")
        }
        for _ in 0..<attempts {
            let sent = request.withUnsafeBytes { buffer in Glibc.send(fd, buffer.baseAddress, buffer.count, 0) }
            guard sent == request.count else { throw .network(server: server.description, reason: "send failed: \(systemError())") }
            let deadline = ContinuousClock.now + .milliseconds(timeout > 0 ? Int64(min(timeout, 31_536_000) * 1000) : 0)
            while true {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero { break }
                let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
                guard try waitReadable(fd, seconds: seconds) else { break }
                var buffer = [UInt8](repeating: 0, count: 65535)
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                // An ICMP "port unreachable" surfaces here as ECONNREFUSED: a server that is down
                // is treated like one that does not answer, until the attempts run out.
                if count < 0 { continue }
                let bytes = Array(buffer[0..<count])
                // Anything that is not the answer to this query (late answers, stray packets) is ignored.
                guard let response = try? DNSMessage.decode(bytes), response.id == query.id, response.isResponse,
                      response.questions == query.questions else { continue }
                return (response, bytes)
            }
        }
        throw .timeout(server: server.description, seconds: timeout, attempts: attempts)
    }

    private func tcpExchange(_ request: [UInt8], expecting query: DNSMessage) throws(DNSWireError) -> (DNSMessage, [UInt8]) {
        let connection = try TCPConnection(server: server, timeout: timeout)
        defer { connection.close() }
        try connection.send(framed(request))
        let bytes = try connection.receiveFramed()
        let response = try DNSMessage.decode(bytes)
        guard response.id == query.id, response.isResponse else {
            throw .malformedMessage("answer from \(server) does not match the request")
        }
        return (response, bytes)
    }
}

/// Finds records of `type` at `name` by asking `server` (no cache). `recursive` sets the RD bit,
/// which a resolver (such as one from `DNSServerAddress.systemResolver()`) needs.
public func lookup(_ name: String, _ type: DNSRecordType, server: DNSServerAddress, key: TSIGKey? = nil,
                   timeout: Double = 2, recursive: Bool = false) throws(DNSWireError) -> [DNSResourceRecord] {
    try DNSClient(server: server, key: key, timeout: timeout).lookup(try DNSName(name), type, recursive: recursive)
}

private func framed(_ message: [UInt8]) -> [UInt8] {
    [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
}

private func systemError() -> String { String(cString: strerror(errno)) }

/// A resolved socket address.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 { Int32(storage.ss_family) }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

private func resolve(_ server: DNSServerAddress, socketType: Int32) throws(DNSWireError) -> SocketAddress {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = socketType
    hints.ai_flags = AI_NUMERICSERV
    var result: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(server.host, String(server.port), &hints, &result)
    guard status == 0, let first = result else {
        throw .network(server: server.description, reason: "cannot resolve host: \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(result) }
    var address = SocketAddress()
    withUnsafeMutableBytes(of: &address.storage) { target in
        target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
    }
    address.length = first.pointee.ai_addrlen
    return address
}

/// Waits until `fd` is readable; false on timeout.
private func waitReadable(_ fd: Int32, seconds: Double) throws(DNSWireError) -> Bool {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let result = poll(&descriptor, 1, Int32(max(1, (seconds * 1000).rounded(.up))))
    if result < 0 && errno != EINTR { throw .network(server: "socket", reason: systemError()) }
    return result > 0
}

/// One TCP connection carrying length-prefixed DNS messages (RFC 1035 §4.2.2).
final class TCPConnection {
    let fd: Int32
    let server: DNSServerAddress
    let timeout: Double

    init(server: DNSServerAddress, timeout: Double) throws(DNSWireError) {
        self.server = server
        self.timeout = timeout
        let address = try resolve(server, socketType: Int32(SOCK_STREAM.rawValue))
        fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .network(server: server.description, reason: systemError()) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let status = address.withSockaddr { connect(fd, $0, $1) }
        if status != 0 {
            guard errno == EINPROGRESS else {
                let reason = systemError()
                Glibc.close(fd)
                throw .network(server: server.description, reason: "TCP connect failed: \(reason)")
            }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&descriptor, 1, Int32(timeout * 1000))
            if ready <= 0 {
                Glibc.close(fd)
                throw .timeout(server: server.description, seconds: timeout, attempts: 1)
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if socketError != 0 {
                Glibc.close(fd)
                throw .network(server: server.description, reason: "TCP connect failed: \(String(cString: strerror(socketError)))")
            }
        }
    }

    func close() { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) throws(DNSWireError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&descriptor, 1, Int32(timeout * 1000)) <= 0 { throw .timeout(server: server.description, seconds: timeout, attempts: 1) }
                    continue
                }
                throw .network(server: server.description, reason: "TCP send failed: \(systemError())")
            }
            offset += written
        }
    }

    func receive(_ count: Int) throws(DNSWireError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            guard try waitReadable(fd, seconds: timeout) else { throw .timeout(server: server.description, seconds: timeout, attempts: 1) }
            let received = result.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, count - filled, 0) }
            if received == 0 { throw .network(server: server.description, reason: "connection closed by the server") }
            if received < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw .network(server: server.description, reason: "TCP receive failed: \(systemError())")
            }
            filled += received
        }
        return result
    }

    func receiveFramed() throws(DNSWireError) -> [UInt8] {
        let header = try receive(2)
        return try receive(Int(header[0]) << 8 | Int(header[1]))
    }
}
