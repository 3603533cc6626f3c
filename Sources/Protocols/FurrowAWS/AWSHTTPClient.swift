import Foundation
import FurrowJSON

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
    private let session: URLSession

    public init(configuration: AWSConfiguration) {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.requestTimeout
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.httpCookieStorage = nil
        session = URLSession(configuration: sessionConfiguration)
    }

    deinit { session.invalidateAndCancel() }

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
        -> URLRequest
    {
        let signer = SigV4Signer(
            credentials: configuration.credentials, region: service.fixedRegion ?? configuration.region,
            service: service.signingName)
        let signature = signer.sign(
            method: request.method, host: target.host, path: target.path, query: request.query,
            headers: request.headers,
            body: request.body)
        var urlRequest = URLRequest(url: target.url)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers + signature.headersToAdd.map({ ($0.name, $0.value) }) {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            urlRequest.httpBody = Data(request.body)
        }
        return urlRequest
    }

    /// Runs one URLSession task and waits for it on the calling thread.
    private func perform(_ urlRequest: URLRequest) -> Result<AWSResponse, Error> {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: urlRequest) { data, response, error in
            if let error {
                box.result = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (name, value) in http.allHeaderFields {
                    if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
                }
                box.result = .success(
                    AWSResponse(status: http.statusCode, headers: headers, body: Array(data ?? Data())))
            } else {
                box.result = .failure(URLError(.badServerResponse))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return box.result ?? .failure(URLError(.unknown))
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

    /// A short reason for a failed exchange; URLError's own descriptions are mere error numbers on Linux.
    static func explain(_ error: Error) -> String {
        guard let urlError = error as? URLError else { return "\(error)" }
        switch urlError.code {
        case .cannotConnectToHost: return "cannot connect (connection refused)"
        case .timedOut: return "timed out"
        case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "TLS connection failed"
        case .badServerResponse: return "malformed HTTP response"
        default: return "network error \(urlError.code.rawValue)"
        }
    }

    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return body.count > 300 ? text + "…" : text
    }
}

/// Carries one task's outcome from URLSession's delegate queue to the waiting thread; the semaphore orders the accesses.
private final class ResultBox: @unchecked Sendable {
    var result: Result<AWSResponse, Error>?
}
