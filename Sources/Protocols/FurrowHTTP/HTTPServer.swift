import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Limits and addresses of a server. Times are in seconds.
public struct HTTPServerSettings: Sendable {
    public struct TLSFiles: Sendable {
        /// PEM chain, leaf first.
        public var certificate: String
        public var key: String
        /// Client certificates must chain to one of these PEM certificates.
        public var clientCA: String
        public init(certificate: String, key: String, clientCA: String) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public var host = "127.0.0.1"
    public var port = 8443
    public var tls: TLSFiles?
    public var maxBodyBytes = 1 << 20
    /// From the connection's start (or the previous response) to the end of a request's head.
    public var headerTimeout = 10.0
    /// From a request's head to the end of its body.
    public var bodyTimeout = 30.0
    public init() {}
}

/// HTTP/1.1 over SwiftNIO, optionally with mutual TLS: reads each request completely (within
/// the body limit and the timeouts), hands it to `respond`, and writes the answer. It knows no
/// routes: `HTTPService` does. One request at a time per connection; pipelined requests wait.
public final class HTTPServer: @unchecked Sendable {
    public typealias Respond = @Sendable (HTTPServerRequest) async -> HTTPServerResponse
    public let settings: HTTPServerSettings
    let respond: Respond
    let log: ServerLog
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: (Channel, ConnectionHandler)] = [:]
    private var inFlight = 0
    private var _draining = false
    private var sequence = 0
    private let idPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    public init(settings: HTTPServerSettings, log: @escaping ServerLog, respond: @escaping Respond) {
        self.settings = settings
        self.respond = respond
        self.log = log
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(4, System.coreCount)))
    }

    public var isDraining: Bool { lock.withLock { _draining } }

    func nextRequestID() -> String {
        lock.withLock {
            sequence += 1
            return "\(idPrefix)-\(sequence)"
        }
    }

    /// Binds and starts accepting; returns the bound port (useful with port 0).
    public func start() throws -> Int {
        let sslContext = try settings.tls.map(Self.makeTLSContext)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                do {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                    let handler = ConnectionHandler(server: self, tls: sslContext != nil)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    self.track(channel, handler)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let channel = try bootstrap.bind(host: settings.host, port: settings.port).wait()
        self.channel = channel
        return channel.localAddress?.port ?? settings.port
    }

    static func makeTLSContext(_ files: HTTPServerSettings.TLSFiles) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        guard !chain.isEmpty else { throw TLSFileError(message: "\(files.certificate) holds no PEM certificate") }
        let roots = try NIOSSLCertificate.fromPEMFile(files.clientCA)
        guard !roots.isEmpty else { throw TLSFileError(message: "\(files.clientCA) holds no PEM certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem))
        )
        configuration.minimumTLSVersion = .tlsv12
        // A client must present a certificate that chains to the client CA and is within its
        // validity period; clients have no host name to check.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(roots)
        return try NIOSSLContext(configuration: configuration)
    }

    public struct TLSFileError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private func track(_ channel: Channel, _ handler: ConnectionHandler) {
        let key = ObjectIdentifier(channel)
        lock.withLock { connections[key] = (channel, handler) }
        channel.closeFuture.whenComplete { [self] _ in
            _ = lock.withLock { connections.removeValue(forKey: key) }
        }
    }

    func requestStarted() { lock.withLock { inFlight += 1 } }
    func requestFinished() { lock.withLock { inFlight -= 1 } }

    /// Stops accepting, closes idle connections, lets requests in flight finish for at most
    /// `grace` seconds, then closes everything. Returns the number of requests cut off.
    @discardableResult
    public func drain(grace: Double) async -> Int {
        lock.withLock { _draining = true }
        try? await channel?.close()
        for (channel, handler) in lock.withLock({ Array(connections.values) }) {
            channel.eventLoop.execute { handler.closeIfIdle() }
        }
        let deadline = ContinuousClock.now + .milliseconds(grace > 0 ? Int64(min(grace, 31_536_000) * 1000) : 0)
        while lock.withLock({ inFlight }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let cutOff = lock.withLock { inFlight }
        for (channel, _) in lock.withLock({ Array(connections.values) }) { try? await channel.close() }
        try? await group.shutdownGracefully()
        return cutOff
    }
}

/// Structured log lines of the server: level, message, fields (never bodies or secrets).
public typealias ServerLog = @Sendable (_ level: String, _ message: String, _ fields: [(String, String)]) -> Void

/// One connection: collects a request, enforces the limits, answers, and keeps the
/// connection for the next request unless either side wants it closed.
final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum State { case awaitingHead, receiving, responding, closing }

    private let server: HTTPServer
    private let tls: Bool
    private var state = State.awaitingHead
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var readWhenDone = false
    /// Parts of pipelined requests that arrived while one was being answered.
    private var waiting: [HTTPServerRequestPart] = []
    private var identity: ClientIdentity?
    private var identityRead = false
    private var context: ChannelHandlerContext?

    init(server: HTTPServer, tls: Bool) {
        self.server = server
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { armTimer(context, seconds: server.settings.headerTimeout, "request header timeout") }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimer(context, seconds: server.settings.headerTimeout, "request header timeout")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        state = .closing
        context.fireChannelInactive()
    }

    private func armTimer(_ context: ChannelHandlerContext, seconds: Double, _ message: String) {
        timer?.cancel()
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) { [weak self] in
            guard let self, let context = self.context, self.state == .awaitingHead || self.state == .receiving else { return }
            self.reject(context, status: 408, message)
        }
    }

    /// Answers with an error and closes: used before a request was handed on.
    private func reject(_ context: ChannelHandlerContext, status: Int, _ message: String) {
        timer?.cancel()
        let id = server.nextRequestID()
        state = .closing
        let response = HTTPServerResponse.error(status, message, requestID: id)
        server.log("info", "request rejected", [
            ("request_id", id), ("status", String(status)), ("reason", message), ("client", identity?.commonName ?? "-"),
            ("method", head?.method.rawValue ?? "-"), ("path", head.map { HTTPServerRequest.splitTarget($0.uri).path } ?? "-"),
        ])
        write(context, response, version: head?.version ?? .http1_1, method: head?.method ?? .GET, keepAlive: false, requestID: id)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if state == .responding {
            waiting.append(part)
            return
        }
        handle(context, part)
    }

    private func handle(_ context: ChannelHandlerContext, _ part: HTTPServerRequestPart) {
        switch part {
        case .head(let requestHead):
            guard state == .awaitingHead else { return }
            head = requestHead
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > server.settings.maxBodyBytes {
                reject(context, status: 413, "request body over the limit of \(server.settings.maxBodyBytes) bytes")
                return
            }
            body = context.channel.allocator.buffer(capacity: 0)
            state = .receiving
            armTimer(context, seconds: server.settings.bodyTimeout, "request body timeout")
        case .body(var chunk):
            guard state == .receiving else { return }
            guard body.readableBytes + chunk.readableBytes <= server.settings.maxBodyBytes else {
                reject(context, status: 413, "request body over the limit of \(server.settings.maxBodyBytes) bytes")
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard state == .receiving, let head else { return }
            timer?.cancel()
            state = .responding
            dispatch(context, head)
        }
    }

    private func clientIdentity(_ context: ChannelHandlerContext) -> ClientIdentity? {
        guard tls, !identityRead else { return identity }
        identityRead = true
        if let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = handler.peerCertificate, let der = try? certificate.toDERBytes()
        {
            identity = try? ClientIdentity(derEncoded: der)
        }
        return identity
    }

    private func dispatch(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let target = HTTPServerRequest.splitTarget(head.uri)
        let id = server.nextRequestID()
        let request = HTTPServerRequest(
            id: id, method: head.method.rawValue, path: target.path, query: target.query,
            headers: head.headers.map { (name: $0.name.lowercased(), value: $0.value) },
            body: Array(body.readableBytesView), client: clientIdentity(context)
        )
        body = ByteBuffer()
        let keepAlive = head.isKeepAlive && !server.isDraining
        server.requestStarted()
        let respond = server.respond
        let promise = context.eventLoop.makePromise(of: HTTPServerResponse.self)
        promise.completeWithTask { await respond(request) }
        promise.futureResult.whenSuccess { [self] response in
            // The server may have begun draining while the handler ran.
            let stillKeepAlive = keepAlive && !server.isDraining
            write(context, response, version: head.version, method: head.method, keepAlive: stillKeepAlive, requestID: id) { [self] in
                server.requestFinished()
                guard stillKeepAlive, state == .responding else { return }
                state = .awaitingHead
                self.head = nil
                armTimer(context, seconds: server.settings.headerTimeout, "request header timeout")
                while state != .responding, !waiting.isEmpty { handle(context, waiting.removeFirst()) }
                if state != .responding, readWhenDone {
                    readWhenDone = false
                    context.read()
                }
            }
        }
    }

    private func write(
        _ context: ChannelHandlerContext, _ response: HTTPServerResponse, version: HTTPVersion, method: HTTPMethod, keepAlive: Bool,
        requestID: String, done: (() -> Void)? = nil
    ) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        headers.replaceOrAdd(name: "connection", value: keepAlive ? "keep-alive" : "close")
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if method != .HEAD, !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
            done?()
        }
    }

    func read(context: ChannelHandlerContext) {
        if state == .responding {
            readWhenDone = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case is HTTPParserError:
            if state == .awaitingHead || state == .receiving {
                reject(context, status: 400, "malformed HTTP request")
            } else {
                context.close(promise: nil)
            }
        case let tlsError as NIOSSLError:
            server.log("info", "TLS handshake failed", [("peer", context.remoteAddress?.description ?? "-"), ("error", "\(tlsError)")])
            context.close(promise: nil)
        default:
            if tls, !identityRead, state == .awaitingHead {
                server.log("info", "TLS connection failed", [("peer", context.remoteAddress?.description ?? "-"), ("error", "\(error)")])
            }
            context.close(promise: nil)
        }
    }

    /// While draining: a connection waiting for its next request closes now.
    func closeIfIdle() {
        guard let context, state == .awaitingHead else { return }
        state = .closing
        context.close(promise: nil)
    }
}
