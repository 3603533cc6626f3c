import AsyncHTTPClient
import Foundation
import FurrowJSON
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Where a service lives and how it signs.
public struct AWSService: Sendable {
    /// Furrow's name for it in errors, and the SigV4 signing name.
    public let signingName: String
    /// The signing region when the service is global (Route53 signs with `us-east-1`), else nil for the configured one.
    public let fixedRegion: String?
    /// The AWS host for a region.
    public let host: @Sendable (String) -> String

    public init(signingName: String, fixedRegion: String? = nil, host: @escaping @Sendable (String) -> String) {
        self.signingName = signingName
        self.fixedRegion = fixedRegion
        self.host = host
    }

    public static let dynamoDB = AWSService(signingName: "dynamodb", fixedRegion: nil) {
        "dynamodb.\($0).amazonaws.com"
    }
    public static let route53 = AWSService(signingName: "route53", fixedRegion: "us-east-1") { _ in
        "route53.amazonaws.com"
    }
    public static let ecr = AWSService(signingName: "ecr", fixedRegion: nil) { "api.ecr.\($0).amazonaws.com" }
}

/// One HTTP request to an AWS service, before signing.
public struct AWSRequest: Sendable {
    public var method: String
    /// The path below the endpoint, already percent-encoded where needed (ids and fixed words need nothing).
    public var path: String
    /// Decoded name/value pairs; they are encoded strictly (RFC 3986) when sent and signed.
    public var query: [(String, String)]
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(
        method: String, path: String = "/", query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// A response as received; `headers` are keyed by lower-cased name.
public struct AWSResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]
}

/// Signs, sends and retries AWS requests synchronously.
///
/// Furrow's interpreter runs scripts on plain threads, so calls block the calling thread; one client may be used
/// from many threads at once. Retries (see `AWSRetryPolicy`) cover connection failures, HTTP 5xx and throttling.
public final class AWSHTTPClient: Sendable {
    public let configuration: AWSConfiguration
    private let http: HTTPClient

    public init(configuration: AWSConfiguration) {
        self.configuration = configuration
        http = Self.sharedHTTPClient(timeout: configuration.requestTimeout)
    }

    /// One AsyncHTTPClient (and so one connection pool) per request timeout, for the life of the process: clients
    /// are made per script call, and an HTTPClient must be shut down before it goes, which a deinit cannot wait for.
    private static let httpClients = Mutex<[Double: HTTPClient]>([:])

    private static func sharedHTTPClient(timeout: Double) -> HTTPClient {
        httpClients.withLock { clients in
            if let client = clients[timeout] { return client }
            var configuration = HTTPClient.Configuration()
            // The timeout bounds connecting and each wait for data, not the whole exchange.
            let amount = TimeAmount.nanoseconds(Int64((max(timeout, 0.001) * 1e9).rounded()))
            configuration.timeout = HTTPClient.Configuration.Timeout(connect: amount, read: amount, write: amount)
            configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
            configuration.decompression = .enabled(limit: .none)
            // A refused connection fails the attempt at once; `send` decides on retrying.
            configuration.connectionPool.retryConnectionEstablishment = false
            let client = HTTPClient(
                eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
            clients[timeout] = client
            return client
        }
    }

    /// Sends `request`, retrying as the policy says, and returns the first 2xx response.
    /// Any other outcome throws an `AWSError` naming `operation`. Each attempt is signed afresh.
    public func send(_ request: AWSRequest, to service: AWSService, operation: String) throws -> AWSResponse {
        let target = try self.target(of: request, service: service, operation: operation)
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            let failure: AWSError
            let retryable: Bool
            switch perform(signed(request, target, service)) {
            case .success(let response) where (200..<300).contains(response.status):
                return response
            case .success(let response):
                let (code, message) = Self.errorDetails(response)
                failure = AWSError(
                    kind: AWSError.kind(code: code, httpStatus: response.status), service: service.signingName,
                    operation: operation, httpStatus: response.status, code: code, message: message, attempts: attempt)
                retryable = failure.kind == .throttled || response.status >= 500
            case .failure(let error):
                failure = AWSError(
                    kind: .transport, service: service.signingName, operation: operation,
                    message: "\(Self.explain(error)) (\(baseURL(for: service).absoluteString))", attempts: attempt)
                retryable = true
            }
            guard retryable, attempt < policy.maxAttempts else { throw failure }
            Thread.sleep(forTimeInterval: policy.delay(beforeRetry: attempt - 1))
        }
    }

    /// A call in the AWS JSON protocol (DynamoDB: version 1.0, ECR: 1.1): POST `/` with `X-Amz-Target`.
    public func callJSON(
        _ service: AWSService, targetPrefix: String, operation: String, jsonVersion: String, input: JSONValue
    ) throws -> JSONValue {
        let request = AWSRequest(
            method: "POST",
            headers: [
                ("Content-Type", "application/x-amz-json-\(jsonVersion)"),
                ("X-Amz-Target", "\(targetPrefix).\(operation)"),
            ],
            body: Array(input.encoded().utf8))
        let response = try send(request, to: service, operation: operation)
        if response.body.isEmpty { return .object([:]) }
        do {
            return try JSONValue.parse(bytes: response.body)
        } catch {
            throw AWSError(
                kind: .transport, service: service.signingName, operation: operation, httpStatus: response.status,
                message: "the response is not JSON (\(error)): \(Self.snippet(response.body))")
        }
    }

    func baseURL(for service: AWSService) -> URL {
        configuration.endpoint ?? URL(string: "https://\(service.host(configuration.region))")!
    }

    /// The URL, signed path and `Host` value of a request: the endpoint's scheme, host, port and path prefix, then the
    /// request's path and strictly encoded query.
    private func target(of request: AWSRequest, service: AWSService, operation: String) throws -> (
        url: URL, path: String, host: String
    ) {
        let base = baseURL(for: service)
        var basePath = base.path
        while basePath.hasSuffix("/") { basePath.removeLast() }
        let path = basePath + (request.path.hasPrefix("/") ? request.path : "/" + request.path)
        let defaultPort = base.scheme == "http" ? 80 : 443
        let host = (base.host ?? "") + (base.port.map { $0 == defaultPort ? "" : ":\($0)" } ?? "")
        var text = "\(base.scheme ?? "https")://\(host)\(path)"
        if !request.query.isEmpty {
            text +=
                "?"
                + request.query.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }
                .joined(separator: "&")
        }
        guard base.host != nil, let url = URL(string: text) else {
            throw AWSError(
                kind: .validation, service: service.signingName, operation: operation,
                message: "cannot form a URL from \(text)")
        }
        return (url, path, host)
    }

    private func signed(_ request: AWSRequest, _ target: (url: URL, path: String, host: String), _ service: AWSService)
        -> Result<HTTPClient.Request, Error>
    {
        let signer = SigV4Signer(
            credentials: configuration.credentials, region: service.fixedRegion ?? configuration.region,
            service: service.signingName)
        let signature = signer.sign(
            method: request.method, host: target.host, path: target.path, query: request.query,
            headers: request.headers,
            body: request.body)
        // The signed `host` is sent as it is, not left for the HTTP client to form.
        var headers = HTTPHeaders([("Host", target.host)])
        for (name, value) in request.headers + signature.headersToAdd.map({ ($0.name, $0.value) })
        where name.lowercased() != "host" {
            headers.replaceOrAdd(name: name, value: value)
        }
        let body: HTTPClient.Body? =
            !request.body.isEmpty || request.method == "POST" || request.method == "PUT"
            ? .bytes(request.body) : nil
        return Result {
            try HTTPClient.Request(
                url: target.url, method: HTTPMethod(rawValue: request.method), headers: headers, body: body)
        }
    }

    /// Runs one exchange and waits for it on the calling thread (never an event loop's: scripts run on their own).
    private func perform(_ request: Result<HTTPClient.Request, Error>) -> Result<AWSResponse, Error> {
        Result {
            let response = try http.execute(request: try request.get()).wait()
            var headers: [String: String] = [:]
            for (name, value) in response.headers {
                let key = name.lowercased()
                // Repeated fields combine as one, comma-separated (RFC 9110, 5.3).
                headers[key] = headers[key].map { $0 + ", " + value } ?? value
            }
            return AWSResponse(
                status: Int(response.status.code), headers: headers,
                body: response.body.map { Array($0.readableBytesView) } ?? [])
        }
    }

    /// The AWS error code and message of an error response, in either protocol: JSON (`__type`, `message`) or
    /// XML (`<Code>`, `<Message>`), falling back to the `x-amzn-ErrorType` header and the body itself.
    static func errorDetails(_ response: AWSResponse) -> (code: String?, message: String) {
        var code: String?
        var message: String?
        if let json = try? JSONValue.parse(bytes: response.body) {
            code = (json["__type"] ?? json["code"] ?? json["Code"])?.stringValue
            message = (json["message"] ?? json["Message"] ?? json["errorMessage"])?.stringValue
        } else if let root = try? XMLNode.parse(response.body) {
            code = root.first("Code")?.text
            let messages = root.all("Message").map(\.text).filter { !$0.isEmpty }
            message = messages.isEmpty ? nil : messages.joined(separator: "; ")
            if code == nil, root.name != "html" { code = root.name }
        }
        if code == nil, let header = response.headers["x-amzn-errortype"] { code = header }
        // `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`, `Code:http://internal.amazon.com/...`
        if let raw = code {
            var trimmed = Substring(raw)
            if let hash = trimmed.lastIndex(of: "#") { trimmed = trimmed[trimmed.index(after: hash)...] }
            if let colon = trimmed.firstIndex(of: ":") { trimmed = trimmed[..<colon] }
            code = trimmed.isEmpty ? nil : String(trimmed)
        }
        return (code, message ?? (response.body.isEmpty ? "" : snippet(response.body)))
    }

    /// A short reason for a failed exchange, in the same words whichever layer (HTTP client, NIO, TLS) reported it.
    static func explain(_ error: Error) -> String {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return "timed out"
            case .remoteConnectionClosed: return "connection lost"
            case .invalidURL, .emptyHost, .emptyScheme: return "invalid URL"
            default: return "\(error)"
            }
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return explain(first.error) }
            return "cannot resolve the host name"
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return "cannot connect (connection refused)"
            case ETIMEDOUT: return "timed out"
            case ECONNRESET, EPIPE: return "connection lost"
            case ENETUNREACH, EHOSTUNREACH, ENETDOWN: return "no network"
            default: return "cannot connect (\(String(cString: strerror(error.errnoCode))))"
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: return "timed out"
            case .eof, .ioOnClosedChannel, .outputClosed, .inputClosed, .alreadyClosed: return "connection lost"
            default: return "\(error)"
            }
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return "TLS connection failed"
        case is HTTPParserError:
            return "malformed HTTP response"
        default:
            return "\(error)"
        }
    }

    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return body.count > 300 ? text + "…" : text
    }
}
