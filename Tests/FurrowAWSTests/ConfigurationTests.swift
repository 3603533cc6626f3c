import Foundation
import Testing

@testable import FurrowAWS

@Suite struct ConfigurationTests {
    /// A fresh home directory with optional `~/.aws/credentials` and `~/.aws/config`.
    func home(credentials: String? = nil, config: String? = nil) throws -> String {
        let home = NSTemporaryDirectory() + "furrow-aws-home-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        if let credentials {
            try credentials.write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        }
        if let config { try config.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8) }
        return home
    }

    @Test func environmentVariablesWin() throws {
        let home = try home(credentials: "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let configuration = try AWSConfiguration.resolve(
            environment: [
                "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
                "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:5599",
            ], homeDirectory: home)
        #expect(configuration.credentials.accessKeyId == "ENVKEY")
        #expect(configuration.credentials.secretAccessKey == "envsecret")
        #expect(configuration.credentials.sessionToken == "envtoken")
        #expect(configuration.credentials.source == "environment")
        #expect(configuration.region == "eu-central-1")
        #expect(configuration.endpoint?.absoluteString == "http://127.0.0.1:5599")
    }

    @Test func explicitValuesWinOverEverything() throws {
        let explicit = AWSCredentials(accessKeyId: "EXPLICIT", secretAccessKey: "s")
        let configuration = try AWSConfiguration.resolve(
            region: "ap-south-1", credentials: explicit,
            environment: ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu-central-1"],
            homeDirectory: "/nonexistent")
        #expect(configuration.credentials == explicit)
        #expect(configuration.region == "ap-south-1")
    }

    @Test func profileFromCredentialsAndConfigFiles() throws {
        let home = try home(
            credentials: """
                # comment
                [default]
                aws_access_key_id = DEFAULTKEY
                aws_secret_access_key = defaultsecret

                [ops]
                aws_access_key_id=OPSKEY
                aws_secret_access_key=ops/secret+with=equals
                aws_session_token = opstoken
                """,
            config: """
                [default]
                region = us-west-2
                [profile ops]
                region = eu-north-1
                s3 =
                    max_concurrent_requests = 20
                """)
        defer { try? FileManager.default.removeItem(atPath: home) }

        let defaults = try AWSConfiguration.resolve(environment: [:], homeDirectory: home)
        #expect(defaults.credentials.accessKeyId == "DEFAULTKEY")
        #expect(defaults.region == "us-west-2")
        #expect(defaults.credentials.source == "profile default in \(home)/.aws/credentials")

        let ops = try AWSConfiguration.resolve(environment: ["AWS_PROFILE": "ops"], homeDirectory: home)
        #expect(ops.credentials.accessKeyId == "OPSKEY")
        #expect(ops.credentials.secretAccessKey == "ops/secret+with=equals")
        #expect(ops.credentials.sessionToken == "opstoken")
        #expect(ops.region == "eu-north-1")
        #expect(ops.endpoint == nil)
    }

    @Test func filesNamedByEnvironmentAndKeysInConfig() throws {
        let directory = try home()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/custom-config"
        try "[profile ci]\nregion = sa-east-1\naws_access_key_id = CIKEY\naws_secret_access_key = cisecret\n"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let configuration = try AWSConfiguration.resolve(
            environment: [
                "AWS_PROFILE": "ci", "AWS_CONFIG_FILE": configPath,
                "AWS_SHARED_CREDENTIALS_FILE": directory + "/missing-credentials",
            ], homeDirectory: "/nonexistent")
        #expect(configuration.credentials.accessKeyId == "CIKEY")
        #expect(configuration.region == "sa-east-1")
    }

    @Test func defaultRegionIsUSEast1() throws {
        let configuration = try AWSConfiguration.resolve(
            environment: ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"], homeDirectory: "/nonexistent")
        #expect(configuration.region == "us-east-1")
    }

    @Test func missingCredentialsSayWhereItLooked() throws {
        let home = try home(config: "[profile sso]\nsso_start_url = https://example.invalid/start\n")
        defer { try? FileManager.default.removeItem(atPath: home) }
        do {
            _ = try AWSConfiguration.resolve(environment: ["AWS_PROFILE": "sso"], homeDirectory: home)
            Issue.record("resolve succeeded without credentials")
        } catch let error as AWSConfigurationError {
            #expect(error.message.contains("AWS_ACCESS_KEY_ID"))
            #expect(error.message.contains("\(home)/.aws/credentials (no such file)"))
            #expect(error.message.contains("\(home)/.aws/config"))
            #expect(error.message.contains("profile 'sso'"))
            #expect(error.message.contains("sso_start_url"))
        }
    }

    @Test func secretsNeverPrint() {
        let credentials = AWSCredentials(
            accessKeyId: "AKIDVISIBLE", secretAccessKey: "TOPSECRET", sessionToken: "TOKENSECRET")
        let configuration = AWSConfiguration(region: "us-east-1", credentials: credentials)
        for text in [
            String(describing: credentials), String(reflecting: credentials), "\(configuration)",
            String(reflecting: configuration),
        ] {
            #expect(text.contains("AKIDVISIBLE"))
            #expect(!text.contains("TOPSECRET"))
            #expect(!text.contains("TOKENSECRET"))
        }
    }

    @Test func retryDelaysStayWithinTheJitterCeiling() {
        let policy = AWSRetryPolicy(maxAttempts: 5, baseDelay: 0.1, maxDelay: 1)
        for retry in 0..<10 {
            let ceiling = min(1, 0.1 * pow(2, Double(retry)))
            for _ in 0..<50 { #expect((0...ceiling).contains(policy.delay(beforeRetry: retry))) }
        }
    }
}

@Test func dumpingCredentialsHidesTheSecret() {
    var text = ""
    dump(
        AWSConfiguration(
            region: "us-east-1", credentials: AWSCredentials(accessKeyId: "A", secretAccessKey: "TOPSECRET")), to: &text
    )
    #expect(!text.contains("TOPSECRET"))
}
