import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One outgoing request, as the `http` builtins describe it.
public struct FetchRequest: Sendable {
    public struct TLSFiles: Sendable, Equatable {
        /// PEM certificates to trust instead of the system's.
        public var ca: String?
        /// Client certificate chain and key (PEM), for mutual TLS.
        public var certificate: String?
        public var key: String?
        public init(ca: String? = nil, certificate: String? = nil, key: String? = nil) {
            self.ca = ca
            self.certificate = certificate
            self.key = key
        }
    }

    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)] = []
    public var body: [UInt8]?
    /// Seconds for the whole exchange, per attempt.
    public var timeout: Double = 30
    public var tls = TLSFiles()
    /// Further attempts after a connection failure, a timeout or a 502/503/504/429 answer;
    /// only idempotent methods are retried.
    public var retries = 0
    /// Seconds before the first retry; doubled for each further one.
    public var backoff: Double = 0.25
    public var maxResponseBytes = 16 << 20

    public init(method: String, url: String) {
        self.method = method.uppercased()
        self.url = url
    }

    public var isIdempotent: Bool { ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method) }
}

public struct FetchResponse: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// How many attempts it took.
    public let attempts: Int
}

/// Why no response arrived. Messages name the URL (without credentials) and never a header.
public enum FetchError: Error, CustomStringConvertible {
    case connect(String)
    case timeout(String)
    case tls(String)
    case invalid(String)

    public var kind: String {
        switch self {
        case .connect: return "connect"
        case .timeout: return "timeout"
        case .tls: return "tls"
        case .invalid: return "value"
        }
    }

    public var description: String {
        switch self {
        case .connect(let m), .timeout(let m), .tls(let m), .invalid(let m): return m
        }
    }
}

/// Outgoing HTTP(S) over AsyncHTTPClient, for synchronous callers (interpreter threads).
public final class HTTPFetcher: Sendable {
    public static let shared = HTTPFetcher()
    private let client: HTTPClient

    init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.decompression = .enabled(limit: .ratio(50))
        // A refused connection fails the attempt at once; `fetchWithRetries` decides on retrying.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    /// Blocks the calling thread until the response (or the last failed attempt).
    public func fetch(_ request: FetchRequest) throws(FetchError) -> FetchResponse {
        final class Box: @unchecked Sendable { var result: Result<FetchResponse, FetchError>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let client = self.client
        Task.detached {
            box.result = await Self.fetchWithRetries(client, request)
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    static func fetchWithRetries(_ client: HTTPClient, _ request: FetchRequest) async -> Result<FetchResponse, FetchError> {
        let attempts = request.isIdempotent ? max(0, request.retries) + 1 : 1
        var delay = request.backoff
        var last: Result<FetchResponse, FetchError> = .failure(.invalid("no attempt made"))
        for attempt in 1...attempts {
            last = await once(client, request, attempt: attempt)
            let retryable: Bool
            switch last {
            case .success(let response): retryable = [429, 502, 503, 504].contains(response.status)
            case .failure(.connect), .failure(.timeout): retryable = true
            case .failure: retryable = false
            }
            guard retryable, attempt < attempts else { return last }
            // Full jitter keeps many clients from retrying in step.
            try? await Task.sleep(nanoseconds: UInt64(Double.random(in: delay / 2...delay) * 1e9))
            delay = min(delay * 2, 30)
        }
        return last
    }

    static func once(_ client: HTTPClient, _ request: FetchRequest, attempt: Int) async -> Result<FetchResponse, FetchError> {
        let shown = redactedURL(request.url)
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            outgoing.tlsConfiguration = try tlsConfiguration(request.tls)
        } catch {
            return .failure(.tls("cannot load the TLS files for \(shown): \(error)"))
        }
        do {
            let response = try await client.execute(outgoing, timeout: .nanoseconds(Int64(request.timeout * 1e9)))
            let body = try await response.body.collect(upTo: request.maxResponseBytes)
            return .success(FetchResponse(
                status: Int(response.status.code), headers: response.headers.map { (name: $0.name.lowercased(), value: $0.value) },
                body: Array(body.readableBytesView), attempts: attempt
            ))
        } catch {
            return .failure(classify(error, request: request, shown: shown))
        }
    }

    static func tlsConfiguration(_ files: FetchRequest.TLSFiles) throws -> TLSConfiguration? {
        guard files.ca != nil || files.certificate != nil else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca = files.ca { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
        if let certificate = files.certificate {
            guard let key = files.key else { throw FetchError.invalid("a client certificate needs its key") }
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return configuration
    }

    static func classify(_ error: Error, request: FetchRequest, shown: String) -> FetchError {
        let what = "\(request.method) \(shown)"
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return .timeout("\(what): no answer within \(secondsText(request.timeout))")
            case .invalidURL, .emptyHost, .emptyScheme:
                return .invalid("\(what): invalid URL")
            case .remoteConnectionClosed:
                return .connect("\(what): the server closed the connection")
            default:
                return .connect("\(what): \(error)")
            }
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return .tls("\(what): TLS failed: \(error)")
        }
        func reason(_ error: Error) -> String {
            if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
            return "\(error)"
        }
        if let error = error as? NIOConnectionError {
            return .connect("\(what): cannot connect: \(error.connectionErrors.first.map { reason($0.error) } ?? "\(error)")")
        }
        if error is IOError { return .connect("\(what): cannot connect: \(reason(error))") }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return .timeout("\(what): connecting took longer than \(secondsText(request.timeout))")
        }
        if error is CancellationError { return .timeout("\(what): cancelled") }
        return .connect("\(what): \(error)")
    }

    /// The URL as it may be shown: user, password and query (which may hold tokens) removed.
    public static func redactedURL(_ url: String) -> String {
        if let question = url.firstIndex(of: "?") { return redactedURL(String(url[..<question])) + "?…" }
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let slash = url[scheme.upperBound...].firstIndex(of: "/") ?? url.endIndex
        guard at < slash else { return url }
        return String(url[..<scheme.upperBound]) + "***@" + String(url[url.index(after: at)...])
    }
}

func secondsText(_ s: Double) -> String { s == s.rounded() ? "\(Int(s))s" : String(format: "%.3gs", s) }
