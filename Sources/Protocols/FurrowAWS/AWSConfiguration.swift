import Foundation

/// An access key pair, optionally with a session token. Printing, debug-printing or dumping it never shows the
/// secret or the token.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let accessKeyId: String
    public let secretAccessKey: String
    public let sessionToken: String?
    /// Where the credentials came from, e.g. `environment` or `profile default in /root/.aws/credentials`.
    public let source: String

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, source: String = "explicit")
    {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
    }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>"
            + (sessionToken == nil ? "" : ", sessionToken: <redacted>") + ", source: \(source))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyId": accessKeyId, "secretAccessKey": "<redacted>", "source": source])
    }
}

/// How often and how patiently a request is retried: exponential backoff with full jitter
/// (each wait is uniformly random between zero and `min(maxDelay, baseDelay * 2^retry)`).
public struct AWSRetryPolicy: Sendable, Equatable {
    /// Total sends of one request, the first included.
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.1, maxDelay: Double = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before retry number `retry` (0 for the first retry).
    func delay(beforeRetry retry: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(retry, 30))))
        return ceiling > 0 ? Double.random(in: 0...ceiling) : 0
    }
}

/// Failure to find credentials or read AWS configuration; says where it looked.
public struct AWSConfigurationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Region, endpoint, credentials and retry policy shared by every AWS client of Furrow.
public struct AWSConfiguration: Sendable, CustomStringConvertible {
    public var region: String
    /// One URL for every service (a local AWS-compatible server); nil means the real AWS endpoints.
    public var endpoint: URL?
    public var credentials: AWSCredentials
    public var retry: AWSRetryPolicy
    /// Seconds before one HTTP request times out.
    public var requestTimeout: Double

    public init(
        region: String, endpoint: URL? = nil, credentials: AWSCredentials, retry: AWSRetryPolicy = AWSRetryPolicy(),
        requestTimeout: Double = 60
    ) {
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.retry = retry
        self.requestTimeout = requestTimeout
    }

    public var description: String {
        "AWSConfiguration(region: \(region), endpoint: \(endpoint?.absoluteString ?? "AWS"), credentials: \(credentials))"
    }

    /// Resolves the configuration the way AWS tools do. Explicit values win; then
    ///  - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region` in the config file, else `us-east-1`;
    ///  - endpoint: `AWS_ENDPOINT_URL`;
    ///  - credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, then the profile
    ///    (`AWS_PROFILE`, else `default`) in `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`),
    ///    then in `AWS_CONFIG_FILE` (default `~/.aws/config`).
    /// `environment` and `homeDirectory` are parameters so that tests need not touch the process environment.
    public static func resolve(
        region: String? = nil, endpoint: URL? = nil, credentials: AWSCredentials? = nil,
        retry: AWSRetryPolicy = AWSRetryPolicy(),
        environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String? = nil
    ) throws -> AWSConfiguration {
        let home = homeDirectory ?? environment["HOME"] ?? NSHomeDirectory()
        let profile = nonEmpty(environment["AWS_PROFILE"]) ?? nonEmpty(environment["AWS_DEFAULT_PROFILE"]) ?? "default"
        let credentialsPath = expandHome(
            nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials", home)
        let configPath = expandHome(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config", home)
        let credentialsFile = try INIFile.load(path: credentialsPath)
        let configFile = try INIFile.load(path: configPath)
        // The config file names profiles `[profile NAME]`, except `[default]`; the credentials file uses `[NAME]`.
        let configSection = configFile?.section(profile) ?? configFile?.section("profile \(profile)")
        let credentialsSection = credentialsFile?.section(profile)

        let resolvedRegion =
            nonEmpty(region) ?? nonEmpty(environment["AWS_REGION"])
            ?? nonEmpty(environment["AWS_DEFAULT_REGION"]) ?? nonEmpty(configSection?["region"]) ?? "us-east-1"
        var resolvedEndpoint = endpoint
        if resolvedEndpoint == nil, let text = nonEmpty(environment["AWS_ENDPOINT_URL"]) {
            guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
                throw AWSConfigurationError(message: "AWS_ENDPOINT_URL is not a URL: \(text)")
            }
            resolvedEndpoint = url
        }

        func fromSection(_ section: [String: String]?, _ origin: String) -> AWSCredentials? {
            guard let id = nonEmpty(section?["aws_access_key_id"]),
                let secret = nonEmpty(section?["aws_secret_access_key"])
            else { return nil }
            return AWSCredentials(
                accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty(section?["aws_session_token"]),
                source: "profile \(profile) in \(origin)")
        }
        var resolvedCredentials = credentials
        if resolvedCredentials == nil, let id = nonEmpty(environment["AWS_ACCESS_KEY_ID"]),
            let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        {
            resolvedCredentials = AWSCredentials(
                accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]),
                source: "environment")
        }
        resolvedCredentials =
            resolvedCredentials ?? fromSection(credentialsSection, credentialsPath)
            ?? fromSection(configSection, configPath)
        guard let resolvedCredentials else {
            var message =
                "no AWS credentials found: looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment, "
                + "profile '\(profile)' in \(credentialsPath)\(credentialsFile == nil ? " (no such file)" : "") "
                + "and in \(configPath)\(configFile == nil ? " (no such file)" : "")"
            let unsupported = [
                "role_arn", "sso_start_url", "sso_session", "credential_process", "web_identity_token_file",
            ]
            if let key = unsupported.first(where: { configSection?[$0] != nil || credentialsSection?[$0] != nil }) {
                message += "; the profile uses \(key), which Furrow does not support: export static keys instead"
            }
            throw AWSConfigurationError(message: message)
        }
        return AWSConfiguration(
            region: resolvedRegion, endpoint: resolvedEndpoint, credentials: resolvedCredentials, retry: retry)
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    private static func expandHome(_ path: String, _ home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}

/// The INI dialect of `~/.aws/credentials` and `~/.aws/config`: `[section]`, `key = value`, `#`/`;` comments.
/// Indented lines continue a nested block (e.g. `s3 =` settings); they are skipped, Furrow reads only top-level keys.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    func section(_ name: String) -> [String: String]? { sections[name] }

    static func load(path: String) throws -> INIFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AWSConfigurationError(message: "cannot read AWS file \(path)")
        }
        return parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ text: String) -> INIFile {
        var file = INIFile()
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                    .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                current = name
                if file.sections[name] == nil { file.sections[name] = [:] }
                continue
            }
            guard let section = current, rawLine.first?.isWhitespace != true, let equals = line.firstIndex(of: "=")
            else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            file.sections[section]?[key] = value
        }
        return file
    }
}
