/// Every failure of an AWS call: what was called, what came back, and a kind callers can branch on.
///
/// Messages carry the service's own words and never credentials.
public struct AWSError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// A condition expression did not hold (DynamoDB `ConditionalCheckFailedException`).
        case conditionalCheckFailed
        /// The table, item, zone, change, repository or image does not exist.
        case notFound
        /// The thing to create exists already (a table being created, a zone, a repository).
        case alreadyExists
        /// Credentials were refused, are missing or expired, or lack permission.
        case accessDenied
        /// The service rejected the request as malformed or invalid (also: bad input caught before sending).
        case validation
        /// The service kept throttling after every retry.
        case throttled
        /// No usable answer: connection refused or lost, timeout, or a response that does not parse.
        case transport
        /// Any other error the service reported.
        case service
    }

    public let kind: Kind
    /// The service as Furrow names it: `dynamodb`, `route53`, `ecr`.
    public let service: String
    /// The API operation, e.g. `PutItem`.
    public let operation: String
    /// The HTTP status, when a response arrived.
    public let httpStatus: Int?
    /// The AWS error code, e.g. `ConditionalCheckFailedException`.
    public let code: String?
    public let message: String
    /// How many times the request was sent.
    public let attempts: Int

    public init(
        kind: Kind, service: String, operation: String, httpStatus: Int? = nil, code: String? = nil,
        message: String, attempts: Int = 1
    ) {
        self.kind = kind
        self.service = service
        self.operation = operation
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.attempts = attempts
    }

    public var description: String {
        var text = "\(service) \(operation) failed"
        if let code { text += ": \(code)" }
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        if !message.isEmpty { text += ": \(message)" }
        if attempts > 1 { text += " [after \(attempts) attempts]" }
        return text
    }

    /// Error codes that mean "try again later"; the client retries them with backoff.
    static let throttlingCodes: Set<String> = [
        "ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "TooManyRequestsException", "PriorRequestNotComplete", "RequestThrottled", "RequestThrottledException",
        "SlowDown",
    ]

    static let accessDeniedCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
        "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch",
        "MissingAuthenticationToken", "MissingAuthenticationTokenException", "IncompleteSignature",
        "IncompleteSignatureException", "AuthFailure", "InvalidAccessKeyId", "NotAuthorized",
    ]

    static let notFoundCodes: Set<String> = [
        "ResourceNotFoundException", "TableNotFoundException", "NoSuchHostedZone", "NoSuchChange",
        "RepositoryNotFoundException", "ImageNotFoundException", "NotFoundException",
    ]

    static let alreadyExistsCodes: Set<String> = [
        "ResourceInUseException", "TableAlreadyExistsException", "HostedZoneAlreadyExists",
        "RepositoryAlreadyExistsException", "ConflictingDomainExists",
    ]

    static let validationCodes: Set<String> = [
        "ValidationException", "ValidationError", "SerializationException", "InvalidInput", "InvalidChangeBatch",
        "InvalidDomainName", "InvalidParameterException", "InvalidParameterValue", "InvalidParameterValueException",
        "InvalidArgument", "MalformedQueryString", "MissingParameter",
    ]

    /// The kind for an error response, from its code first and its HTTP status second.
    static func kind(code: String?, httpStatus: Int) -> Kind {
        if let code {
            if code == "ConditionalCheckFailedException" { return .conditionalCheckFailed }
            if throttlingCodes.contains(code) { return .throttled }
            if accessDeniedCodes.contains(code) { return .accessDenied }
            if notFoundCodes.contains(code) { return .notFound }
            if alreadyExistsCodes.contains(code) { return .alreadyExists }
            if validationCodes.contains(code) { return .validation }
        }
        switch httpStatus {
        case 401, 403: return .accessDenied
        case 404: return .notFound
        case 429: return .throttled
        default: return .service
        }
    }
}
